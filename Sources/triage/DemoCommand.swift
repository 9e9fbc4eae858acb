import ArgumentParser
import Dispatch
import Foundation
import TriageKit
import TriageDemo
import TriageProbes

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start a broken HTTPS upstream on 127.0.0.1 (expired certificate, alert 80 without SNI) behind a real nginx, and diagnose it.")

    @Option(help: ArgumentHelp("The case folder (default: incidents/<UTC yyyymmdd-HHMMSS>-upstream.demo.test/).", valueName: "DIR"))
    var out: String?

    @Option(help: "Report language: en or zh.")
    var lang: String = "en"

    @Flag(help: "Leave nginx out even when it is installed: diagnose the upstream directly.")
    var noNginx = false

    @Flag(help: "Only start the broken upstream and keep it running until SIGINT/SIGTERM (to try curl or openssl against it; used by make bench).")
    var serve = false

    func run() async throws {
        let terminal = Terminal()
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("triage-demo-\(getpid())")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let upstream: DemoUpstream
        do {
            upstream = try DemoUpstream(directory: scratch)
        } catch {
            terminal.error("cannot start the demo upstream: \(error)")
            throw Reported(status: ExitStatus.internalError)
        }
        defer { upstream.stop() }
        if serve {
            let facts = "url=\(upstream.url)\nport=\(upstream.server.port)\nhost=\(DemoUpstream.host)\nca_file=\(upstream.caFile.path)\n"
            FileHandle.standardOutput.write(Data(facts.utf8))
            await Self.waitForSignal()
            return
        }
        terminal.line("demo: upstream \(upstream.url) on 127.0.0.1:\(upstream.server.port) — certificate expired \(ISO8601.string(upstream.notAfter)), aborts handshakes without SNI")
        var given = ["url": upstream.url, "addresses": "127.0.0.1", "ca_file": upstream.caFile.path]
        var nginx: NginxRunner?
        if !noNginx, NginxRunner.binary != nil {
            do {
                // The seed's nginx: proxy_pass to an upstream block, no proxy_ssl_server_name.
                let runner = try NginxRunner(http: NginxRunner.seedConfiguration(upstream: "127.0.0.1:\(upstream.server.port)", host: DemoUpstream.host),
                                             prefix: scratch.appendingPathComponent("nginx"))
                nginx = runner
                given["via"] = "http://127.0.0.1:\(runner.port)/test"
                given["url"] = "https://\(DemoUpstream.host):\(upstream.server.port)/xxx/xxx"
                given["nginx_conf"] = runner.configuration.path
                given["nginx_error_log"] = runner.errorLog.path
                terminal.line("demo: nginx on 127.0.0.1:\(runner.port) with the seed's configuration: location /test → proxy_pass https://middleground_backend/xxx/xxx")
            } catch {
                terminal.line("demo: \(error); diagnosing the upstream without nginx")
            }
        } else if !noNginx {
            terminal.line("demo: nginx is not installed (make install-deps installs nginx-light); diagnosing the upstream without a proxy")
        }
        defer { nginx?.stop() }
        let request = CaseRun.Request(
            runbook: try Bundled.runbook("tls-upstream"), given: given,
            out: out.map { URL(fileURLWithPath: $0) }, language: lang)
        let caseRun: CaseRun
        do {
            caseRun = try CaseRun(request, catalog: .standard)
        } catch {
            terminal.error(String(describing: error))
            throw Reported(status: ExitStatus.usage)
        }
        try await RunCommand.execute(caseRun, terminal: terminal)
    }

    /// Suspends until SIGINT or SIGTERM.
    static func waitForSignal() async {
        let (stream, continuation) = AsyncStream<Int32>.makeStream()
        let sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        }
        for await _ in stream { break }
        sources.forEach { $0.cancel() }
    }
}
