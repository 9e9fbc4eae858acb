import Foundation
import TriageKit
import TriageWire

/// `capture.decode`: reads a capture (pcap or pcapng) the way Wireshark's
/// TLS view does — every TCP connection with its ClientHello (SNI or none,
/// versions, ALPN), ServerHello, alerts with their sender, and the
/// certificates sent in clear (TLS 1.2) — and turns it into findings.
///
/// Inputs: `file` (required), `port` (server port filter), `host` (the
/// name certificates must match). Outputs: `connections` (at most 1000),
/// `alerts`, `count`. Evidence: `connections.txt`, one line per connection,
/// and the groups ("250 × fatal alert 45 certificate_expired from the
/// client"). Command: the matching `tshark -r FILE -Y …` line.
public struct CaptureDecodeStep: StepKind {
    public let name = "capture.decode"
    public let summary = "TLS in a pcap/pcapng capture: per connection SNI, versions, alerts with sender, certificates"
    public let inputs: [InputDeclaration] = [
        .init("file", .string, required: true, "the capture (pcap or pcapng)"),
        .init("port", .integer, "only connections to this server port"),
        .init("host", .string, "the name the server certificates must match"),
    ]

    public init() {}

    public func run(_ context: StepContext) async throws -> StepOutcome {
        guard let file = context.string("file") else { throw StepFailure("capture.decode: 'file' is empty") }
        let port = context["port"].intValue.map { UInt16(clamping: $0) }
        let analysis: CaptureAnalysis = try await onThread { _ in
            Result { () throws(CaptureError) -> CaptureAnalysis in
                var reader = try CaptureReader.open(path: file)
                return try CaptureAnalysis.run(&reader, port: port)
            }
        }.mapError { StepFailure("\(file): \($0.description)") }.get()
        let connections = analysis.connections.filter(\.isTLS)
        let view = CaptureView(connections: connections, host: context.string("host"))
        try context.evidence.write("connections.txt", text: view.table, description: "every TLS connection of the capture, one per line")
        var facts = [Fact("packets", .int(analysis.packets)), Fact("bytes", .int(analysis.bytes)),
                     Fact("TCP connections", .int(analysis.connections.count)), Fact("TLS connections", .int(connections.count))]
        if analysis.skippedBlocks > 0 { facts.append(Fact("pcapng blocks skipped", .int(analysis.skippedBlocks))) }
        if analysis.malformed > 0 { facts.append(Fact("malformed frames skipped", .int(analysis.malformed))) }
        for group in view.groups.prefix(20) { facts.append(Fact(group.label, .int(group.count))) }
        let portFilter = port.map { " -d tcp.port==\($0),tls" } ?? ""
        return StepOutcome(
            summary: "\(connections.count) TLS connection(s) in \(analysis.packets) packets; " + view.groups.prefix(3).map { "\($0.count) × \($0.label)" }.joined(separator: "; "),
            command: "tshark -r \(ShellQuote.quote(file))\(portFilter) -Y 'tls.alert_message || tls.handshake.type == 1' -T fields -e ip.src -e tls.handshake.extensions_server_name -e tls.alert_message.level -e tls.alert_message.desc",
            facts: facts,
            outputs: ["connections": .list(connections.prefix(1000).map(view.value)), "count": .int(connections.count),
                      "alerts": .list(connections.flatMap { c in c.alerts.map { a in
                          ["code": .int(Int(a.code)), "level": .int(Int(a.level)), "sender": .string(a.sender.rawValue)] as Value } }.prefix(1000).map { $0 })],
            findings: view.findings,
            transcript: view.table)
    }
}
