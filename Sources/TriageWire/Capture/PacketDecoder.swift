/// A TCP segment taken out of a frame.
public struct TCPSegment: Sendable {
    public var source: Endpoint
    public var destination: Endpoint
    public var sequence: UInt32
    public var acknowledgement: UInt32
    public var flags: UInt8
    public var payload: ArraySlice<UInt8>
    public var microseconds: UInt64

    public var syn: Bool { flags & 0x02 != 0 }
    public var ack: Bool { flags & 0x10 != 0 }
    public var fin: Bool { flags & 0x01 != 0 }
    public var rst: Bool { flags & 0x04 != 0 }
}

/// Link layer → IP → TCP. Frames that are not TCP over IPv4/IPv6 are
/// counted and skipped; IPv4 fragments are reassembled.
public struct PacketDecoder {
    public private(set) var notTCP = 0
    /// Frames of a link type not read here, by type.
    public private(set) var unreadLinkTypes: [UInt16: Int] = [:]
    public private(set) var malformed = 0
    private var fragments: [FragmentKey: Fragments] = [:]

    struct FragmentKey: Hashable { var source: IPAddress; var destination: IPAddress; var id: UInt16 }
    struct Fragments { var pieces: [Int: [UInt8]] = [:]; var total: Int?; var header: [UInt8] = [] }

    public init() {}

    /// The names of the link types captures commonly carry (tcpdump.org's LINKTYPE_ list), for a
    /// message about one this decoder does not read.
    public static func linkTypeName(_ type: UInt16) -> String {
        switch type {
        case 0: "NULL (BSD loopback)"
        case 1: "ETHERNET"
        case 6: "IEEE802_5 (Token Ring)"
        case 9: "PPP"
        case 12, 14, 101: "RAW (raw IP)"
        case 50: "PPP_HDLC"
        case 105: "IEEE802_11 (Wi-Fi)"
        case 108: "LOOP (OpenBSD loopback)"
        case 113: "LINUX_SLL (Linux cooked)"
        case 119: "IEEE802_11_PRISM"
        case 127: "IEEE802_11_RADIOTAP (Wi-Fi with radiotap)"
        case 147...162: "USER\(type - 147)"
        case 192: "PPI"
        case 195: "IEEE802_15_4"
        case 220: "USB_LINUX_MMAPPED"
        case 228: "IPV4"
        case 229: "IPV6"
        case 249: "NETLINK"
        case 263: "VSOCK"
        case 276: "LINUX_SLL2 (Linux cooked v2)"
        default: "unknown"
        }
    }

    /// LINKTYPE_ETHERNET 1, LINKTYPE_NULL 0 (BSD loopback), LINKTYPE_LOOP 108,
    /// LINKTYPE_RAW 101 / 12 / 14, LINKTYPE_IPV4 228, LINKTYPE_IPV6 229,
    /// LINKTYPE_LINUX_SLL 113, LINKTYPE_LINUX_SLL2 276.
    public mutating func segment(_ packet: CapturedPacket) -> TCPSegment? {
        let d = packet.data
        var offset: Int
        switch packet.linkType {
        case 1:
            guard d.count >= 14 else { malformed += 1; return nil }
            var type = Int(d[12]) << 8 | Int(d[13])
            offset = 14
            while type == 0x8100 || type == 0x88A8 { // VLAN tags
                guard d.count >= offset + 4 else { malformed += 1; return nil }
                type = Int(d[offset + 2]) << 8 | Int(d[offset + 3])
                offset += 4
            }
            guard type == 0x0800 || type == 0x86DD else { notTCP += 1; return nil }
        case 0, 108: offset = 4
        case 101, 12, 14, 228, 229: offset = 0
        case 113: offset = 16
        case 276: offset = 20
        default:
            notTCP += 1
            if unreadLinkTypes.count < 16 || unreadLinkTypes[packet.linkType] != nil { unreadLinkTypes[packet.linkType, default: 0] += 1 }
            return nil
        }
        guard d.count > offset else { malformed += 1; return nil }
        return ip(d, at: offset, micros: packet.microseconds)
    }

