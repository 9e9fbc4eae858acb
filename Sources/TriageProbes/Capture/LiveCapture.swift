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
        let state = Mutex<(writer: PcapngWriter, frames: Int, dropped: Int, done: Bool)>((PcapngWriter(), 0, 0, false))
    }
    static let byteLimit = 64 << 20

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
            while !shared.stop.isCancelled {
                let rc = triage_capture_next(box.handle, &data, &captured, &original, &micros)
                if rc < 0 { break }
                guard rc == 1, let data else { continue }
                let frame = Array(UnsafeBufferPointer(start: data, count: Int(captured)))
                shared.state.withLock { s in
                    guard s.writer.bytes.count < Self.byteLimit else { s.dropped += 1; return }
                    s.writer.append(frame: frame, microseconds: UInt64(max(0, micros)))
                    s.frames += 1
                }
            }
            triage_capture_close(box.handle)
            shared.state.withLock { $0.done = true }
        }
        thread.start()
    }

    /// Stops capturing (waits up to a second for the thread) and returns the pcapng bytes.
    public func stop() -> (bytes: [UInt8], frames: Int, dropped: Int) {
        shared.stop.cancel()
        let deadline = ContinuousClock.now + .seconds(1)
        while !shared.state.withLock({ $0.done }), ContinuousClock.now < deadline { usleep(10_000) }
        return shared.state.withLock { ($0.writer.bytes, $0.frames, $0.dropped) }
    }
}

/// Carries the C handle to the capture thread.
private final class HandleBox: @unchecked Sendable {
    let handle: OpaquePointer
    init(_ handle: OpaquePointer) { self.handle = handle }
}
