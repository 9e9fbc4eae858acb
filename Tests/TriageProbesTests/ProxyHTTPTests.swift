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
}
