import Foundation
import Synchronization

/// A fixed set of threads for blocking C work (a libcurl transfer, a
/// getaddrinfo, reading a capture), so that a run with 240 addresses starts
/// 240 jobs, not 240 threads, and the cooperative pool never blocks.
/// Cancelling the awaiting task raises the job's flag, which the work polls.
public final class BlockingPool: Sendable {
    public static let shared = BlockingPool(threads: 32)

    private struct Job: Sendable {
        let run: @Sendable () -> Void
    }

    private let queue = Mutex<[Job]>([])
    private let condition = NSCondition()
    private let threadCount: Int

    public init(threads: Int) {
        threadCount = threads
        for index in 0..<threads {
            let thread = Thread { [self] in self.work() }
            thread.name = "triage-blocking-\(index)"
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    private func work() {
        while true {
            condition.lock()
            var job: Job?
            while job == nil {
                job = queue.withLock { $0.isEmpty ? nil : $0.removeFirst() }
                if job == nil { condition.wait() }
            }
            condition.unlock()
            job?.run()
        }
    }

    /// Runs `work` on a pool thread and returns its result.
    public func run<T: Sendable>(_ work: @escaping @Sendable (CancelFlag) -> T) async -> T {
        let flag = CancelFlag()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                condition.lock()
                queue.withLock { $0.append(Job { continuation.resume(returning: work(flag)) }) }
                condition.signal()
                condition.unlock()
            }
        } onCancel: {
            flag.cancel()
        }
    }
}

/// Runs blocking work on the shared pool.
public func onPool<T: Sendable>(_ work: @escaping @Sendable (CancelFlag) -> T) async -> T {
    await BlockingPool.shared.run(work)
}
