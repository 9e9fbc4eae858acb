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
    return 0
}
