import Foundation
internal import CTriageShims

/// An epoll instance and the eventfd that wakes it: the one owner of both
/// descriptors, for the handshake loop.
final class EventPoll: @unchecked Sendable {
    struct Interest: OptionSet {
        let rawValue: UInt32
        static let read = Interest(rawValue: TRIAGE_POLL_IN)
        static let write = Interest(rawValue: TRIAGE_POLL_OUT)
    }

    struct Event {
        var fd: Int32
        var readable: Bool
        var writable: Bool
        var error: Bool
        var hangUp: Bool
    }

    private let poller: Int32
    private let wakeFD: Int32
    /// What `triage_poll_wait` fills: allocated once, used by the one thread that waits.
    private static let capacity: Int32 = 256
    private let readyFDs = UnsafeMutablePointer<Int32>.allocate(capacity: Int(capacity))
    private let readyEvents = UnsafeMutablePointer<UInt32>.allocate(capacity: Int(capacity))

    init() throws(POSIXError) {
        poller = triage_poll_create()
        guard poller >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EMFILE) }
        wakeFD = triage_event_create()
        guard wakeFD >= 0 else {
            let code = errno
            close(poller)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EMFILE)
        }
        _ = triage_poll_control(poller, 0, wakeFD, TRIAGE_POLL_IN)
    }

    deinit {
        close(wakeFD)
        close(poller)
        readyFDs.deallocate()
        readyEvents.deallocate()
    }

    func add(_ fd: Int32, _ interest: Interest) { _ = triage_poll_control(poller, 0, fd, interest.rawValue) }
    func modify(_ fd: Int32, _ interest: Interest) { _ = triage_poll_control(poller, 1, fd, interest.rawValue) }
    func remove(_ fd: Int32) { _ = triage_poll_control(poller, 2, fd, 0) }

    /// Wakes a `wait` in progress (from any thread).
    func wake() { triage_event_signal(wakeFD) }

    /// Waits up to `timeoutMs` and hands each event to `body`; the wake-up descriptor is drained, not
    /// reported. Only one thread waits on an instance (its buffers are reused, not allocated per wait).
    func wait(timeoutMs: Int32, _ body: (Event) -> Void) {
        let n = triage_poll_wait(poller, readyFDs, readyEvents, Self.capacity, timeoutMs)
        for i in 0..<Int(max(0, n)) {
            if readyFDs[i] == wakeFD { triage_event_drain(wakeFD); continue }
            let e = readyEvents[i]
            body(Event(fd: readyFDs[i], readable: e & TRIAGE_POLL_IN != 0, writable: e & TRIAGE_POLL_OUT != 0,
                       error: e & TRIAGE_POLL_ERR != 0, hangUp: e & TRIAGE_POLL_HUP != 0))
        }
    }
}
