import Foundation
import Testing
import TriageDemo
import TriageKit
import TriageProbes
import TriageTestSupport

/// Targets as users type them, into the URL every step uses; and the same
/// on the built binary: HOST:PORT, an IPv6 literal through every step, an
/// international name from /etc/hosts, not-a-URL refused with exit 2.
@Suite struct TargetTests {
    typealias F = TLSFixtures

    @Test func typedFormsBecomeURLs() throws {
        #expect(try Target("api.example.test").url == "https://api.example.test/")
        #expect(try Target("api.example.test:8443").url == "https://api.example.test:8443/")
        #expect(try Target("api.example.test:8443/v1?x=1").url == "https://api.example.test:8443/v1?x=1")
        #expect(try Target("HTTP://Api.Example.Test/x").url == "http://api.example.test/x")
        #expect(try Target("127.0.0.1:8080", defaultScheme: "http").url == "http://127.0.0.1:8080/")
        #expect(try Target("[::1]:8443").url == "https://[::1]:8443/")
        #expect(try Target("::1").url == "https://[::1]/")
        // A bare IPv6 literal is that address, even when its last group could be read as a port: a port
        // goes in brackets. (Refusing those refused one real address in six, a pod's among them.)
        #expect(try Target("::1:8443").url == "https://[::1:8443]/")
        #expect(try Target("fd00:10:244::1:5").url == "https://[fd00:10:244::1:5]/")
        #expect(try Target("2001:db8::8a2e:370:7334").host == "2001:db8::8a2e:370:7334")
        #expect(try Target("[::1]:8443").effectivePort == 8443)
        #expect(try Target("2001:db8::1").url == "https://[2001:db8::1]/")
        #expect(try Target("fe80::1234").url == "https://[fe80::1234]/")
        #expect(try Target("::ffff:127.0.0.1").host == "::ffff:127.0.0.1")
        // A bare IPv4 address is that address on the default port (it was once put in brackets as IPv6 and refused).
        #expect(try Target("127.0.0.1").url == "https://127.0.0.1/")
        #expect(try Target("10.0.0.1", defaultScheme: "http").url == "http://10.0.0.1/")
        #expect(try Target.forTLS("192.0.2.7").effectivePort == 443)
        // A stray option in a targets file is no host name (RFC 1123: no label starts or ends with '-').
        #expect(throws: Target.Invalid.self) { try Target("-rf") }
        #expect(throws: Target.Invalid.self) { try Target("api-.example.test") }
        #expect(try Target("a-b.example.test").host == "a-b.example.test")
        #expect(try Target("https://[2001:db8::1]/v1").host == "2001:db8::1")
        let idn = try Target("https://bücher.example.test/")
        #expect(idn.host == "xn--bcher-kva.example.test")
        #expect(idn.unicodeHost == "bücher.example.test")
        #expect(try Target("api.example.test").effectivePort == 443)
    }

    /// IPv4 in the forms curl and inet_aton read is that address, never a name sent to DNS.
    @Test func shorthandIPv4IsAnAddress() throws {
        #expect(try Target("https://127.1:8443/").url == "https://127.0.0.1:8443/")
        #expect(try Target("0x7f000001").host == "127.0.0.1")
        #expect(try Target("0177.0.0.1").host == "127.0.0.1")
        #expect(try Target("10.1.258").host == "10.1.1.2")
        #expect(try Target("2130706433").host == "127.0.0.1")
        // Names that only look numeric stay names; out-of-range numbers are no address.
        #expect(try Target("1.example").host == "1.example")
        #expect(try Target("deadbeef").host == "deadbeef")
        #expect(Target.shorthandIPv4("256.1.1.1") == nil)
        #expect(Target.shorthandIPv4("4294967296") == nil)
    }

