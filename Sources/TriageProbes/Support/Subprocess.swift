internal import CTriageShims
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A child process run to completion with its output captured, killed (the
/// whole process group) when the calling task is cancelled. Reading happens
/// on a dedicated thread with `poll`, so the cooperative pool never blocks.
public struct Subprocess: Sendable {
    public struct Result: Sendable {
        public var exitStatus: Int32
        /// Set when the process died of a signal.
        public var signal: Int32?
        public var stdout: Data
        public var stderr: Data
        /// True when output beyond `outputLimit` was dropped.
        public var truncated: Bool
    }

    public struct LaunchError: Error, CustomStringConvertible {
        public var executable: String
        public var errno: Int32
        public var description: String { "cannot run '\(executable)': \(String(cString: strerror(errno)))" }
    }

    public var argv: [String]
    public var outputLimit = 1 << 20
    /// Variables set for the child on top of triage's own environment.
    public var environment: [String: String] = [:]

    public init(_ argv: [String]) { self.argv = argv }

    public func run() async throws -> Result {
        let control = Control()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let thread = Thread {
                    continuation.resume(with: Swift.Result { try self.runBlocking(control) })
                }
                thread.start()
            }
        } onCancel: {
            control.cancel()
        }
    }

    /// Shared between the cancelling task and the reader thread.
    final class Control: Sendable {
        private let state = Mutex<(pid: pid_t?, cancelled: Bool)>((nil, false))

        func started(_ pid: pid_t) -> Bool {
            state.withLock { s in s.pid = pid; return !s.cancelled }
        }

        func cancel() {
            let pid: pid_t? = state.withLock { s in s.cancelled = true; return s.pid }
            if let pid { kill(-pid, SIGKILL) }
        }

        var isCancelled: Bool { state.withLock { $0.cancelled } }
    }

    private func runBlocking(_ control: Control) throws -> Result {
        var outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        guard pipe(&outPipe) == 0, pipe(&errPipe) == 0 else { throw LaunchError(executable: argv[0], errno: errno) }
        let spawned = Subprocess.spawn(argv, stdout: .fd(outPipe[1]), stderr: .fd(errPipe[1]), environment: environment)
        close(outPipe[1])
        close(errPipe[1])
        let pid: pid_t
        switch spawned {
        case .success(let child): pid = child
        case .failure(let error):
            close(outPipe[0]); close(errPipe[0])
            throw error
        }
        if !control.started(pid) { kill(-pid, SIGKILL) }

        var out = Data(), err = Data(), truncated = false
        var fds = [pollfd(fd: outPipe[0], events: Int16(POLLIN), revents: 0),
                   pollfd(fd: errPipe[0], events: Int16(POLLIN), revents: 0)]
        var open = 2
        var buffer = [UInt8](repeating: 0, count: 65536)
        while open > 0 {
            if poll(&fds, 2, 100) < 0, errno != EINTR { break }
            if control.isCancelled { kill(-pid, SIGKILL) }
            for i in 0..<2 where fds[i].fd >= 0 && fds[i].revents != 0 {
                let n = read(fds[i].fd, &buffer, buffer.count)
                if n <= 0 {
                    close(fds[i].fd)
                    fds[i].fd = -1
                    open -= 1
                    continue
                }
                if out.count + err.count + n > outputLimit { truncated = true; continue }
                if i == 0 { out.append(contentsOf: buffer[0..<n]) } else { err.append(contentsOf: buffer[0..<n]) }
            }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signaled = (status & 0x7f) != 0 && (status & 0x7f) != 0x7f
        if control.isCancelled { throw CancellationError() }
        return Result(exitStatus: signaled ? 128 + (status & 0x7f) : (status >> 8) & 0xff,
                      signal: signaled ? status & 0x7f : nil, stdout: out, stderr: err, truncated: truncated)
    }
}

extension Subprocess {
    /// Where a child's stdout / stderr goes.
    enum Output {
        case fd(Int32)
        /// Appended to this file (created if needed).
        case file(String)
    }

    /// Starts `argv` (found on PATH) in its own process group with a clean
    /// signal mask and default handlers — so killing the group stops every
    /// child a shell started — stdin from /dev/null, and no other descriptor of ours.
    static func spawn(_ argv: [String], stdout: Output, stderr: Output?,
                      environment extra: [String: String] = [:]) -> Swift.Result<pid_t, LaunchError> {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        switch stdout {
        case .fd(let fd): posix_spawn_file_actions_adddup2(&actions, fd, 1)
        case .file(let path): posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        }
        switch stderr {
        case .fd(let fd)?: posix_spawn_file_actions_adddup2(&actions, fd, 2)
        case .file(let path)?: posix_spawn_file_actions_addopen(&actions, 2, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        case nil: posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        // Nothing else of ours crosses: an nginx or a user's command never holds our sockets, pipes or
        // files open (a pipe held by a daemonised child never reaches end of file), nor spends the
        // descriptors a child under a low `ulimit -n` needs.
        _ = triage_spawn_close_from(&actions, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        var pid: pid_t = 0
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        guard !extra.isEmpty else {
            let rc = posix_spawnp(&pid, argv[0], &actions, &attributes, cArgs, environ)
            return rc == 0 ? .success(pid) : .failure(LaunchError(executable: argv[0], errno: rc))
        }
        var merged = ProcessInfo.processInfo.environment
        merged.merge(extra) { $1 }
        let cEnv = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { cEnv.forEach { free($0) } }
        let rc = posix_spawnp(&pid, argv[0], &actions, &attributes, cArgs, cEnv)
        return rc == 0 ? .success(pid) : .failure(LaunchError(executable: argv[0], errno: rc))
    }
}
