import ArgumentParser
import Foundation
import TriageKit
import TriageProbes

struct AnalyzeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "The same report from a capture taken elsewhere (pcap or pcapng): TLS connections, alerts with sender, certificates.")

    @Argument(help: "The capture file.")
    var file: String

    @Option(help: "Only connections to this server port.")
    var port: Int?

    @Option(help: "The name the server certificates must match.")
    var host: String?

    @Option(help: ArgumentHelp("The case folder (default: incidents/<UTC yyyymmdd-HHMMSS>-analyze/).", valueName: "DIR"))
    var out: String?

    @Option(help: "Report language: en or zh.")
    var lang: String = "en"

    func run() async throws {
        let terminal = Terminal()
        guard FileManager.default.isReadableFile(atPath: file) else {
            terminal.error("cannot read \(file)")
            throw Reported(status: ExitStatus.usage)
        }
        var given = ["capture": file]
        if let port { given["port"] = String(port) }
        if let host { given["host"] = host }
        let caseRun: CaseRun
        do {
            caseRun = try CaseRun(CaseRun.Request(runbook: try Bundled.runbook("analyze"), given: given,
                                                  out: out.map { URL(fileURLWithPath: $0) }, language: lang),
                                  catalog: .standard)
        } catch {
            terminal.error(String(describing: error))
            throw Reported(status: ExitStatus.usage)
        }
        try await RunCommand.execute(caseRun, terminal: terminal, badInputIsUsageError: true)
    }
}
