import Foundation
import Testing
import TriageDemo
import TriageKit
import TriageProbes
import TriageTestSupport
import TriageWire

@Suite struct AddressesAndSecretsTests {
    typealias F = TLSFixtures

    /// An absolute name, with its trailing dot, is the name without it to /etc/hosts and to RFC 6761
    /// (`localhost.` was a dns-failure where curl connects); neither sends a query.
    @Test func anAbsoluteNameIsFoundWithoutItsDot() async throws {
        let hosts = TestPaths.temporaryFolder("hosts").appendingPathComponent("hosts")
        try "127.0.0.9 api.internal\n".write(to: hosts, atomically: true, encoding: .utf8)
        let deadline = ContinuousClock.now + .seconds(1)
        let fromFile = await HostAddresses.resolve("API.internal.", hostsFile: hosts.path, deadline: deadline)
        #expect(fromFile.addresses == [IPAddress(v4: 127, 0, 0, 9)])
        #expect(fromFile.source == .hostsFile)
        for name in ["localhost.", "app.localhost."] {
            let local = await HostAddresses.resolve(name, hostsFile: hosts.path, deadline: deadline)
            #expect(local.addresses == [IPAddress(v4: 127, 0, 0, 1)], "\(name)")
            #expect(local.source == .specialUse, "\(name)")
        }
        #expect(await HostAddresses.resolve("nothing.invalid.", hostsFile: hosts.path, deadline: deadline).addresses.isEmpty)
        // And to the handshake, as to curl: SNI and the certificate check use the name without its dot.
        let root = try F.root()
        let leaf = try F.leaf("localhost", sans: ["localhost"], issuer: root)
        // Any other server name than `localhost` is refused with alert 112.
        let server = try F.server(chain: [leaf], key: leaf, configure: { $0.sni = .onlyName("localhost") })
        defer { server.stop() }
        let probe = try EndpointProbe({ var o = EndpointProbe.Options(); o.caFile = try? F.file(root.certificatePEM); return o }())
        let result = try #require(await probe.probe(try Target("localhost.:\(server.port)")).first)
        #expect(result.attempts.map(\.verifyCode) == [0], "\(result.findings.map(\.summary))")
        #expect(result.attempts.map(\.nameMatches) == [true])
        #expect(result.ok, "\(result.findings.map(\.summary))")
    }

    @Test func twoAddressesOneExpiredIsMixedBackendsNamingTheBadOne() async throws {
        let host = "api.corp.example.com"
        let root = try F.root()
        let good = try F.leaf(host, issuer: root)
        let expiredOn = F.midnight(-4)
        let stale = try F.leaf(host, notBefore: F.midnight(-300), notAfter: expiredOn, issuer: root)
        // One port on two addresses: a port free on the first may be taken on the second; try another.
        var pair: (TLSServer, TLSServer)?
        for _ in 0..<20 where pair == nil {
            let first = try F.server(chain: [good], key: good, address: "127.0.0.2")
            if let second = try? F.server(chain: [stale], key: stale, address: "127.0.0.3", port: first.port) {
                pair = (first, second)
            } else {
                first.stop()
            }
        }
        let (first, second) = try #require(pair)
        defer { first.stop(); second.stop() }
        let a = DNSMessage.RecordType.a.rawValue
        let dns = try DNSFixture(zones: [host: .init(records: [.init(name: host, type: a, ttl: 30, data: "127.0.0.2"),
                                                               .init(name: host, type: a, ttl: 30, data: "127.0.0.3")])])
        defer { dns.stop() }
        let run = try await DefaultRunbook.run(port: first.port, host: host, caFile: try F.file(root.certificatePEM), addresses: nil,
                                               extra: ["dns_server": dns.server])
        #expect(run.step("dns")?.outputs["addresses"]?.texts == ["127.0.0.2", "127.0.0.3"])
        #expect(run.root?.cause == .mixedBackends, "\(run.document.findings.map(\.summary))")
        #expect(run.root?.subject == "127.0.0.3:\(first.port)")
        #expect(run.root?.summary.contains("127.0.0.3:\(first.port): its certificate expired on \(ISO8601.string(expiredOn))") == true)
        // Each address was reproduced with curl, pinned with --resolve.
        #expect(run.step("direct-1")?.outputs["status"] == 200)
        #expect(run.step("direct-2")?.outputs["curl_code"] == 60)
        #expect(run.step("direct-2")?.command?.contains("--resolve \(host):\(first.port):127.0.0.3") == true)
    }

