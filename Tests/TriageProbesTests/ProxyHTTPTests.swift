import Foundation
import Testing
import TriageDemo
import TriageKit
import TriageProbes
import TriageTestSupport
import TriageWire

/// The 502s and 504s nginx answers for HTTP reasons, told from its own
/// evidence and read in numbers (the setting in force against what the
/// upstream took or sent): a real nginx (Debian's) in front of real
/// upstreams on loopback, once with its configuration and once without.
@Suite(.serialized) struct ProxyHTTPTests {
    typealias F = TLSFixtures

    func upstream(_ behaviour: HostileServer.HTTPBehaviour) throws -> (HostileServer, String) {
        let server = try HostileServer(.tls(behaviour))
        return (server, server.caFile!)
    }

    /// Whether the report's fix diff adds (`+`) or removes (`-`) this line, whatever its indentation.
    func diff(_ markdown: String, _ sign: Character, _ line: String) -> Bool {
        markdown.split(separator: "\n").contains { $0.first == sign && $0.dropFirst().trimmingCharacters(in: .whitespaces) == line }
    }

    /// `curl` through nginx: its status code, for the fix's proof.
    func status(through nginx: NginxRunner) async throws -> String {
        let r = try await Command.run(["curl", "-sS", "-o", "/dev/null", "-m", "10", "-w", "%{http_code}", "http://127.0.0.1:\(nginx.port)/test"])
        return r.stdout
    }

    /// An 8 KB cookie: nginx's 4k proxy_buffer_size cannot hold the header, it answers 502; the direct
    /// request measures the header; the fix sizes the buffer above it, and nginx with the fix answers 200.
    @Test(arguments: [true, false]) func responseHeaderLargerThanTheProxyBuffer(conf: Bool) async throws {
        let (up, ca) = try upstream(.bigCookie(8192))
        defer { up.stop() }
        let nginx = try NginxCase.nginx(upstream: up.port)
        defer { nginx.stop() }
        let c = try await NginxCase.run(up.port, nginx: nginx, conf: conf, ca: ca)
        #expect(c.result.status == 1)
        let root = try #require(c.doc.rootCause, "\(c.said)")
        #expect(root.cause == .upstreamHeaderTooBig, "\(c.said)")
        let measured = try #require(root.fact(.headerBytes)?.intValue)
        #expect(measured > 8192 && measured < 8400, "\(measured)")
        #expect(root.fact(.setting)?.stringValue?.hasPrefix("proxy_buffer_size 4k;") == true, "\(root.facts)")
        #expect(root.remedy.contains("`proxy_buffer_size 16k;`") && root.remedy.contains("`proxy_buffers 8 16k;`"), "\(root.remedy)")
        if conf {
            #expect(diff(c.markdown, "+", "proxy_buffer_size 16k;") && diff(c.markdown, "+", "proxy_buffers 8 16k;"), "\(c.markdown)")
        }
        // The fix, applied: nginx answers 200.
        #expect(try await status(through: nginx) == "502")
        let fixed = try NginxCase.nginx(upstream: up.port, "proxy_buffer_size 16k;\nproxy_buffers 8 16k;")
        defer { fixed.stop() }
        #expect(try await status(through: fixed) == "200")
    }

    /// The upstream answers 502 itself and nginx passes it on: the upstream's answer is the root
    /// cause (status, Server, the body's first bytes), not "the proxy could not talk to its upstream".
    @Test func theUpstreamsOwn502PassedOn() async throws {
        let (up, ca) = try upstream(.answer(502, headers: ["Server: orders-api/2.3"], body: "backend database unavailable\n"))
        defer { up.stop() }
        let nginx = try NginxCase.nginx(upstream: up.port)
        defer { nginx.stop() }
        let c = try await NginxCase.run(up.port, nginx: nginx, conf: true, ca: ca)
        #expect(c.result.status == 1)
        let root = try #require(c.doc.rootCause, "\(c.said)")
        #expect(root.cause == .httpError, "\(c.said)")
        #expect(root.summary.contains("passes on the upstream's own 502"), "\(root.summary)")
        #expect(root.fact(.bodyStart) == "backend database unavailable")
        #expect(root.fact(.serverHeader) == "orders-api/2.3")
        #expect(!c.doc.findings.contains { $0.cause == .proxyError }, "\(c.said)")
        // What the fix's proof expects: not the 502 again (it said "Once fixed, the proxy answers 502").
        #expect(c.markdown.contains("Once fixed, the upstream no longer answers 502 to a direct request, nor the proxy"), "\(c.markdown)")
        #expect(!c.markdown.contains("the proxy answers 502"))
    }

