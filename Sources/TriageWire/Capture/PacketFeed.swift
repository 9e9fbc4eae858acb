import Dispatch
import Synchronization

/// Reads a capture's frames on a thread of its own, a batch ahead of the
/// analysis (at most `depth` batches in flight), so parsing the file's
/// blocks and following the connections run on two cores. Batches keep the
/// reader's order; the key log text a Decryption Secrets Block carried comes
/// with the batch of the frames after it, and a read error ends the feed.
///
/// Unchecked Sendable: `reader` is touched only by the producer until it
/// has signalled `done`; `queue` only under its lock.
final class PacketFeed: @unchecked Sendable {
    struct Batch {
        var secrets: [UInt8] = []
        var packets: [CapturedPacket] = []
        /// Where reading stopped: an error (a cut or damaged file); nil with `end` at a clean end.
        var error: CaptureError?
        var end = false
    }

    private var reader: CaptureReader
    private let queue = Mutex<[Batch]>([])
    private let filled = DispatchSemaphore(value: 0)
    private let space: DispatchSemaphore
    private let done = DispatchSemaphore(value: 0)
    private let stopped = Atomic<Bool>(false)
    static let batchSize = 2_048

    init(_ reader: CaptureReader, depth: Int = 4) {
        self.reader = reader
        // Created at 0 and raised: libdispatch traps when a semaphore dies below its initial value (a stop mid-file).
        space = DispatchSemaphore(value: 0)
        for _ in 0..<depth { space.signal() }
        DispatchQueue.global().async { self.produce() }
    }

    private func produce() {
        defer { done.signal() }
        var carry: CapturedPacket?
        var carrySecrets: [UInt8] = []
        while true {
            space.wait()
            if stopped.load(ordering: .acquiring) { return }
            var batch = Batch(secrets: carrySecrets)
            carrySecrets = []
            batch.packets.reserveCapacity(Self.batchSize)
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
            let last = batch.end
            queue.withLock { $0.append(batch) }
            filled.signal()
            if last { return }
        }
    }

    /// The next batch, in order; the last one has `end` set.
    func next() -> Batch {
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
