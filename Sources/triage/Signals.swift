import CTriageSignals
import Foundation
import Synchronization
import TriageKit
import TriageProbes
#if canImport(Glibc)
import Glibc
#endif

/// SIGINT and SIGTERM. CTriageSignals installs the handler from the
/// executable's preinit array, before any library or the Swift runtime starts, so a signal is never fatal nor
/// lost however early it comes: until `install()` it exits with 130 at once (nothing of triage's has
/// run yet, or the command is one that leaves none behind: `--version`, `explain`); after, the
/// handler writes a byte to a pipe that a thread here reads. The first signal cancels the run (which then writes
/// its report marked interrupted and exits 130); a second one, or one that
/// arrives before any run exists, runs the cleanups and exits with 130.
enum Signals {
    private final class State: Sendable {
        let cancel = Mutex<(@Sendable () -> Void)?>(nil)
        let cleanups = Mutex<[@Sendable () -> Void]>([])
    }

    private static let state = State()

    /// Starts the thread that turns the handler's bytes into cancellation.
    static func install() {
        let fd = triage_signals_fd()
        guard fd >= 0 else { return }
        triage_signals_listen()
        let thread = Thread {
            var byte: UInt8 = 0
            while true {
                let n = read(fd, &byte, 1)
                if n < 0, errno == EINTR { continue }
                guard n == 1 else { return }
                guard triage_signals_count() == 1, let cancel = state.cancel.withLock({ $0 }) else {
                    // No run to cancel yet, or a second Ctrl-C: undo what
                    // must not outlive triage (nginx, temp folders), leave now.
                    for cleanup in state.cleanups.withLock({ $0 }) { cleanup() }
                    leave(ExitStatus.interrupted)
                }
                cancel()
            }
        }
        thread.start()
    }

    /// What the first signal does while a run is in progress.
    static func onInterrupt(_ cancel: @escaping @Sendable () -> Void) {
        state.cancel.withLock { $0 = cancel }
    }

    /// Run before leaving on a signal that finds no run to cancel (or a
    /// second one): stopping child processes, removing temp folders.
    static func onExit(_ cleanup: @escaping @Sendable () -> Void) {
        state.cleanups.withLock { $0.append(cleanup) }
    }

    static var interrupted: Bool { triage_signals_count() > 0 }
}

/// Leaves without running atexit handlers or static destructors: the
/// threads still finishing a cancelled C call must not meet a library that
/// is being torn down (the crash a SIGINT early in a run used to cause).
func leave(_ status: Int32) -> Never {
    // What went through stdio (`print`: runbooks, the schemas) is flushed here; a failure other than a reader
    // that left is a lost result too.
    let flushed = triage_flush_stdout()
    if flushed != 0, flushed != EPIPE { Console.resultLost.store(true, ordering: .relaxed) }
    // A verdict whose words never reached stdout (a full disk, a dead device) is not a verdict given.
    let status = Console.resultLost.load(ordering: .relaxed) && [ExitStatus.healthy, ExitStatus.problem, ExitStatus.inconclusive].contains(status)
        ? ExitStatus.outputFailed : status
    // TRIAGE_PEAK_RSS=1: the process's own high-water mark (VmHWM), for tests and benchmarks — wait4's
    // ru_maxrss would count the parent's memory at the moment it spawned triage.
    if getenv("TRIAGE_PEAK_RSS") != nil, let peak = ProcessTuning.peakResidentKB {
        let line = Array("triage: peak resident set \(peak) kB\n".utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
    // Folders a step abandoned at the run's deadline or a second Ctrl-C left behind (again after the
    // flush, which can block on a slow pipe while such a step writes).
    TemporaryFolders.removeAll()
    fflush(nil)
    TemporaryFolders.removeAll()
    Glibc._exit(status)
}
