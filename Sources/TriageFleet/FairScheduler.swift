import Foundation

/// At most `limit` probes at once, shared fairly between targets: each
/// target's requests wait in a queue of its own, a freed slot goes to the
/// next target in turn, and no target holds more than its share —
/// `limit / max(2, targets waiting or running)` — so a silent target cannot
/// take every slot and hold up a healthy one past its scrape deadline. A
/// request waits until its deadline at most, and leaves the queue when its
/// task is cancelled (the client hung up).
public actor FairScheduler {
    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Bool, Never>
    }

    public let limit: Int
    private var free: Int
    private var held: [String: Int] = [:]
    private var queues: [String: [Waiter]] = [:]
    /// Targets with waiters, in the order they get their turn.
    private var ring: [String] = []
    private var next: UInt64 = 0

    public init(limit: Int) {
        self.limit = max(1, limit)
        free = max(1, limit)
    }

    /// How many slots one target may hold now.
    private var share: Int {
        // `held` keeps only keys holding a slot (release removes a key at zero): counted without building sets.
        let active = held.count + queues.keys.count { held[$0] == nil }
        return max(1, limit / max(2, active))
    }

    /// A slot for `key`, or false when `deadline` passed first or the task was cancelled.
    public func acquire(_ key: String, deadline: ContinuousClock.Instant) async -> Bool {
        if queues[key] == nil, free > 0, held[key, default: 0] < share {
            take(key)
            return true
        }
        next += 1
        let id = next
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                queues[key, default: []].append(Waiter(id: id, continuation: continuation))
                if !ring.contains(key) { ring.append(key) }
                let remaining = deadline - .now
                Task { [weak self] in
                    if remaining > .zero { try? await Task.sleep(for: remaining) }
                    await self?.leave(id, key: key)
                }
                grant()
            }
        } onCancel: {
            Task { [weak self] in await self?.leave(id, key: key) }
        }
    }

    public func release(_ key: String) {
        held[key, default: 1] -= 1
        if held[key] == 0 { held[key] = nil }
        free += 1
        grant()
    }

    /// What is running and waiting now, for the exporter's own metrics.
    public var state: (running: Int, waiting: Int) {
        (limit - free, queues.values.reduce(0) { $0 + $1.count })
    }

    private func take(_ key: String) {
        held[key, default: 0] += 1
        free -= 1
    }

    /// Hands free slots to waiting targets in turn, each within its share.
    private func grant() {
        var scanned = 0
        while free > 0, !ring.isEmpty, scanned < ring.count {
            let key = ring.removeFirst()
            guard var queue = queues[key], !queue.isEmpty else { queues[key] = nil; continue }
            if held[key, default: 0] >= share {
                ring.append(key)
                scanned += 1
                continue
            }
            let waiter = queue.removeFirst()
            queues[key] = queue.isEmpty ? nil : queue
            if !queue.isEmpty { ring.append(key) }
            take(key)
            scanned = 0
            waiter.continuation.resume(returning: true)
        }
    }

    /// A waiter whose deadline passed or whose task was cancelled: out of the queue, told no.
    private func leave(_ id: UInt64, key: String) {
        guard var queue = queues[key], let index = queue.firstIndex(where: { $0.id == id }) else { return }
        let waiter = queue.remove(at: index)
        queues[key] = queue.isEmpty ? nil : queue
        if queue.isEmpty { ring.removeAll { $0 == key } }
        waiter.continuation.resume(returning: false)
        grant()
    }
}
