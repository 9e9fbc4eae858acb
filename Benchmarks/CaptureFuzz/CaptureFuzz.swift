// make fuzz: libFuzzer over capture reading, TCP reassembly and TLS parsing.
// Built with -sanitize=fuzzer (libFuzzer supplies main); any crash, hang or
// unbounded allocation in TriageWire on arbitrary bytes is a finding.
import TriageWire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard var reader = try? CaptureReader(bytes: bytes) else { return 0 }
    _ = try? CaptureAnalysis.run(&reader)
    // The TLS layer alone, on the raw bytes as one direction of a stream.
    let client = Endpoint(IPAddress(bytes: [127, 0, 0, 1])!, port: 1)
    let server = Endpoint(IPAddress(bytes: [127, 0, 0, 2])!, port: 443)
    var conversation = TCPConversation(client: client, server: server)
    conversation.record(.connect, at: 0)
    conversation.record(.data(.clientToServer, bytes), at: 1)
    conversation.record(.data(.serverToClient, bytes.reversed()), at: 2)
    var writer = PcapngWriter()
    conversation.write(into: &writer, comment: nil)
    let capture = writer.bytes
    if var again = try? CaptureReader(bytes: capture) {
        _ = try? CaptureAnalysis.run(&again)
    }
    // TLS 1.3 "decrypted" with a key log: a ClientHello and a ServerHello
    // choosing TLS 1.3, then the input as the server's protected records,
    // opened by a cipher that only strips the tag — the inner record and
    // handshake parsing (certificates, alerts, the switch after Finished)
    // on arbitrary plaintext.
    var tls13 = TCPConversation(client: client, server: server)
    tls13.record(.connect, at: 0)
    tls13.record(.data(.clientToServer, Fuzz13.clientHello), at: 1)
    tls13.record(.data(.serverToClient, Fuzz13.serverHello + bytes), at: 2)
    tls13.record(.data(.clientToServer, bytes), at: 3)
    var writer13 = PcapngWriter()
    tls13.write(into: &writer13, comment: nil)
    if var third = try? CaptureReader(bytes: writer13.bytes) {
        _ = try? CaptureAnalysis.run(&third, keyLog: Fuzz13.keyLog, crypto: Fuzz13.Transparent())
    }
    return 0
}

enum Fuzz13 {
    struct Transparent: TLS13Crypto {
        func hkdfExpand(hash: Int, secret: [UInt8], info: [UInt8], length: Int) -> [UInt8]? { Array(repeating: 7, count: length) }
        func open(_ cipher: TLS13Cipher, key: [UInt8], nonce: [UInt8], aad: [UInt8], sealed: ArraySlice<UInt8>) -> [UInt8]? {
            sealed.count > 16 ? Array(sealed.dropLast(16)) : nil
        }
    }

    static func record(_ type: UInt8, _ body: [UInt8]) -> [UInt8] { [type, 3, 3, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body }
    static func handshake(_ type: UInt8, _ body: [UInt8]) -> [UInt8] { [type, 0, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body }
    static let clientRandom = [UInt8](repeating: 1, count: 32)
    static let clientHello = record(22, handshake(1, [3, 3] + clientRandom + [0, 0, 2, 0x13, 0x01, 1, 0, 0, 7, 0, 43, 0, 3, 2, 3, 4]))
    static let serverHello = record(22, handshake(2, [3, 3] + [UInt8](repeating: 2, count: 32) + [0, 0x13, 0x01, 0, 0, 6, 0, 43, 0, 2, 3, 4]))
    static let keyLog: KeyLog = {
        let random = clientRandom.map { String($0 >> 4, radix: 16) + String($0 & 0xF, radix: 16) }.joined()
        let secret = String(repeating: "ab", count: 32)
        return KeyLog(text: Array(["CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"]
            .map { "\($0) \(random) \(secret)" }.joined(separator: "\n").utf8))
    }()
}
