import Foundation
import Testing
import TriageKit
import TriageWire

/// A proxy's 504 without its log line: the phase its timeout passed in, from the direct request's timings,
/// and that phase's directive in numbers (nginx's configuration read: `proxy_connect_timeout 5`,
/// `proxy_read_timeout 1`).
@Suite struct GatewayTimeoutTests {
    typealias B = Build

    func root(direct: Evidence) -> Finding? {
        let e = B.endpoint(.v4)
        let config = ProxyConfig(file: "/etc/nginx/nginx.conf", location: "/test", locationWhere: "/etc/nginx/nginx.conf:10", source: nil,
                                 proxyPass: "https://backend/x", scheme: "https", upstreamName: "backend",
                                 servers: [ProxyConfig.Server(host: e.address.description, port: Int(e.port))],
                                 proxyHost: "backend", settings: ["proxy_connect_timeout": ["5"], "proxy_read_timeout": ["1"]],
                                 sslName: nil, hostHeader: nil)
        let items: [Evidence] = [B.matrix([B.attempt(e, .asClient, .tls13)]), direct, B.exchange(.via, status: 504), .proxyConfig(config)]
        let evidence = CaseEvidence(host: B.host, via: "http://127.0.0.1:8080/test", now: B.now,
                                    items: items.enumerated().map { CaseEvidence.Item(step: "s\($0.offset)", $0.element) })
        let book = RuleBook(evidence)
        return Diagnosis(findings: book.judgement.findings, unexplained: book.judgement.unexplained, story: book.story, evidence: evidence)
            .findings.first { $0.cause == .proxyTimeout }
    }

    @Test func theAnswerTookLongerThanProxyReadTimeout() throws {
        // TLS in 2 ms, the first byte after 2.5 s: waiting for the answer.
        let f = try #require(root(direct: B.exchange(.direct, pinned: B.endpoint(.v4), firstByte: 2.5)))
        #expect(f.facts[.setting]?.stringValue == "proxy_read_timeout 1;", "\(f.facts)")
        #expect(f.remedy.args["suggested"]?.stringValue == "4s", "\(f.remedy)")
    }

    @Test func aPlainUpstreamThatConnectedAndNeverAnswered() throws {
        // http:// upstream: connected, no TLS, curl timed out (28) waiting for the header: the answer's phase
        // (it was "connecting", and the fix raised proxy_connect_timeout).
        let f = try #require(root(direct: B.exchange(.direct, status: 0, curl: 28, pinned: B.endpoint(.v4), url: "http://\(B.host):8080/",
                                                      connect: 0.001, tls: 0, firstByte: 0)))
        #expect(f.facts[.setting]?.stringValue == "proxy_read_timeout 1;", "\(f.facts)")
    }

    @Test func aHandshakeLongerThanProxyConnectTimeout() throws {
        let f = try #require(root(direct: B.exchange(.direct, pinned: B.endpoint(.v4), connect: 0.001, tls: 6.0, firstByte: 6.1)))
        #expect(f.facts[.setting]?.stringValue == "proxy_connect_timeout 5;", "\(f.facts)")
    }
}
