#if canImport(Glibc)
import Glibc
#endif
/// One captured frame.
public struct CapturedPacket: Sendable {
    /// Microseconds since the epoch.
    public var microseconds: UInt64
    /// LINKTYPE_* of the interface it was captured on.
    public var linkType: UInt16
    public var data: [UInt8]
}

/// A capture file that cannot be read, with what was wrong and where.
public struct CaptureError: Error, Equatable, CustomStringConvertible, Sendable {
    public var offset: Int
    public var message: String
    public var description: String { "byte \(offset): \(message)" }
}

/// Reads pcap (both byte orders, micro- and nanosecond) and pcapng
/// (section header in either byte order, interface descriptions with their
/// link type and timestamp resolution, enhanced and simple packet blocks;
/// other blocks are skipped and counted) from a stream of bytes, holding
/// only the block being read.
public struct CaptureReader {
    public enum Format: Sendable { case pcap, pcapng }

    public private(set) var format: Format = .pcap
    /// Blocks of a type this reader does not use, skipped.
    public private(set) var skippedBlocks = 0
    /// Frames cut short by the capture's snap length.
    public private(set) var truncatedFrames = 0
    /// TLS key log text from Decryption Secrets Blocks not yet taken.
    private var secrets: [UInt8] = []
    public var hasSecrets: Bool { !secrets.isEmpty }
    /// How big the input is, when known (a file's size): small ones are read without a thread of their own.
    public var sizeHint: Int?

    /// The key log text read since the last call.
    public mutating func takeSecrets() -> [UInt8] {
        defer { secrets = [] }
        return secrets
    }

    /// Largest block or frame accepted: guards against an absurd length
    /// field making the reader allocate gigabytes.
    public static let maximumBlock = 16 << 20

    private var source: ByteSource
    private var bigEndian = false
    private var nanoseconds = false
    private var linkType: UInt16 = 1
    private var interfaces: [(linkType: UInt16, unitsPerSecond: UInt64)] = []

    /// `read(n)` returns up to n bytes; fewer only at the end of the input.
    public init(read: @escaping (Int) -> [UInt8]) throws(CaptureError) {
        try self.init(source: ByteSource(read: read))
    }

    /// Reads by filling the buffer it is given (no chunk allocated per read).
    public init(readInto: @escaping (UnsafeMutableRawBufferPointer) -> Int) throws(CaptureError) {
        try self.init(source: ByteSource(readInto: readInto))
    }

    init(source bytes: ByteSource) throws(CaptureError) {
        source = bytes
        let magic = Array(try source.take(4, what: "the file's magic number").slice)
        switch magic {
        case [0xD4, 0xC3, 0xB2, 0xA1]: format = .pcap
        case [0xA1, 0xB2, 0xC3, 0xD4]: format = .pcap; bigEndian = true
        case [0x4D, 0x3C, 0xB2, 0xA1]: format = .pcap; nanoseconds = true
        case [0xA1, 0xB2, 0x3C, 0x4D]: format = .pcap; bigEndian = true; nanoseconds = true
        case [0x0A, 0x0D, 0x0D, 0x0A]: format = .pcapng
        default:
            throw CaptureError(offset: 0, message: "not a capture: the magic number \(magic.map { hex($0) }.joined()) is neither pcap (a1b2c3d4) nor pcapng (0a0d0d0a)")
        }
        if format == .pcap {
            let header = try source.take(20, what: "the pcap file header")
            // The snap length is advice, not a bound (writers put 0xFFFFFFFF there, and Wireshark reads
            // such files): each packet's own length is what is checked.
            linkType = UInt16(truncatingIfNeeded: u32(header, 16) & 0xFFFF)
        } else {
            try readSectionHeader(afterType: true)
        }
    }

    /// The next frame, or nil at the end of the capture.
    public mutating func next() throws(CaptureError) -> CapturedPacket? {
        format == .pcap ? try nextPcap() : try nextPcapng()
    }

    private mutating func nextPcap() throws(CaptureError) -> CapturedPacket? {
        guard let header = try source.takeIfAny(16, what: "a packet header") else { return nil }
        let seconds = UInt64(u32(header, 0)), fraction = UInt64(u32(header, 4))
        let captured = Int(u32(header, 8)), original = Int(u32(header, 12))
        guard captured <= Self.maximumBlock else {
            throw CaptureError(offset: source.offset - 16, message: "absurd captured length \(captured)")
        }
        if captured < original { truncatedFrames += 1 }
        let data = Array(try source.take(captured, what: "a packet of \(captured) bytes").slice)
        let micros = seconds * 1_000_000 + (nanoseconds ? fraction / 1000 : fraction)
        return CapturedPacket(microseconds: micros, linkType: linkType, data: data)
    }

