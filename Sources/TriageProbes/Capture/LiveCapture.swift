import Foundation
import Synchronization
import TriageWire
internal import CTriageShims

/// A libpcap capture running on its own thread between `capture.start` and
/// `capture.stop`, kept in memory (bounded) until it is written as pcapng.
public final class LiveCapture: Sendable {
    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    /// Captures in progress, by the id of the step that started them.
    static let running = Mutex<[String: LiveCapture]>([:])

    public let device: String
    public let filter: String
    private let shared = Shared()

    /// What the capture thread and `stop()` share.
    private final class Shared: Sendable {
        let stop = CancelFlag()
        let state = Mutex<(writer: PcapngWriter, frames: Int, dropped: Int, kernelDropped: Int, done: Bool)>((PcapngWriter(), 0, 0, 0, false))
    }
    static let byteLimit = 64 << 20
    /// How long stop() lets the thread read what is already buffered.
    static let drainLimit = Duration.seconds(1)

    public init(device: String, filter: String, snaplen: Int = 262_144) throws {
        var error = [CChar](repeating: 0, count: 512)
        guard let handle = triage_capture_open(device, filter, Int32(snaplen), &error, error.count) else {
            throw Unavailable(description: String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        self.device = device
        self.filter = filter
        let linkType = UInt16(clamping: triage_capture_datalink(handle))
        shared.state.withLock { $0.writer = PcapngWriter(linkType: linkType) }
        let box = HandleBox(handle)
        let thread = Thread { [shared] in
            var data: UnsafePointer<UInt8>?
            var captured: UInt32 = 0, original: UInt32 = 0
            var micros: Int64 = 0
            // After stop() the loop goes on until the ring has been quiet for
            // a few of the kernel's hand-over periods (bounded by drainLimit):
            // a thread that fell behind on a busy machine, or packets still in
            // the kernel's current block, must not lose the last connection.
            var drainDeadline: ContinuousClock.Instant?
            var quietPolls = 0
            while true {
                if shared.stop.isCancelled, drainDeadline == nil { drainDeadline = .now + Self.drainLimit }
                if let drainDeadline, ContinuousClock.now >= drainDeadline { break }
                let rc = triage_capture_next(box.handle, drainDeadline == nil ? 50 : 2 * TRIAGE_CAPTURE_TIMEOUT_MS,
                                             &data, &captured, &original, &micros)
                if rc < 0 { break }
                guard rc == 1, let data else {
                    if drainDeadline != nil {
                        quietPolls += 1
                        if quietPolls >= 2 { break }   // nothing came for 4 hand-over periods
                    }
                    continue
                }
                quietPolls = 0
                let frame = Array(UnsafeBufferPointer(start: data, count: Int(captured)))
                shared.state.withLock { s in
                    guard s.writer.bytes.count < Self.byteLimit else { s.dropped += 1; return }
                    s.writer.append(frame: frame, microseconds: UInt64(max(0, micros)))
                    s.frames += 1
                }
            }
            let kernelDrops = triage_capture_kernel_drops(box.handle)
            triage_capture_close(box.handle)
            shared.state.withLock { $0.kernelDropped = max(0, kernelDrops); $0.done = true }
        }
        thread.start()
    }

    /// Stops capturing and returns the pcapng bytes: the thread first reads
    /// every packet the kernel already holds (for at most `drainLimit`).
    /// `dropped`: frames over the 64 MiB limit; `kernelDropped`: frames the
    /// kernel dropped because its buffer was full.
    public func stop() -> (bytes: [UInt8], frames: Int, dropped: Int, kernelDropped: Int) {
        shared.stop.cancel()
        let deadline = ContinuousClock.now + Self.drainLimit + .milliseconds(500)
        while !shared.state.withLock({ $0.done }), ContinuousClock.now < deadline { usleep(10_000) }
        return shared.state.withLock { ($0.writer.bytes, $0.frames, $0.dropped, $0.kernelDropped) }
    }
}

/// Carries the C handle to the capture thread.
private final class HandleBox: @unchecked Sendable {
    let handle: OpaquePointer
    init(_ handle: OpaquePointer) { self.handle = handle }
}
