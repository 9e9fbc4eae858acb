import Foundation
import Synchronization
import Testing
@testable import TriageProbes

/// The pool for blocking C work grows instead of queueing: a job that waits for a thread spends
/// its step's deadline waiting, and its transfer then "times out" through no fault of the server.
@Suite struct BlockingPoolTests {
    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    /// 100 jobs that each block until all 100 have started: they finish only if they run at once
    /// (a fixed pool of 32 threads left 68 queued behind jobs that never end).
    /// `count` jobs that each block until all `count` have started (or 20 s passed): each says whether
    /// it saw them all start, which they do only if the pool runs them at once.
    static func blockTogether(_ count: Int, on pool: BlockingPool) async -> [Bool] {
        let started = Counter()
        return await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<count {
                group.addTask {
                    await pool.run { _ in
                        started.value.add(1, ordering: .relaxed)
                        let until = Date(timeIntervalSinceNow: 20)
                        while started.value.load(ordering: .relaxed) < count, Date() < until { usleep(1_000) }
                        return started.value.load(ordering: .relaxed) == count
                    }
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
    }

    @Test func jobsThatBlockTogetherAllRun() async throws {
        let pool = BlockingPool(core: 2, limit: 200, idleExit: 0.2)
        let results = await Self.blockTogether(100, on: pool)
        #expect(results.count == 100)
        #expect(results.allSatisfy { $0 })
        // Idle threads beyond the core leave.
        let until = Date(timeIntervalSinceNow: 20)
        while pool.threadCount > 2, Date() < until { try await Task.sleep(for: .milliseconds(50)) }
        #expect(pool.threadCount == 2)
    }

    /// The limit holds: 10 jobs on a pool of at most 3 threads run 3 at a time and all finish.
    @Test func theLimitHolds() async throws {
        let pool = BlockingPool(core: 1, limit: 3, idleExit: 0.2)
        let running = Counter(), peak = Counter()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<10 {
                group.addTask {
                    await pool.run { _ in
                        let now = running.value.add(1, ordering: .relaxed).newValue
                        var seen = peak.value.load(ordering: .relaxed)
                        while now > seen, !peak.value.compareExchange(expected: seen, desired: now, ordering: .relaxed).exchanged {
                            seen = peak.value.load(ordering: .relaxed)
                        }
                        usleep(20_000)
                        running.value.subtract(1, ordering: .relaxed)
                    }
                }
            }
        }
        #expect(peak.value.load(ordering: .relaxed) == 3)
        #expect(pool.threadCount <= 3)
    }

    /// A job with a deadline that finds every thread busy at the limit is answered nil at its deadline
    /// and never runs; the busy threads' jobs, and a job whose thread comes in time, run.
    @Test func aJobThatCannotStartByItsDeadlineNeverRuns() async throws {
        let pool = BlockingPool(core: 1, limit: 2, idleExit: 0.2)
        let release = Counter(), ran = Counter()
        let busy = (0..<2).map { _ in
            Task { await pool.run { _ in while release.value.load(ordering: .relaxed) == 0 { usleep(1_000) } } }
        }
        while pool.threadCount < 2 { try await Task.sleep(for: .milliseconds(10)) }
        let late = await pool.run(startingBy: .now + .milliseconds(300)) { _ in ran.value.add(1, ordering: .relaxed) }
        #expect(late == nil)
        // In time: a thread comes free before this one's deadline.
        let waiting = Task { await pool.run(startingBy: .now + .seconds(20)) { _ in ran.value.add(1, ordering: .relaxed).newValue } }
        try await Task.sleep(for: .milliseconds(100))
        release.value.store(1, ordering: .relaxed)
        for task in busy { await task.value }
        #expect(await waiting.value == 1)
        // Had the expired job stayed queued, it would have run first (the queue is first in, first out).
        #expect(ran.value.load(ordering: .relaxed) == 1, "the expired job ran after all")
    }

    /// The exporter raises the limit to its concurrency: jobs that block together up to the new limit all run.
    @Test func theLimitCanBeRaised() async throws {
        let pool = BlockingPool(core: 1, limit: 2, idleExit: 0.2)
        pool.raiseLimit(to: 6)
        pool.raiseLimit(to: 3)
        #expect(pool.limit == 6)
        #expect(await Self.blockTogether(6, on: pool).allSatisfy { $0 })
    }

    /// A request with a deadline is sent when a thread takes it up (here to a port nothing listens on:
    /// curl's 7), with at least 100 ms even when less is left.
    @Test func aRequestWithADeadlineIsSentWhenAThreadIsFree() async throws {
        var request = HTTPRequest(url: "http://127.0.0.1:9/")
        request.timeout = .seconds(5)
        for deadline in [ContinuousClock.now + .seconds(5), .now + .milliseconds(50)] {
            guard case .fetched(let result) = await request.fetch(by: deadline) else {
                Issue.record("a request was not sent")
                return
            }
            #expect(result.exchange.curlCode == 7)
        }
    }
}
