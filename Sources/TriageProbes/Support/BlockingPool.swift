import Foundation
import TriageKit
import Synchronization

/// Threads for blocking C work (a libcurl transfer, a getaddrinfo, reading
/// a capture), so that the cooperative pool never blocks. It keeps `core`
/// threads and grows, up to `limit`, whenever a job would otherwise queue:
/// a job that waits for a thread spends its step's deadline waiting, and a
/// transfer that starts with 100 ms left "times out" through no fault of the
/// server. Threads beyond the core leave after `idleExit` without work.
/// Cancelling the awaiting task raises the job's flag, which the work polls.
public final class BlockingPool: Sendable {
    /// 64 threads at most (`TRIAGE_BLOCKING_THREADS` to change it): enough for a fan-out's transfers,
    /// few enough that a scan's burst of name lookups keeps its resident set flat. A process that runs
    /// hundreds of cases at once (the test suite) raises it.
    public static let shared = BlockingPool(core: 8, limit: ProcessInfo.processInfo.environment["TRIAGE_BLOCKING_THREADS"].flatMap { Int($0) }.map { max(8, min($0, 4096)) } ?? 64)

    private struct Job: Sendable {
        let id: UInt64
        let run: @Sendable () -> Void
        /// Runs instead when the job leaves the queue unrun (its deadline passed first).
        let expire: @Sendable () -> Void
    }

    private struct State {
        var queue: [Job] = []
        var threads = 0
        var idle = 0
        var started = 0
        var limit: Int
        var nextID: UInt64 = 0
    }

    private let state: Mutex<State>
    private let condition = NSCondition()
    private let core: Int
    private let idleExit: TimeInterval

    public init(core: Int, limit: Int, idleExit: TimeInterval = 10) {
        self.core = max(1, core)
        state = Mutex(State(limit: max(max(1, core), limit)))
        self.idleExit = idleExit
    }

    /// Raises the limit to at least `threads` (at most 4,096): the exporter's, to as many as probes
    /// may run at once, so that a probe's HTTP request does not wait for a thread behind the others'.
    public func raiseLimit(to threads: Int) {
        state.withLock { $0.limit = max($0.limit, min(threads, 4096)) }
    }

    /// The most threads it may have now.
    public var limit: Int { state.withLock { $0.limit } }

    /// Threads alive now (for the benchmark and tests).
    public var threadCount: Int { state.withLock { $0.threads } }

    private func startThread(_ index: Int) {
        let thread = Thread { [self] in self.work() }
        thread.name = "triage-blocking-\(index)"
        thread.stackSize = 1 << 20
        thread.start()
    }

    private func work() {
        condition.lock()
        while true {
            if let job = state.withLock({ $0.queue.isEmpty ? nil : $0.queue.removeFirst() }) {
                condition.unlock()
                job.run()
                condition.lock()
                continue
            }
            state.withLock { $0.idle += 1 }
            let woken = condition.wait(until: Date(timeIntervalSinceNow: idleExit))
            let leave: Bool = state.withLock { s in
                s.idle -= 1
                guard !woken, s.queue.isEmpty, s.threads > core else { return false }
                s.threads -= 1
                return true
            }
            if leave { condition.unlock(); return }
        }
    }

    /// Runs `work` on a pool thread and returns its result.
    public func run<T: Sendable>(_ work: @escaping @Sendable (CancelFlag) -> T) async -> T {
        // Without a deadline the job is never taken out of the queue unrun.
        await run(startingBy: nil, work)!
    }

    /// Runs `work` on a pool thread if one takes it up before `deadline`; nil when the deadline passed
    /// first (every thread busy, at the limit): the job is then taken out of the queue and never runs,
    /// and the caller has its answer at the deadline, not when a thread would have come free.
    public func run<T: Sendable>(startingBy deadline: ContinuousClock.Instant?, _ work: @escaping @Sendable (CancelFlag) -> T) async -> T? {
        let flag = CancelFlag()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
                condition.lock()
                let (id, spawn, waits): (UInt64, Int?, Bool) = state.withLock { s in
                    s.nextID += 1
                    s.queue.append(Job(id: s.nextID, run: { continuation.resume(returning: work(flag)) },
                                       expire: { continuation.resume(returning: nil) }))
                    // Every idle thread already has a job waiting for it: one more thread, within the limit.
                    guard s.queue.count > s.idle else { return (s.nextID, nil, false) }
                    guard s.threads < s.limit else { return (s.nextID, nil, true) }
                    s.threads += 1
                    s.started += 1
                    return (s.nextID, s.started, false)
                }
                condition.signal()
                condition.unlock()
                if let spawn { startThread(spawn) }
                // At the limit the job waits for a thread: no longer than its deadline (a Dispatch timer, not
                // a task: it fires even when every thread of the cooperative pool is busy).
                if waits, let deadline {
                    DispatchQueue.global().asyncAfter(deadline: .now() + max(0, (deadline - .now).seconds)) { [self] in
                        let unrun = state.withLock { s in s.queue.firstIndex { $0.id == id }.map { s.queue.remove(at: $0) } }
                        unrun?.expire()
                    }
                }
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