    /// `proxy_pass http://` to a port that speaks TLS: plain-http-to-tls-port, the fix the scheme.
    @Test func plainHTTPToATLSPort() async throws {
        let (up, ca) = try upstream(.answer(200, headers: [], body: "ok\n"))
        defer { up.stop() }
        let nginx = try NginxCase.nginx(upstream: up.port, scheme: "http")
        defer { nginx.stop() }
        let c = try await NginxCase.run(up.port, nginx: nginx, conf: true, ca: ca)
        #expect(c.result.status == 1)
        let root = try #require(c.doc.rootCause, "\(c.said)")
        #expect(root.cause == .plainHTTPToTLSPort, "\(c.said)")
        #expect(diff(c.markdown, "-", "proxy_pass http://middleground_backend/xxx/xxx;"), "\(c.markdown)")
        #expect(diff(c.markdown, "+", "proxy_pass https://middleground_backend/xxx/xxx;"), "\(c.markdown)")
    }

    /// `proxy_pass https://` to a plain HTTP port: nginx logs OpenSSL's wrong version number.
    @Test func tlsToAPlainPort() async throws {
        let up = try PlainTCPServer(.ok)
        defer { up.stop() }
        let nginx = try NginxCase.nginx(upstream: up.port)
        defer { nginx.stop() }
        let c = try await NginxCase.run(up.port, nginx: nginx, conf: true)
        #expect(c.result.status == 1)
        let root = try #require(c.doc.rootCause, "\(c.said)")
        #expect(root.cause == .tlsToPlainPort, "\(c.said)")
        #expect(diff(c.markdown, "+", "proxy_pass http://middleground_backend/xxx/xxx;"), "\(c.markdown)")
    }

    /// An upstream that speaks HTTP/2 only and sends no alert (ALPN: h2 when offered, else none): nginx's
    /// HTTP/1.0 request gets a GOAWAY frame, nginx logs `upstream sent no valid HTTP/1.0 header`; curl's
    /// request, offering h2, works. The cause is the protocol, told from the ALPN the upstream chose
    /// and the HTTP version of the direct answer; a gRPC upstream's fix is `grpc_pass`.
    @Test(arguments: [false, true]) func anHTTP2OnlyUpstream(grpc: Bool) async throws {
        let (up, ca) = try upstream(.http2Only(grpc: grpc))
        defer { up.stop() }
        let nginx = try NginxCase.nginx(upstream: up.port)
        defer { nginx.stop() }
        let c = try await NginxCase.run(up.port, nginx: nginx, conf: true, ca: ca)
        #expect(c.result.status == 1)
        let root = try #require(c.doc.rootCause, "\(c.said)")
        #expect(root.cause == .upstreamProtocolMismatch, "\(c.said)")
        #expect(root.fact(.alpn) == "h2", "\(root.facts)")
        #expect(root.fact(.httpVersion) == "2", "\(root.facts)")
        if grpc {
            #expect(root.fact(.contentType) == "application/grpc", "\(root.facts)")
            #expect(diff(c.markdown, "+", "grpc_pass grpcs://middleground_backend;"), "\(c.markdown)")
        } else {
            #expect(root.remedy.contains("HTTP/1.1"), "\(root.remedy)")
        }
    }

