import Foundation
import TriageKit

/// `nginx.error-log`: finds the error-log lines about the failing upstream
/// (its address, host or upstream name), quotes the most recent ones and
/// decodes the last with the same decoder as `triage explain`.
///
/// Inputs: `file` (required), `match` (strings a line must contain one of,
/// e.g. the upstream's address:port), `lines` (how many to quote, 5).
/// Reads at most the last 4 MiB of the file. Outputs: `lines`, `alert`
/// (the alert number in the last line, if any), `count`.
public struct NginxErrorLogStep: StepKind {
    public let name = "nginx.error-log"
    public let summary = "quote and decode nginx error-log lines about the failing upstream"
    public let inputs: [InputDeclaration] = [
        .init("file", .string, required: true, "nginx's error.log"),
        .init("match", .stringOrList, "a line must contain one of these (upstream address, host, upstream name)"),
        .init("lines", .integer, "how many matching lines to quote (default 5)"),
    ]

    public init() {}

    public func run(_ context: StepContext) async throws -> StepOutcome {
        guard let file = context.string("file") else { throw StepFailure("nginx.error-log: 'file' is empty") }
        guard let handle = FileHandle(forReadingAtPath: file) else { throw StepFailure("cannot read \(file)") }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: size > 4 << 20 ? size - (4 << 20) : 0)
        let text = String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
        let match = context.strings("match").filter { !$0.isEmpty }
        let wanted = max(1, context["lines"].intValue ?? 5)
        let relevant = text.split(whereSeparator: \.isNewline).map(String.init).filter { line in
            line.contains("upstream") && (match.isEmpty || match.contains { line.contains($0) })
        }
        let quoted = relevant.suffix(wanted).map(Redactor.redact)
        guard let last = quoted.last else {
            return StepOutcome(summary: "no line of \(file) mentions \(match.isEmpty ? "an upstream" : match.joined(separator: " or "))",
                               command: "grep -n 'upstream' \(file) | tail -\(wanted)", outputs: ["lines": [], "count": 0, "alert": .null])
        }
        let explanations = (try? Explainer.explain(last)) ?? []
        let alert = explanations.first { $0.kind == .alert }?.alert
        var facts = [Fact("matching lines", .int(relevant.count)), Fact("last line", .string(last))]
        facts += explanations.first { $0.kind == .nginx }?.facts ?? []
        if let alert { facts.append(Fact("alert", .string("\(alert.code) \(alert.name), sent by the upstream"))) }
        return StepOutcome(
            summary: "\(relevant.count) line(s) about the upstream; last: \(explanations.map(\.heading).joined(separator: "; "))",
            command: "grep -n '\(match.first ?? "upstream")' \(file) | tail -\(wanted)",
            facts: facts,
            outputs: ["lines": .list(quoted.map(Value.string)), "count": .int(relevant.count),
                      "alert": alert.map { .int(Int($0.code)) } ?? .null],
            transcript: quoted.joined(separator: "\n") + "\n\n" + explanations.map(\.text).joined(separator: "\n\n"))
    }
}
