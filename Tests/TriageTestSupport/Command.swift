import Foundation
import TriageProbes

/// Runs the built `triage` binary (or any command) the way a user would.
public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    /// The child's peak resident set, in bytes: what triage says with TRIAGE_PEAK_RSS set (its own VmHWM;
    /// wait4's ru_maxrss counts the parent's memory at the moment it spawned the child).
    public var peakResidentBytes: Int {
        guard let line = stderr.split(separator: "\n").last(where: { $0.hasPrefix("triage: peak resident set ") }) else { return 0 }
        return (Int(line.dropFirst("triage: peak resident set ".count).prefix { $0.isNumber }) ?? 0) * 1024
    }
}

public enum Command {
    public static func run(_ argv: [String], in directory: URL? = nil) async throws -> CommandResult {
        var argv = argv
        if let directory { argv = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory.path] + argv }
        let r = try await Subprocess(argv).run()
        return CommandResult(status: r.exitStatus, stdout: String(decoding: r.stdout, as: UTF8.self),
                             stderr: String(decoding: r.stderr, as: UTF8.self))
    }

    public static func triage(_ arguments: [String], in directory: URL? = nil) async throws -> CommandResult {
        try await run([TestPaths.triageBinary.path] + arguments, in: directory)
    }

    /// Runs triage with `hosts` bind-mounted over /etc/hosts in a private mount namespace.
    public static func triage(_ arguments: [String], hosts: String) async throws -> CommandResult {
        let file = TestPaths.temporaryFolder("hosts").appendingPathComponent("hosts")
        try hosts.write(to: file, atomically: true, encoding: .utf8)
        return try await run(["unshare", "--mount", "/bin/sh", "-c", "mount --bind \"$0\" /etc/hosts && exec \"$@\"", file.path,
                              TestPaths.triageBinary.path] + arguments)
    }
}