    /// A handshake slower than `proxy_connect_timeout`: nginx answers 504 (`upstream timed out … while SSL
    /// handshaking`); triage's deadline sits above nginx's, so it measures the handshake's real duration.
    @Test(arguments: [(4, 5_500), (5, 6_500)]) func handshakeSlowerThanProxyConnectTimeout(limit: Int, delayMs: Int) async throws {
        let root = try F.root()
        let leaf = try F.leaf(issuer: root)
        let up = try F.server(chain: [leaf], key: leaf) { $0.handshakeDelay = .milliseconds(delayMs) }
        defer { up.stop() }
        let nginx = try NginxCase.nginx(upstream: up.port, replacing: [("proxy_connect_timeout 5;", "proxy_connect_timeout \(limit);")])
        defer { nginx.stop() }
        let c = try await NginxCase.run(up.port, nginx: nginx, conf: true, ca: try F.file(root.certificatePEM))
        #expect(c.result.status == 1)
        let found = try #require(c.doc.rootCause, "\(c.said)")
        #expect(found.cause == .proxyTimeout, "\(c.said)")
        #expect(found.fact(.setting)?.stringValue == "proxy_connect_timeout \(limit);")
        let measured = try #require(found.fact(.measuredMs)?.numberValue, "\(found.facts)")
        #expect(measured >= Double(delayMs), "\(measured)")
        let suggested = Int((measured / 1000 * 1.5).rounded(.up))
        #expect(found.remedy.contains("`proxy_connect_timeout` to \(suggested)s"), "\(found.remedy)")
        #expect(diff(c.markdown, "+", "proxy_connect_timeout \(suggested)s;"), "\(c.markdown)")
        #expect(c.doc.steps.first { $0.id == "via" }?.fact(.status)?.intValue == 504, "\(c.said)")
    }

    /// nginx answers 504 (its `proxy_read_timeout 1` passed; the upstream answers after 2 s) and its log is
    /// not given: a gateway's 504 is its own timeout, read in numbers from its configuration and the direct
    /// request, and the fix raises it (it was the generic proxy-error, "the proxy fails to reach the
    /// upstream", asking for the log).
    @Test func a504WithoutTheLogIsTheProxysTimeout() async throws {
        let (up, ca) = try upstream(.delayedAnswer(milliseconds: 2_000))
        defer { up.stop() }
        let nginx = try NginxCase.nginx(upstream: up.port, replacing: [("proxy_read_timeout 10;", "proxy_read_timeout 1;")])
        defer { nginx.stop() }
        let out = TestPaths.temporaryFolder("proxy-504")
        let r = try await Command.triage(["run", "https://\(F.host):\(up.port)/xxx/xxx", "--via", "http://127.0.0.1:\(nginx.port)/test",
                                          "--nginx-conf", nginx.configuration.path, "--set", "addresses=127.0.0.1", "--cacert", ca,
                                          "--out", out.path])
        #expect(r.status == 1, "\(r.stdout) \(r.stderr)")
        let doc = try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json")))
        let root = try #require(doc.rootCause, "\(doc.findings.map(\.summary))")
        #expect(root.cause == .proxyTimeout, "\(doc.findings.map { "\($0.cause) \($0.summary)" })")
        #expect(root.summary.hasPrefix("the proxy answered 504 Gateway Timeout: it gave up waiting for the upstream"), "\(root.summary)")
        #expect(root.fact(.setting)?.stringValue == "proxy_read_timeout 1;", "\(root.facts)")
        let measured = try #require(root.fact(.measuredMs)?.numberValue, "\(root.facts)")
        #expect(measured >= 2_000, "\(measured)")
        let suggested = Int((measured / 1000 * 1.5).rounded(.up))
        #expect(root.remedy.contains("`proxy_read_timeout` to \(suggested)s"), "\(root.remedy)")
        #expect(diff(String(decoding: try Data(contentsOf: out.appendingPathComponent("report.md")), as: UTF8.self), "+", "proxy_read_timeout \(suggested)s;"))
    }

    /// The upstream declares 1000 bytes of body and closes after 10: nginx logs `upstream prematurely
    /// closed connection`; the direct request shows the upstream cuts its own body.
    @Test func theUpstreamCutsItsBody() async throws {
        let (up, ca) = try upstream(.shortBody(declared: 1000, sent: 10))
        defer { up.stop() }
        let nginx = try NginxCase.nginx(upstream: up.port)
        defer { nginx.stop() }
        let c = try await NginxCase.run(up.port, nginx: nginx, conf: true, ca: ca)
        #expect(c.result.status == 1)
        let root = try #require(c.doc.rootCause, "\(c.said)")
        #expect(root.cause == .upstreamClosedEarly, "\(c.said)")
        #expect(root.remedy.contains("10 of 1000 bytes") || root.remedy.contains("(10 of 1000"), "\(root.remedy)")
    }

