import Foundation
import TriageKit

/// `exec`: runs a command — an argv list, no shell unless `shell: true` —
/// under the step's deadline, and keeps its stdout, stderr and exit status.
/// Evidence: `stdout.txt`, `stderr.txt` (redacted). Command: the argv itself.
/// A different exit status marks the step failed; it raises no finding, since
/// triage cannot know what the command's failure means — the run is then
/// inconclusive unless something else explains it.
///
/// Data never becomes code: each element of a `run` list becomes exactly one
/// argument, whatever its value holds; values reach a shell command only as
/// environment variables (`env:`, read as `"$NAME"`) — the loader refuses
/// `${{ }}` inside shell text or a one-string command, as GitHub's hardening
/// guide for Actions advises.
public struct ExecStep: StepKind {
    public let name = "exec"
    public let summary = "run a command (argv, no shell unless shell: true) and keep stdout, stderr, exit status"
    public let inputs: [InputDeclaration] = [
        .init("run", .stringOrList, required: true, "the command: a list of arguments, or one string with shell: true"),
        .init("shell", .boolean, "run `run` with /bin/sh -c (default false)"),
        .init("expect_exit", .integer, "the exit status that counts as success (default 0)"),
        .init("env", .any, "environment variables for the command, NAME: value (values may use ${{ }}; a shell reads them as \"$NAME\")"),
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
        switch context["run"] {
        case .string(let s) where !shell:
            argv = s.split(whereSeparator: \.isWhitespace).map(String.init)
        case .list(let items) where !shell:
            // Each element is exactly one argument, as written: an empty value (`""`, `~`, an input
            // set to nothing) stays an empty argument, or the ones after it would shift (`test -n ''`).
            argv = items.map(\.text)
        default:
            break
        }
        if shell { argv = ["/bin/sh", "-c", argv.joined(separator: " ")] }
        guard let program = argv.first, !program.isEmpty else { throw StepFailure(.inputEmpty, ["step": .string(name), "input": "run"]) }
        var environment: [String: String] = [:]
        if case .object(let fields) = context["env"] {
            for (key, value) in fields where Self.isVariableName(key) { environment[key] = value.text }
        }
        var process = Subprocess(argv)
        process.environment = environment
        let result = try await process.run()
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
            command: Self.command(argv, environment: environment),
            facts: [Fact(.exitStatus, .int(Int(result.exitStatus))), Fact(.expectedExit, .int(expected))],
            outputs: ["exit": .int(Int(result.exitStatus)), "stdout": .string(Redactor.redact(stdout)),
                      "stderr": .string(Redactor.redact(stderr))],
            transcript: transcript, failure: ok ? nil : summary)
    }

    /// Programs that read an argument as code (a shell's `-c`, `python3 -c`, `perl -e`, awk's program,
    /// `xargs`/`find -exec` running a shell): an expression anywhere in a list that names one is refused.
    static let interpreters: Set<String> = [
        "sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish", "csh", "tcsh", "busybox", "toybox",
        "python", "python2", "python3", "perl", "ruby", "node", "nodejs", "deno", "php", "lua", "tclsh", "wish",
        "awk", "gawk", "mawk", "nawk", "sed", "jq", "pwsh", "powershell", "osascript", "expect", "eval", "su", "sudo", "ssh",
    ]

    /// The command as one can paste it: the step's `env:` first (`NAME=value … cmd`), so a proof run by
    /// hand sees what the step saw; a value whose name says it is a secret (token, password, key, …) is masked.
    static func command(_ argv: [String], environment: [String: String]) -> String {
        let secretish = ["TOKEN", "PASSWORD", "PASSWD", "SECRET", "KEY", "AUTH", "COOKIE", "CREDENTIAL"]
        let assignments = environment.keys.sorted().map { name -> String in
            let value = secretish.contains { name.uppercased().contains($0) } ? Redactor.mask : environment[name] ?? ""
            return "\(name)=\(ShellQuote.quote(value))"
        }
        return (assignments + [ShellQuote.join(argv)]).joined(separator: " ")
    }

    /// Where data would become code: `${{ }}` in shell text, or in a one-string command (split on
    /// spaces after interpolation, a value would become several arguments); `env` must name variables.
    public func check(_ arguments: [String: StepArgument]) -> [ArgumentProblem] {
        var out: [ArgumentProblem] = []
        // A shell that is not literally false may be a shell: treat it as one; so is a list that runs a shell
        // or another interpreter anywhere in it (`[sh, -c, …]`, behind `env` or `timeout 5`, `python3 -c`, awk's
        // program): any argument of it may be read as code.
        var shell: Bool = if case .value(let v)? = arguments["shell"] { v.boolValue ?? (v.stringValue == "true") } else { arguments["shell"] != nil }
        if case .list(let items)? = arguments["run"], items.contains(where: { item in
            guard case .value(let v) = item, let word = v.stringValue else { return false }
            return Self.interpreters.contains(String(word.split(separator: "/").last ?? "").lowercased())
        }) {
            shell = true
        }
        let fix = "pass the value through env: (env: { NAME: \"${{ … }}\" }) and use \"$NAME\" in the command"
        switch arguments["run"] {
        case .template(let t, _)? where !t.expressions.isEmpty:
            out.append(ArgumentProblem(input: "run", message: shell
                ? "${{ }} inside a shell command runs data as code: \(fix)"
                : "${{ }} inside a one-string command is split on spaces after it is filled in, so a value can become several arguments: write run as a list (one argument per element), or \(fix)",
                text: "${{"))
        case .list(let items)? where shell && items.contains(where: { !$0.templates.flatMap(\.expressions).isEmpty }):
            out.append(ArgumentProblem(input: "run", message: "${{ }} inside a shell command runs data as code: \(fix)", text: "${{"))
        default:
            break
        }
        switch arguments["env"] {
        case nil:
            break
        case .object(let fields)?:
            for name in fields.keys.sorted() where !Self.isVariableName(name) {
                out.append(ArgumentProblem(input: "env", message: "env: '\(name.prefix(40))' is not a variable name (letters, digits and _, not starting with a digit)"))
            }
        default:
            out.append(ArgumentProblem(input: "env", message: "env must be a mapping NAME: value"))
        }
        return out
    }

    static func isVariableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.utf8.count <= 128 else { return false }
        let ok: (Unicode.Scalar) -> Bool = { $0.isASCII && ($0.properties.isAlphabetic || $0 == "_" || ("0"..."9").contains($0)) }
        return !("0"..."9").contains(first) && name.unicodeScalars.allSatisfy(ok)
    }
}
