import Foundation
internal import CTriageShims

/// A live libpcap capture handle (through the shim, which loads libpcap on
/// first use): the one owner of it.
final class PcapHandle: @unchecked Sendable {
    // Used by one capture thread at a time; `close` happens on that thread.
    private let handle: OpaquePointer
    private var closed = false

    struct Unavailable: Error, CustomStringConvertible {
        var description: String
        /// libpcap's PCAP_ERROR_PERM_DENIED: the process lacks the capability to capture.
        var permissionDenied = false
    }

    struct Frame {
        var bytes: [UInt8]
        var microseconds: UInt64
    }

    init(device: String, filter: String, snaplen: Int) throws(Unavailable) {
        var error = [CChar](repeating: 0, count: 512)
        guard let handle = triage_capture_open(device, filter, Int32(snaplen), &error, error.count) else {
            throw Unavailable(description: String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
                              permissionDenied: triage_capture_denied() == 1)
        }
        self.handle = handle
    }

    deinit { if !closed { triage_capture_close(handle) } }

    var linkType: UInt16 { UInt16(clamping: triage_capture_datalink(handle)) }

    /// The longest the kernel holds packets before handing them over, in ms.
    static let handOverMs = Int32(TRIAGE_CAPTURE_TIMEOUT_MS)

    enum Next {
        case frame(Frame)
        case none
        case failed
    }

    func next(waitMs: Int32) -> Next {
        var data: UnsafePointer<UInt8>?
        var captured: UInt32 = 0, original: UInt32 = 0
        var micros: Int64 = 0
        let rc = triage_capture_next(handle, waitMs, &data, &captured, &original, &micros)
        if rc < 0 { return .failed }
        guard rc == 1, let data else { return .none }
        return .frame(Frame(bytes: Array(UnsafeBufferPointer(start: data, count: Int(captured))), microseconds: UInt64(max(0, micros))))
    }

    var kernelDrops: Int { max(0, triage_capture_kernel_drops(handle)) }

    func close() {
        guard !closed else { return }
        closed = true
        triage_capture_close(handle)
    }
}