    /// nginx keeps idle upstream connections 60 s (its default), the upstream 2 s: a POST on a connection
    /// the upstream closes as nginx reuses it fails (`upstream prematurely closed connection while reading
    /// response header`), and nginx does not retry a POST. The fix: keepalive_timeout below the upstream's.
    @Test func aKeptAliveConnectionTheUpstreamClosed() async throws {
        let (up, ca) = try upstream(.keepAliveThenClose(timeout: 2))
        defer { up.stop() }
        let nginx = try NginxCase.nginx(upstream: up.port)
        defer { nginx.stop() }
        func post() async throws -> String {
            try await Command.run(["curl", "-sS", "-o", "/dev/null", "-m", "10", "-w", "%{http_code}", "-X", "POST", "-d", "x=1",
                                   "http://127.0.0.1:\(nginx.port)/test"]).stdout
        }
        #expect(try await post() == "200")
        #expect(try await post() == "502")
        let c = try await NginxCase.run(up.port, nginx: nginx, conf: true, ca: ca)
        #expect(c.result.status == 1, "\(c.said)")
        let root = try #require(c.doc.rootCause, "\(c.said)")
        #expect(root.cause == .upstreamClosedEarly, "\(c.said)")
        #expect(root.fact(.keepAlive) == "timeout=2", "\(root.facts)")
        #expect(root.fact(.setting) == "keepalive_timeout 60s; # nginx 1.22.1 default", "\(root.facts)")
        #expect(root.remedy.contains("`keepalive_timeout 1s;`") && root.remedy.contains("`upstream middleground_backend { … }`"), "\(root.remedy)")
        // The POST that failed is the incident, not one of triage's own (GET) requests at the same second.
        #expect(c.markdown.contains("**Impact:** 1 × "), "\(c.markdown.prefix(1200))")
    }

    /// Every server of the block marked down (`max_fails=1`; nginx never marks down the only server
    /// of a block): `no live upstreams`, with what marked them.
    @Test func everyServerMarkedDown() async throws {
        let closed = PlainTCPServer.closedPort()
        var other = PlainTCPServer.closedPort()
        while other == closed { other = PlainTCPServer.closedPort() }
        let nginx = try NginxCase.nginx(upstream: closed, replacing: [("server 127.0.0.1:\(closed);", """
            server 127.0.0.1:\(closed) max_fails=1 fail_timeout=30s;
                    server 127.0.0.1:\(other) max_fails=1 fail_timeout=30s;
            """)])
        defer { nginx.stop() }
        // Two requests before triage: the first marks the server down, the second finds no live one.
        #expect(try await status(through: nginx) == "502")
        #expect(try await status(through: nginx) == "502")
        let c = try await NginxCase.run(closed, nginx: nginx, conf: true)
        #expect(c.result.status == 1)
        let root = try #require(c.doc.rootCause, "\(c.said)")
        #expect(root.cause == .noLiveUpstreams, "\(c.said)")
        let marks = root.fact(.markedDown)?.listValue?.compactMap(\.stringValue) ?? []
        for port in [closed, other] {
            #expect(marks.contains { $0.hasPrefix("127.0.0.1:\(port): connect() failed (111") }, "\(marks)")
        }
        #expect(root.remedy.contains("max_fails=1") && root.remedy.contains("fail_timeout=30s"), "\(root.remedy)")
    }

    // MARK: - The proxy's log, precisely

    /// nginx's own time stamp for `date`, in this machine's zone (as nginx writes it).
    static func stamp(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = .current
        f.dateFormat = "yyyy/MM/dd HH:mm:ss"
        return f.string(from: date)
    }

    static func clock(_ date: Date) -> String {
        let c = Calendar.current.dateComponents(in: .current, from: date)
        return String(format: "%02d:%02d", c.hour!, c.minute!)
    }

