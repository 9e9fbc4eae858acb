import Dispatch
import Synchronization

/// Reads a capture's frames on a thread of its own, a batch ahead of the
/// analysis (at most `depth` batches in flight), so parsing the file's
/// blocks and following the connections run on two cores. Batches keep the
/// reader's order; the key log text a Decryption Secrets Block carried comes
/// with the batch of the frames after it, and a read error ends the feed.
///
/// Unchecked Sendable: `reader` and the carried frame are touched only by
/// the producer until it has signalled `done` (or, unthreaded, only by the
/// caller); `queue` only under its lock.
final class PacketFeed: @unchecked Sendable {
    struct Batch {
        var secrets: [UInt8] = []
        var packets: [CapturedPacket] = []
        /// Where reading stopped: an error (a cut or damaged file); nil with `end` at a clean end.
        var error: CaptureError?
        var end = false
    }

    private var reader: CaptureReader
    private let threaded: Bool
    private let queue = Mutex<[Batch]>([])
    private let filled = DispatchSemaphore(value: 0)
    private let space: DispatchSemaphore
    private let done = DispatchSemaphore(value: 0)
    private let stopped = Atomic<Bool>(false)
    private var carry: CapturedPacket?
    private var carrySecrets: [UInt8] = []
    private var ended = false
    static let batchSize = 2_048

    /// `threaded: false` reads each batch on the caller's thread when it asks
    /// (a small file: a thread hop per batch would cost more than it saves).
    init(_ reader: CaptureReader, threaded: Bool = true, depth: Int = 4) {
        self.reader = reader
        self.threaded = threaded
        // Created at 0 and raised: libdispatch traps when a semaphore dies below its initial value (a stop mid-file).
        space = DispatchSemaphore(value: 0)
        for _ in 0..<depth { space.signal() }
        if threaded { DispatchQueue.global().async { self.produce() } } else { done.signal() }
    }

    private func produce() {
        defer { done.signal() }
        while true {
            space.wait()
            if stopped.load(ordering: .acquiring) { return }
            let batch = read()
            queue.withLock { $0.append(batch) }
            filled.signal()
            if batch.end { return }
        }
    }

    /// Reads the next batch from the file.
    private func read() -> Batch {
        var batch = Batch(secrets: carrySecrets)
        carrySecrets = []
        batch.packets.reserveCapacity(threaded ? Self.batchSize : 64)
        if let first = carry { batch.packets.append(first); carry = nil }
        while batch.packets.count < Self.batchSize {
            do {
                guard let packet = try reader.next() else { batch.end = true; break }
                if reader.hasSecrets {
                    // The secrets apply from this frame on: it opens the next batch.
                    carrySecrets = reader.takeSecrets()
                    carry = packet
                    break
                }
                batch.packets.append(packet)
            } catch {
                batch.error = error
                batch.end = true
                break
            }
        }
        return batch
    }

    /// The next batch, in order; the last one has `end` set.
    func next() -> Batch {
        guard threaded else {
            guard !ended else { return Batch(end: true) }
            let batch = read()
            ended = batch.end
            return batch
        }
        filled.wait()
        let batch = queue.withLock { $0.removeFirst() }
        space.signal()
        return batch
    }

    /// Stops the producer (if it is still reading) and hands the reader back.
    func finish() -> CaptureReader {
        stopped.store(true, ordering: .releasing)
        space.signal()
        done.wait()
        return reader
    }
}