    /// The IP packet starting at `base` of the frame (no copy).
    private mutating func ip(_ d: [UInt8], at base: Int, micros: UInt64) -> TCPSegment? {
        let length = d.count - base
        switch d[base] >> 4 {
        case 4:
            let headerLength = Int(d[base] & 0x0F) * 4
            guard headerLength >= 20, length >= headerLength else { malformed += 1; return nil }
            let total = min(length, Int(d[base + 2]) << 8 | Int(d[base + 3]))
            guard total >= headerLength else { malformed += 1; return nil }
            let source = IPAddress(bytes: d[(base + 12)..<(base + 16)])!, destination = IPAddress(bytes: d[(base + 16)..<(base + 20)])!
            let flagsOffset = Int(d[base + 6]) << 8 | Int(d[base + 7])
            let moreFragments = flagsOffset & 0x2000 != 0
            let fragmentOffset = (flagsOffset & 0x1FFF) * 8
            guard d[base + 9] == 6 || moreFragments || fragmentOffset > 0 else { notTCP += 1; return nil }
            if moreFragments || fragmentOffset > 0 {
                guard let whole = reassemble(FragmentKey(source: source, destination: destination, id: UInt16(d[base + 4]) << 8 | UInt16(d[base + 5])),
                                             offset: fragmentOffset, more: moreFragments, payload: Array(d[(base + headerLength)..<(base + total)])) else { return nil }
                guard d[base + 9] == 6 else { notTCP += 1; return nil }
                return tcp(whole, from: 0, to: whole.count, source: source, destination: destination, at: micros)
            }
            return tcp(d, from: base + headerLength, to: base + total, source: source, destination: destination, at: micros)
        case 6:
            guard length >= 40 else { malformed += 1; return nil }
            var next = d[base + 6]
            var offset = base + 40
            // Hop-by-hop, routing, destination options: skip to TCP.
            while [0, 43, 60].contains(next), d.count >= offset + 8 {
                next = d[offset]
                offset += (Int(d[offset + 1]) + 1) * 8
            }
            guard next == 6, d.count > offset else { notTCP += 1; return nil }
            return tcp(d, from: offset, to: d.count, source: IPAddress(bytes: d[(base + 8)..<(base + 24)])!, destination: IPAddress(bytes: d[(base + 24)..<(base + 40)])!, at: micros)
        default:
            notTCP += 1
            return nil
        }
    }

    private mutating func reassemble(_ key: FragmentKey, offset: Int, more: Bool, payload: [UInt8]) -> [UInt8]? {
        var entry = fragments[key] ?? Fragments()
        entry.pieces[offset] = payload
        if !more { entry.total = offset + payload.count }
        if fragments.count > 1024 { fragments.removeAll() } // bounded: a capture full of lost fragments
        guard let total = entry.total else { fragments[key] = entry; return nil }
        var whole: [UInt8] = []
        var position = 0
        for start in entry.pieces.keys.sorted() {
            guard start <= position else { fragments[key] = entry; return nil } // a hole
            let piece = entry.pieces[start]!
            if start + piece.count > position { whole += piece[(position - start)...]; position = start + piece.count }
        }
        guard position >= total else { fragments[key] = entry; return nil }
        fragments[key] = nil
        return whole
    }

    /// The TCP segment in `d[start..<end]`; its payload is a slice, not a copy.
    private mutating func tcp(_ d: [UInt8], from start: Int, to end: Int, source: IPAddress, destination: IPAddress, at micros: UInt64) -> TCPSegment? {
        guard end - start >= 20 else { malformed += 1; return nil }
        let dataOffset = Int(d[start + 12] >> 4) * 4
        guard dataOffset >= 20, end - start >= dataOffset else { malformed += 1; return nil }
        func u32(_ i: Int) -> UInt32 { UInt32(d[start + i]) << 24 | UInt32(d[start + i + 1]) << 16 | UInt32(d[start + i + 2]) << 8 | UInt32(d[start + i + 3]) }
        return TCPSegment(
            source: Endpoint(source, port: UInt16(d[start]) << 8 | UInt16(d[start + 1])),
            destination: Endpoint(destination, port: UInt16(d[start + 2]) << 8 | UInt16(d[start + 3])),
            sequence: u32(4), acknowledgement: u32(8), flags: d[start + 13], payload: d[(start + dataOffset)..<end], microseconds: micros)
    }
}
