/// A TCP segment taken out of a frame.
public struct TCPSegment: Sendable {
    public var source: TCPConversation.Endpoint
    public var destination: TCPConversation.Endpoint
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
    public private(set) var malformed = 0
    private var fragments: [FragmentKey: Fragments] = [:]

    struct FragmentKey: Hashable { var source: [UInt8]; var destination: [UInt8]; var id: UInt16 }
    struct Fragments { var pieces: [Int: [UInt8]] = [:]; var total: Int?; var header: [UInt8] = [] }

    public init() {}

    /// LINKTYPE_ETHERNET 1, LINKTYPE_NULL 0 (BSD loopback), LINKTYPE_LOOP 108,
    /// LINKTYPE_RAW 101 / 12 / 14, LINKTYPE_IPV4 228, LINKTYPE_IPV6 229,
    /// LINKTYPE_LINUX_SLL 113, LINKTYPE_LINUX_SLL2 276.
    public mutating func segment(_ packet: CapturedPacket) -> TCPSegment? {
        let d = packet.data
        var offset: Int
        switch packet.linkType {
        case 1:
            guard d.count >= 14 else { malformed += 1; return nil }
            offset = 12
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
        default: notTCP += 1; return nil
        }
        guard d.count > offset else { malformed += 1; return nil }
        return ip(Array(d[offset...]), at: packet.microseconds)
    }

    private mutating func ip(_ d: [UInt8], at micros: UInt64) -> TCPSegment? {
        switch d[0] >> 4 {
        case 4:
            let headerLength = Int(d[0] & 0x0F) * 4
            guard headerLength >= 20, d.count >= headerLength else { malformed += 1; return nil }
            let total = min(d.count, Int(d[2]) << 8 | Int(d[3]))
            guard total >= headerLength else { malformed += 1; return nil }
            let source = Array(d[12..<16]), destination = Array(d[16..<20])
            let flagsOffset = Int(d[6]) << 8 | Int(d[7])
            let moreFragments = flagsOffset & 0x2000 != 0
            let fragmentOffset = (flagsOffset & 0x1FFF) * 8
            var payload = Array(d[headerLength..<total])
            if moreFragments || fragmentOffset > 0 {
                guard let whole = reassemble(FragmentKey(source: source, destination: destination, id: UInt16(d[4]) << 8 | UInt16(d[5])),
                                             offset: fragmentOffset, more: moreFragments, payload: payload) else { return nil }
                payload = whole
            }
            guard d[9] == 6 else { notTCP += 1; return nil }
            return tcp(payload, source: source, destination: destination, at: micros)
        case 6:
            guard d.count >= 40 else { malformed += 1; return nil }
            var next = d[6]
            var offset = 40
            // Hop-by-hop, routing, destination options: skip to TCP.
            while [0, 43, 60].contains(next), d.count >= offset + 8 {
                next = d[offset]
                offset += (Int(d[offset + 1]) + 1) * 8
            }
            guard next == 6, d.count > offset else { notTCP += 1; return nil }
            return tcp(Array(d[offset...]), source: Array(d[8..<24]), destination: Array(d[24..<40]), at: micros)
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

    private mutating func tcp(_ d: [UInt8], source: [UInt8], destination: [UInt8], at micros: UInt64) -> TCPSegment? {
        guard d.count >= 20 else { malformed += 1; return nil }
        let dataOffset = Int(d[12] >> 4) * 4
        guard dataOffset >= 20, d.count >= dataOffset else { malformed += 1; return nil }
        func u32(_ i: Int) -> UInt32 { UInt32(d[i]) << 24 | UInt32(d[i + 1]) << 16 | UInt32(d[i + 2]) << 8 | UInt32(d[i + 3]) }
        return TCPSegment(
            source: .init(address: source, port: UInt16(d[0]) << 8 | UInt16(d[1])),
            destination: .init(address: destination, port: UInt16(d[2]) << 8 | UInt16(d[3])),
            sequence: u32(4), acknowledgement: u32(8), flags: d[13], payload: d[dataOffset...], microseconds: micros)
    }
}
