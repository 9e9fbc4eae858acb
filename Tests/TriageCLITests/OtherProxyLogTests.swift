import Foundation
import Testing
import TriageKit
import TriageTestSupport

/// `--proxy-log`: HAProxy's and Envoy's own lines (the forms their documentation gives) read as the
/// same causes as nginx's, with the proxy named, beside an upstream that answers a direct request.
@Suite struct OtherProxyLogTests {
    typealias F = TLSFixtures

    struct Upstream {
        let server: TLSServer
        let ca: String
    }

    static func upstream() throws -> Upstream {
        let root = try F.root()
        let leaf = try F.leaf("localhost", sans: ["localhost", "127.0.0.1"], issuer: root)
        return Upstream(server: try F.server(chain: [leaf], key: leaf), ca: try F.file(root.certificatePEM))
    }

    func run(_ log: String, _ upstream: Upstream, extra: [String] = []) async throws -> (CommandResult, ReportDocument, String) {
        let folder = TestPaths.temporaryFolder("proxy-log")
        let file = folder.appendingPathComponent("proxy.log")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try log.write(to: file, atomically: true, encoding: .utf8)
        let out = folder.appendingPathComponent("case")
        let r = try await Command.triage(["run", "https://127.0.0.1:\(upstream.server.port)/v1/health", "--ca-file", upstream.ca,
                                          "--proxy-log", file.path, "--out", out.path] + extra)
        let doc = try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json")))
        let md = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        return (r, doc, md)
    }

