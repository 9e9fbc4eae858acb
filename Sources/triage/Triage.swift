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
        Exit status: 0 nothing wrong found (every check completed), 1 a problem was diagnosed, 2 bad usage or bad input,
        3 inconclusive (a check could not be completed and nothing found explains why), 70 internal error,
        74 the result could not be written to stdout, 130 interrupted (SIGINT/SIGTERM; the report is still written).
        """,
        version: Triage.version,
        subcommands: [RunCommand.self, ValidateCommand.self, RunbooksCommand.self, ExplainCommand.self, DemoCommand.self, AnalyzeCommand.self, ScanCommand.self, ExporterCommand.self]
    )

    /// ArgumentParser exits 64 on usage errors; triage promises 2. Every exit
    /// goes through `leave`, so no thread still finishing a C call meets a
    /// library being torn down.
    static let version = "0.2.0"

    static func main() async {
        let console = Console()
        let arguments = Array(CommandLine.arguments.dropFirst())
        // Two malloc arenas keep a run's and a scan's memory small; the exporter's handshake loops
        // (one per core) and request threads would queue on their locks: 8 % more probes a second
        // with glibc's default (8 per core).
        if arguments.first != "exporter" { ProcessTuning.limitMallocArenas(2) }
        // What needs no argument parsing skips it: building the command tree reflects over every
        // command's options, most of `triage --version`'s time.
        if arguments == ["--version"] {
            console.result(Triage.version)
            leave(ExitStatus.healthy)
        }
        if arguments.first == "explain" {
            var explain = ExplainCommand()
            explain.text = Array(arguments.dropFirst())
            do { try explain.run() } catch let reported as Reported { leave(reported.status) } catch { leave(ExitStatus.internalError) }
            leave(ExitStatus.healthy)
        }
        // The rest may leave something behind (a case folder, nginx, temp files): a signal is read
        // and handled from here on. (The two above exit 130 on one, at once: no thread to start.)
        Signals.install()
        if arguments.first == "run", arguments.contains(where: { $0 == "--help" || $0 == "-h" }) {
            // The inputs of the runbook asked for (--runbook NAME), read only now.
            console.result(RunCommand.helpWithInputs(arguments))
            leave(ExitStatus.healthy)
        }
        if arguments.starts(with: ["help", "run"]) {
            console.result(RunCommand.helpWithInputs(Array(arguments.dropFirst(2))))
            leave(ExitStatus.healthy)
        }
        // `run` without the argument parser when its line is plain (see RunCommandLine.swift).
        if arguments.first == "run", getenv("TRIAGE_ARGUMENT_PARSER") == nil,
           let command = RunCommand.quickParse(Array(arguments.dropFirst())) {
            if getenv("TRIAGE_SHOW_COMMAND_LINE") != nil { showCommandLine(command, quick: true) }
            do { try await command.run(); leave(ExitStatus.healthy) } catch { fail(error, console) }
        }
        do {
            var command = try parseAsRoot()
            if getenv("TRIAGE_SHOW_COMMAND_LINE") != nil, let run = command as? RunCommand { showCommandLine(run, quick: false) }
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
            leave(ExitStatus.healthy)
        } catch {
            fail(error, console)
        }
    }

    /// For the test that holds the two readers of `run`'s line to the same result: what was read, and by which.
    static func showCommandLine(_ command: RunCommand, quick: Bool) -> Never {
        var text = quick ? "read by: triage\n" : "read by: the argument parser\n"
        dump(command, to: &text)
        print(text, terminator: "")
        leave(ExitStatus.healthy)
    }

    /// Leaves with the status (and the argument parser's message) an error thrown by a command calls for.
    static func fail(_ error: any Error, _ console: Console) -> Never {
        if let reported = error as? Reported { leave(reported.status) }
        let code = exitCode(for: error)
        var message = fullMessage(for: error)
        // The argument parser's "Error: " said as every other message of triage's is: "triage: …".
        if code != .success, message.hasPrefix("Error: ") { message = "triage: " + message.dropFirst("Error: ".count) }
        if code == .success {
            if !message.isEmpty { console.result(message) }
            leave(0)
        }
        if !message.isEmpty { console.diagnostics(message) }
        leave(code.rawValue == 64 ? ExitStatus.usage : code.rawValue)
    }
}

/// An error already reported to the user; only its exit status is left.
struct Reported: Error {
    var status: Int32
}
