import Foundation
import Synchronization
import Testing
import TriageDemo
import TriageKit
import TriageTestSupport

/// curl's and openssl's names on `triage run`, each shown to change what the
/// run does — asserted on report.json, on the built binary — and stdout as
/// the result (`triage run … > file` holds the report path and the verdict).
@Suite struct CurlFlagTests {
    typealias F = TLSFixtures

    /// An HTTPS fixture whose handler keeps the requests it received.
    final class Upstream: Sendable {
        final class Requests: Sendable { let list = Mutex<[String]>([]) }
        let server: TLSServer
        let caFile: String
        let requests = Requests()
        var port: Int { server.port }
        var received: [String] { requests.list.withLock { $0 } }

        init(clientCA: CertificateMint.Identity? = nil, key: CertificateMint.KeyKind = .ecP256) throws {
            let root = try F.root()
            let leaf = try F.leaf(F.host, key: key, issuer: root)
            caFile = try F.file(root.certificatePEM)
            let requests = self.requests
            server = try F.server(chain: [leaf], key: leaf, configure: { c in c.clientCAPEM = clientCA?.certificatePEM }) { connection, _ in
                guard let request = connection.readRequest() else { return }
                requests.list.withLock { $0.append(request) }
                _ = connection.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            }
        }
        deinit { server.stop() }
    }

    func run(_ arguments: [String]) async throws -> (CommandResult, ReportDocument, URL) {
        let folder = TestPaths.temporaryFolder("flags")
        let r = try await Command.triage(["run"] + arguments + ["--out", folder.path])
        let doc = try ReportDocument.decode(Data(contentsOf: folder.appendingPathComponent("report.json")))
        return (r, doc, folder)
    }

    func step(_ doc: ReportDocument, _ id: String) -> ReportDocument.StepEntry? { doc.steps.first { $0.id == id } }

    @Test func cacertAndResolveMakeAHealthyRun() async throws {
        let up = try Upstream()
        let url = "https://\(F.host):\(up.port)/v1"
        // --resolve pins the address; without --cacert the fixture's CA is unknown.
        let (bare, untrusted, _) = try await run([url, "--resolve", "\(F.host):\(up.port):127.0.0.1"])
        #expect(bare.status == 1, "\(bare.stderr)")
        #expect(untrusted.rootCause?.cause == .untrustedIssuer || untrusted.rootCause?.cause == .selfSigned)
        #expect(untrusted.inputs["addresses"] == "127.0.0.1")
        let (ok, healthy, _) = try await run([url, "--resolve", "\(F.host):\(up.port):127.0.0.1", "--cacert", up.caFile])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(healthy.verdict == .healthy)
        #expect(step(healthy, "direct-1")?.fact(.status) == 200)
        #expect(healthy.inputs["ca_file"]?.stringValue == up.caFile)
        #expect(step(healthy, "direct-1")?.command?.contains("--cacert \(up.caFile)") == true)
    }

    @Test func insecureSkipsVerificationInTheReproduction() async throws {
        let up = try Upstream()
        let (_, doc, _) = try await run(["https://\(F.host):\(up.port)/", "--resolve", "\(F.host):\(up.port):127.0.0.1", "-k"])
        // The handshake still reports the untrusted issuer; curl -k gets its 200 anyway.
        #expect(doc.inputs["insecure"] == .bool(true))
        let direct = try #require(step(doc, "direct-1"))
        #expect(direct.fact(.status) == 200)
        #expect(direct.command?.contains(" -k ") == true || direct.command?.contains("--insecure") == true)
    }

    @Test func connectToSendsTheRequestElsewhere() async throws {
        let up = try Upstream()
        let (r, doc, _) = try await run(["https://\(F.host)/v1", "--connect-to", "\(F.host):443:127.0.0.1:\(up.port)", "--cacert", up.caFile])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(doc.inputs["port"]?.intValue == up.port)
        #expect(step(doc, "direct-1")?.fact(.status) == 200)
        #expect(step(doc, "direct-1")?.command?.contains("--connect-to \(F.host):443:127.0.0.1:\(up.port)") == true)
    }

