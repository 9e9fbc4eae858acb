// make bench, capture part: writes a capture of TLS 1.2 handshakes (some
// ending in alerts), decodes it with TriageWire, and prints throughput,
// peak RSS and the alert / certificate counts (to compare with tshark).
import Foundation
import TriageDemo
import TriageProbes
import TriageWire

let arguments = CommandLine.arguments
let path = arguments.count > 1 ? arguments[1] : "/tmp/triage-bench.pcapng"
let count = arguments.count > 2 ? Int(arguments[2]) ?? 50_000 : 50_000

func record(_ type: UInt8, _ body: [UInt8]) -> [UInt8] { [type, 3, 3, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body }
func handshake(_ type: UInt8, _ body: [UInt8]) -> [UInt8] { [type, UInt8(body.count >> 16), UInt8((body.count >> 8) & 0xFF), UInt8(body.count & 0xFF)] + body }
func u16(_ n: Int) -> [UInt8] { [UInt8(n >> 8), UInt8(n & 0xFF)] }
func u24(_ n: Int) -> [UInt8] { [UInt8(n >> 16), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)] }

if arguments.count < 4 || arguments[3] != "--decode-only" {
    // Two real certificates (leaf and CA) so the decoder parses real DER.
    let day: TimeInterval = 86_400
    let ca = try CertificateMint.mint(.init(commonName: "bench root", notBefore: Date() - 900 * day, notAfter: Date() + 900 * day, isCA: true,
                                            key: .rsa(bits: 2048)))
    let leaf = try CertificateMint.mint(.init(commonName: "api.example.test", notBefore: Date() - 400 * day, notAfter: Date() - 10 * day,
                                              key: .rsa(bits: 2048)), issuer: ca)
    let chain = [leaf.certificate.der, ca.certificate.der]
    let certificateBody = u24(chain.reduce(0) { $0 + 3 + $1.count }) + chain.flatMap { u24($0.count) + $0 }
    let host = Array("api.example.test".utf8)
    let sni = u16(0) + u16(host.count + 5) + u16(host.count + 3) + [0] + u16(host.count) + host
    let helloBody: [UInt8] = [3, 3] + Array(repeating: 1, count: 32) + [0] + u16(4) + [0xC0, 0x2F, 0xC0, 0x30] + [1, 0] + u16(sni.count) + sni
    let clientHello = record(22, handshake(1, helloBody))
    let serverFlight = record(22, handshake(2, [3, 3] + Array(repeating: 2, count: 32) + [0, 0xC0, 0x2F, 0] + u16(0))
        + handshake(11, certificateBody) + handshake(14, []))
    let clientAlert = record(21, [2, 45])
    let clientFinish = record(20, [1]) + record(22, Array(repeating: 9, count: 40))
    let server = Endpoint(IPAddress(bytes: [10, 0, 0, 1])!, port: 443)
    guard FileManager.default.createFile(atPath: path, contents: nil), let out = FileHandle(forWritingAtPath: path) else { fatalError("cannot write \(path)") }
    var writer = PcapngWriter()
    var micros: UInt64 = 1_764_000_000_000_000
    for i in 0..<count {
        let client = Endpoint(IPAddress(bytes: [10, 1, UInt8((i >> 8) & 0xFF), UInt8(i & 0xFF)])!, port: UInt16(20_000 + i % 40_000))
        var conversation = TCPConversation(client: client, server: server)
        conversation.maximumSegment = 1448
        conversation.record(.connect, at: micros)
        conversation.record(.data(.clientToServer, clientHello), at: micros + 100)
        conversation.record(.data(.serverToClient, serverFlight), at: micros + 300)
        conversation.record(.data(.clientToServer, i % 5 == 0 ? clientAlert : clientFinish), at: micros + 500)
        conversation.record(.close(.clientToServer), at: micros + 600)
        conversation.write(into: &writer, comment: nil)
        micros += 1000
        if writer.bytes.count > 8 << 20 { out.write(Data(writer.bytes)); writer.clear() }
    }
    out.write(Data(writer.bytes))
    try out.close()
}

let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
let start = ContinuousClock.now
var reader = try CaptureReader.open(path: path)
// Streamed, as `triage analyze` reads: each connection counted as it closes, none kept.
var alerts = 0, certificates = 0
let analysis = try CaptureAnalysis.run(&reader, onConnection: { connection in
    alerts += connection.alerts.count
    certificates += connection.serverSide.certificates.count
})
let elapsed = (ContinuousClock.now - start)
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
var usage = rusage()
getrusage(RUSAGE_SELF.rawValue, &usage)
print("capture:          \(path), \(String(format: "%.1f", Double(size) / 1e6)) MB, \(analysis.packets) packets, \(analysis.connectionCount) connections")
print("decode:           \(String(format: "%.2f", seconds)) s, \(String(format: "%.0f", Double(size) / 1e6 / seconds)) MB/s (target >= 200 MB/s)")
print("peak RSS:         \(String(format: "%.1f", Double(usage.ru_maxrss) / 1024)) MB (target <= 50 MB)")
print("alerts:           \(alerts)")
print("certificates:     \(certificates)")
