import Foundation
import TriageWire
#if canImport(Glibc)
import Glibc
#endif

/// The proxy's own error-log lines about one upstream, parsed: when, what
/// happened (a typed event), and the context nginx appends (client, server,
/// request, upstream, host) — the proxy's word on why it answered 502.
public struct ProxyLog: Sendable {
    public var file: String
    /// Whose log: nginx, HAProxy or Envoy (named in the findings and the impact line).
    public var proxy: String
    /// The lines about this upstream (the last ones kept, `keptLimit` at most).
    public var lines: [ProxyLogLine]
    /// How many lines matched in all.
    public var count: Int
    public var first: ProxyLogLine?
    public var last: ProxyLogLine?

    /// What the log says beyond triage's own reproduction: how often, since when.
    public var impact: ProxyImpact?

    public static let keptLimit = 100

    public init(file: String, proxy: String = "nginx", lines: [ProxyLogLine], count: Int, first: ProxyLogLine?, last: ProxyLogLine?,
                impact: ProxyImpact? = nil) {
        self.file = file
        self.proxy = proxy
        self.lines = lines
        self.count = count
        self.first = first
        self.last = last
        self.impact = impact
    }

    /// What marked each server down before `no live upstreams`: per server (as `server` names it, in the
    /// order first seen) the last failure the log shows, `SERVER: message`.
    public func markedDown(server: (ProxyLogLine) -> String?) -> [String] {
        var last: [String: ProxyLogLine] = [:]
        var order: [String] = []
        for line in lines where line.event.isTelling && line.event != .noLiveUpstreams {
            guard let name = server(line) else { continue }
            if last[name] == nil { order.append(name) }
            last[name] = line
        }
        return order.map { "\($0): \(last[$0]!.message)" }
    }

    /// The most recent line whose event names a cause, else the most recent line.
    public var telling: ProxyLogLine? { lines.last { $0.event.isTelling } ?? lines.last }
}

/// The failures a proxy's log shows for this upstream apart from triage's own reproduction: the
/// count, the first and last time (nginx's local clock, with its offset from UTC), the event most seen.
public struct ProxyImpact: Sendable, Hashable {
    public var count: Int
    public var first: Date?
    public var last: Date?
    /// Seconds east of UTC of the clock nginx wrote (this machine's zone at `last`).
    public var utcOffset: Int
    public var message: String
    /// Lines triage's own requests made nginx write (told apart by time and client).
    public var own: Int
    /// The part of the log read: from `since`, or its last `window` bytes (nil: all of it).
    public var since: Date?
    public var window: UInt64?
    /// Whose clock the times are (nginx, HAProxy, Envoy).
    public var proxy: String

    public init(count: Int, first: Date?, last: Date?, utcOffset: Int, message: String, own: Int, since: Date?, window: UInt64?,
                proxy: String = "nginx") {
        self.proxy = proxy
        self.count = count
        self.first = first
        self.last = last
        self.utcOffset = utcOffset
        self.message = message
        self.own = own
        self.since = since
        self.window = window
    }
}

/// One error-log line: `2026/03/28 15:11:25 [error] 1234#0: *56 MESSAGE, client: …, upstream: "…", host: "…"`.
public struct ProxyLogLine: Sendable, Hashable {
    /// nginx writes local time without a zone: read in this machine's zone.
    public var time: Date?
    public var level: String?
    public var event: ProxyLogEvent
    /// The message without the prefix and the context, redacted.
    public var message: String
    public var client: String?
    public var server: String?
    public var request: String?
    /// `upstream: "https://127.0.0.1:8443/x"`.
    public var upstream: String?
    public var host: String?
    /// The whole line, redacted.
    public var text: String
    /// Written for one of triage's own requests (in the run's time, from its client address).
    public var own = false

    public init(time: Date?, level: String?, event: ProxyLogEvent, message: String, client: String? = nil, server: String? = nil,
                request: String? = nil, upstream: String? = nil, host: String? = nil, text: String) {
        self.time = time
        self.level = level
        self.event = event
        self.message = message
        self.client = client
        self.server = server
        self.request = request
        self.upstream = upstream
        self.host = host
        self.text = text
    }

    /// The upstream's `address:port`, from the `upstream:` field.
    public var upstreamEndpoint: String? {
        guard let upstream, let host = URLPart.host.extract(from: upstream).stringValue,
              let port = URLPart.port.extract(from: upstream).intValue else { return nil }
        return IPAddress(host).map { Endpoint($0, port: UInt16(clamping: port)).description } ?? "\(host):\(port)"
    }
}

