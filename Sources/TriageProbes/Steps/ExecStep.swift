import Foundation
import TriageKit

/// `exec`: runs a command — an argv list, no shell unless `shell: true` —
/// under the step's deadline, and keeps its stdout, stderr and exit status.
///
/// Inputs: `run` (argv list, or a string for `shell: true`), `shell`,
/// `expect_exit` (default 0). Outputs: `exit`, `stdout`, `stderr`.
/// Evidence: `stdout.txt`, `stderr.txt` (redacted). Command: the argv itself.
/// A different exit status marks the step failed; it raises no finding, since
/// triage cannot know what the command's failure means.
public struct ExecStep: StepKind {
    public let name = "exec"
    public let summary = "run a command (argv, no shell unless shell: true) and keep stdout, stderr, exit status"
    public let inputs: [InputDeclaration] = [
        .init("run", .stringOrList, required: true, "the command: a list of arguments, or one string with shell: true"),
        .init("shell", .boolean, "run `run` with /bin/sh -c (default false)"),
        .init("expect_exit", .integer, "the exit status that counts as success (default 0)"),
    ]

    public init() {}

    public func run(_ context: StepContext) async throws -> StepOutcome {
        let shell = context["shell"].boolValue ?? false
        var argv = context.strings("run")
        if case .string(let s) = context["run"], !shell {
            argv = s.split(whereSeparator: \.isWhitespace).map(String.init)
        }
        if shell { argv = ["/bin/sh", "-c", argv.joined(separator: " ")] }
        guard !argv.isEmpty else { throw StepFailure("exec: 'run' is empty: expected a command") }
        let result = try await Subprocess(argv).run()
        let stdout = String(decoding: result.stdout, as: UTF8.self)
        let stderr = String(decoding: result.stderr, as: UTF8.self)
        try context.evidence.write("stdout.txt", text: stdout, description: "standard output of \(argv[0])")
        if !stderr.isEmpty {
            try context.evidence.write("stderr.txt", text: stderr, description: "standard error of \(argv[0])")
        }
        let expected = context["expect_exit"].intValue ?? 0
        let ok = result.exitStatus == expected
        var transcript = "$ \(ShellQuote.join(argv))\n\(stdout)"
        if !stderr.isEmpty { transcript += (transcript.hasSuffix("\n") ? "" : "\n") + stderr }
        if result.truncated { transcript += "\n[output truncated at \(Subprocess([]).outputLimit) bytes]" }
        let how = result.signal.map { "was killed by signal \($0)" } ?? "exited with status \(result.exitStatus)"
        return StepOutcome(
            summary: ok ? "`\(argv[0])` \(how)" : "`\(argv[0])` \(how), expected \(expected)",
            command: ShellQuote.join(argv),
            facts: [Fact("exit status", .int(Int(result.exitStatus))),
                    Fact("stdout bytes", .int(result.stdout.count)), Fact("stderr bytes", .int(result.stderr.count))],
            outputs: ["exit": .int(Int(result.exitStatus)), "stdout": .string(Redactor.redact(stdout)),
                      "stderr": .string(Redactor.redact(stderr))],
            transcript: transcript, failed: !ok)
    }
}

/// A step that could not do its job, with a message that says why.
public struct StepFailure: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
