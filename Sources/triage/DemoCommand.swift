import ArgumentParser
import Dispatch
import Foundation
import TriageKit
import TriageDemo
import TriageProbes

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start a broken HTTPS upstream on 127.0.0.1 (valid with SNI; without SNI its expired default certificate makes it abort with alert 80) behind a real nginx, and diagnose it.")

    @Option(help: ArgumentHelp("The case folder (default: incidents/<UTC yyyymmdd-HHMMSS>-upstream.demo.test/).", valueName: "DIR"))
    var out: String?

    @Flag(help: "Replace an earlier case in --out (default: an earlier case is kept and this run goes beside it, DIR-2).")
    var force = false

    @Option(help: "Report and terminal language: en or zh.")
    var lang: String = "en"

    @Option(help: ArgumentHelp("Which reports to write, comma-separated: md, json, jira (report.jira: Jira wiki markup).", valueName: "md,json"))
    var format: String = "md,json"

    @Flag(help: "Leave nginx out even when it is installed: diagnose the upstream directly.")
    var noNginx = false

    @Flag(help: "Only start the broken upstream and keep it running until SIGINT/SIGTERM (to try curl or openssl against it; used by make bench).")
    var serve = false

    var formats: Set<CaseFolder.Format> { CaseFolder.Format.parse(format) ?? [] }

    func validate() throws {
        guard CaseFolder.Format.parse(format) != nil else {
            throw ValidationError("--format expects a comma-separated list of md, json, jira, got '\(format)'")
        }
    }

    func run() async throws {
        let console = Console(language: lang)
        let table = console.table
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("triage-demo-\(getpid())")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let scratchPath = scratch.path
        Signals.onExit { try? FileManager.default.removeItem(atPath: scratchPath) }
        let upstream: DemoUpstream
        do {
            upstream = try DemoUpstream(directory: scratch)
        } catch {
            console.error("cannot start the demo upstream: \(error)")
            throw Reported(status: ExitStatus.internalError)
        }
        defer { upstream.stop() }
        if serve {
            let facts = "url=\(upstream.url)\nport=\(upstream.server.port)\nhost=\(DemoUpstream.host)\nca_file=\(upstream.caFile.path)\n"
            console.result(facts.trimmingCharacters(in: .newlines))
            await Self.waitForSignal()
            // Stopped by Ctrl-C or SIGTERM, as every command: 130.
            throw Reported(status: ExitStatus.interrupted)
        }
        console.progress(table.render(.demoUpstream, ["url": .string(upstream.url), "port": .int(upstream.server.port),
                                                      "date": .typed(.date(upstream.defaultNotAfter))]))
        var given = ["url": upstream.url, "addresses": "127.0.0.1", "ca_file": upstream.caFile.path]
        var nginx: NginxRunner?
        if !noNginx, NginxRunner.binary != nil {
            do {
                // The seed's nginx: proxy_pass to an upstream block, no proxy_ssl_server_name.
                let runner = try NginxRunner(http: NginxRunner.seedConfiguration(upstream: "127.0.0.1:\(upstream.server.port)", host: DemoUpstream.host),
                                             prefix: scratch.appendingPathComponent("nginx"))
                nginx = runner
                Signals.onExit { runner.stop() }
                given["via"] = "http://127.0.0.1:\(runner.port)/test"
                given["url"] = "https://\(DemoUpstream.host):\(upstream.server.port)/xxx/xxx"
                given["nginx_conf"] = runner.configuration.path
                given["nginx_error_log"] = runner.errorLog.path
                console.progress(table.render(.demoNginx, ["port": .int(runner.port)]))
            } catch {
                console.progress(table.render(.demoNginxFailed, ["error": .string("\(error)")]))
            }
        } else if !noNginx {
            console.progress(table.render(.demoNoNginx))
        }
        defer { nginx?.stop() }
        var request = CaseRun.Request(
            runbook: try Bundled.runbook("tls-upstream"), given: given,
            out: out.map { URL(fileURLWithPath: $0) }, language: lang)
        request.progress = console.progressLine
        request.force = force
        request.formats = formats
        let caseRun: CaseRun
        do {
            caseRun = try CaseRun(request, catalog: .standard)
        } catch {
            console.error(String(describing: error))
            throw Reported(status: ExitStatus.usage)
        }
        let status = await CaseExecution.execute(caseRun, console: console)
        nginx?.stop()
        upstream.stop()
        try? FileManager.default.removeItem(at: scratch)
        throw Reported(status: status)
    }

    /// Suspends until SIGINT or SIGTERM.
    static func waitForSignal() async {
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        Signals.onInterrupt { continuation.yield(()) }
        for await _ in stream { break }
    }
}