    /// Twelve lines of the incident before triage ran (another client, this upstream), lines about another
    /// upstream from the same address, and triage's own reproduction: the impact line counts the twelve,
    /// between the first and the last, and says triage's own apart.
    @Test func theImpactLineCountsTheIncidentNotTriagesOwnRequests() async throws {
        let (up, ca) = try upstream(.bigCookie(8192))
        defer { up.stop() }
        let nginx = try NginxCase.nginx(upstream: up.port)
        defer { nginx.stop() }
        let start = Date().addingTimeInterval(-3 * 3600).timeIntervalSince1970.rounded(.down)
        var lines = ""
        for i in 0..<12 {
            let at = Date(timeIntervalSince1970: start + Double(i) * 300)
            lines += "\(Self.stamp(at)) [error] 4242#4242: *\(100 + i) upstream sent too big header while reading response header from upstream, "
                + "client: 10.1.2.\(i), server: , request: \"GET /test HTTP/1.1\", upstream: \"https://127.0.0.1:\(up.port)/xxx/xxx\", host: \"shop.example\"\n"
            // Another upstream, from the same client address as triage's: not this incident.
            lines += "\(Self.stamp(at)) [error] 4242#4242: *\(200 + i) connect() failed (111: Connection refused) while connecting to upstream, "
                + "client: 127.0.0.1, server: , request: \"GET /other HTTP/1.1\", upstream: \"http://127.0.0.1:1/other\", host: \"shop.example\"\n"
        }
        let handle = try FileHandle(forWritingTo: nginx.errorLog)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(lines.utf8))
        try handle.close()
        let c = try await NginxCase.run(up.port, nginx: nginx, conf: true, ca: ca)
        let impact = try #require(c.doc.impact, "\(c.said)")
        #expect(impact.count == 12)
        #expect(impact.own >= 1, "triage's own request made nginx log the same")
        #expect(impact.message.hasPrefix("upstream sent too big header"))
        let first = Date(timeIntervalSince1970: start), last = Date(timeIntervalSince1970: start + 11 * 300)
        #expect(impact.first == first && impact.last == last)
        #expect(impact.sentence.hasPrefix("12 × “upstream sent too big header"), "\(impact.sentence)")
        // A window across midnight gives its dates too.
        let sameDay = Calendar.current.isDate(first, inSameDayAs: last)
        func shown(_ d: Date) -> String {
            let c = Calendar.current.dateComponents(in: .current, from: d)
            return (sameDay ? "" : String(format: "%04d-%02d-%02d ", c.year!, c.month!, c.day!)) + Self.clock(d)
        }
        #expect(impact.sentence.contains("\(shown(first)) and ") && impact.sentence.contains("and \(shown(last)) (nginx's local time"),
                "\(impact.sentence)")
        #expect(c.markdown.contains("**Impact:** 12 ×"), "\(c.markdown.prefix(600))")
    }

    /// A 2 GB error log (sparse: what matters sits at 1 GB and at the end) is streamed in bounded memory:
    /// by default its last 64 MiB, with `--since` from the first line at or after that time.
    @Test func aTwoGigabyteLogIsStreamedInBoundedMemory() async throws {
        let folder = TestPaths.temporaryFolder("big-log")
        let log = folder.appendingPathComponent("error.log")
        #expect(FileManager.default.createFile(atPath: log.path, contents: nil))
        let handle = try FileHandle(forWritingTo: log)
        func lines(_ count: Int, at: Date, client: String) -> Data {
            var text = "\n"
            for i in 0..<count {
                text += "\(Self.stamp(at.addingTimeInterval(Double(i)))) [error] 7#7: *\(i) upstream timed out (110: Connection timed out) while reading response header from upstream, "
                    + "client: \(client), server: , request: \"GET /api HTTP/1.1\", upstream: \"https://10.9.8.7:8443/api\", host: \"shop.example\"\n"
            }
            return Data(text.utf8)
        }
        let now = Date()
        try handle.seek(toOffset: 1 << 30)
        try handle.write(contentsOf: lines(40, at: now.addingTimeInterval(-7200), client: "10.0.0.1"))
        try handle.truncate(atOffset: (2 << 30) - 100_000)
        try handle.seekToEnd()
        try handle.write(contentsOf: lines(25, at: now.addingTimeInterval(-600), client: "10.0.0.2"))
        try handle.close()
        let runbook = folder.appendingPathComponent("log.yaml")
        try """
            name: log-only
            inputs:
              file: {required: true}
              since: {}
            steps:
              - id: log
                uses: nginx.error-log
                with:
                  file: ${{ inputs.file }}
                  match: 10.9.8.7
                  port: 8443
                  since: ${{ inputs.since }}
            """.write(to: runbook, atomically: true, encoding: .utf8)
        for (since, expected) in [(nil, 25), ("3h", 65)] as [(String?, Int)] {
            let out = TestPaths.temporaryFolder("big-log-case")
            var arguments = ["/usr/bin/env", "TRIAGE_PEAK_RSS=1", TestPaths.triageBinary.path, "run", "--runbook", runbook.path,
                             "--set", "file=\(log.path)", "--out", out.path]
            if let since { arguments += ["--set", "since=\(since)"] }
            let r = try await Command.run(arguments)
            let doc = try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json")))
            #expect(doc.impact?.count == expected, "\(since ?? "default"): \(doc.impact.map { "\($0.count)" } ?? "none") \(r.stderr)")
            #expect(r.peakResidentBytes < 64 << 20, "peak RSS \(r.peakResidentBytes >> 20) MiB")
            print("2 GB log, \(since ?? "default window"): peak RSS \(r.peakResidentBytes >> 10) KiB")
            #expect(r.peakResidentBytes > 0)
        }
    }

    /// nginx resolved `proxy_pass https://orders.svc.internal:PORT` (not a special-use name: triage asks the fixture about it) once, at start (its own /etc/hosts said 127.0.0.2);
    /// the name has moved to 127.0.0.3 (the DNS fixture says so now): nginx still sends to the old address.
    @Test func theProxyUsesAnAddressDNSNoLongerGives() async throws {
        let root = try F.root()
        let leaf = try F.leaf("orders.svc.internal", issuer: root)
        let moved = try F.server(chain: [leaf], key: leaf, address: "127.0.0.3")
        defer { moved.stop() }
        let dns = try DNSFixture(zones: ["orders.svc.internal": .init(records: [DNSMessage.Record(name: "orders.svc.internal", type: DNSMessage.RecordType.a.rawValue,
                                                                                       ttl: 30, data: "127.0.0.3")])])
        defer { dns.stop() }
        let prefix = TestPaths.temporaryFolder("nginx-stale")
        let hosts = prefix.appendingPathComponent("hosts")
        try "127.0.0.2 orders.svc.internal\n".write(to: hosts, atomically: true, encoding: .utf8)
        // nginx alone sees this hosts file: a mount namespace of its own.
        let nginx = try NginxRunner(http: """
                server {
                    listen LISTEN;
                    location /test {
                        proxy_pass https://orders.svc.internal:\(moved.port)/xxx/xxx;
                        proxy_connect_timeout 5;
                    }
                }
            """, prefix: prefix, launcher: ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                                            "mount --bind \"$0\" /etc/hosts && exec \"$@\"", hosts.path])
        defer { nginx.stop() }
        let out = TestPaths.temporaryFolder("stale-case")
        let r = try await Command.triage(["run", "https://orders.svc.internal:\(moved.port)/xxx/xxx", "--via", "http://127.0.0.1:\(nginx.port)/test",
                                          "--nginx-conf", nginx.configuration.path, "--nginx-error-log", nginx.errorLog.path,
                                          "--dns-server", dns.server, "--cacert", try F.file(root.certificatePEM), "--out", out.path])
        let doc = try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json")))
        let markdown = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(r.status == 1, "\(r.stderr)")
        let found = try #require(doc.rootCause, "\(doc.findings.map { "\($0.cause) \($0.summary)" })")
        #expect(found.cause == .upstreamDNSStale, "\(doc.findings.map { "\($0.cause) \($0.summary)" })")
        #expect(found.fact(.loggedAddresses)?.listValue?.compactMap(\.stringValue) == ["127.0.0.2:\(moved.port)"])
        #expect(found.fact(.resolvedNow)?.listValue?.compactMap(\.stringValue) == ["127.0.0.3"])
        #expect(diff(markdown, "+", "resolver \(dns.server) valid=30s;"), "\(markdown)")
        #expect(diff(markdown, "+", "set $upstream_host orders.svc.internal;"), "\(markdown)")
        #expect(diff(markdown, "+", "proxy_pass https://$upstream_host:\(moved.port)/xxx/xxx;"), "\(markdown)")
    }
}
