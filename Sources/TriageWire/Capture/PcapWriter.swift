/// Writes classic pcap (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html),
/// little-endian, with micro- or nanosecond timestamps.
public struct PcapWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    let nanoseconds: Bool

    public init(linkType: UInt16 = PcapngWriter.ethernet, nanoseconds: Bool = false, snapLength: UInt32 = 262_144) {
        self.nanoseconds = nanoseconds
        PcapngWriter.u32(nanoseconds ? 0xA1B2_3C4D : 0xA1B2_C3D4, &bytes)
        PcapngWriter.u16(2, &bytes); PcapngWriter.u16(4, &bytes) // version 2.4
        PcapngWriter.u32(0, &bytes); PcapngWriter.u32(0, &bytes)  // reserved
        PcapngWriter.u32(snapLength, &bytes)
        PcapngWriter.u32(UInt32(linkType), &bytes)
    }

    public mutating func append(frame: [UInt8], microseconds: UInt64) {
        PcapngWriter.u32(UInt32(truncatingIfNeeded: microseconds / 1_000_000), &bytes)
        let fraction = microseconds % 1_000_000
        PcapngWriter.u32(UInt32(nanoseconds ? fraction * 1000 : fraction), &bytes)
        PcapngWriter.u32(UInt32(frame.count), &bytes)
        PcapngWriter.u32(UInt32(frame.count), &bytes)
        bytes += frame
    }
}
