import Foundation
import Synchronization
import TriageKit

/// One thread, one epoll, any number of handshakes: the attempts of a
/// `tls.handshake` step and the thousands of a `triage scan` or of the
/// exporter all run on a few of these loops, each attempt with its own
/// deadline counted from its start. A silent endpoint costs its deadline,
/// not a thread.
///
/// There is one loop per core (at most 8): OpenSSL's client handshake costs
/// about a millisecond of CPU, so a single loop capped a busy exporter at
/// one core's worth of handshakes. An attempt goes to the loop with the
/// fewest attempts in flight.
final class HandshakeLoop: Sendable {
    /// The loops; the process's descriptor budget is split between them.
    static let pool: [HandshakeLoop] = {
        ProcessTuning.raiseOpenFileLimit()
        let count = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))
        let budget = max(count, ProcessTuning.openFileLimit - ProcessTuning.openDescriptors - reservedDescriptors)
        return (0..<count).map { HandshakeLoop(index: $0, budget: budget / count) }
    }()

    /// The least busy loop.
    static var next: HandshakeLoop {
        pool.min { $0.inFlight.load(ordering: .relaxed) < $1.inFlight.load(ordering: .relaxed) }!
    }

    /// Runs one attempt to its end (or its deadline) on the least busy loop.
    static func attempt(_ spec: HandshakeSpec) async -> HandshakeAttempt {
        await next.attempt(spec)
    }

    private struct Submission: @unchecked Sendable {
        // Handed from the submitting thread to the loop thread once; only the loop touches it after.
        let session: HandshakeSession
        let completion: @Sendable (HandshakeAttempt) -> Void
    }

    /// Submissions waiting for the loop thread to pick them up.
    private final class Inbox: Sendable {
        let list = Mutex<[Submission]>([])
        /// Set by the loop before it blocks in epoll_wait (after a last look at `list`): only then
        /// does a submission write to the eventfd. A busy loop takes new work on its next turn
        /// without the two system calls and the wake-up.
        let asleep = Atomic<Bool>(false)
        /// Set when an attempt is cancelled: the loop checks every session's flag on its next turn
        /// instead of at its next 5 ms sweep, so a dropped probe gives its slot back at once.
        let cancellation = Atomic<Bool>(false)
    }

    private let poll: EventPoll?
    private let incoming = Inbox()
    /// errno of epoll or eventfd when the loop could not be set up.
    private let startErrno: Int32
    var failure: Int32 { startErrno }
    /// Attempts submitted and not yet completed.
    fileprivate let inFlight = Atomic<Int>(0)
    /// Attempts completed since the start.
    fileprivate let completed = Atomic<Int>(0)

    /// Descriptors the rest of the process keeps for itself: libdispatch's timers, OpenSSL's
    /// configuration and trust files, the case folder's writes, libcurl, a capture. Spending
    /// them on sockets made libdispatch trap (it cannot create a timer) under a low `ulimit -n`.
    static let reservedDescriptors = 16

    private init(index: Int, budget: Int) {
        do {
            poll = try EventPoll()
            startErrno = 0
        } catch {
            poll = nil
            startErrno = error.code.rawValue
        }
        guard let poll else { return }
        let thread = Thread { [incoming] in Self.run(poll, incoming, budget: max(1, budget)) }
        thread.name = "triage-handshakes-\(index)"
        thread.start()
    }

    /// Starts an attempt; `completion` runs on the loop's thread.
    func submit(_ spec: HandshakeSpec, completion: @escaping @Sendable (HandshakeAttempt) -> Void) {
        let session = HandshakeSession(spec)
        guard let poll else {
            session.refuse(errno: startErrno)
            completion(session.attempt)
            return
        }
        inFlight.add(1, ordering: .relaxed)
        let submission = Submission(session: session) { attempt in
            self.inFlight.subtract(1, ordering: .relaxed)
            self.completed.add(1, ordering: .relaxed)
            completion(attempt)
        }
        incoming.list.withLock { $0.append(submission) }
        // The loop stores `asleep` before its last look at the list and this runs after the append,
        // both ordered by the list's lock: either the loop sees the submission or this sees it asleep.
        if incoming.asleep.exchange(false, ordering: .sequentiallyConsistent) { poll.wake() }
    }

    /// Runs one attempt to its end (or its deadline).
    func attempt(_ spec: HandshakeSpec) async -> HandshakeAttempt {
        let flag = CancelFlag()
        var spec = spec
        spec.cancel = flag
        let prepared = spec
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                submit(prepared) { continuation.resume(returning: $0) }
            }
        } onCancel: {
            flag.cancel()
            self.incoming.cancellation.store(true, ordering: .sequentiallyConsistent)
            self.poll?.wake()
        }
    }

    /// `budget`: at most this many sockets open at once; attempts beyond it wait for one to close,
    /// as they do on EMFILE.
    private static func run(_ poll: EventPoll, _ incoming: Inbox, budget: Int) {
        var active: [Int32: Submission] = [:]
        // Sessions waiting for a descriptor (EMFILE): retried as others close theirs.
        var waiting: [Submission] = []
        var lastSweep = ContinuousClock.now
        // One read buffer for every session of this loop: they read one at a time.
        var buffer = [UInt8](repeating: 0, count: 65_536)
        func done(_ s: Submission) {
            if let fd = s.session.socket?.fd { poll.remove(fd); active[fd] = nil }
            s.completion(s.session.attempt)
        }
        func settle(_ s: Submission) {
            guard let fd = s.session.socket?.fd else { done(s); return }
            if let interest = s.session.interest {
                if active[fd] == nil {
                    active[fd] = s
                    poll.add(fd, interest)
                } else if s.session.registered != interest {
                    poll.modify(fd, interest)
                }
                s.session.registered = interest
            } else {
                done(s)
            }
        }
        while true {
            for s in incoming.list.withLock({ list in defer { list = [] }; return list }) {
                // First come, first served: while attempts wait for a descriptor, a new one queues
                // behind them. (Taking each freed descriptor first, new attempts starved the waiting
                // ones until those gave up: a scan of 20,000 under `ulimit -n 64` left 680 untried.)
                if !waiting.isEmpty {
                    s.session.queueForDescriptor()
                    waiting.append(s)
                    continue
                }
                s.session.begin(descriptorFree: active.count < budget)
                if s.session.retryAt != nil { waiting.append(s) } else { settle(s) }
            }
            if !waiting.isEmpty {
                let now = ContinuousClock.now
                var still: [Submission] = []
                // Once one waits on, those behind it wait too (cancelled ones still leave at once).
                var blocked = false
                for s in waiting {
                    if s.session.spec.cancel?.isCancelled ?? false {
                        s.session.expire(cancelled: true)
                        done(s)
                    } else if !blocked, let at = s.session.retryAt, now >= at {
                        s.session.begin(descriptorFree: active.count < budget)
                        if s.session.retryAt != nil { blocked = true; still.append(s) } else { settle(s) }
                    } else {
                        blocked = true
                        still.append(s)
                    }
                }
                waiting = still
            }
            var timeout: Int32 = waiting.isEmpty ? 50 : 10
            let now = ContinuousClock.now
            if let next = active.values.lazy.map(\.session.wakeUp).min() {
                timeout = max(0, min(50, Int32(((next - now).seconds * 1000).rounded(.up))))
            }
            incoming.asleep.store(true, ordering: .sequentiallyConsistent)
            if incoming.list.withLock({ !$0.isEmpty }) { timeout = 0 }
            poll.wait(timeoutMs: timeout) { event in
                guard let s = active[event.fd] else { return }
                s.session.handle(readable: event.readable || event.hangUp, writable: event.writable, error: event.error, buffer: &buffer)
                settle(s)
            }
            incoming.asleep.store(false, ordering: .sequentiallyConsistent)
            // Deadlines hold whatever bytes arrive: every session is checked, busy or not.
            let sweepNow = ContinuousClock.now
            if incoming.cancellation.exchange(false, ordering: .sequentiallyConsistent) || sweepNow - lastSweep >= .milliseconds(5) || timeout == 0 {
                lastSweep = sweepNow
                for s in Array(active.values) {
                    let cancelled = s.session.spec.cancel?.isCancelled ?? false
                    if cancelled || sweepNow >= s.session.wakeUp {
                        s.session.expire(cancelled: cancelled)
                        settle(s)
                    }
                }
            }
        }
    }
}

/// What the handshake loops hold and have done, one entry per loop.
public enum HandshakeLoops {
    public struct Load: Sendable, Equatable {
        /// Attempts submitted and not yet completed.
        public var inFlight: Int
        /// Attempts completed since the start.
        public var completed: Int
    }

    /// Starts the loops' threads now. A run calls this before libcurl loads (CurlEasy.warmUp): a thread
    /// created while libcurl's twenty-five libraries load can wait for the dynamic loader (under strace
    /// the first handshake started only after the whole load; without it the step's median did not move).
    public static func start() { _ = HandshakeLoop.pool }

    /// errno of the first loop that could not be set up (no epoll or eventfd), if one could not.
    public static var startFailure: Int32? {
        HandshakeLoop.pool.lazy.map(\.failure).first { $0 != 0 }
    }

    public static var loads: [Load] {
        HandshakeLoop.pool.map { Load(inFlight: $0.inFlight.load(ordering: .relaxed), completed: $0.completed.load(ordering: .relaxed)) }
    }
}
