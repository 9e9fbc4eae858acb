import Foundation
import Testing
import TriageKit
import TriageProbes
import TriageTestSupport

@Suite struct ExecStepTests {
    func context(_ arguments: [String: Value], folder: URL? = nil, timeout: Duration = .seconds(5)) -> StepContext {
        StepContext(stepID: "cmd", arguments: arguments, timeout: timeout, deadline: .now + timeout, runStartedAt: Date(),
                    evidence: EvidenceDirectory(caseFolder: folder, stepID: "cmd"))
    }

    /// The command the report shows (and its fix's proof) carries the step's environment, a secret's value masked.
    @Test func theCommandCarriesItsEnvironment() async throws {
        let outcome = try await ExecStep().run(context(["run": "test -s \"$BUNDLE\" && echo present", "shell": true,
                                                        "env": ["BUNDLE": "/etc/ssl/my bundle.pem", "API_TOKEN": "s3cret"]]))
        #expect(outcome.command == "API_TOKEN='[REDACTED]' BUNDLE='/etc/ssl/my bundle.pem' /bin/sh -c 'test -s \"$BUNDLE\" && echo present'",
                "\(outcome.command ?? "")")
    }

    @Test func keepsStdoutStderrAndExitStatus() async throws {
        let folder = TestPaths.temporaryFolder("exec")
        let outcome = try await ExecStep().run(context(["run": ["sh", "-c", "echo out; echo 'Cookie: a=b' >&2; exit 3"],
                                                        "expect_exit": 3], folder: folder))
        #expect(outcome.failure == nil)
        #expect(outcome.outputs["exit"] == 3)
        #expect(outcome.outputs["stdout"] == "out\n")
        #expect(outcome.outputs["stderr"] == "Cookie: [REDACTED]\n")
        #expect(outcome.command == "sh -c 'echo out; echo '\\''Cookie: a=b'\\'' >&2; exit 3'")
        let stderr = try String(contentsOf: folder.appendingPathComponent("evidence/cmd/stderr.txt"), encoding: .utf8)
        #expect(stderr == "Cookie: [REDACTED]\n")
    }

    /// Each element of a `run` list is exactly one argument: an empty one (`""`, YAML's `~`, an input
    /// set to nothing) stays, so `test -n ''` fails as it does in a shell and the arguments after it keep
    /// their places.
    @Test func anEmptyElementIsAnEmptyArgument() async throws {
        let printed = try await ExecStep().run(context(["run": ["printf", "[%s]", "a", .null, "", "b"]]))
        #expect(printed.outputs["stdout"] == "[a][][][b]")
        #expect(printed.command == "printf '[%s]' a '' '' b")
        let test = try await ExecStep().run(context(["run": ["test", "-n", ""]]))
        #expect(test.outputs["exit"] == 1)
        #expect(test.failure != nil)
    }

    /// A command sees stdin, stdout and stderr and no other descriptor of triage's (its sockets,
    /// pipes, the case folder's files; here a file the test holds open without close-on-exec).
    @Test func aCommandInheritsNoDescriptorOfOurs() async throws {
        let held = open("/dev/null", O_RDONLY)
        #expect(held > 2)
        defer { close(held) }
        let outcome = try await ExecStep().run(context(["run": "ls /proc/$$/fd", "shell": true]))
        #expect(outcome.outputs["stdout"]?.stringValue?.split(separator: "\n").sorted() == ["0", "1", "2"])
    }

    @Test func unexpectedExitFailsTheStep() async throws {
        let outcome = try await ExecStep().run(context(["run": "false"]))
        #expect(outcome.failure != nil)
        #expect(outcome.summary.english == "`false` exited with status 1, expected 0")
    }

    @Test func shellModeAndMissingProgram() async throws {
        let outcome = try await ExecStep().run(context(["run": "echo $((6 * 7))", "shell": true]))
        #expect(outcome.outputs["stdout"] == "42\n")
        await #expect(throws: Subprocess.LaunchError.self) {
            try await ExecStep().run(context(["run": ["/no/such/program"]]))
        }
    }

    @Test func cancellationKillsTheProcessGroup() async throws {
        let marker = TestPaths.temporaryFolder("exec").appendingPathComponent("late")
        let outcome = await withDeadline(.milliseconds(300)) {
            // 5 s, not 2: at the suite's start, with every suite at once on two cores, the 300 ms deadline
            // once fired only after a 2 s command had finished.
            try await ExecStep().run(context(["run": .string("sleep 5 && touch \(marker.path)"), "shell": true]))
        }
        guard case .timedOut = outcome else { Issue.record("expected a timeout, got \(outcome)"); return }
        try await Task.sleep(for: .seconds(5.5))
        #expect(!FileManager.default.fileExists(atPath: marker.path), "the child outlived the cancelled step")
    }
}
