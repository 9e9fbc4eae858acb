import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TriageKit
import TriageWire

/// `nginx.error-log`: the error-log lines about the failing upstream,
/// matched by their `upstream: "…"` field (its host — an address, a name or
/// the upstream block's name — and its port), parsed into typed events
/// (`SSL alert number 80`, `upstream SSL certificate does not match "…"`,
/// `verify error: (10:…)`, `no live upstreams`, …) for the diagnosis; the
/// most recent quoted and decoded with the same decoder as `triage explain`.
/// Streams the last 64 MiB of the file (or from `since`) in bounded memory;
/// lines triage's own requests made (in the run's time, from its client
/// address) are told apart from the incident's, whose count and time span
/// are the report's impact line.
public struct NginxErrorLogStep: StepKind {
    public let name: String
    public let summary: String
    /// `text` as a literal in a POSIX basic regular expression (grep's default).
    static func basicRegex(_ text: String) -> String {
        var out = ""
        for c in text {
            if ".[]*^$\\".contains(c) { out.append("\\") }
            out.append(c)
        }
        return out
    }

    /// The proxies whose lines this kind reads.
    let formats: [ProxyLogFormat]

    public init() {
        name = "nginx.error-log"
        summary = "nginx error-log lines about the failing upstream, matched by their upstream field, as typed events"
        formats = [.nginx]
    }

    /// `proxy.log`: the same for any proxy's log — nginx's error log, HAProxy's log (termination states,
    /// servers marked down) or Envoy's access log (response flags, transport failure reasons) — each line
    /// read in its own form and named after its proxy.
    public static let anyProxy = NginxErrorLogStep(
        name: "proxy.log", formats: ProxyLogFormat.allCases,
        summary: "a proxy's log (nginx error log, HAProxy log, Envoy access log): its lines about the failing upstream, as typed events with the proxy named")

    init(name: String, formats: [ProxyLogFormat], summary: String) {
        self.name = name
        self.formats = formats
        self.summary = summary
    }

    public var inputs: [InputDeclaration] { [
        .init("file", .string, required: true, formats == [.nginx] ? "nginx's error.log" : "the proxy's log: nginx's error.log, HAProxy's log, Envoy's access log"),
        .init("match", .stringOrList, "the upstream's hosts: addresses, its name, the upstream block's name (a line's upstream field must name one)"),
        .init("port", .integer, "the upstream's port (a line whose upstream field has another port does not match)"),
        .init("request_path", .string, "the path requested through the proxy: a line for a request under it, to the upstream's port, matches whatever address its upstream field names (nginx may use an address DNS no longer gives)"),
        .init("lines", .integer, "how many matching lines to quote (default 5)"),
        .init("since", .string, "read from this time on (2026-12-05T09:00:00Z, 2026/12/05 09:00:00 in nginx's local time, or a duration back from now: 2h) instead of the last 64 MiB"),
        .init("own_client", .string, "the address triage's own request through the proxy came from: its lines in this run are triage's, not the incident's"),
    ] + (formats == [.nginx] ? [] : [
        .init("backend", .string, "the proxy's name for the upstream: HAProxy's backend or backend/server (its lines name no address); without it every failing server's lines count"),
    ]) }
    public let outputs: [OutputDeclaration] = [
        .init("lines", .list(.string), "the quoted lines (redacted)"),
        .init("count", .integer, "how many lines matched"),
        .init("alert", .integer, "the alert number in the last line, if any"),
        .init("first", .string, "the first matching line's time stamp (nginx's yyyy/mm/dd HH:MM:SS)"),
        .init("last", .string, "the last matching line's time stamp"),
        .init("event", .string, "what the most telling line says: alert-80, name-mismatch, verify-error-10, no-live-upstreams, …"),
        .init("impact", .integer, "matching lines that are not triage's own"),
    ]

