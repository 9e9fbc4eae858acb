import Foundation
import TriageKit
import TriageWire

/// `capture.start`: a live capture with libpcap, on the interface that
/// routes to the target (`lo` for 127.0.0.0/8 and ::1), with a BPF filter
/// for the target's addresses and port, running while the steps up to the
/// matching `capture.stop` run — so it also sees the proxy's own
/// connection to the upstream. The run owns it: it is stopped when the run
/// ends even if `capture.stop` never runs. Without the privilege to
/// capture it says so and succeeds: the self-capture of `tls.handshake`
/// stands in. Command: the `tcpdump -i … -w capture.pcapng '…'` line.
public struct CaptureStartStep: StepKind {
    public let name = "capture.start"
    public let summary = "start a live libpcap capture of the target's traffic (stopped by capture.stop, or at the end of the run)"
    public let inputs: [InputDeclaration] = [
        .init("addresses", .stringOrList, "the target's addresses"),
        .init("port", .integer, "the target's port"),
        .init("interface", .string, "capture on this interface (default lo for loopback targets, else any)"),
        .init("filter", .string, "a BPF filter instead of the one built from addresses and port"),
    ]
    public let outputs: [OutputDeclaration] = [
        .init("capture", .string, "the id capture.stop takes (null when no capture could start)"),
        .init("interface", .string, "the interface"),
        .init("filter", .string, "the BPF filter"),
    ]

    public init() {}

    public func run(_ context: StepContext) async throws -> StepOutcome {
        let addresses = context.strings("addresses", splitCommas: true).compactMap { IPAddress($0) }
        let port = context.int("port")
        let loopback = !addresses.isEmpty && addresses.allSatisfy(\.isLoopback)
        let device = context.string("interface") ?? (loopback ? "lo" : "any")
        var parts: [String] = ["tcp"]
        if let port { parts.append("port \(port)") }
        if !addresses.isEmpty { parts.append("(" + addresses.map { "host \($0)" }.joined(separator: " or ") + ")") }
        let filter = context.string("filter") ?? parts.joined(separator: " and ")
        let command = "tcpdump -i \(device) -w capture.pcapng \(ShellQuote.quote(filter))"
        do {
            let capture = try LiveCapture(device: device, filter: filter)
            context.resources.add(capture, id: context.stepID)
            return StepOutcome(summary: Message(.captureStarted, ["device": .string(device), "filter": .string(filter)]), command: command,
                               facts: [Fact(.interface, .string(device)), Fact(.filter, .string(filter))],
                               outputs: ["capture": .string(context.stepID), "interface": .string(device), "filter": .string(filter)])
        } catch let denied as NoPrivilege {
            // Not an error of the case: a warning with the command that grants the capability.
            let why = Message(.captureNoPrivilege, ["device": .string(denied.device)])
            var outcome = StepOutcome(summary: why, command: command, facts: [Fact(.interface, .string(device)), Fact(.note, why.value)],
                                      outputs: ["capture": .null, "interface": .string(device), "filter": .string(filter)])
            outcome.notice = why
            return outcome
        } catch {
            let why = (error as? StepFailure)?.message ?? Message(.errorText, ["text": .string("\(error)")])
            return StepOutcome(summary: Message(.captureCannot, ["device": .string(device), "why": why.value]), command: command,
                               facts: [Fact(.interface, .string(device)), Fact(.note, why)],
                               outputs: ["capture": .null, "interface": .string(device), "filter": .string(filter)])
        }
    }
}
