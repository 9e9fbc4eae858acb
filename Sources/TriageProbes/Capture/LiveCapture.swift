import Foundation
import Synchronization
import TriageKit
import TriageWire

/// A libpcap capture running on its own thread between `capture.start` and
/// `capture.stop`, kept in memory (bounded) until it is written as pcapng.
/// The engine owns it as a run resource: it is stopped on every exit path.
public final class LiveCapture: RunResource {
    public let device: String
    public let filter: String
    private let shared = Shared()

    /// The filters of the captures whose thread still runs: a run must leave none behind.
    public static var running: [String] { live.withLock { $0 } }
    private static let live = Mutex<[String]>([])

    /// What the capture thread and `stop()` share.
    private final class Shared: Sendable {
        let stop = CancelFlag()
        let state = Mutex<(writer: PcapngWriter, frames: Int, dropped: Int, kernelDropped: Int, done: Bool)>((PcapngWriter(), 0, 0, 0, false))
    }
    static let byteLimit = 64 << 20
    /// How long stop() lets the thread read what is already buffered.
    static let drainLimit = Duration.seconds(1)

    public init(device: String, filter: String, snaplen: Int = 262_144) throws {
        let handle: PcapHandle
        do {
            handle = try PcapHandle(device: device, filter: filter, snaplen: snaplen)
        } catch {
            if error.permissionDenied { throw NoPrivilege(device: device) }
            throw StepFailure(.captureUnavailable, ["device": .string(device), "error": .string(error.description)])
        }
        self.device = device
        self.filter = filter
        let linkType = handle.linkType
        shared.state.withLock { $0.writer = PcapngWriter(linkType: linkType) }
        Self.live.withLock { $0.append(filter) }
        let thread = Thread { [shared] in
            // After stop() the loop goes on until the ring has been quiet for
            // a few of the kernel's hand-over periods (bounded by drainLimit):
            // a thread that fell behind on a busy machine, or packets still in
            // the kernel's current block, must not lose the last connection.
            var drainDeadline: ContinuousClock.Instant?
            var quietPolls = 0
            loop: while true {
                if shared.stop.isCancelled, drainDeadline == nil { drainDeadline = .now + Self.drainLimit }
                if let drainDeadline, ContinuousClock.now >= drainDeadline { break }
                switch handle.next(waitMs: drainDeadline == nil ? 50 : 2 * PcapHandle.handOverMs) {
                case .failed:
                    break loop
                case .none:
                    if drainDeadline != nil {
                        quietPolls += 1
                        if quietPolls >= 2 { break loop }   // nothing came for 4 hand-over periods
                    }
                case .frame(let frame):
                    quietPolls = 0
                    shared.state.withLock { s in
                        guard s.writer.bytes.count < Self.byteLimit else { s.dropped += 1; return }
                        s.writer.append(frame: frame.bytes, microseconds: frame.microseconds)
                        s.frames += 1
                    }
                }
            }
            let kernelDrops = handle.kernelDrops
            handle.close()
            shared.state.withLock { $0.kernelDropped = kernelDrops; $0.done = true }
            Self.live.withLock { list in if let i = list.firstIndex(of: filter) { list.remove(at: i) } }
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

    /// The engine's end of the run: stop without keeping the frames.
    public func close() async {
        _ = await onPool { [self] _ in stop().frames }
    }
}

/// The process may not capture (libpcap's PCAP_ERROR_PERM_DENIED).
public struct NoPrivilege: Error, Sendable {
    public var device: String
}