    @Test func notATargetIsRefusedWithItsReason() {
        func reason(_ text: String) -> String? {
            do { _ = try Target(text); return nil } catch { return error.reason }
        }
        #expect(reason("") == "it is empty")
        #expect(reason("not a url") == "it holds spaces")
        #expect(reason("127.0.0.1:443\nfoo") == "it holds a line break")
        #expect(reason("ftp://files.example.test/") == "the scheme 'ftp' is not http or https")
        #expect(reason("2001:db8::1:443x") != nil)
        #expect(reason("fe80::1:8443/x") == "an IPv6 address in a URL goes in brackets: https://[ADDRESS]:PORT/")
        // A name with two ports is not an IPv6 address to bracket.
        #expect(reason("https://localhost:8443:9") == "'localhost:8443:9' has more than one ':': expected HOST or HOST:PORT")
        #expect(reason("[::1") == "an IPv6 address needs its closing ']'")
        #expect(reason("[fe80::1%25lo]:9301") == "'fe80::1%25lo': an IPv6 zone ID (the interface after the %) is not supported: test a global address or a name")
        #expect(reason("[fe80::zz]:9301") == "'fe80::zz' in brackets is not an IPv6 address")
        #expect(reason("host:99999") != nil)
        #expect(reason("localhost:+8443") == "port '+8443' is not a number from 1 to 65535")
        #expect(reason("https://api.test/\u{01}") == "it holds a control character")
        // A leading dot is an empty label; characters IDNA maps to nothing leave no host.
        #expect(reason(".test") == "'.test' has an empty or over-long label")
        #expect(reason("https://\u{AD}:8443/") == "it names no host (its characters map to nothing in IDNA: a soft hyphen, a zero-width space, a BOM?)")
        #expect(reason("\u{FEFF}") != nil)
        #expect(reason("a\u{AD}.test") == nil && reason("example.test.") == nil)
        // The refusal echoes what was typed, a password masked (a proxy's form, a URL's).
        for typed in ["user:B4dNs4pw@127.0.0.1:0", "https://user:B4dNs4pw@127.0.0.1:99999/"] {
            do { _ = try Target(typed); Issue.record("\(typed) accepted") } catch {
                #expect(!error.description.contains("B4dNs4pw") && error.description.contains("user:[REDACTED]@127.0.0.1"), "\(error.description)")
            }
        }
    }

    @Test func cliRefusesWhatIsNotATarget() async throws {
        for text in ["not a url", "ftp://x.example.test/", "a:b:c"] {
            let r = try await Command.triage(["run", text, "--out", TestPaths.temporaryFolder("bad-target").path])
            #expect(r.status == 2, "\(text): \(r.stderr)")
            #expect(r.stderr.contains("is not a URL or HOST[:PORT]") || r.stderr.contains("unexpected argument"), "\(text): \(r.stderr)")
        }
    }

    /// `triage run HOST:PORT` is https://HOST:PORT/.
    @Test func hostAndPortMeanHTTPS() async throws {
        let root = try F.root()
        let leaf = try F.leaf("localhost", sans: ["localhost"], issuer: root)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let folder = TestPaths.temporaryFolder("hostport")
        let r = try await Command.triage(["run", "localhost:\(server.port)", "--cacert", try F.file(root.certificatePEM), "--out", folder.path])
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try ReportDocument.decode(Data(contentsOf: folder.appendingPathComponent("report.json")))
        #expect(doc.target == "https://localhost:\(server.port)/")
        #expect(doc.steps.first { $0.id == "direct-1" }?.fact(.status) == 200)
    }

    /// An IPv6 literal through every step: the handshake, the chain check
    /// (IP SAN), curl (brackets in --resolve), and no SNI, as RFC 6066 says.
    @Test func ipv6LiteralWorksInEveryStep() async throws {
        let root = try F.root()
        let leaf = try F.leaf("ipv6 fixture", sans: ["::1"], issuer: root)
        let server = try F.server(chain: [leaf], key: leaf, address: "::1")
        defer { server.stop() }
        let folder = TestPaths.temporaryFolder("ipv6")
        let ca = try F.file(root.certificatePEM)
        let r = try await Command.triage(["run", "https://[::1]:\(server.port)/v1", "--cacert", ca, "--out", folder.path])
        #expect(r.status == 0, "\(r.stderr)\(r.stdout)")
        let doc = try ReportDocument.decode(Data(contentsOf: folder.appendingPathComponent("report.json")))
        #expect(doc.verdict == .healthy)
        let handshake = try #require(doc.steps.first { $0.id == "handshake" })
        #expect(handshake.command == "openssl s_client -connect [::1]:\(server.port) -noservername -CAfile \(ca) </dev/null")
        let direct = try #require(doc.steps.first { $0.id == "direct-1" })
        #expect(direct.fact(.status) == 200)
        #expect(direct.fact(.connectedTo)?.text == "[::1]:\(server.port)")
    }

