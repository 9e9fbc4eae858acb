import Foundation
import TriageKit

/// `capture.start`: a live capture with libpcap, on the interface that
/// routes to the target (`lo` for 127.0.0.0/8), with a BPF filter for the
/// target's addresses and port, running while the steps up to the matching
/// `capture.stop` run — so it also sees the proxy's own connection to the
/// upstream. Without the privilege to capture, it says so and succeeds:
/// the self-capture of `tls.handshake` stands in.
///
/// Inputs: `addresses`, `port`, `interface` (default `lo` when every
/// address is loopback, else `any`), `filter` (a BPF expression instead).
/// Outputs: `capture` (the id `capture.stop` takes), `interface`, `filter`.
/// Command: the `tcpdump -i … -w capture.pcapng '…'` line.
public struct CaptureStartStep: StepKind {
    public let name = "capture.start"
    public let summary = "start a live libpcap capture of the target's traffic (stopped by capture.stop)"
    public let inputs: [InputDeclaration] = [
        .init("addresses", .stringOrList, "the target's addresses"),
        .init("port", .integer, "the target's port"),
        .init("interface", .string, "capture on this interface (default lo for loopback targets, else any)"),
        .init("filter", .string, "a BPF filter instead of the one built from addresses and port"),
    ]

    public init() {}

    public func run(_ context: StepContext) async throws -> StepOutcome {
        let addresses = context.strings("addresses").flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        let port = context.string("port")
        let loopback = !addresses.isEmpty && addresses.allSatisfy { $0.hasPrefix("127.") || $0 == "::1" }
        let device = context.string("interface") ?? (loopback ? "lo" : "any")
        var parts: [String] = ["tcp"]
        if let port { parts.append("port \(port)") }
        if !addresses.isEmpty { parts.append("(" + addresses.map { "host \($0)" }.joined(separator: " or ") + ")") }
        let filter = context.string("filter") ?? parts.joined(separator: " and ")
        let command = "tcpdump -i \(device) -w capture.pcapng \(ShellQuote.quote(filter))"
        do {
            let capture = try LiveCapture(device: device, filter: filter)
            LiveCapture.running.withLock { $0[context.stepID] = capture }
            return StepOutcome(summary: "capturing on \(device): \(filter)", command: command,
                               facts: [Fact("interface", .string(device)), Fact("filter", .string(filter))],
                               outputs: ["capture": .string(context.stepID), "interface": .string(device), "filter": .string(filter)])
        } catch {
            return StepOutcome(summary: "cannot capture on \(device) (\(error)); the self-capture of tls.handshake stands in", command: command,
                               facts: [Fact("interface", .string(device)), Fact("note", .string("\(error)"))],
                               outputs: ["capture": .null, "interface": .string(device), "filter": .string(filter)])
        }
    }
}
