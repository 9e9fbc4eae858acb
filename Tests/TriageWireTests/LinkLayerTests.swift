@testable import TriageWire
import Testing

/// pcap in both byte orders and resolutions, the link types triage reads,
/// and IPv4 fragments put back together.
@Suite struct LinkLayerTests {
    let tests = CaptureAnalysisTests()
    static let (c, s) = (CaptureAnalysisTests.client, CaptureAnalysisTests.server)

    /// An Ethernet frame carrying the ClientHello, from `frame`.
    var ethernet: [UInt8] {
        TCPConversation.frame(src: Self.c, dst: Self.s, seq: 1, ack: 1, flags: 0x18, payload: CaptureAnalysisTests.clientHello(sni: "link.test"))
    }

    func sni(_ bytes: [UInt8]) throws -> String? {
        try tests.analyse(bytes).connections.first?.clientSide.sni
    }

    @Test func pcapMicroAndNanosecondsRoundTrip() throws {
        for nanoseconds in [false, true] {
            var writer = PcapWriter(nanoseconds: nanoseconds)
            writer.append(frame: ethernet, microseconds: 1_764_000_000_123_456)
            let analysis = try tests.analyse(writer.bytes)
            #expect(analysis.connections.first?.clientSide.sni == "link.test")
            #expect(analysis.connections.first?.firstMicroseconds == 1_764_000_000_123_456)
        }
    }

    @Test func bigEndianPcap() throws {
        var writer = PcapWriter()
        writer.append(frame: ethernet, microseconds: 5_000_001)
        var bytes = writer.bytes
        // Swap every 32-bit header field, and the 16-bit version fields.
        func swap32(_ at: Int) { bytes[at..<(at + 4)].reverse() }
        swap32(0); bytes[4..<6].reverse(); bytes[6..<8].reverse(); swap32(8); swap32(12); swap32(16); swap32(20)
        for at in stride(from: 24, to: 40, by: 4) { swap32(at) }
        let analysis = try tests.analyse(bytes)
        #expect(analysis.connections.first?.clientSide.sni == "link.test")
        #expect(analysis.connections.first?.firstMicroseconds == 5_000_001)
    }

    @Test func linuxCookedRawIPAndLoopback() throws {
        let ip = Array(ethernet[14...])
        let cases: [(UInt16, [UInt8])] = [
            (113, [0, 0, 3, 4, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00] + ip),            // Linux cooked v1
            (276, [0x08, 0x00, 0, 0, 0, 0, 0, 1, 3, 4, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0] + ip), // Linux cooked v2
            (101, ip),                                                                      // raw IP
            (0, [2, 0, 0, 0] + ip),                                                         // BSD loopback
        ]
        for (linkType, frame) in cases {
            var writer = PcapWriter(linkType: linkType)
            writer.append(frame: frame, microseconds: 1)
            #expect(try sni(writer.bytes) == "link.test", "link type \(linkType)")
        }
    }

    @Test func ipv4FragmentsReassembled() throws {
        var frame = ethernet
        // Split the IP payload (TCP header + ClientHello) at 64 bytes into two fragments.
        let ip = Array(frame[14...])
        let header = Array(ip[0..<20]), payload = Array(ip[20...])
        func fragment(_ part: ArraySlice<UInt8>, offset: Int, more: Bool) -> [UInt8] {
            var h = header
            let total = 20 + part.count
            h[2] = UInt8(total >> 8); h[3] = UInt8(total & 0xFF)
            h[4] = 0x12; h[5] = 0x34
            let field = (more ? 0x2000 : 0) | offset / 8
            h[6] = UInt8(field >> 8); h[7] = UInt8(field & 0xFF)
            return Array(frame[0..<14]) + h + part
        }
        frame = ethernet
        var writer = PcapWriter()
        writer.append(frame: fragment(payload[64...], offset: 64, more: false), microseconds: 1) // last piece first
        writer.append(frame: fragment(payload[..<64], offset: 0, more: true), microseconds: 2)
        #expect(try sni(writer.bytes) == "link.test")
    }
}
