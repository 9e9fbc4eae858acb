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
    @Test func jobsThatBlockTogetherAllRun() async throws {
        let pool = BlockingPool(core: 2, limit: 200, idleExit: 0.2)
        let started = Counter()
        let results = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<100 {
                group.addTask {
                    await pool.run { _ in
                        started.value.add(1, ordering: .relaxed)
                        let until = Date(timeIntervalSinceNow: 20)
                        while started.value.load(ordering: .relaxed) < 100, Date() < until { usleep(1_000) }
                        return started.value.load(ordering: .relaxed) == 100
                    }
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
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
}
