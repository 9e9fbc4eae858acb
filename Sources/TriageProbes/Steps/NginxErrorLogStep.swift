import Foundation
import TriageKit

/// `nginx.error-log`: finds the error-log lines about the failing upstream
/// (its address, host or upstream name), quotes the most recent ones and
/// decodes the last with the same decoder as `triage explain`. Reads at
/// most the last 4 MiB of the file.
public struct NginxErrorLogStep: StepKind {
    public let name = "nginx.error-log"
    public let summary = "quote and decode nginx error-log lines about the failing upstream"
    public let inputs: [InputDeclaration] = [
        .init("file", .string, required: true, "nginx's error.log"),
        .init("match", .stringOrList, "a line must contain one of these (upstream address, host, upstream name)"),
        .init("lines", .integer, "how many matching lines to quote (default 5)"),
    ]
    public let outputs: [OutputDeclaration] = [
        .init("lines", .list(.string), "the quoted lines (redacted)"),
        .init("count", .integer, "how many lines matched"),
        .init("alert", .integer, "the alert number in the last line, if any"),
        .init("first", .string, "the first matching line's time stamp (nginx's yyyy/mm/dd HH:MM:SS)"),
        .init("last", .string, "the last matching line's time stamp"),
    ]

    public init() {}

    public func run(_ context: StepContext) async throws -> StepOutcome {
        guard let file = context.string("file") else { throw StepFailure(.inputEmpty, ["step": .string(name), "input": "file"]) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), !isDirectory.boolValue,
              let handle = FileHandle(forReadingAtPath: file) else { throw StepFailure(.cannotRead, ["file": .string(file)]) }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: size > 4 << 20 ? size - (4 << 20) : 0)
        let text = String(decoding: (try? handle.read(upToCount: 4 << 20)) ?? Data(), as: UTF8.self)
        let match = context.strings("match").filter { !$0.isEmpty }
        let wanted = max(1, min(context.int("lines") ?? 5, 100))
        let relevant = text.split(whereSeparator: \.isNewline).map(String.init).filter { line in
            line.contains("upstream") && (match.isEmpty || match.contains { line.contains($0) })
        }
        let quoted = relevant.suffix(wanted).map(Redactor.redact)
        guard let last = quoted.last else {
            return StepOutcome(summary: Message(.nginxLogNone, ["file": .string(file), "match": .list(match.map(Value.string))]),
                               command: "grep -n 'upstream' \(file) | tail -\(wanted)",
                               outputs: ["lines": [], "count": 0, "alert": .null, "first": .null, "last": .null])
        }
        let explanations = (try? Explainer.explain(last)) ?? []
        let alert = explanations.first { $0.kind == .alert }?.alert
        var facts = [Fact(.matchingLines, .int(relevant.count)), Fact(.lastLine, .string(last))]
        facts += explanations.first { $0.kind == .nginx }?.facts ?? []
        if let alert { facts.append(Fact(.alert, .typed(.alert(TLSAlert(code: alert.code, level: .fatal, sender: .server))))) }
        let stamp: (String) -> Value = { line in line.count >= 19 ? .string(String(line.prefix(19))) : .null }
        return StepOutcome(
            summary: Message(.nginxLogSummary, ["count": .int(relevant.count), "last": .list(explanations.map(\.heading.value))]),
            command: "grep -n '\(match.first ?? "upstream")' \(file) | tail -\(wanted)",
            facts: facts,
            outputs: ["lines": .list(quoted.map(Value.string)), "count": .int(relevant.count),
                      "alert": alert.map { .int(Int($0.code)) } ?? .null,
                      "first": relevant.first.map(stamp) ?? .null, "last": stamp(last)],
            transcript: quoted.joined(separator: "\n") + "\n\n" + explanations.map { $0.text() }.joined(separator: "\n\n"))
    }
}
