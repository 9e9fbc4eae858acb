import Foundation
#if canImport(Glibc)
import Glibc
#endif
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
            transcript: quoted.joined(separator: "\n") + "\n\n" + explanations.map { $0.text() }.joined(separator: "\n\n"),
            events: Self.events(first: relevant.first, last: last, count: relevant.count))
    }

    /// The first and the last matching line, at the time they carry. nginx
    /// writes local time without a zone: read as this machine's, and said so.
    static func events(first: String?, last: String, count: Int) -> [TimelineEvent] {
        let clock = Message(.eventLocalClock)
        var out: [TimelineEvent] = []
        if count > 1, let first, let at = NginxLogTime.parse(first) {
            out.append(TimelineEvent(at: at, Message(.eventLogFirst, ["count": .int(count), "line": .string(NginxLogTime.message(first))]), clock: clock))
        }
        if let at = NginxLogTime.parse(last) {
            out.append(TimelineEvent(at: at, Message(.eventLogLast, ["line": .string(NginxLogTime.message(last))]), clock: clock))
        }
        return out
    }
}

/// nginx's error-log line prefix: `2026/03/28 15:11:25 [error] 1234#0: *56 `.
enum NginxLogTime {
    /// The line's time, read in this machine's time zone (nginx writes local time).
    static func parse(_ line: String) -> Date? {
        let digits = Array(line.utf8.prefix(19))
        guard digits.count == 19 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var n = 0
            for b in digits[range] {
                guard b >= 0x30, b <= 0x39 else { return nil }
                n = n * 10 + Int(b - 0x30)
            }
            return n
        }
        guard digits[4] == UInt8(ascii: "/"), digits[7] == UInt8(ascii: "/"), digits[10] == UInt8(ascii: " "),
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19) else { return nil }
        // mktime reads the fields in the local zone (TZ), as nginx wrote them.
        var fields = tm()
        fields.tm_year = Int32(year - 1900)
        fields.tm_mon = Int32(month - 1)
        fields.tm_mday = Int32(day)
        fields.tm_hour = Int32(hour)
        fields.tm_min = Int32(minute)
        fields.tm_sec = Int32(second)
        fields.tm_isdst = -1
        let t = mktime(&fields)
        return t == -1 ? nil : Date(timeIntervalSince1970: TimeInterval(t))
    }

    /// What the line says, without its prefix and its `, client: …` context.
    static func message(_ line: String) -> String {
        var text = Substring(line)
        if let star = text.range(of: ": *"), let space = text[star.upperBound...].firstIndex(of: " ") {
            text = text[text.index(after: space)...]
        } else if let close = text.range(of: "] ") {
            text = text[close.upperBound...]
        }
        if let context = text.range(of: ", client: ") { text = text[..<context.lowerBound] }
        let clean = Redactor.redact(String(text))
        return clean.count > 160 ? String(clean.prefix(157)) + "…" : clean
    }
}