    public func run(_ context: StepContext) async throws -> StepOutcome {
        guard let file = context.string("file") else { throw StepFailure(.inputEmpty, ["step": .string(name), "input": "file"]) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw StepFailure(.cannotRead, ["file": .string(file)])
        }
        var reader = LogReader(path: file)
        let formats = self.formats
        if formats != [.nginx] { reader.time = { ProxyLogFormat.parse($0, formats: formats)?.1.time } }
        let backend = context.string("backend")?.lowercased().trimmingCharacters(in: .whitespaces)
        if let text = context.string("since") {
            guard let since = Self.since(text, now: Date()) else {
                throw StepFailure(.errorText, ["text": .string("since: '\(Sink.echo(text))' is not a time (2026-12-05T09:00:00Z, 2026/12/05 09:00:00) or a duration (2h)")])
            }
            reader.since = since
        }
        // Entries may be `host:port` (nginx's servers: that server exactly) or a bare host (with `port`).
        var match = Set<String>(), servers = Set<String>()
        for entry in context.strings("match", splitCommas: true).map({ $0.lowercased() }) where !entry.isEmpty {
            let host = ProxyConfig.hostPart(entry)
            if host != entry, entry.hasSuffix("]") == false { servers.insert(entry) } else { match.insert(host) }
        }
        let port = context.int("port")
        let requestPath = context.string("request_path").flatMap { $0.isEmpty ? nil : $0 }
        let wanted = max(1, min(context.int("lines") ?? 5, 100))
        var count = 0
        var first: ProxyLogLine?
        var kept: [ProxyLogLine] = []
        // triage's own: written since this run started (nginx stamps whole seconds), from its client address,
        // for a GET (triage's request through the proxy; a client's POST at the same second is not).
        // (The run's own second: nginx refreshes its clock as each event wakes it, so a line of the second
        // before is a client's, not triage's.)
        let runStart = Date(timeIntervalSince1970: context.runStartedAt.timeIntervalSince1970.rounded(.down))
        let ownClient = context.string("own_client").flatMap(IPAddress.init)?.description
        var impact = ImpactCount()
        var proxies: [ProxyLogFormat: Int] = [:]
        let extent: LogReader.Extent
        do {
            extent = try reader.lines(containingAny: ProxyLogFormat.needles(formats)) { raw in
                guard let (format, parsed) = ProxyLogFormat.parse(raw, formats: formats) else { return }
                var line = parsed
                switch format {
                case .nginx:
                    guard Self.matches(line, hosts: match, servers: servers, port: port) || Self.matches(line, requestPath: requestPath, port: port) else { return }
                case .haproxy:
                    guard Self.matches(line, backend: backend) else { return }
                case .envoy:
                    guard Self.matches(line, hosts: match, servers: servers, port: port) else { return }
                }
                proxies[format, default: 0] += 1
                line.own = ownClient != nil && (line.time.map { $0 >= runStart } ?? false) && (line.client == nil || line.client == ownClient)
                    && (line.request.map { $0.hasPrefix("GET ") } ?? true)
                count += 1
                if first == nil { first = line }
                if !line.own { impact.add(line) }
                kept.append(line)
                if kept.count > 2 * ProxyLog.keptLimit { kept.removeFirst(kept.count - ProxyLog.keptLimit) }
            }
        } catch {
            throw StepFailure(.cannotRead, ["file": .string(file)])
        }
        if kept.count > ProxyLog.keptLimit { kept.removeFirst(kept.count - ProxyLog.keptLimit) }
        let quoted = kept.suffix(wanted).map(\.text)
        // HAProxy's lines name its backend, not an address: the backend when given, else the last lines.
        let grep: String = if formats != [.nginx] {
            backend.map { NSRegularExpression.escapedPattern(for: $0) } ?? "."
        } else if match.isEmpty && servers.isEmpty {
            "upstream"
        } else {
            // nginx writes the upstream's URI there (`upstream: "https://10.0.0.7:8443/x"`): the address ends at
            // `:`, `/` or the quote (an IPv6 address in brackets). Each alternative is a basic regular expression:
            // its dots and brackets escaped.
            "upstream: \"[a-z]*://\\(\((match.union(servers)).sorted().map { Self.basicRegex(IPAddress($0)?.isV6 == true ? "[\($0)]" : $0) }.joined(separator: "\\|"))\\)[:/\"]"
        }
        guard let last = kept.last else {
            return StepOutcome(summary: Message(.nginxLogNone, ["file": .string(file), "match": .list(match.union(servers).sorted().map(Value.string))]),
                               command: "grep -n \(ShellQuote.quote(grep)) \(ShellQuote.quote(file)) | tail -\(wanted)",
                               outputs: ["lines": [], "count": 0, "alert": .null, "first": .null, "last": .null, "event": .null, "impact": 0])
        }
        // Whose log: the proxy most of its matching lines are from.
        let proxy = (proxies.max { $0.value < $1.value }?.key ?? .nginx).rawValue
        var result = impact.result(own: count - impact.count, since: reader.since, window: extent.whole ? nil : reader.window)
        result.proxy = proxy
        if proxy == ProxyLogFormat.envoy.rawValue { result.utcOffset = 0 }
        let log = ProxyLog(file: file, proxy: proxy, lines: kept, count: count, first: first, last: last, impact: result)
        let telling = log.telling ?? last
        let explanations = (try? Explainer.explain(telling.text)) ?? []
        let alert = telling.event.alert
        var facts = [Fact(.matchingLines, .int(count)), Fact(.lastLine, .string(telling.text)), Fact(.event, .string(telling.event.code))]
        facts += explanations.first { $0.kind == .nginx }?.facts ?? []
        if let alert { facts.append(Fact(.alert, .typed(.alert(TLSAlert(code: alert, level: .fatal, sender: .server))))) }
        let stamp: (ProxyLogLine?) -> Value = { line in
            guard let text = line?.text, text.count >= 19 else { return .null }
            return .string(String(text.prefix(19)))
        }
        return StepOutcome(
            summary: Message(.nginxLogSummary, ["count": .int(count), "last": explanations.isEmpty ? .string(telling.message) : .list(explanations.map(\.heading.value))]),
            command: "grep -n \(ShellQuote.quote(grep)) \(ShellQuote.quote(file)) | tail -\(wanted)",
            facts: facts,
            outputs: ["lines": .list(quoted.map(Value.string)), "count": .int(count),
                      "alert": alert.map { .int(Int($0)) } ?? .null,
                      "first": stamp(first), "last": stamp(last), "event": .string(telling.event.code), "impact": .int(impact.count)],
            evidence: [.proxyLog(log)],
            transcript: quoted.joined(separator: "\n") + "\n\n" + explanations.map { $0.text() }.joined(separator: "\n\n"),
            events: Self.events(first: first, last: last, count: count))
    }

