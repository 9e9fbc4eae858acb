import Foundation
import TriageKit

/// `exec`: runs a command — an argv list, no shell unless `shell: true` —
/// under the step's deadline, and keeps its stdout, stderr and exit status.
/// Evidence: `stdout.txt`, `stderr.txt` (redacted). Command: the argv itself.
/// A different exit status marks the step failed; it raises no finding, since
/// triage cannot know what the command's failure means — the run is then
/// inconclusive unless something else explains it.
public struct ExecStep: StepKind {
    public let name = "exec"
    public let summary = "run a command (argv, no shell unless shell: true) and keep stdout, stderr, exit status"
    public let inputs: [InputDeclaration] = [
        .init("run", .stringOrList, required: true, "the command: a list of arguments, or one string with shell: true"),
        .init("shell", .boolean, "run `run` with /bin/sh -c (default false)"),
        .init("expect_exit", .integer, "the exit status that counts as success (default 0)"),
    ]
    public let outputs: [OutputDeclaration] = [
        .init("exit", .integer, "the exit status"),
        .init("stdout", .string, "standard output (redacted)"),
        .init("stderr", .string, "standard error (redacted)"),
    ]

    public init() {}

    public func run(_ context: StepContext) async throws -> StepOutcome {
        let shell = context.bool("shell") ?? false
        var argv = context.strings("run")
        if case .string(let s) = context["run"], !shell {
            argv = s.split(whereSeparator: \.isWhitespace).map(String.init)
        }
        if shell { argv = ["/bin/sh", "-c", argv.joined(separator: " ")] }
        guard !argv.isEmpty else { throw StepFailure(.inputEmpty, ["step": .string(name), "input": "run"]) }
        let result = try await Subprocess(argv).run()
        let stdout = String(decoding: result.stdout, as: UTF8.self)
        let stderr = String(decoding: result.stderr, as: UTF8.self)
        try context.evidence.write("stdout.txt", text: stdout, description: Message(.evidenceStdout, ["command": .string(argv[0])]))
        if !stderr.isEmpty {
            try context.evidence.write("stderr.txt", text: stderr, description: Message(.evidenceStderr, ["command": .string(argv[0])]))
        }
        let expected = context.int("expect_exit") ?? 0
        let ok = result.exitStatus == expected && result.signal == nil
        var transcript = "$ \(ShellQuote.join(argv))\n\(stdout)"
        if !stderr.isEmpty { transcript += (transcript.hasSuffix("\n") ? "" : "\n") + stderr }
        if result.truncated { transcript += "\n[output truncated at \(Subprocess([]).outputLimit) bytes]" }
        let how: Message = result.signal.map { Message(.execKilled, ["command": .string(argv[0]), "signal": .int(Int($0))]) }
            ?? Message(.execExited, ["command": .string(argv[0]), "status": .int(Int(result.exitStatus))])
        let summary = ok ? how : Message(.execUnexpected, ["how": how.value, "expected": .int(expected)])
        return StepOutcome(
            summary: summary,
            command: ShellQuote.join(argv),
            facts: [Fact(.exitStatus, .int(Int(result.exitStatus))), Fact(.expectedExit, .int(expected))],
            outputs: ["exit": .int(Int(result.exitStatus)), "stdout": .string(Redactor.redact(stdout)),
                      "stderr": .string(Redactor.redact(stderr))],
            transcript: transcript, failure: ok ? nil : summary)
    }
}