    private mutating func readSectionHeader(afterType: Bool) throws(CaptureError) {
        let start = source.offset - 4
        let lengthAndMagic = try source.take(8, what: "the section header")
        switch Array(lengthAndMagic[4..<8]) {
        case [0x4D, 0x3C, 0x2B, 0x1A]: bigEndian = false
        case [0x1A, 0x2B, 0x3C, 0x4D]: bigEndian = true
        default: throw CaptureError(offset: start + 8, message: "pcapng section header with a bad byte-order magic")
        }
        let length = Int(u32(lengthAndMagic, 0))
        guard length >= 28, length <= Self.maximumBlock, length % 4 == 0 else {
            throw CaptureError(offset: start + 4, message: "section header length \(length) is not a multiple of 4 between 28 and \(Self.maximumBlock)")
        }
        _ = try source.take(length - 12, what: "the section header body")
        interfaces = []
    }

    private mutating func nextPcapng() throws(CaptureError) -> CapturedPacket? {
        while true {
            guard let head = try source.takeIfAny(8, what: "a block header") else { return nil }
            let start = source.offset - 8
            let type = u32(head, 0)
            if type == 0x0A0D_0D0A {
                source.rewind(4) // the length is read again with the byte order
                try readSectionHeader(afterType: true)
                continue
            }
            let length = Int(u32(head, 4))
            guard length >= 12, length % 4 == 0, length <= Self.maximumBlock else {
                throw CaptureError(offset: start + 4, message: "block length \(length) is not a multiple of 4 between 12 and \(Self.maximumBlock)")
            }
            let body = try source.take(length - 8, what: "a block of \(length) bytes")
            guard u32(body, body.count - 4) == UInt32(length) else {
                throw CaptureError(offset: start + length - 4, message: "block trailer length does not match its header (\(length))")
            }
            switch type {
            case 1: // interface description
                guard body.count >= 12 else { throw CaptureError(offset: start, message: "interface description too short") }
                interfaces.append((UInt16(truncatingIfNeeded: u16(body, 0)), Self.resolution(options: Array(body[8..<(body.count - 4)]), bigEndian: bigEndian)))
            case 6: // enhanced packet
                guard body.count >= 24 else { throw CaptureError(offset: start, message: "enhanced packet block too short") }
                let interface = Int(u32(body, 0))
                guard interface < interfaces.count else {
                    throw CaptureError(offset: start + 8, message: "packet on interface \(interface), but only \(interfaces.count) described")
                }
                let stamp = UInt64(u32(body, 4)) << 32 | UInt64(u32(body, 8))
                let captured = Int(u32(body, 12)), original = Int(u32(body, 16))
                guard 20 + captured <= body.count - 4 else {
                    throw CaptureError(offset: start + 20, message: "captured length \(captured) runs past its block")
                }
                if captured < original { truncatedFrames += 1 }
                let units = interfaces[interface].unitsPerSecond
                // A coarse resolution multiplies: saturate rather than trap on a hostile file.
                let micros = units == 1_000_000 ? stamp
                    : units > 1_000_000 ? stamp / (units / 1_000_000)
                    : { let (v, overflow) = stamp.multipliedReportingOverflow(by: 1_000_000 / max(1, units)); return overflow ? .max : v }()
                return CapturedPacket(microseconds: micros, linkType: interfaces[interface].linkType, data: Array(body[20..<(20 + captured)]))
            case 3: // simple packet
                guard let first = interfaces.first, body.count >= 8 else { throw CaptureError(offset: start, message: "simple packet block without an interface") }
                let original = Int(u32(body, 0))
                let captured = min(original, body.count - 8)
                return CapturedPacket(microseconds: 0, linkType: first.linkType, data: Array(body[4..<(4 + captured)]))
            case 10: // decryption secrets
                guard body.count >= 8 else { throw CaptureError(offset: start, message: "decryption secrets block too short") }
                let length = Int(u32(body, 4))
                guard 8 + length <= body.count - 4 else { throw CaptureError(offset: start + 12, message: "secrets length \(length) runs past its block") }
                // 'TLSK': the NSS key log format.
                if u32(body, 0) == 0x544C_534B, secrets.count < Self.maximumBlock { secrets += body[8..<(8 + length)] }
            default:
                skippedBlocks += 1
            }
        }
    }