    /// HAProxy: its sessions to be_api ended in connect timeouts and refusals, its health check took
    /// srv1 down on a TLS handshake failure, then nothing was left: no-live-upstreams, HAProxy named,
    /// another backend's and a healthy session's lines not counted.
    @Test func haproxyMarkedEveryServerDown() async throws {
        let upstream = try Self.upstream()
        defer { upstream.server.stop() }
        let log = """
            Dec  6 09:12:01 lb haproxy[2051]: 10.0.1.2:33317 [06/Dec/2026:09:12:01.655] fe_https~ be_api/srv1 0/0/-1/-1/3002 503 217 - - sC-- 3/3/0/0/3 0/0 "GET /v1/health HTTP/1.1"
            Dec  6 09:12:04 lb haproxy[2051]: 10.0.1.2:33318 [06/Dec/2026:09:12:04.001] fe_https~ be_web/srv9 0/0/0/-1/1 503 217 - - SC-- 3/3/0/0/0 0/0 "GET / HTTP/1.1"
            Dec  6 09:12:05 lb haproxy[2051]: 10.0.1.2:33319 [06/Dec/2026:09:12:05.100] fe_https~ be_api/srv1 0/0/1/2/3 200 120 - - ---- 3/3/0/0/0 0/0 "GET /v1/health HTTP/1.1"
            Dec  6 09:12:07 lb haproxy[2051]: Server be_api/srv1 is DOWN, reason: Layer6 invalid response, info: "SSL handshake failure", check duration: 2ms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.
            Dec  6 09:12:07 lb haproxy[2051]: backend be_api has no server available!
            Dec  6 09:12:09 lb haproxy[2051]: 10.0.1.2:33320 [06/Dec/2026:09:12:09.301] fe_https~ be_api/<NOSRV> 0/-1/-1/-1/0 503 217 - - SC-- 3/3/0/0/0 0/0 "GET /v1/health?token=s3cret HTTP/1.1"

            """
        let (r, doc, md) = try await run(log, upstream, extra: ["--proxy-backend", "be_api"])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(doc.rootCause?.cause == .noLiveUpstreams, "\(doc.findings.map(\.cause))")
        #expect(doc.rootCause?.summary.contains("HAProxy had marked every server of the upstream block down") == true, "\(doc.rootCause?.summary ?? "")")
        // HAProxy's own words for the fix, not nginx's.
        #expect(doc.rootCause?.remedy.contains("show servers state") == true && doc.rootCause?.remedy.contains("max_fails") == false,
                "\(doc.rootCause?.remedy ?? "")")
        let step = doc.steps.first { $0.id == "proxy-log" }
        #expect(step?.status == .problem)
        #expect(step?.fact(.matchingLines) == 4)
        #expect(doc.impact?.count == 4)
        #expect(doc.impact?.sentence.contains("(HAProxy's local time") == true, "\(doc.impact?.sentence ?? "")")
        #expect(!md.contains("s3cret"))
        // The direct request still works: the proxy's word is the cause, not a guess.
        #expect(doc.steps.first { $0.id == "direct-1" }?.status == .ok)
    }

    /// With `--via` and HAProxy's log, the proxy is HAProxy everywhere: the headline, the profile step
    /// (no replay of nginx's defaults for it), the finding.
    @Test func theProxyIsNamedFromItsLog() async throws {
        let upstream = try Self.upstream()
        defer { upstream.server.stop() }
        let proxy = try PlainTCPServer(.status(503))
        defer { proxy.stop() }
        let log = """
            Dec  6 09:12:01 lb haproxy[2051]: 10.0.1.2:33317 [06/Dec/2026:09:12:01.655] fe_https~ be_api/srv1 0/0/-1/-1/3002 503 217 - - sC-- 3/3/0/0/3 0/0 "GET /v1/health HTTP/1.1"

            """
        let (r, doc, md) = try await run(log, upstream, extra: ["--proxy-backend", "be_api", "--via", "http://127.0.0.1:\(proxy.port)/v1/health"])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(doc.rootCause?.cause == .proxyTimeout, "\(doc.findings.map(\.cause))")
        let profile = try #require(doc.steps.first { $0.id == "proxy" })
        #expect(profile.fact(.proxy) == "HAProxy", "\(profile)")
        #expect(profile.summary.hasPrefix("the proxy is HAProxy"), "\(profile.summary)")
        #expect(doc.steps.first { $0.id == "proxy-handshake" }?.status == .skipped)
        #expect(md.hasPrefix("# 503 from HAProxy /v1/health"), "\(md.prefix(200))")
        #expect(!md.contains("nginx 1.22"), "\(md)")
    }

    /// Envoy: its access log's response flags and transport failure reasons, its upstream host matched
    /// by address and port: a TLS alert BoringSSL names, a certificate it refused, a plain port.
    @Test(arguments: [
        ("TLS_error:_268435581:SSL_routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED", "cert-invalid", "tls-certificate-verify-failed"),
        ("TLS_error:_268436536:SSL_routines:OPENSSL_internal:TLSV1_ALERT_PROTOCOL_VERSION", "protocol-version", "tls-tlsv1-alert-protocol-version"),
        ("TLS_error:_268435703:SSL_routines:OPENSSL_internal:WRONG_VERSION_NUMBER", "tls-to-plain-port", "tls-wrong-version-number"),
    ])
    func envoyTransportFailures(details: String, cause: String, event: String) async throws {
        let upstream = try Self.upstream()
        defer { upstream.server.stop() }
        let port = upstream.server.port
        let log = """
            [2026-12-06T09:12:00.310Z] "GET /v1/health HTTP/1.1" 200 - via_upstream - "-" 0 2 3 2 "-" "curl/8.5.0" "a1" "api.example.test" "127.0.0.1:\(port)"
            [2026-12-06T09:12:01.310Z] "GET /v1/health HTTP/1.1" 503 UF upstream_reset_before_response_started{connection_failure,\(details)} - "\(details.replacingOccurrences(of: "_", with: " "))" 0 91 1 - "10.0.35.28" "curl/8.5.0" "cc21d9b0" "api.example.test" "127.0.0.1:\(port)"
            [2026-12-06T09:12:02.310Z] "GET /other HTTP/1.1" 503 UH no_healthy_upstream - "-" 0 19 0 - "10.0.35.28" "curl/8.5.0" "cc21d9b1" "other.example.test" "-"

            """
        let (r, doc, md) = try await run(log, upstream)
        #expect(r.status == 1, "\(r.stderr)")
        #expect(doc.rootCause?.cause.code == cause, "\(doc.findings.map { "\($0.cause): \($0.summary)" })")
        #expect(doc.rootCause?.fact(.event) == .string(event))
        #expect(doc.rootCause?.summary.contains("TLS failed on Envoy's upstream connection") == true, "\(doc.rootCause?.summary ?? "")")
        // Only the failing line about this upstream: not the healthy one, not another cluster's.
        #expect(doc.steps.first { $0.id == "proxy-log" }?.fact(.matchingLines) == 1)
        #expect(doc.impact?.sentence.contains("(Envoy's local time, UTC)") == true, "\(doc.impact?.sentence ?? "")")
        // A probe of the upstream would not meet what only Envoy's connection met: no exporter rule to add.
        #expect(!md.contains("**Follow-up:**"))
    }

    /// Envoy's default format has no field for the transport failure reason: a bare `UF` (or `URX`) is a
    /// connection failure Envoy names, not "other" — and a busy log's healthy lines are skipped cheaply.
    @Test func envoyUpstreamFailureWithoutAReason() async throws {
        let upstream = try Self.upstream()
        defer { upstream.server.stop() }
        let port = upstream.server.port
        var log = ""
        for i in 0..<2_000 { log += "[2026-12-06T09:11:\(String(format: "%02d", i % 60)).000Z] \"GET /v1/health HTTP/1.1\" 200 - 0 2 3 2 \"-\" \"curl/8.5.0\" \"a\(i)\" \"api.example.test\" \"127.0.0.1:\(port)\"\n" }
        log += "[2026-12-06T09:12:01.310Z] \"GET /v1/health HTTP/1.1\" 503 UF 0 91 3 - \"10.0.0.1\" \"curl/8.0\" \"a1b2c3\" \"api.example.test\" \"127.0.0.1:\(port)\"\n"
        let (r, doc, _) = try await run(log, upstream)
        #expect(r.status == 1, "\(r.stderr)")
        #expect(doc.rootCause?.cause == .proxyError, "\(doc.findings.map { "\($0.cause): \($0.summary)" })")
        #expect(doc.rootCause?.fact(.event) == "connection-failure")
        #expect(doc.rootCause?.summary.contains("Envoy could not connect to the upstream") == true, "\(doc.rootCause?.summary ?? "")")
        let step = doc.steps.first { $0.id == "proxy-log" }
        #expect(step?.fact(.matchingLines) == 1)
        #expect(step?.summary.hasSuffix("last: 503 UF") == true, "\(step?.summary ?? "")")
    }
}
