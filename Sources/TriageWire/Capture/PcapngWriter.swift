/// Writes pcapng (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-03.html):
/// one Section Header Block, one Interface Description Block (Ethernet),
/// then an Enhanced Packet Block per frame, with an optional comment — what
/// Wireshark and tshark open as if tcpdump had written it.
public struct PcapngWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    /// LINKTYPE_ETHERNET.
    public static let ethernet: UInt16 = 1

    /// `linkType`: LINKTYPE_* of the frames (Ethernet unless told otherwise).
    public init(application: String = "triage", linkType: UInt16 = PcapngWriter.ethernet) {
        var options: [UInt8] = []
        Self.option(4, Array(application.utf8), into: &options) // shb_userappl
        Self.option(0, [], into: &options)
        var body: [UInt8] = []
        Self.u32(0x1A2B_3C4D, &body)       // byte-order magic
        Self.u16(1, &body); Self.u16(0, &body) // version 1.0
        Self.u64(UInt64.max, &body)        // section length: unknown
        body += options
        block(type: 0x0A0D_0D0A, body: body)
        var idb: [UInt8] = []
        Self.u16(linkType, &idb); Self.u16(0, &idb)
        Self.u32(262_144, &idb)            // snaplen
        var idbOptions: [UInt8] = []
        Self.option(9, [6], into: &idbOptions) // if_tsresol: microseconds
        Self.option(0, [], into: &idbOptions)
        idb += idbOptions
        block(type: 1, body: idb)
    }

    /// Drops the bytes written so far (after the caller saved them), so a
    /// large capture can be written in pieces; the headers are not repeated.
    public mutating func clear() { bytes.removeAll(keepingCapacity: true) }

    /// Appends one frame captured at `microseconds` since the epoch.
    public mutating func append(frame: [UInt8], microseconds: UInt64, comment: String? = nil) {
        var body: [UInt8] = []
        Self.u32(0, &body) // interface 0
        Self.u32(UInt32(truncatingIfNeeded: microseconds >> 32), &body)
        Self.u32(UInt32(truncatingIfNeeded: microseconds), &body)
        Self.u32(UInt32(frame.count), &body)
        Self.u32(UInt32(frame.count), &body)
        body += frame
        while body.count % 4 != 0 { body.append(0) }
        if let comment {
            Self.option(1, Array(comment.utf8), into: &body) // opt_comment
            Self.option(0, [], into: &body)
        }
        block(type: 6, body: body)
    }

    private mutating func block(type: UInt32, body: [UInt8]) {
        let length = UInt32(12 + body.count)
        Self.u32(type, &bytes)
        Self.u32(length, &bytes)
        bytes += body
        Self.u32(length, &bytes)
    }

    static func option(_ code: UInt16, _ value: [UInt8], into out: inout [UInt8]) {
        u16(code, &out)
        u16(UInt16(value.count), &out)
        out += value
        while out.count % 4 != 0 { out.append(0) }
    }

    static func u16(_ v: UInt16, _ out: inout [UInt8]) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
    static func u32(_ v: UInt32, _ out: inout [UInt8]) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
    static func u64(_ v: UInt64, _ out: inout [UInt8]) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
}
