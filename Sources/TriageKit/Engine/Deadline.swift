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
/// is cancelled — whichever comes first. It returns at once on the timeout;
/// on cancellation it gives the operation up to a second to return what it
/// has (then `.finished`, and the caller sees it was cancelled).
///
/// The operation is cancelled when it loses the race. It is not awaited
/// afterwards: a step stuck in a C call that ignores cancellation is
/// abandoned rather than allowed to hang the run. Step kinds still honour
/// cancellation (they kill their child process, close their socket) so
/// nothing keeps running for long.
/// How long a cancelled operation may take to hand in what it has.
let cancelGraceMilliseconds = 1000

public func withDeadline<T: Sendable>(
    _ timeout: Duration,
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
            // The clock runs on a dispatch timer, not a task: a step that
            // blocks a cooperative thread must not be able to hold off its
            // own deadline.
            let timer = DeadlineTimer(DispatchWorkItem { race.finish(.timedOut) })
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

    func finish(_ outcome: DeadlineOutcome<T>) {
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