    /// `--set port=P` with a URL on another port: the direct request goes to P on the pinned
    /// address too. (Its --resolve entry was for P, so curl asked DNS for the URL's host:port.)
    @Test func thePortInputMovesTheDirectRequestToo() async throws {
        let root = try F.root()
        let leaf = try F.leaf(F.host, issuer: root)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let run = try await DefaultRunbook.run(port: 9, caFile: try F.file(root.certificatePEM), extra: ["port": "\(server.port)"])
        #expect(run.step("handshake")?.status == .ok)
        #expect(run.step("direct-1")?.outputs["status"] == 200, "\(run.document.findings.map(\.summary))")
        #expect(run.step("direct-1")?.command?.contains("--connect-to \(F.host):9::\(server.port)") == true, "\(run.step("direct-1")?.command ?? "")")
        #expect(run.document.verdict == .healthy)
    }

    @Test func authorizationAndCookiesLeaveNoTrace() async throws {
        let server = try PlainTCPServer(.http)
        defer { server.stop() }
        let folder = TestPaths.temporaryFolder("secrets")
        let runbook = folder.appendingPathComponent("rb.yaml")
        try """
            name: secrets
            inputs: { url: { required: true } }
            steps:
              - id: call
                uses: http.request
                with:
                  url: ${{ inputs.url }}
                  headers: ["Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "Cookie: session=c00kie-value"]
            """.write(to: runbook, atomically: true, encoding: .utf8)
        let out = folder.appendingPathComponent("case")
        let r = try await Command.triage(["run", "http://127.0.0.1:\(server.port)/login?token=query-secret&x=1",
                                          "--runbook", runbook.path, "--out", out.path])
        #expect(r.status == 1, "\(r.stderr)") // the fixture answers 400
        var files: [String] = []
        let enumerator = FileManager.default.enumerator(atPath: out.path)
        while let name = enumerator?.nextObject() as? String { files.append(name) }
        #expect(files.contains("evidence/call/trace.txt"))
        #expect(files.contains("evidence/call/headers.txt"))
        for name in files {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path, isDirectory: &isDirectory)
            guard !isDirectory.boolValue else { continue }
            let text = String(decoding: try Data(contentsOf: out.appendingPathComponent(name)), as: UTF8.self)
            for secret in ["eyJhbGciOiJIUzI1NiJ9", "c00kie-value", "query-secret", "fixture-cookie-secret"] {
                #expect(!text.contains(secret), "\(secret) leaked into \(name)")
            }
        }
        for secret in ["eyJhbGciOiJIUzI1NiJ9", "c00kie-value", "query-secret", "fixture-cookie-secret"] {
            #expect(!r.stderr.contains(secret))
            #expect(!r.stdout.contains(secret))
        }
        let trace = try String(contentsOf: out.appendingPathComponent("evidence/call/trace.txt"), encoding: .utf8)
        #expect(trace.contains("> Authorization: [REDACTED]"))
        #expect(trace.contains("< Set-Cookie: [REDACTED]"))

        // A token as the URL's user name (curl sends it as Basic auth and names the user in its
        // trace), an OAuth code in the query and a token in the fragment: nowhere either.
        let second = folder.appendingPathComponent("case-2")
        let tokens = ["ghp_USERTOKEN42x", "AUTHCODE77x", "FRAGTOKEN55x"]
        let r2 = try await Command.triage(["run", "http://ghp_USERTOKEN42x@127.0.0.1:\(server.port)/cb?code=AUTHCODE77x&state=s#access_token=FRAGTOKEN55x",
                                           "--runbook", runbook.path, "--out", second.path, "-v"])
        #expect(r2.status == 1, "\(r2.stderr)")
        let enumerator2 = FileManager.default.enumerator(atPath: second.path)
        var checked = 0
        while let name = enumerator2?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: second.appendingPathComponent(name).path, isDirectory: &isDirectory)
            guard !isDirectory.boolValue else { continue }
            let text = String(decoding: try Data(contentsOf: second.appendingPathComponent(name)), as: UTF8.self)
            checked += 1
            for secret in tokens { #expect(!text.contains(secret), "\(secret) leaked into \(name)") }
        }
        #expect(checked >= 4)
        for secret in tokens { #expect(!r2.stderr.contains(secret) && !r2.stdout.contains(secret), "\(secret) leaked to the terminal") }
        let trace2 = try String(contentsOf: second.appendingPathComponent("evidence/call/trace.txt"), encoding: .utf8)
        #expect(trace2.contains("> Authorization: [REDACTED]"), "curl sent the user name as Basic auth")
    }
}