/// The phase of nginx's upstream request a line names (`while …`).
public enum ProxyPhase: String, Sendable, Hashable {
    case connecting
    case handshaking = "tls-handshake"
    case sendingRequest = "sending-request"
    case readingHeader = "response-header"
    case readingBody = "response-body"
    case other
}

/// What an nginx upstream error line says, typed from nginx's own message
/// forms (ngx_http_upstream.c, ngx_event_openssl.c) — never a guess.
public enum ProxyLogEvent: Sendable, Hashable {
    /// `SSL alert number N`: the upstream sent fatal alert N.
    case alert(UInt8)
    /// `upstream SSL certificate does not match "NAME"`: proxy_ssl_verify checked NAME.
    case nameMismatch(String)
    /// `upstream SSL certificate verify error: (N:text)`: X509_V_ERR N.
    case verifyError(Int, String)
    /// `peer closed connection in SSL handshake`.
    case closedInHandshake
    /// `SSL_do_handshake() failed (SSL: error:HEX:…)` without an alert: OpenSSL's packed code.
    case handshakeFailed(String)
    /// `connect() failed (N: …)`: the errno.
    case connectFailed(Int32)
    /// `upstream timed out (110: …) while PHASE`.
    case timedOut(ProxyPhase)
    /// `no live upstreams`: every server of the block is marked down.
    case noLiveUpstreams
    /// `upstream sent too big header`: the response header exceeds proxy_buffer_size.
    case headerTooBig
    /// A TLS library's reason name on the upstream connection (Envoy's transport failure reason,
    /// BoringSSL's `CERTIFICATE_VERIFY_FAILED`, `TLSV1_ALERT_INTERNAL_ERROR`, `WRONG_VERSION_NUMBER`).
    case tlsFailure(String)
    /// `upstream prematurely closed connection while PHASE`.
    case closedEarly(ProxyPhase)
    /// `recv() failed (104: Connection reset by peer) while PHASE`.
    case reset(ProxyPhase)
    /// `upstream sent invalid header` / `no valid HTTP/1.0 header`.
    case invalidHeader
    /// The proxy could not connect to the upstream and says no more (Envoy's `UF`/`URX` without a
    /// transport failure reason in its log format).
    case connectionFailure
    /// Anything else about the upstream.
    case other

    /// The alert the upstream sent, when the event names one (nginx's `SSL alert number N`,
    /// BoringSSL's `TLSV1_ALERT_…` reason).
    public var alert: UInt8? {
        switch self {
        case .alert(let code): code
        case .tlsFailure(let reason): ClientPattern.alertName(inReason: reason).flatMap { AlertDescription.named($0)?.code }
        default: nil
        }
    }

    /// Whether the event says why the request failed.
    public var isTelling: Bool { self != .other }

    /// A stable word for JSON and tests.
    public var code: String {
        switch self {
        case .alert(let n): "alert-\(n)"
        case .nameMismatch: "name-mismatch"
        case .verifyError(let n, _): "verify-error-\(n)"
        case .closedInHandshake: "closed-in-handshake"
        case .handshakeFailed: "handshake-failed"
        case .tlsFailure(let reason): "tls-\(reason.lowercased().replacingOccurrences(of: "_", with: "-"))"
        case .connectFailed(let e): "connect-failed-\(e)"
        case .timedOut(let p): "timed-out-\(p.rawValue)"
        case .noLiveUpstreams: "no-live-upstreams"
        case .headerTooBig: "header-too-big"
        case .closedEarly(let p): "closed-early-\(p.rawValue)"
        case .reset(let p): "reset-\(p.rawValue)"
        case .invalidHeader: "invalid-header"
        case .connectionFailure: "connection-failure"
        case .other: "other"
        }
    }
}