    /// `--connect-to` to an IPv6 address, in brackets as curl takes it: the handshake goes there too
    /// (it went to the name's IPv4 address, refused: connection-refused, exit 1). The entry used is
    /// the first for the URL's host and port; one curl would not parse (`::1` unbracketed) is exit 2.
    @Test func connectToAnIPv6AddressInBrackets() async throws {
        let root = try F.root()
        let leaf = try F.leaf(issuer: root)
        let server = try F.server(chain: [leaf], key: leaf, address: "::1")
        defer { server.stop() }
        let ca = try F.file(root.certificatePEM)
        let (r, doc, _) = try await run(["https://\(F.host)/v1", "--connect-to", "other.test:443:127.0.0.1:9",
                                         "--connect-to", "\(F.host):443:[::1]:\(server.port)", "--cacert", ca])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(doc.inputs["addresses"] == .string("::1") && doc.inputs["port"]?.intValue == server.port, "\(doc.inputs)")
        // Pinned, nothing was looked up: no `getent ahosts` to repeat (the name is in no resolver: it exits 2).
        #expect(step(doc, "dns")?.command == nil, "\(step(doc, "dns")?.command ?? "")")
        #expect(step(doc, "direct-1")?.fact(.status) == 200)
        let refused = try await Command.triage(["run", "https://\(F.host)/", "--connect-to", "\(F.host):443:::1:\(server.port)"])
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(refused.stderr.contains("an IPv6 address in brackets"), "\(refused.stderr)")
    }

