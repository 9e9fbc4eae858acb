import Foundation
import Synchronization

/// A cancellation flag blocking code polls between short waits. C code
/// (libcurl's progress callback) reads the same flag through `cFlag`.
public final class CancelFlag: @unchecked Sendable {
    private let flag = Mutex(false)
    /// Written once, 0 → 1, under the mutex; C reads it as a volatile int.
    let cFlag: UnsafeMutablePointer<Int32>

    public init() {
        cFlag = .allocate(capacity: 1)
        cFlag.initialize(to: 0)
    }

    deinit { cFlag.deallocate() }

    public func cancel() {
        flag.withLock { cancelled in
            cancelled = true
            cFlag.pointee = 1
        }
    }

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