/// Reads nginx error-log lines into `ProxyLogLine`s.
public enum NginxLogParser {
    /// A line of nginx's error log, or nil when it is not one (no time stamp and level).
    public static func parse(_ raw: String) -> ProxyLogLine? {
        let line = raw.count > 16_384 ? String(raw.prefix(16_384)) : raw
        guard line.utf8.count > 22, let open = line.firstIndex(of: "["), let close = line[open...].firstIndex(of: "]") else { return nil }
        let level = String(line[line.index(after: open)..<close])
        let time = NginxLogTime.parse(line)
        guard time != nil || ["error", "crit", "warn", "alert", "emerg", "notice", "info"].contains(level) else { return nil }
        var body = line[line.index(after: close)...].drop { $0 == " " }
        // `1234#0: *56 ` — the process, thread and connection numbers.
        if let colon = body.range(of: ": "), body[..<colon.lowerBound].allSatisfy({ $0.isNumber || $0 == "#" }) {
            body = body[colon.upperBound...]
            if body.hasPrefix("*"), let space = body.firstIndex(of: " ") { body = body[body.index(after: space)...] }
        }
        // The context nginx appends: `, client: A, server: B, request: "…", upstream: "…", host: "…"`.
        var message = body
        var fields: [String: String] = [:]
        if let start = body.range(of: ", client: ") {
            message = body[..<start.lowerBound]
            fields = context(String(body[body.index(start.lowerBound, offsetBy: 2)...]))
        }
        let text = Redactor.redact(line)
        let clean = Redactor.redact(String(message))
        return ProxyLogLine(time: time, level: level, event: event(String(message)), message: clean, client: fields["client"],
                            server: fields["server"], request: fields["request"].map(Redactor.redact), upstream: fields["upstream"],
                            host: fields["host"], text: text)
    }

    /// `key: value` pairs separated by `, `; quoted values keep their commas.
    static func context(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        var rest = Substring(text)
        while let colon = rest.range(of: ": ") {
            let key = String(rest[..<colon.lowerBound]).trimmingCharacters(in: .whitespaces)
            rest = rest[colon.upperBound...]
            let value: Substring
            if rest.hasPrefix("\"") {
                let inner = rest.dropFirst()
                let end = inner.firstIndex(of: "\"") ?? inner.endIndex
                value = inner[..<end]
                rest = end < inner.endIndex ? inner[inner.index(after: end)...] : inner[end...]
            } else {
                let end = rest.range(of: ", ")?.lowerBound ?? rest.endIndex
                value = rest[..<end]
                rest = rest[end...]
            }
            if key.count <= 20 { out[key] = String(value) }
            if rest.hasPrefix(", ") { rest = rest.dropFirst(2) } else { break }
        }
        return out
    }

    static func phase(_ message: String) -> ProxyPhase {
        if message.contains("while SSL handshaking") { return .handshaking }
        if message.contains("while connecting to upstream") { return .connecting }
        if message.contains("while sending request to upstream") { return .sendingRequest }
        if message.contains("while reading response header from upstream") { return .readingHeader }
        if message.contains("while reading upstream") { return .readingBody }
        return .other
    }

    static func event(_ message: String) -> ProxyLogEvent {
        if let n = first(#/SSL alert number (\d+)/#, message), let code = UInt8(n) { return .alert(code) }
        if let name = first(#/upstream SSL certificate does not match "([^"]*)"/#, message) { return .nameMismatch(name) }
        if let m = message.firstMatch(of: #/upstream SSL certificate verify error: \((\d+):([^)]*)\)/#), let code = Int(m.output.1) {
            return .verifyError(code, String(m.output.2))
        }
        if message.contains("peer closed connection in SSL handshake") { return .closedInHandshake }
        if message.contains("no live upstreams") { return .noLiveUpstreams }
        if message.contains("upstream sent too big header") { return .headerTooBig }
        if message.contains("upstream prematurely closed connection") { return .closedEarly(phase(message)) }
        if message.contains("upstream sent invalid header") || message.contains("upstream sent no valid HTTP/1.0 header") { return .invalidHeader }
        if message.contains("upstream timed out") { return .timedOut(phase(message)) }
        if let n = first(#/connect\(\) failed \((\d+):/#, message), let errno = Int32(n) { return .connectFailed(errno) }
        if let n = first(#/recv\(\) failed \((\d+):/#, message), n == "104" { return .reset(phase(message)) }
        if message.contains("SSL_do_handshake() failed"), let hex = first(#/error:([0-9A-Fa-f]{8})/#, message) {
            return .handshakeFailed(hex.uppercased())
        }
        return .other
    }

    static func first(_ regex: some RegexComponent<(Substring, Substring)>, _ text: String) -> String? {
        text.firstMatch(of: regex).map { String($0.output.1) }
    }
}

/// nginx's error-log prefix: `2026/03/28 15:11:25`, local time.
public enum NginxLogTime {
    /// The line's time, read in this machine's time zone (nginx writes local time).
    public static func parse(_ line: String) -> Date? {
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
}
