import ArgumentParser
import Dispatch
import Foundation
import TriageKit
import TriageProbes

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a runbook against a URL and write the case folder (report.md, report.json, evidence/).")

    @Argument(help: "The URL that fails (sets the runbook input 'url').")
    var url: String?

    @Option(help: "A bundled runbook name or a runbook file.")
    var runbook: String = "tls-upstream"

    @Option(name: .customLong("set"), help: ArgumentHelp("Set a runbook input.", valueName: "KEY=VALUE"))
    var settings: [String] = []

    @Option(help: ArgumentHelp("The proxy URL that answers the error (sets input 'via').", valueName: "URL"))
    var via: String?

    @Option(help: ArgumentHelp("Trust this CA bundle instead of the system store (sets input 'ca_file').", valueName: "PEM"))
    var caFile: String?

    @Option(help: ArgumentHelp("The SNI the proxy sends upstream: a name, or none (sets input 'proxy_sni').", valueName: "NAME|none"))
    var proxySni: String?

    @Option(help: ArgumentHelp("The proxy's nginx.conf: replay its upstream handshake (sets input 'nginx_conf'; derives the URL when none is given).", valueName: "FILE"))
    var nginxConf: String?

    @Option(help: ArgumentHelp("The request path whose nginx location to replay (default: the --via URL's path).", valueName: "PATH"))
    var location: String?

    @Option(help: ArgumentHelp("The proxy's error.log: quote and decode its lines about the upstream.", valueName: "FILE"))
    var nginxErrorLog: String?

    @Option(help: ArgumentHelp("Ask this resolver instead of /etc/resolv.conf's (sets input 'dns_server').", valueName: "ADDR[:PORT]"))
    var dnsServer: String?

    @Option(help: ArgumentHelp("The case folder (default: incidents/<UTC yyyymmdd-HHMMSS>-<host>/).", valueName: "DIR"))
    var out: String?

    @Option(help: "Report language: en or zh.")
    var lang: String = "en"

    @Option(help: ArgumentHelp("A Mustache template for report.md instead of the bundled one.", valueName: "FILE"))
    var template: String?

    @Option(help: ArgumentHelp("Which reports to write, comma-separated: md, json.", valueName: "md,json"))
    var format: String = "md,json"

    @Option(help: ArgumentHelp("The deadline of every step, overriding the runbook's timeouts, e.g. 30s (default: each step's own, else 10s).", valueName: "DURATION"))
    var stepTimeout: String?

    func validate() throws {
        for s in settings where !s.contains("=") || s.hasPrefix("=") {
            throw ValidationError("--set expects KEY=VALUE, got '\(s)'")
        }
        guard !formats.isEmpty, formats.count == Set(format.split(separator: ",")).count else {
            throw ValidationError("--format expects md, json or md,json, got '\(format)'")
        }
        if let stepTimeout {
            do {
                guard try DurationParser.parse(stepTimeout) > .zero else { throw DurationParser.Failure.malformed }
            } catch {
                throw ValidationError("--step-timeout '\(stepTimeout.prefix(40))' is \((error as? DurationParser.Failure) == .outOfRange ? "out of range (at most 24h)" : "not a duration such as 500ms, 10s or 2m")")
            }
        }
    }

    var formats: Set<CaseFolder.Format> {
        Set(format.split(separator: ",").compactMap { CaseFolder.Format(rawValue: $0.trimmingCharacters(in: .whitespaces)) })
    }

    var given: [String: String] {
        var given: [String: String] = [:]
        for s in settings {
            let parts = s.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            given[String(parts[0])] = String(parts[1])
        }
        if let url { given["url"] = url }
        if let via { given["via"] = via }
        if let caFile { given["ca_file"] = caFile }
        if let proxySni { given["proxy_sni"] = proxySni }
        if let nginxConf { given["nginx_conf"] = nginxConf }
        if let location { given["location"] = location }
        if let nginxErrorLog { given["nginx_error_log"] = nginxErrorLog }
        if let dnsServer { given["dns_server"] = dnsServer }
        return given
    }

    func run() async throws {
        let terminal = Terminal()
        let caseRun: CaseRun
        do {
            var given = self.given
            if let nginxConf {
                // Refuse a config nginx would not load before anything runs, and
                // take the upstream URL from it when none was given.
                let view = try NginxProxyView.view(try NginxConfig(contentsOf: nginxConf),
                                                   path: location ?? via.flatMap { URLPart.path.extract(from: $0).stringValue } ?? "/")
                if given["url"] == nil, let server = view.servers.first {
                    let host = view.hostHeader.flatMap { $0.hasPrefix("$") ? nil : $0 } ?? server.host
                    let path = String(view.proxyPass.drop { $0 != "/" }.dropFirst(2).drop { $0 != "/" })
                    given["url"] = "\(view.scheme)://\(host):\(server.port)\(path.isEmpty ? "/" : path)"
                    if HostAddresses.isIPLiteral(server.host), given["addresses"] == nil {
                        given["addresses"] = view.servers.map(\.host).joined(separator: ",")
                    }
                }
            }
            let request = CaseRun.Request(
                runbook: try Bundled.runbook(runbook), given: given, out: out.map { URL(fileURLWithPath: $0) },
                language: lang, templatePath: template, formats: formats,
                stepTimeout: stepTimeout.flatMap { try? DurationParser.parse($0) })
            caseRun = try CaseRun(request, catalog: .standard)
        } catch let error as RunbookError {
            terminal.line(error.description)
            throw Reported(status: ExitStatus.usage)
        } catch {
            terminal.error(String(describing: error))
            throw Reported(status: ExitStatus.usage)
        }
        try await Self.execute(caseRun, terminal: terminal)
    }

    /// Runs the case with SIGINT/SIGTERM turned into cancellation, then
    /// prints the verdict and exits with its status.
    /// `badInputIsUsageError`: a first step that fails on its input (a
    /// capture that is not one) makes the exit status 2, not 0.
    static func execute(_ caseRun: CaseRun, terminal: Terminal, badInputIsUsageError: Bool = false) async throws {
        let title = caseRun.runbook.title ?? caseRun.runbook.name
        terminal.line("triage: \(title) — runbook \(caseRun.runbook.source), case \(caseRun.folder.url.path)")
        let task = Task {
            try await caseRun.run { event, _ in
                if case .stepFinished(let result) = event { terminal.step(result) }
            }
        }
        let signals = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                terminal.line("triage: \(number == SIGINT ? "SIGINT" : "SIGTERM") — cancelling the current step and writing the report")
                task.cancel()
            }
            source.resume()
            return source
        }
        defer { signals.forEach { $0.cancel() } }
        let record: CaseRecord
        do {
            record = try await task.value
        } catch let error as CaseFolder.Unusable {
            terminal.error(error.description)
            throw Reported(status: ExitStatus.usage)
        } catch {
            terminal.error("internal error: \(error)")
            throw Reported(status: ExitStatus.internalError)
        }
        let diagnosis = record.diagnosis
        let table = terminal.table
        switch diagnosis.verdict {
        case .problem:
            if let root = diagnosis.rootCause {
                terminal.line(terminal.paint("root cause: \(root.cause.code) — \(Redactor.redact(table.render(root.summary)))", "31;1"))
            }
        case .healthy:
            terminal.line(terminal.paint("no problem found", "32"))
        case .inconclusive:
            let steps = diagnosis.incompleteSteps.map { "\($0.id) (\(table.render($0.error ?? $0.summary)))" }
            terminal.line(terminal.paint("inconclusive: \(steps.count) check(s) could not be completed: \(steps.joined(separator: "; "))", "33"))
        case .interrupted, .incomplete:
            terminal.line(terminal.paint("interrupted: partial report written", "33"))
        }
        terminal.line("report: \(caseRun.folder.reportPath)")
        if badInputIsUsageError, diagnosis.verdict == .inconclusive, let first = record.steps.first, first.status == .failed {
            terminal.error(terminal.table.render(first.error ?? first.summary))
            throw Reported(status: ExitStatus.usage)
        }
        throw Reported(status: diagnosis.exitStatus)
    }
}