    /// if_tsresol: 10^-n (high bit clear) or 2^-n units per second; default microseconds.
    static func resolution(options: [UInt8], bigEndian: Bool) -> UInt64 {
        var i = 0
        while i + 4 <= options.count {
            let code = bigEndian ? UInt16(options[i]) << 8 | UInt16(options[i + 1]) : UInt16(options[i + 1]) << 8 | UInt16(options[i])
            let length = Int(bigEndian ? UInt16(options[i + 2]) << 8 | UInt16(options[i + 3]) : UInt16(options[i + 3]) << 8 | UInt16(options[i + 2]))
            if code == 0 { break }
            if code == 9, length >= 1, i + 4 < options.count {
                let v = options[i + 4]
                let exponent = UInt64(v & 0x7F)
                guard exponent < 19 else { return 1_000_000 }
                return v & 0x80 == 0 ? (0..<exponent).reduce(1) { p, _ in p * 10 } : 1 << min(exponent, 62)
            }
            i += 4 + (length + 3) / 4 * 4
        }
        return 1_000_000
    }

    private func u16(_ b: ByteView, _ i: Int) -> UInt32 {
        bigEndian ? UInt32(b[i]) << 8 | UInt32(b[i + 1]) : UInt32(b[i + 1]) << 8 | UInt32(b[i])
    }

    private func u32(_ b: ByteView, _ i: Int) -> UInt32 {
        bigEndian ? UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
            : UInt32(b[i + 3]) << 24 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 1]) << 8 | UInt32(b[i])
    }
}

func hex(_ b: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(b >> 4)], digits[Int(b & 0xF)]])
}

/// Bytes of the reader's buffer, indexed from 0.
struct ByteView {
    let slice: ArraySlice<UInt8>
    var count: Int { slice.count }
    subscript(i: Int) -> UInt8 { slice[slice.startIndex + i] }
    subscript(range: Range<Int>) -> ArraySlice<UInt8> { slice[(slice.startIndex + range.lowerBound)..<(slice.startIndex + range.upperBound)] }
}

/// Buffered reading from a pull function, with the offset for errors. The
/// buffer is allocated once and refilled in place (4 MiB at a time): a
/// fresh chunk per read cost a page fault per 4 KiB of the file.
struct ByteSource {
    /// Fills the buffer it is given; returns how many bytes (0 at the end).
    let readInto: (UnsafeMutableRawBufferPointer) -> Int
    var buffer: [UInt8] = []
    /// Valid bytes are buffer[position..<end].
    var position = 0
    var end = 0
    var offset = 0
    var ended = false
    static let chunk = 4 << 20

    init(readInto: @escaping (UnsafeMutableRawBufferPointer) -> Int) { self.readInto = readInto }

    init(read: @escaping (Int) -> [UInt8]) {
        self.init { target in
            let chunk = read(target.count)
            chunk.withUnsafeBytes { target.copyMemory(from: $0) }
            return chunk.count
        }
    }

    mutating func fill(_ n: Int) {
        while end - position < n, !ended {
            if position > 0 {
                // Keep what is left at the front; the rest of the buffer is read into.
                let left = end - position
                buffer.withUnsafeMutableBytes { raw in
                    if left > 0 { _ = memmove(raw.baseAddress!, raw.baseAddress! + position, left) } // the regions may overlap
                }
                position = 0
                end = left
            }
            // Grown as the input proves large: 64 KiB first, doubled at each refill up to 4 MiB
            // (a small capture costs no 4 MiB), and always enough for the block asked for.
            let wanted = max(end + n, buffer.isEmpty ? 64 << 10 : min(Self.chunk, buffer.count * 2))
            if buffer.count < wanted { buffer += [UInt8](repeating: 0, count: wanted - buffer.count) }
            let start = end
            let got = buffer.withUnsafeMutableBytes { raw in readInto(UnsafeMutableRawBufferPointer(rebasing: raw[start...])) }
            if got == 0 { ended = true } else { end += got }
        }
    }

    /// The next `n` bytes, as a view into the buffer (no copy); valid until the next `take`.
    mutating func take(_ n: Int, what: String) throws(CaptureError) -> ByteView {
        fill(n)
        guard end - position >= n else {
            throw CaptureError(offset: offset, message: "the file ends inside \(what) (\(end - position) of \(n) bytes)")
        }
        let out = ByteView(slice: buffer[position..<(position + n)])
        position += n
        offset += n
        return out
    }

    /// nil at a clean end of input; an error when it ends part-way.
    mutating func takeIfAny(_ n: Int, what: String) throws(CaptureError) -> ByteView? {
        fill(1)
        if end - position == 0 { return nil }
        return try take(n, what: what)
    }

    mutating func rewind(_ n: Int) {
        position -= n
        offset -= n
    }
}
