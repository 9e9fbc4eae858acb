import Foundation
import Synchronization

/// A cancellation flag blocking code polls between short waits.
public final class CancelFlag: Sendable {
    private let flag = Mutex(false)
    public init() {}
    public func cancel() { flag.withLock { $0 = true } }
    public var isCancelled: Bool { flag.withLock { $0 } }
}

/// Runs blocking work (a C library's loop) on its own thread, so the
/// cooperative pool never blocks; cancelling the task raises the flag the
/// work polls.
public func onThread<T: Sendable>(_ work: @escaping @Sendable (CancelFlag) -> T) async -> T {
    let flag = CancelFlag()
    return await withTaskCancellationHandler {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: work(flag)) }
            thread.stackSize = 1 << 20
            thread.start()
        }
    } onCancel: {
        flag.cancel()
    }
}
