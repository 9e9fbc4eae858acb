import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process that keeps running (a server for the demo or a test),
/// in its own process group, stopped with SIGTERM and then SIGKILL.
public final class BackgroundProcess: @unchecked Sendable {
    public let pid: pid_t
    private var stopped = false
    private let lock = NSLock()

    public init(_ argv: [String], output: String = "/dev/null") throws {
        let child = try Subprocess.spawn(argv, stdout: .file(output), stderr: nil).get()
        pid = child
    }

    deinit { stop() }

    /// How it ended, waiting up to `wait` for it: its exit status, or 128 + the signal that ended it;
    /// nil while it still runs.
    public func exitStatus(within wait: Duration) -> Int32? {
        let deadline = ContinuousClock.now + wait
        var status: Int32 = 0
        while ContinuousClock.now < deadline || wait == .zero {
            if waitpid(pid, &status, WNOHANG) == pid {
                lock.withLock { stopped = true }
                return status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + status & 0x7F
            }
            if wait == .zero { break }
            usleep(20_000)
        }
        return nil
    }

    /// Whether the process has exited (reaps it if so).
    public var hasExited: Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == pid
    }

    public func stop(grace: Duration = .seconds(2)) {
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return }
        stopped = true
        kill(-pid, SIGTERM)
        let deadline = ContinuousClock.now + grace
        var status: Int32 = 0
        while ContinuousClock.now < deadline {
            if waitpid(pid, &status, WNOHANG) == pid { return }
            usleep(20_000)
        }
        kill(-pid, SIGKILL)
        waitpid(pid, &status, 0)
    }
}