    /// A name with an IPv6 address that refuses and an IPv4 one whose
    /// certificate expired (a private /etc/hosts in a mount namespace):
    /// the root cause is the certificate every client meets, and the
    /// refusing address a warning about fallback.
    @Test func dualStackNameWithARefusingIPv6Address() async throws {
        let root = try F.root()
        let name = "dual.example.test"
        let leaf = try F.leaf(name, notBefore: F.midnight(-400), notAfter: F.midnight(-10), issuer: root)
        let server = try F.server(chain: [leaf], key: leaf, address: "127.0.0.1")
        defer { server.stop() }
        let folder = TestPaths.temporaryFolder("dual")
        let hosts = folder.appendingPathComponent("hosts")
        try "127.0.0.1 localhost\n::1 \(name)\n127.0.0.1 \(name)\n".write(to: hosts, atomically: true, encoding: .utf8)
        let r = try await Self.withHosts(hosts, ["run", "https://\(name):\(server.port)/", "--cacert", try F.file(root.certificatePEM),
                                                 "--out", folder.appendingPathComponent("case").path])
        #expect(r.status == 1, "\(r.stderr)")
        let doc = try ReportDocument.decode(Data(contentsOf: folder.appendingPathComponent("case/report.json")))
        #expect(doc.rootCause?.cause == .certExpired, "\(doc.findings.map(\.cause))")
        let unreachable = try #require(doc.findings.first { $0.cause == .addressUnreachable })
        #expect(unreachable.severity == .warning)
        #expect(unreachable.subject == "[::1]:\(server.port)")
        #expect(!doc.findings.contains { $0.cause == .mixedBackends })
    }

    /// An international name, resolved from /etc/hosts by its IDNA form,
    /// sent as SNI and to curl in that form.
    @Test func internationalNameThroughIDNA() async throws {
        let root = try F.root()
        let ascii = "xn--bcher-kva.example.test"
        let leaf = try F.leaf(ascii, issuer: root)
        let server = try F.server(chain: [leaf], key: leaf) { $0.sni = .onlyName(ascii) }
        defer { server.stop() }
        let folder = TestPaths.temporaryFolder("idn")
        let hosts = folder.appendingPathComponent("hosts")
        try "127.0.0.1 localhost\n127.0.0.1 \(ascii)\n".write(to: hosts, atomically: true, encoding: .utf8)
        let r = try await Self.withHosts(hosts, ["run", "https://bücher.example.test:\(server.port)/", "--cacert", try F.file(root.certificatePEM),
                                                 "--out", folder.appendingPathComponent("case").path])
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try ReportDocument.decode(Data(contentsOf: folder.appendingPathComponent("case/report.json")))
        #expect(doc.target == "https://\(ascii):\(server.port)/")
        #expect(doc.steps.first { $0.id == "handshake" }?.command?.contains("-servername \(ascii)") == true)
        #expect(doc.steps.first { $0.id == "direct-1" }?.fact(.status) == 200)
    }

    /// Runs triage with `hosts` bind-mounted over /etc/hosts in a private mount namespace.
    static func withHosts(_ hosts: URL, _ arguments: [String]) async throws -> CommandResult {
        try await Command.run(["unshare", "--mount", "/bin/sh", "-c", "mount --bind \"$0\" /etc/hosts && exec \"$@\"", hosts.path,
                               TestPaths.triageBinary.path] + arguments)
    }
}
