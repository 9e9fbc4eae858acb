import ArgumentParser
import Foundation
import TriageKit
import TriageProbes

/// The `triage` command. Subcommands are thin: they turn arguments into a
/// request for TriageKit / TriageProbes and print the result.
@main
struct Triage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "triage",
        abstract: "Turn one failing HTTPS URL into a ticket-ready incident report.",
        discussion: """
        Exit status: 0 nothing wrong found, 1 a problem was diagnosed, 2 bad usage or bad input,
        70 internal error, 130 interrupted (SIGINT/SIGTERM; the report is still written).
        """,
        version: "0.1.0",
        subcommands: [RunCommand.self, ValidateCommand.self, RunbooksCommand.self, ExplainCommand.self, DemoCommand.self, AnalyzeCommand.self]
    )

    /// ArgumentParser exits 64 on usage errors; triage promises 2.
    static func main() async {
        signal(SIGPIPE, SIG_IGN)
        ProcessTuning.limitMallocArenas(2)
        do {
            var command = try parseAsRoot()
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch let reported as Reported {
            Foundation.exit(reported.status)
        } catch {
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }
            let message = fullMessage(for: error)
            if !message.isEmpty { FileHandle.standardError.write(Data((message + "\n").utf8)) }
            Foundation.exit(code.rawValue == 64 ? ExitStatus.usage : code.rawValue)
        }
    }
}

/// An error already reported to the user; only its exit status is left.
struct Reported: Error {
    var status: Int32
}