    @Test func headerIsSentAndRedactedEverywhere() async throws {
        let up = try Upstream()
        let secret = "Bearer s3cr3t-\(UUID().uuidString)"
        let (r, doc, folder) = try await run(["https://\(F.host):\(up.port)/", "--resolve", "\(F.host):\(up.port):127.0.0.1",
                                               "--cacert", up.caFile, "-H", "Authorization: \(secret)", "-v"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(up.received.contains { $0.contains("Authorization: \(secret)") }, "the upstream got the header")
        #expect(doc.verdict == .healthy)
        for text in [r.stdout, r.stderr] + (try CaseFolderText.all(folder)) { #expect(!text.contains("s3cr3t"), "a secret leaked") }
    }

    /// A header value with a CR or LF would send a header of the sender's choosing (curl passes it
    /// as it is): `-H` refuses it before anything runs, naming the header but not its value; a
    /// runbook's or `--set`'s headers fail the request step without sending it.
    @Test func aHeaderWithALineBreakIsNeverSent() async throws {
        let up = try Upstream()
        let injected = "crlf-\(UUID().uuidString.prefix(8))"
        let folder = TestPaths.temporaryFolder("crlf")
        let base = ["run", "https://\(F.host):\(up.port)/", "--resolve", "\(F.host):\(up.port):127.0.0.1", "--cacert", up.caFile]
        let refused = try await Command.triage(base + ["-H", "X-A: b\r\nX-Injected: \(injected)", "--out", folder.path])
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(refused.stderr.contains("-H 'X-A': its value holds a line break"), "\(refused.stderr)")
        #expect(!refused.stderr.contains(injected))
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("report.json").path), "nothing ran")

        let (_, doc, case2) = try await run(Array(base.dropFirst()) + ["--set", "headers=X-A: b\nX-Injected: \(injected)"])
        let direct = try #require(step(doc, "direct-1"))
        #expect(direct.status == .failed)
        #expect(direct.error == "http.request: the value of request header 'X-A' holds a line break (CR or LF), which would send a header of its own: not sent",
                "\(direct.error ?? "")")
        #expect(!up.received.contains { $0.contains("X-Injected") }, "\(up.received)")
        for text in try CaseFolderText.all(case2) { #expect(!text.contains(injected), "the value reached the case") }
    }

    @Test func proxyIsUsedForTheReproduction() async throws {
        let up = try Upstream()
        let dead = PlainTCPServer.closedPort()
        let (_, doc, _) = try await run(["https://\(F.host):\(up.port)/", "--resolve", "\(F.host):\(up.port):127.0.0.1", "--cacert", up.caFile,
                                         "-x", "http://127.0.0.1:\(dead)"])
        let direct = try #require(step(doc, "direct-1"))
        #expect(direct.fact(.curlCode) == 7, "curl could not connect to the proxy")
        #expect(direct.fact(.proxy)?.stringValue?.hasPrefix("http://127.0.0.1:\(dead)") == true)
        #expect(up.received.isEmpty)
    }

    /// A proxy curl would not take (a scheme it does not speak, a broken address) is a usage error,
    /// exit 2 before anything runs, its password masked in the message; curl's forms are taken.
    @Test func aProxyCurlWouldRefuseIsAUsageError() async throws {
        let cases = [("gopher://127.0.0.1:1", "the scheme 'gopher' is not a proxy curl speaks"),
                     ("http://u:pw5678@[::1", "an IPv6 address needs its closing ']'"),
                     ("socks5h://proxy.test:99999", "its port is not a number from 1 to 65535"),
                     ("http://p.test:+3128", "its port is not a number from 1 to 65535"),
                     // A password typed where the host goes is not echoed as "the port".
                     ("alice:pw5678", "its port is not a number from 1 to 65535"),
                     ("http://:3128", "it names no host"),
                     ("fe80::1:3128", "an IPv6 address goes in brackets")]
        for (proxy, why) in cases {
            let r = try await Command.triage(["run", "https://\(F.host):1/", "--resolve", "\(F.host):1:127.0.0.1", "-x", proxy,
                                              "--out", TestPaths.temporaryFolder("bad-proxy").path])
            #expect(r.status == 2, "\(proxy): \(r.stderr)")
            #expect(r.stderr.contains(why), "\(proxy): \(r.stderr)")
            #expect(!r.stderr.contains("pw5678"), "\(proxy): \(r.stderr)")
        }
        // curl's other forms are taken: a bracketed IPv6 proxy that refuses is the run's finding, not a usage error.
        let dead = PlainTCPServer.closedPort()
        let up = try Upstream()
        let (r, doc, _) = try await run(["https://\(F.host):\(up.port)/", "--resolve", "\(F.host):\(up.port):127.0.0.1", "--cacert", up.caFile,
                                         "-x", "HTTP://[::1]:\(dead)/"])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(step(doc, "direct-1")?.fact(.curlCode) == 7)
    }

    /// HTTPS_PROXY is honoured and reported like curl does; --noproxy '*' ignores it.
    @Test func proxyEnvironmentIsHonouredAndCanBeIgnored() async throws {
        let up = try Upstream()
        let dead = PlainTCPServer.closedPort()
        let arguments = ["https://\(F.host):\(up.port)/", "--resolve", "\(F.host):\(up.port):127.0.0.1", "--cacert", up.caFile]
        func run(_ extra: [String]) async throws -> ReportDocument {
            let folder = TestPaths.temporaryFolder("proxy-env")
            _ = try await Command.run(["/usr/bin/env", "HTTPS_PROXY=http://127.0.0.1:\(dead)", "NO_PROXY=", TestPaths.triageBinary.path, "run"]
                                      + arguments + extra + ["--out", folder.path])
            return try ReportDocument.decode(Data(contentsOf: folder.appendingPathComponent("report.json")))
        }
        let doc = try await run([])
        let through = try #require(step(doc, "direct-1"))
        #expect(through.fact(.curlCode) == 7)
        #expect(through.fact(.proxy)?.stringValue == "http://127.0.0.1:\(dead) (HTTPS_PROXY)")
        // The proxy refused, not the upstream (whose handshake worked): the root cause names the proxy and
        // where it came from, and its remedy is not "start the service on the upstream's port".
        let root = try #require(doc.rootCause)
        #expect(root.cause == .connectionRefused)
        #expect(root.subject == "http://127.0.0.1:\(dead)")
        #expect(root.summary.contains("could not connect to the proxy http://127.0.0.1:\(dead) (HTTPS_PROXY)"), "\(root.summary)")
        #expect(root.remedy.contains("NO_PROXY"), "\(root.remedy)")
        let ignored = try #require(step(try await run(["--noproxy", "*"]), "direct-1"))
        #expect(ignored.fact(.status) == 200)
    }

    /// A proxy that refuses to open the tunnel (CONNECT answered 403): the proxy is the finding, with its
    /// answer; it was inconclusive, with advice to raise --step-timeout.
    @Test func aProxyThatRefusesTheTunnelIsTheFinding() async throws {
        let up = try Upstream()
        let proxy = try PlainTCPServer(.status(403))
        defer { proxy.stop() }
        let folder = TestPaths.temporaryFolder("proxy-403")
        let r = try await Command.run(["/usr/bin/env", "HTTPS_PROXY=http://127.0.0.1:\(proxy.port)", "NO_PROXY=", TestPaths.triageBinary.path, "run",
                                       "https://\(F.host):\(up.port)/", "--resolve", "\(F.host):\(up.port):127.0.0.1", "--cacert", up.caFile,
                                       "--out", folder.path])
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        let doc = try ReportDocument.decode(Data(contentsOf: folder.appendingPathComponent("report.json")))
        let root = try #require(doc.rootCause)
        #expect(root.cause == .proxyError)
        #expect(root.subject == "http://127.0.0.1:\(proxy.port)")
        #expect(root.summary.contains("would not open a tunnel to it: CONNECT answered 403"), "\(root.summary)")
        #expect(root.remedy.contains("NO_PROXY"), "\(root.remedy)")
    }

    /// EC and RSA keys on both sides, whichever route OpenSSL 3.0 runs its keys by (triage_keys.c): the
    /// handshake steps read the key with triage_private_key_file, curl reads it itself.
    @Test(arguments: [CertificateMint.KeyKind.ecP256, .rsa(bits: 2048)])
    func clientCertificateIsPresentedByEveryStep(key kind: CertificateMint.KeyKind) async throws {
        let clientCA = try F.root("client CA")
        let client = try F.leaf("client.example.test", key: kind, issuer: clientCA)
        let up = try Upstream(clientCA: clientCA, key: kind)
        let cert = try F.file(client.certificatePEM, named: "client.pem")
        let key = try F.file(client.keyPEM, named: "client.key")
        let url = "https://\(F.host):\(up.port)/"
        let (without, required, _) = try await run([url, "--resolve", "\(F.host):\(up.port):127.0.0.1", "--cacert", up.caFile])
        #expect(without.status == 1)
        #expect(required.rootCause?.cause == .clientCertRequired)
        let (with, ok, _) = try await run([url, "--resolve", "\(F.host):\(up.port):127.0.0.1", "--cacert", up.caFile, "--cert", cert, "--key", key])
        #expect(with.status == 0, "\(with.stderr)")
        #expect(step(ok, "direct-1")?.fact(.status) == 200)
        #expect(step(ok, "handshake")?.command?.contains("-cert \(cert) -key \(key)") == true)
        #expect(step(ok, "handshake")?.status == .ok)
        // OpenSSL's provider route (TRIAGE_OPENSSL_PROVIDER_KEYS=1) reaches the same verdict.
        let folder = TestPaths.temporaryFolder("provider-keys")
        let provider = try await Command.run(["/usr/bin/env", "TRIAGE_OPENSSL_PROVIDER_KEYS=1", TestPaths.triageBinary.path, "run", url,
                                              "--resolve", "\(F.host):\(up.port):127.0.0.1", "--cacert", up.caFile, "--cert", cert, "--key", key,
                                              "--out", folder.path])
        #expect(provider.status == 0, "\(provider.stderr)")
        // A key that cannot be used is bad input, said before anything runs (exit 2): from OpenSSL's
        // reason codes, with the fix; never a passphrase prompt.
        let broken = try F.file("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", named: "broken.key")
        let encrypted = try F.file(try client.encryptedKeyPEM(passphrase: "secret"), named: "encrypted.key")
        let other = try F.file(try F.leaf("other.example.test", key: kind, issuer: clientCA).keyPEM, named: "other.key")
        let requestsBefore = up.received.count
        for (badKey, says) in [(broken, "no private key in \(broken)"), (encrypted, "the client key \(encrypted) is encrypted"),
                               (other, "the client key \(other) is not the key of the certificate \(cert)"),
                               ("/nonexistent/client.key", "cannot read the client key /nonexistent/client.key: No such file or directory")] {
            for command in [["run", url], ["scan", "\(F.host):\(up.port)"]] {
                let bad = try await Command.triage(command + ["--cacert", up.caFile, "--cert", cert, "--key", badKey])
                #expect(bad.status == 2, "\(command[0]) \(badKey): \(bad.stderr)")
                #expect(bad.stderr.contains(says), "\(bad.stderr)")
            }
        }
        #expect(up.received.count == requestsBefore, "nothing ran for the bad keys")
    }

    /// `--cacert <(…)`: a pipe gives its bytes once, and every step loads the bundle; it is
    /// copied first, so the run is healthy (it was `cert-invalid`, blaming the server for a trust
    /// store the second step could not load). A bundle that cannot be used is bad input, exit 2.
    /// A `--resolve` entry for another port is not used, as curl does not use it.
    @Test func pipedCABundleUnusableBundleAndAStrayResolve() async throws {
        let up = try Upstream()
        let url = "https://\(F.host):\(up.port)/"
        let folder = TestPaths.temporaryFolder("piped-ca")
        let piped = try await Command.run(["/bin/bash", "-c", "exec \"$0\" run \"$1\" --resolve \"$2\" --cacert <(cat \"$3\") --out \"$4\"",
                                           TestPaths.triageBinary.path, url, "\(F.host):\(up.port):127.0.0.1", up.caFile,
                                           folder.appendingPathComponent("piped").path])
        #expect(piped.status == 0, "\(piped.stderr)")
        let doc = try ReportDocument.decode(Data(contentsOf: folder.appendingPathComponent("piped/report.json")))
        #expect(doc.verdict == .healthy)
        // The runbook input set directly is read once as well.
        let set = try await Command.run(["/bin/bash", "-c", "exec \"$0\" run \"$1\" --resolve \"$2\" --set ca_file=<(cat \"$3\") --out \"$4\"",
                                         TestPaths.triageBinary.path, url, "\(F.host):\(up.port):127.0.0.1", up.caFile,
                                         folder.appendingPathComponent("set").path])
        #expect(set.status == 0, "\(set.stderr)")
        let requestsBefore = up.received.count
        let empty = try F.file("", named: "empty.pem")
        for (bundle, says) in [(folder.path, "cannot read the CA file \(folder.path): Is a directory"),
                               (empty, "\(empty) holds no PEM certificate")] {
            let bad = try await Command.triage(["run", url, "--resolve", "\(F.host):\(up.port):127.0.0.1", "--cacert", bundle,
                                                "--out", folder.appendingPathComponent("bad").path])
            #expect(bad.status == 2, "\(bundle): \(bad.stderr)")
            #expect(bad.stderr.contains(says), "\(bad.stderr)")
        }
        #expect(up.received.count == requestsBefore, "nothing ran for the unusable bundles")
        // Two entries, one for a port nothing listens on: the right one is used, the other named.
        let (stray, strayDoc, _) = try await run([url, "--resolve", "\(F.host):9:127.0.0.9", "--resolve", "\(F.host):\(up.port):127.0.0.1",
                                                 "--cacert", up.caFile])
        #expect(stray.status == 0, "\(stray.stderr)")
        #expect(strayDoc.inputs["addresses"] == "127.0.0.1")
        #expect(stray.stderr.contains("--resolve \(F.host):9:127.0.0.9 is not for \(F.host):\(up.port), the URL's host and port: not used"), "\(stray.stderr)")
        // The host as curl compares it: case and a root dot do not matter.
        let (cased, casedDoc, _) = try await run([url, "--resolve", "\(F.host.uppercased()).:\(up.port):127.0.0.1", "--cacert", up.caFile])
        #expect(cased.status == 0, "\(cased.stderr)")
        #expect(casedDoc.inputs["addresses"] == "127.0.0.1")
        #expect(!cased.stderr.contains("not used"), "\(cased.stderr)")
    }

    /// A client certificate and key from pipes, and the CA bundle from a named FIFO whose writer
    /// started first: each read once, the mTLS run healthy; the copies (in a private TMPDIR here)
    /// are gone when triage leaves.
    @Test func clientIdentityFromPipesAndCAFromAFIFO() async throws {
        let clientCA = try F.root("client CA")
        let client = try F.leaf("client.example.test", issuer: clientCA)
        let up = try Upstream(clientCA: clientCA)
        let cert = try F.file(client.certificatePEM, named: "client.pem")
        let key = try F.file(client.keyPEM, named: "client.key")
        let folder = TestPaths.temporaryFolder("piped-identity")
        let tmp = folder.appendingPathComponent("tmp")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        let fifo = folder.appendingPathComponent("ca.fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let script = "cat \"$5\" > \"$6\" & exec env TMPDIR=\"$7\" \"$0\" run \"$1\" --resolve \"$2\" --cacert \"$6\" --cert <(cat \"$3\") --key <(cat \"$4\") --out \"$8\""
        let r = try await Command.run(["/bin/bash", "-c", script, TestPaths.triageBinary.path, "https://\(F.host):\(up.port)/",
                                       "\(F.host):\(up.port):127.0.0.1", cert, key, up.caFile, fifo, tmp.path, folder.appendingPathComponent("case").path])
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try ReportDocument.decode(Data(contentsOf: folder.appendingPathComponent("case/report.json")))
        #expect(step(doc, "direct-1")?.fact(.status) == 200)
        #expect(step(doc, "handshake")?.status == .ok)
        let left = try FileManager.default.contentsOfDirectory(atPath: tmp.path).filter { $0.hasPrefix("triage-inputs-") }
        #expect(left.isEmpty, "copies left behind: \(left)")
    }

    @Test func stdoutIsTheResultAndQuietAndJSONChangeIt() async throws {
        let up = try Upstream()
        let url = "https://\(F.host):\(up.port)/"
        let folder = TestPaths.temporaryFolder("stdout")
        // `triage run … > file`: the report path, then the root-cause line, nothing else.
        let out = folder.appendingPathComponent("out.txt")
        let r = try await Command.run(["/bin/sh", "-c", "\"$0\" run \"$1\" --resolve \"$2\" --out \"$3\" > \"$4\"", TestPaths.triageBinary.path,
                                       url, "\(F.host):\(up.port):127.0.0.1", folder.appendingPathComponent("case").path, out.path])
        #expect(r.status == 1)
        let lines = try String(contentsOf: out, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        #expect(lines.first == "report: \(folder.appendingPathComponent("case/report.md").path)")
        #expect(lines.last?.hasPrefix("root cause: untrusted-issuer — ") == true || lines.last?.hasPrefix("root cause: self-signed — ") == true, "\(lines)")
        #expect(r.stderr.contains("handshake"), "progress stays on stderr")
        let (quiet, _, _) = try await run([url, "--resolve", "\(F.host):\(up.port):127.0.0.1", "-q"])
        #expect(quiet.stderr.isEmpty, "\(quiet.stderr)")
        #expect(quiet.stdout.split(separator: "\n").count == 1)
        let (json, doc, _) = try await run([url, "--resolve", "\(F.host):\(up.port):127.0.0.1", "--json"])
        let printed = try ReportDocument.decode(Data(json.stdout.utf8))
        #expect(printed.verdict == doc.verdict)
        #expect(printed.rootCause?.cause == doc.rootCause?.cause)
    }

    @Test func verboseStreamsEachStepsEvidence() async throws {
        let up = try Upstream()
        let (r, _, _) = try await run(["https://\(F.host):\(up.port)/", "--resolve", "\(F.host):\(up.port):127.0.0.1", "--cacert", up.caFile, "-v"])
        #expect(r.stderr.contains("$ openssl s_client -connect 127.0.0.1:\(up.port) -servername \(F.host)"))
        #expect(r.stderr.contains("      | ") , "raw evidence lines")
    }

    @Test func maxTimeBoundsTheWholeRun() async throws {
        let server = try HostileServer(.tls(.silent))
        defer { server.stop() }
        let (r, doc, _) = try await run(["https://\(F.host):\(server.port)/", "--resolve", "\(F.host):\(server.port):127.0.0.1", "--cacert", try #require(server.caFile),
                                         "--max-time", "5s"])
        // curl timed out at the deadline --max-time left the request: the check was cut short, not
        // answered (it was http-timeout, exit 1: "no HTTP answer within 3.8 s" was the run's budget).
        #expect(r.status == 3, "\(r.stdout) \(r.stderr)")
        #expect(doc.verdict == .inconclusive && doc.rootCause == nil, "\(String(describing: doc.rootCause))")
        let direct = try #require(step(doc, "direct-1"))
        #expect(direct.status == .timedOut, "\(direct.status)")
        #expect(doc.incomplete.first { $0.step == "direct-1" }?.error.contains("the run's --max-time left it") == true, "\(doc.incomplete)")
        // What curl saw stays in the report.
        #expect(direct.facts["curl_code"] == .int(28), "\(direct.facts)")
        // curl was given what was left of the five seconds, not its own 10 (five, not two: on a
        // loaded machine the steps before it could use up two, and the request is then not run at all).
        let maxTime = direct.command.flatMap { $0.firstMatch(of: /--max-time ([0-9.]+)/).map { Double($0.output.1)! } }
        #expect(maxTime.map { $0 < 5 } == true, "\(direct.command ?? "") \(direct.summary)")
    }

    /// A --max-time too short for any step: nothing was checked, so the run is inconclusive (exit 3),
    /// never "no problem found", and the report asks for a longer --max-time. (An expired upstream
    /// was reported healthy with exit 0.)
    @Test func aMaxTimeThatLeavesNoStepRunIsInconclusive() async throws {
        let up = try Upstream()
        let (r, doc, folder) = try await run(["https://\(F.host):\(up.port)/", "--resolve", "\(F.host):\(up.port):127.0.0.1", "--cacert", up.caFile,
                                              "--max-time", "1ms"])
        #expect(r.status == 3, "\(r.stdout) \(r.stderr)")
        #expect(doc.verdict == .inconclusive)
        #expect(step(doc, "handshake")?.status == .skipped)
        let markdown = try String(contentsOf: folder.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(markdown.contains("run again with a longer --max-time"), "\(markdown)")
    }

    /// --max-time reached while the handshake waits on a silent server: the handshake could not
    /// complete, cut by --max-time, and so could not the steps whose conditions read it (what it would
    /// have output is unknown); the steps whose conditions are already false on the inputs are
    /// skipped as in any run (they were "not run" and counted as checks that could not complete: 11).
    @Test func aMaxTimeReachedCountsOnlyTheStepsThatWouldHaveRun() async throws {
        let silent = try HostileServer(.reply([]))
        defer { silent.stop() }
        let (r, doc, _) = try await run(["https://\(F.host):\(silent.port)/", "--resolve", "\(F.host):\(silent.port):127.0.0.1", "--max-time", "1s"])
        #expect(r.status == 3, "\(r.stdout) \(r.stderr)")
        #expect(doc.incomplete.map(\.step) == ["handshake", "direct", "alert", "dates"], "\(doc.incomplete.map(\.step))")
        #expect(doc.incomplete.first?.error.contains("the run's --max-time left it") == true, "\(doc.incomplete.first?.error ?? "")")
        #expect(step(doc, "via")?.status == .skipped && step(doc, "via")?.condition != nil)
        #expect(step(doc, "nginx-log")?.status == .skipped && step(doc, "nginx-log")?.condition != nil)
        #expect(step(doc, "dates")?.condition == nil, "read the cut-short handshake: not judged")
        #expect(r.stderr.contains("their conditions were false"))
        #expect(r.stdout.contains("4 check(s) could not be completed: handshake"), "\(r.stdout)")
    }
}

/// Every text file of a case folder, for leak checks.
enum CaseFolderText {
    static func all(_ folder: URL) throws -> [String] {
        let files = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? []
        return files.compactMap { url in (try? Data(contentsOf: url)).map { String(decoding: $0, as: UTF8.self) } }
    }
}
