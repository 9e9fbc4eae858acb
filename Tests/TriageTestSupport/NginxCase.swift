import Foundation
import TriageDemo
import TriageKit

/// `triage run` through a real nginx in front of a fixture upstream, and
/// what it wrote: the end-to-end harness of the proxy tests.
public struct NginxCase: Sendable {
    public var result: CommandResult
    public var doc: ReportDocument
    public var markdown: String
    public var folder: URL

    /// nginx with the seed's configuration towards `127.0.0.1:upstream`; `extra` goes into the location.
    /// `replacing` edits the seed's text (`proxy_connect_timeout 5;` → `… 4;`, the server line's parameters).
    public static func nginx(upstream: Int, _ extra: String = "", scheme: String = "https", replacing: [(String, String)] = []) throws -> NginxRunner {
        var http = NginxRunner.seedConfiguration(upstream: "127.0.0.1:\(upstream)", host: TLSFixtures.host, extra: extra)
        if scheme != "https" { http = http.replacingOccurrences(of: "proxy_pass https://", with: "proxy_pass \(scheme)://") }
        for (from, to) in replacing { http = http.replacingOccurrences(of: from, with: to) }
        return try NginxRunner(http: http, prefix: TestPaths.temporaryFolder("nginx"))
    }

    /// nginx as it should be towards `127.0.0.1:upstream`: SNI on (`TLSFixtures.host`), verifying the upstream
    /// against `ca`.
    public static func verifying(upstream: Int, trusting ca: String) throws -> NginxRunner {
        try NginxRunner(http: NginxRunner.seedConfiguration(upstream: "127.0.0.1:\(upstream)", host: TLSFixtures.host, extra: """
                        proxy_ssl_server_name on;
                        proxy_ssl_name \(TLSFixtures.host);
                        proxy_ssl_verify on;
                        proxy_ssl_trusted_certificate \(ca);
            """), prefix: TestPaths.temporaryFolder("nginx"))
    }

    /// `triage run https://api.example.test:UPSTREAM/xxx/xxx --via nginx/test` with nginx's error log, and its
    /// configuration when `conf`; without it, as for a proxy on another machine (`--no-nginx-discovery`),
    /// unless `discover`: then triage finds the running nginx's configuration itself.
    public static func run(_ upstream: Int, nginx: NginxRunner, conf: Bool, discover: Bool = false, ca: String? = nil, scheme: String = "https",
                           extra: [String] = []) async throws -> NginxCase {
        let out = TestPaths.temporaryFolder("proxy-case")
        var arguments = ["run", "\(scheme)://\(TLSFixtures.host):\(upstream)/xxx/xxx", "--via", "http://127.0.0.1:\(nginx.port)/test",
                         "--nginx-error-log", nginx.errorLog.path, "--set", "addresses=127.0.0.1", "--out", out.path]
        if conf { arguments += ["--nginx-conf", nginx.configuration.path] } else if !discover { arguments += ["--no-nginx-discovery"] }
        if let ca { arguments += ["--cacert", ca] }
        let r = try await Command.triage(arguments + extra)
        let doc = try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json")))
        return NginxCase(result: r, doc: doc, markdown: try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8),
                         folder: out)
    }

    /// Every finding as `cause step: summary`, for failure messages.
    public var said: String { doc.findings.map { "\($0.cause.rawValue) \($0.step): \($0.summary)" }.joined(separator: "\n") }
}