    /// The incident's lines (not triage's own): how many, the first and last time, the message most seen.
    struct ImpactCount {
        var count = 0
        var first: Date?
        var last: Date?
        var messages: [String: Int] = [:]

        mutating func add(_ line: ProxyLogLine) {
            count += 1
            if let t = line.time {
                if first == nil { first = t }
                last = t
            }
            // The event's words without the request's details; bounded, however many kinds a log holds.
            if messages.count < 64 || messages[line.message] != nil { messages[line.message, default: 0] += 1 }
        }

        func result(own: Int, since: Date?, window: UInt64?) -> ProxyImpact {
            let message = messages.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key ?? ""
            let offset = TimeZone.current.secondsFromGMT(for: last ?? Date())
            return ProxyImpact(count: count, first: first, last: last, utcOffset: offset, message: message, own: own, since: since, window: window)
        }
    }

    /// `since`: an ISO 8601 time, nginx's own stamp (local time), or a duration back from `now`.
    static func since(_ text: String, now: Date) -> Date? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if let d = try? DurationParser.parse(t), d > .zero { return now.addingTimeInterval(-d.seconds) }
        if let date = ISO8601DateFormatter().date(from: t) { return date }
        if t.utf8.count >= 16, let date = NginxLogTime.parse(t.count == 16 ? t + ":00" : t) { return date }
        return nil
    }

    /// A line is about the upstream when its `upstream:` field names one of `hosts` (and `port`, when
    /// both have one); with nothing to match, every upstream line is.
    static func matches(_ line: ProxyLogLine, hosts: Set<String>, servers: Set<String> = [], port: Int?) -> Bool {
        guard !hosts.isEmpty || !servers.isEmpty else { return true }
        guard let upstream = line.upstream, let host = URLPart.host.extract(from: upstream).stringValue?.lowercased() else { return false }
        if let endpoint = line.upstreamEndpoint?.lowercased(), servers.contains(endpoint) { return true }
        guard hosts.contains(host) else { return false }
        let explicit = upstream.contains("://") && URLComponents(string: upstream)?.port != nil
        if let port, explicit, URLPart.port.extract(from: upstream).intValue != port { return false }
        return true
    }

    /// An HAProxy line (its upstream is `backend/server`) is about `backend` when that names its backend,
    /// its server or both; without one, every failing server's line is.
    static func matches(_ line: ProxyLogLine, backend: String?) -> Bool {
        guard let backend, !backend.isEmpty else { return true }
        guard let upstream = line.upstream?.lowercased() else { return false }
        let parts = upstream.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        return upstream == backend || parts.contains(backend) || (backend.hasSuffix("/") && upstream.hasPrefix(backend))
    }

    /// A line for a request under `requestPath` (the proxied location) whose upstream field has `port`.
    static func matches(_ line: ProxyLogLine, requestPath: String?, port: Int?) -> Bool {
        guard let requestPath, let port, let request = line.request, let upstream = line.upstream,
              URLPart.port.extract(from: upstream).intValue == port else { return false }
        let parts = request.split(separator: " ")
        guard parts.count >= 2 else { return false }
        let path = parts[1].split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
        return path == requestPath || path.hasPrefix(requestPath.hasSuffix("/") ? requestPath : requestPath + "/")
    }

    /// The first and the last matching line, at the time they carry. nginx
    /// writes local time without a zone: read as this machine's, and said so.
    static func events(first: ProxyLogLine?, last: ProxyLogLine, count: Int) -> [TimelineEvent] {
        let clock = Message(.eventLocalClock)
        var out: [TimelineEvent] = []
        if count > 1, let first, let at = first.time {
            out.append(TimelineEvent(at: at, Message(.eventLogFirst, ["count": .int(count), "line": .string(Self.short(first.message))]), clock: clock))
        }
        if let at = last.time {
            out.append(TimelineEvent(at: at, Message(.eventLogLast, ["line": .string(Self.short(last.message))]), clock: clock))
        }
        return out
    }

    static func short(_ message: String) -> String { message.count > 160 ? String(message.prefix(157)) + "…" : message }
}
