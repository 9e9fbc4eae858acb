@testable import TriageWire
import Testing

/// Captures built byte by byte: TLS records split across segments, segments
/// out of order and duplicated, and files that are not captures at all.
@Suite struct CaptureAnalysisTests {
    static let client = Endpoint(IPAddress(bytes: [127, 0, 0, 1])!, port: 50_000)
    static let server = Endpoint(IPAddress(bytes: [127, 0, 0, 2])!, port: 443)

    /// A TLS 1.2-style ClientHello record with SNI `name` and ALPN h2.
    static func clientHello(sni name: String) -> [UInt8] {
        let host = Array(name.utf8)
        var sni: [UInt8] = [0, UInt8(host.count + 3), 0, 0, UInt8(host.count)] + host
        sni = [0, 0, 0, UInt8(sni.count)] + sni
        let alpn: [UInt8] = [0, 16, 0, 5, 0, 3, 2] + Array("h2".utf8)
        let extensions = sni + alpn
        var body: [UInt8] = [3, 3] + Array(repeating: 7, count: 32) + [0] + [0, 4, 0x13, 0x01, 0xC0, 0x2F] + [1, 0]
        body += [UInt8(extensions.count >> 8), UInt8(extensions.count & 0xFF)] + extensions
        let handshake: [UInt8] = [1, 0, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
        return [22, 3, 1, UInt8(handshake.count >> 8), UInt8(handshake.count & 0xFF)] + handshake
    }

    static let fatalAlert80: [UInt8] = [21, 3, 3, 0, 2, 2, 80]

    func frames(_ segments: [(Endpoint, Endpoint, UInt32, UInt8, [UInt8])]) -> [UInt8] {
        var writer = PcapngWriter()
        for (i, (src, dst, seq, flags, payload)) in segments.enumerated() {
            writer.append(frame: TCPConversation.frame(src: src, dst: dst, seq: seq, ack: 1, flags: flags, payload: payload), microseconds: UInt64(i))
        }
        return writer.bytes
    }

    func analyse(_ bytes: [UInt8]) throws -> CaptureAnalysis {
        var reader = try CaptureReader(bytes: bytes)
        return try CaptureAnalysis.run(&reader)
    }

    @Test func recordSplitAcrossSegmentsOutOfOrderAndDuplicated() throws {
        let hello = Self.clientHello(sni: "api.example.test")
        let (c, s) = (Self.client, Self.server)
        let a = Array(hello[0..<7]), b = Array(hello[7..<40]), rest = Array(hello[40...])
        let capture = frames([
            (c, s, 1000, 0x02, []),                                   // SYN
            (s, c, 5000, 0x12, []),                                   // SYN, ACK
            (c, s, 1001 + 7, 0x18, b),                                // second piece first
            (c, s, 1001, 0x18, a),                                    // then the first
            (c, s, 1001, 0x18, a),                                    // retransmitted
            (c, s, 1001 + 40 - 10, 0x18, Array(hello[30..<60])),      // overlapping
            (c, s, 1001 + 40, 0x18, rest),
            (s, c, 5001, 0x18, Self.fatalAlert80),
            (s, c, 5008, 0x11, []),                                   // FIN
        ])
        let analysis = try analyse(capture)
        #expect(analysis.connections.count == 1)
        let connection = try #require(analysis.connections.first)
        #expect(connection.client == c)
        #expect(connection.clientSide.sni == "api.example.test")
        #expect(connection.clientSide.alpn == ["h2"])
        #expect(connection.clientSide.cipherSuites == 2)
        #expect(connection.alerts.map { "\($0.sender) \($0.level) \($0.code)" } == ["server 2 80"])
        #expect(!connection.gaps)
    }

    @Test func captureStartingMidConnectionWithoutSNI() throws {
        let hello = Self.clientHello(sni: "x.test")
        // The same hello with its server_name extension type renamed: no SNI.
        var noSNI = hello
        if let i = (0..<(hello.count - 4)).first(where: { hello[$0] == 0 && hello[$0 + 1] == 0 && hello[$0 + 2] == 0 && hello[$0 + 3] == 11 }) {
            noSNI[i + 1] = 0xFF
        }
        let analysis = try analyse(frames([
            (Self.client, Self.server, 77, 0x18, noSNI),
            (Self.server, Self.client, 99, 0x18, Self.fatalAlert80),
        ]))
        let connection = try #require(analysis.connections.first)
        #expect(connection.client == Self.client)
        #expect(connection.clientSide.helloSeen)
        #expect(connection.clientSide.sni == nil)
        #expect(connection.alerts.first?.code == 80)
    }

    @Test func badInputsGiveClearErrors() {
        func error(_ bytes: [UInt8]) -> String {
            do { _ = try analyse(bytes); return "no error" } catch { return "\(error)" }
        }
        #expect(error([]) == "byte 0: the file ends inside the file's magic number (0 of 4 bytes)")
        #expect(error(Array("GET / HTTP/1.1\r\n".utf8)) == "byte 0: not a capture: the magic number 47455420 is neither pcap (a1b2c3d4) nor pcapng (0a0d0d0a)")
        // A pcap header with the snap length 0xFFFFFFFF: read, as Wireshark reads it (it was refused);
        // a packet that claims 4 GB is what is refused.
        let header: [UInt8] = [0xD4, 0xC3, 0xB2, 0xA1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 1, 0, 0, 0]
        #expect(error(header) == "no error")
        #expect(error(header + [0, 0, 0, 0, 0, 0, 0, 0, 0xF0, 0xFF, 0xFF, 0xFF, 0xF0, 0xFF, 0xFF, 0xFF]) == "byte 24: absurd captured length 4294967280")
        // A valid pcapng cut in the middle of a packet block.
        let whole = frames([(Self.client, Self.server, 1, 0x18, Self.fatalAlert80)])
        #expect(error(Array(whole.prefix(whole.count - 10))).hasPrefix("byte "))
        #expect(error(Array(whole.prefix(whole.count - 10))).contains("the file ends inside a block of"))
        // A block claiming 3 GB.
        func length(_ at: Int) -> Int { Int(whole[at]) | Int(whole[at + 1]) << 8 | Int(whole[at + 2]) << 16 | Int(whole[at + 3]) << 24 }
        let packetBlock = length(4) + length(length(4) + 4) // after the section header and the interface block
        var huge = whole
        huge[packetBlock + 7] = 0x7F // length field of the packet block: about 2 GB
        #expect(error(huge) == "byte \(packetBlock + 4): block length \(2_130_706_432 + length(packetBlock + 4)) is not a multiple of 4 between 12 and 16777216")
    }

    /// A capture cut in the middle of a packet (tcpdump killed, a file
    /// copied while written) is analysed up to the cut, as Wireshark does,
    /// and says where it ends.
    @Test func cutCaptureIsDecodedUpToTheCut() throws {
        let whole = frames([(Self.client, Self.server, 1, 0x18, Self.clientHello(sni: "api.example.test")),
                            (Self.server, Self.client, 1, 0x18, Self.fatalAlert80),
                            (Self.client, Self.server, 1 + UInt32(Self.clientHello(sni: "api.example.test").count), 0x11, [])])
        let cut = Array(whole.prefix(whole.count - 20))
        let analysis = try analyse(cut)
        #expect(analysis.packets == 2)
        #expect(analysis.connections.count == 1)
        #expect(analysis.connections[0].clientSide.sni == "api.example.test")
        #expect(analysis.connections[0].serverSide.alerts.map(\.code) == [80])
        let error = try #require(analysis.cut)
        #expect(error.message.hasPrefix("the file ends inside a block of"))
        #expect(error.offset > 0 && error.offset < cut.count)
    }

    @Test func unknownBlocksAreSkippedAndCounted() throws {
        var bytes = frames([(Self.client, Self.server, 1, 0x18, Self.clientHello(sni: "a.test"))])
        // A custom block (type 0x00000BAD) of 16 bytes between the packets.
        bytes += [0xAD, 0x0B, 0, 0, 16, 0, 0, 0, 1, 2, 3, 4, 16, 0, 0, 0]
        let analysis = try analyse(bytes)
        #expect(analysis.skippedBlocks == 1)
        #expect(analysis.connections.first?.clientSide.sni == "a.test")
    }

    @Test func coarseTimestampResolutionDoesNotTrap() throws {
        // Found by make fuzz: if_tsresol = 10^0 (seconds) with a huge timestamp overflowed.
        var bytes = frames([(Self.client, Self.server, 1, 0x18, Self.fatalAlert80)])
        func length(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24 }
        let interface = length(4)
        let packetBlock = interface + length(interface + 4)
        bytes[interface + 20] = 0 // if_tsresol value: 10^0 per second
        for i in 12..<20 { bytes[packetBlock + i] = 0xFF } // timestamp: all ones
        let analysis = try analyse(bytes)
        #expect(analysis.packets == 1)
        #expect(analysis.connections.first?.firstMicroseconds == .max)
    }

    @Test func segmentHalfTheSequenceSpaceBehindDoesNotTrap() {
        // Found by make fuzz: a segment exactly 2^31 bytes behind the stream.
        var stream = TCPStream()
        #expect(stream.add(sequence: 0x8000_0000, syn: false, payload: [1, 2, 3][...]) == [1, 2, 3])
        #expect(stream.add(sequence: 3, syn: false, payload: [9][...]) == [])
        #expect(stream.add(sequence: 0x8000_0003, syn: false, payload: [4][...]) == [4])
    }
}

extension CaptureAnalysisTests {
    static func serverHello(random: [UInt8]) -> [UInt8] {
        let body: [UInt8] = [3, 3] + random + [0, 0x13, 0x01, 0, 0, 6, 0, 43, 0, 2, 3, 4]
        let handshake: [UInt8] = [2, 0, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
        return [22, 3, 3, UInt8(handshake.count >> 8), UInt8(handshake.count & 0xFF)] + handshake
    }

    /// RFC 8446 §4.1.3 and §D.4: a HelloRetryRequest, the server's dummy
    /// ChangeCipherSpec, then the real ServerHello in clear — which must be
    /// read (a ChangeCipherSpec does not start encryption in TLS 1.3).
    @Test func helloRetryRequestThenChangeCipherSpecThenTheRealServerHello() throws {
        let (c, s) = (Self.client, Self.server)
        let retry = Self.serverHello(random: TLSStreamParser.helloRetryRandom)
        let ccs: [UInt8] = [20, 3, 3, 0, 1, 1]
        let real = Self.serverHello(random: Array(repeating: 9, count: 32))
        let hello = Self.clientHello(sni: "hrr.test")
        let capture = frames([
            (c, s, 1000, 0x02, []),
            (s, c, 5000, 0x12, []),
            (c, s, 1001, 0x18, hello),
            (s, c, 5001, 0x18, retry + ccs),
            (c, s, 1001 + UInt32(hello.count), 0x18, hello),     // the second ClientHello
            (s, c, 5001 + UInt32(retry.count + ccs.count), 0x18, real + [23, 3, 3, 0, 19] + Array(repeating: 0, count: 19)),
        ])
        let connection = try #require(try analyse(capture).connections.first)
        #expect(connection.serverSide.helloSeen)
        #expect(connection.serverSide.selectedVersion == 0x0304)
        #expect(connection.serverSide.selectedCipher == 0x1301)
        #expect(!connection.serverSide.notTLS)
    }
}
