import Dispatch
import Foundation
import Synchronization
import TriageKit
#if canImport(Glibc)
import Glibc
#endif

/// SIGINT and SIGTERM, handled from the first instant: the first cancels
/// the run (which then writes its report marked interrupted and exits 130);
/// a second one, or one that arrives before any run exists, exits at once.
enum Signals {
    private final class State: Sendable {
        let cancel = Mutex<(@Sendable () -> Void)?>(nil)
        let count = Atomic<Int>(0)
    }

    private static let state = State()
    /// Kept alive for the life of the process; written once, before any other thread exists.
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    /// Installs the handlers; called first thing in `main`.
    static func install() {
        // A closed pipe is an error on write, not a death.
        signal(SIGPIPE, SIG_IGN)
        sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                let n = state.count.add(1, ordering: .relaxed).newValue
                guard n == 1, let cancel = state.cancel.withLock({ $0 }) else {
                    // Before a run exists, or a second Ctrl-C: leave now.
                    Glibc._exit(ExitStatus.interrupted)
                }
                cancel()
            }
            source.resume()
            return source
        }
    }

    /// What the first signal does while a run is in progress.
    static func onInterrupt(_ cancel: @escaping @Sendable () -> Void) {
        state.cancel.withLock { $0 = cancel }
        // A signal that came before this was registered still counts.
        if state.count.load(ordering: .relaxed) > 0 { cancel() }
    }

    static var interrupted: Bool { state.count.load(ordering: .relaxed) > 0 }
}

/// Leaves without running atexit handlers or static destructors: the
/// threads still finishing a cancelled C call must not meet a library that
/// is being torn down (the crash a SIGINT early in a run used to cause).
func leave(_ status: Int32) -> Never {
    fflush(nil)
    Glibc._exit(status)
}
