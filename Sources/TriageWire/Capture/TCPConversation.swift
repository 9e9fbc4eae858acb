/// Frames one TCP connection's byte stream as Ethernet + IPv4/IPv6 + TCP
/// packets — a three-way handshake, data segments with correct sequence and
/// acknowledgement numbers, and a FIN exchange — so a capture triage takes
/// of its own sockets reads in Wireshark like one taken with tcpdump.
public struct TCPConversation: Sendable {
    public enum Direction: Sendable { case clientToServer, serverToClient }

    public enum Event: Sendable {
        case connect
        case data(Direction, [UInt8])
        case close(Direction)
        case reset(Direction)
    }

    public var client: Endpoint
    public var server: Endpoint
    public private(set) var events: [(microseconds: UInt64, event: Event)] = []

    /// Segments larger than this are split, as a real stack does.
    public var maximumSegment = 16_384

    public init(client: Endpoint, server: Endpoint) {
        self.client = client
        self.server = server
    }

    public mutating func record(_ event: Event, at microseconds: UInt64) {
        events.append((microseconds, event))
    }

    /// Appends the conversation's frames; the comment goes on the first one.
    public func write(into writer: inout PcapngWriter, comment: String?) {
        var clientSeq: UInt32 = 0x1000_0000, serverSeq: UInt32 = 0x2000_0000
        var comment = comment
        func emit(_ from: Direction, flags: UInt8, payload: [UInt8] = [], at time: UInt64) {
            let (src, dst) = from == .clientToServer ? (client, server) : (server, client)
            let (seq, ack) = from == .clientToServer ? (clientSeq, serverSeq) : (serverSeq, clientSeq)
            let frame = Self.frame(src: src, dst: dst, seq: seq, ack: flags & 0x10 != 0 ? ack : 0, flags: flags, payload: payload)
            writer.append(frame: frame, microseconds: time, comment: comment)
            comment = nil
            let advance = UInt32(payload.count) + (flags & 0x03 != 0 ? 1 : 0) // SYN and FIN take one number
            if from == .clientToServer { clientSeq &+= advance } else { serverSeq &+= advance }
        }
        for (time, event) in events {
            switch event {
            case .connect:
                emit(.clientToServer, flags: 0x02, at: time)          // SYN
                emit(.serverToClient, flags: 0x12, at: time)          // SYN, ACK
                emit(.clientToServer, flags: 0x10, at: time)          // ACK
            case .data(let direction, let bytes):
                var offset = 0
                while offset < bytes.count {
                    let end = min(bytes.count, offset + maximumSegment)
                    emit(direction, flags: 0x18, payload: Array(bytes[offset..<end]), at: time) // PSH, ACK
                    offset = end
                }
                emit(direction == .clientToServer ? .serverToClient : .clientToServer, flags: 0x10, at: time)
            case .close(let direction):
                emit(direction, flags: 0x11, at: time)                // FIN, ACK
                emit(direction == .clientToServer ? .serverToClient : .clientToServer, flags: 0x11, at: time)
                emit(direction, flags: 0x10, at: time)
            case .reset(let direction):
                emit(direction, flags: 0x14, at: time)                // RST, ACK
            }
        }
    }

    public static func frame(src: Endpoint, dst: Endpoint, seq: UInt32, ack: UInt32, flags: UInt8, payload: [UInt8]) -> [UInt8] {
        let v6 = src.address.isV6
        let (srcBytes, dstBytes) = (src.address.bytes, dst.address.bytes)
        var tcp: [UInt8] = []
        be16(src.port, &tcp); be16(dst.port, &tcp)
        be32(seq, &tcp); be32(ack, &tcp)
        tcp += [0x50, flags]                    // 20-byte header
        be16(65_535, &tcp)                      // window
        tcp += [0, 0, 0, 0]                     // checksum, urgent pointer
        tcp += payload
        let checksum = Self.checksum(pseudoHeader(srcBytes, dstBytes, length: tcp.count, v6: v6) + tcp)
        tcp[16] = UInt8(checksum >> 8); tcp[17] = UInt8(checksum & 0xFF)

        var ip: [UInt8] = []
        if v6 {
            ip += [0x60, 0, 0, 0]
            be16(UInt16(tcp.count), &ip)
            ip += [6, 64]                       // next header TCP, hop limit
            ip += srcBytes + dstBytes
        } else {
            ip += [0x45, 0]
            be16(UInt16(20 + tcp.count), &ip)
            ip += [0, 0, 0x40, 0, 64, 6, 0, 0]  // id, don't fragment, TTL 64, TCP, checksum
            ip += srcBytes + dstBytes
            let sum = Self.checksum(ip)
            ip[10] = UInt8(sum >> 8); ip[11] = UInt8(sum & 0xFF)
        }
        // Locally administered MACs; the type says which IP version follows.
        var ethernet: [UInt8] = [0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01]
        ethernet += v6 ? [0x86, 0xDD] : [0x08, 0x00]
        return ethernet + ip + tcp
    }

    static func pseudoHeader(_ src: [UInt8], _ dst: [UInt8], length: Int, v6: Bool) -> [UInt8] {
        var p = src + dst
        if v6 { be32(UInt32(length), &p); p += [0, 0, 0, 6] } else { p += [0, 6]; be16(UInt16(length), &p) }
        return p
    }

    /// The Internet checksum (RFC 1071).
    static func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count { sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1]); i += 2 }
        if i < bytes.count { sum += UInt32(bytes[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }

    static func be16(_ v: UInt16, _ out: inout [UInt8]) { out += [UInt8(v >> 8), UInt8(v & 0xFF)] }
    static func be32(_ v: UInt32, _ out: inout [UInt8]) { out += [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
}
