import Dispatch
import Synchronization

/// How an operation run under a deadline ended.
public enum DeadlineOutcome<T: Sendable>: Sendable {
    case finished(Result<T, any Error>)
    case timedOut
    /// The caller's task was cancelled (SIGINT / SIGTERM).
    case cancelled
}

/// Runs `operation` until it finishes, `timeout` passes, or the calling task
/// is cancelled — whichever comes first. Either way the operation is told
/// (cancelled) and given up to a second to hand in what it has: on the
/// timeout a result it returns then is `.finished` (a step that met its own
/// deadline but waited for a thread under load keeps its evidence), an error
/// or nothing is `.timedOut`; on cancellation it is `.finished` and the
/// caller sees it was cancelled. `handIn` is that window on the timeout (a
/// lookup whose deadline is a budget's gives none).
///
/// The operation is cancelled when it loses the race. It is not awaited
/// afterwards: a step stuck in a C call that ignores cancellation is
/// abandoned rather than allowed to hang the run. Step kinds still honour
/// cancellation (they kill their child process, close their socket) so
/// nothing keeps running for long.
/// How long a cancelled operation may take to hand in what it has.
public let cancelGraceMilliseconds = 1000

public func withDeadline<T: Sendable>(
    _ timeout: Duration,
    handIn: Duration = .milliseconds(cancelGraceMilliseconds),
    _ operation: @escaping @Sendable () async throws -> T
) async -> DeadlineOutcome<T> {
    let race = Race<T>()
    return await withTaskCancellationHandler {
        await withCheckedContinuation { (continuation: CheckedContinuation<DeadlineOutcome<T>, Never>) in
            race.install(continuation)
            let work = Task {
                do { race.finish(.finished(.success(try await operation()))) } catch {
                    race.finish(.finished(.failure(error)))
                }
            }
            // The clock runs on a dispatch timer, so a step that blocks a
            // cooperative thread cannot hold it off; what the timer decides
            // runs as a task of the work's priority, queued behind the work's
            // own hand-in when that already waits for a thread: under load a
            // step that ended in time must not lose its result to the clock.
            let priority = Task.currentPriority
            let timer = DeadlineTimer(DispatchWorkItem {
                Task(priority: priority) {
                    guard race.overdue() else { return }
                    let grace = DeadlineTimer(DispatchWorkItem { Task(priority: priority) { race.finish(.timedOut) } })
                    DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(min(max(handIn.seconds, 0), 60) * 1e9)), execute: grace.item)
                }
            })
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(min(max(timeout.seconds, 0), 1e7) * 1e9)), execute: timer.item)
            race.track(work: work, timer: timer)
        }
    } onCancel: {
        // The operation is told at once; what it returns within the grace
        // period (a decoder's partial result) is kept, else it is abandoned.
        race.cancelWork()
        let grace = DeadlineTimer(DispatchWorkItem { race.finish(.cancelled) })
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(cancelGraceMilliseconds), execute: grace.item)
    }
}

/// Resume-once bookkeeping for `withDeadline`: the first outcome wins, the
/// losers are cancelled.
private final class Race<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<DeadlineOutcome<T>, Never>?
        var pending: DeadlineOutcome<T>?
        var done = false
        var work: Task<Void, Never>?
        var timer: DeadlineTimer?
        /// The timeout passed; only a result handed in now still counts.
        var overdue = false
    }

    private let state = Mutex(State())

    func install(_ continuation: CheckedContinuation<DeadlineOutcome<T>, Never>) {
        let early: DeadlineOutcome<T>? = state.withLock { s in
            if let pending = s.pending { s.pending = nil; return pending }
            s.continuation = continuation
            return nil
        }
        if let early { continuation.resume(returning: early) }
    }

    func track(work: Task<Void, Never>, timer: DeadlineTimer) {
        let finished = state.withLock { s in
            s.work = work
            s.timer = timer
            return s.done
        }
        if finished { work.cancel(); timer.cancel() }
    }

    /// Cancels the operation without deciding the outcome.
    func cancelWork() {
        state.withLock { $0.work }?.cancel()
    }

    /// The timeout passed: the operation is cancelled and has the grace
    /// period to hand in a result. False when it already finished.
    func overdue() -> Bool {
        let work: Task<Void, Never>?? = state.withLock { s in
            guard !s.done else { return .none }
            s.overdue = true
            return .some(s.work)
        }
        guard case .some(let w) = work else { return false }
        w?.cancel()
        return true
    }

    func finish(_ outcome: DeadlineOutcome<T>) {
        // What an overdue operation throws once cancelled is its deadline, not its failure.
        var outcome = outcome
        if case .finished(.failure) = outcome, state.withLock({ $0.overdue }) { outcome = .timedOut }
        let (continuation, work, timer): (CheckedContinuation<DeadlineOutcome<T>, Never>?, Task<Void, Never>?, DeadlineTimer?) =
            state.withLock { s in
                guard !s.done else { return (nil, nil, nil) }
                s.done = true
                guard let c = s.continuation else {
                    s.pending = outcome
                    return (nil, s.work, s.timer)
                }
                s.continuation = nil
                return (c, s.work, s.timer)
            }
        work?.cancel()
        timer?.cancel()
        continuation?.resume(returning: outcome)
    }
}

/// A pending dispatch work item, shared between the threads that may cancel
/// it. `DispatchWorkItem` is thread-safe (its cancel is an atomic flag) but
/// not marked `Sendable` in this toolchain's Dispatch.
private final class DeadlineTimer: @unchecked Sendable {
    let item: DispatchWorkItem
    init(_ item: DispatchWorkItem) { self.item = item }
    func cancel() { item.cancel() }
}
