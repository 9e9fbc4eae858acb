import Foundation
import TriageWire

/// The proxies whose logs triage reads, and how to tell their lines apart.
public enum ProxyLogFormat: String, Sendable, CaseIterable {
    case nginx
    case haproxy = "HAProxy"
    case envoy = "Envoy"

    /// A line in this proxy's own form, parsed; nil when it is not one.
    public func parse(_ raw: String) -> ProxyLogLine? {
        switch self {
        // nginx's lines about an upstream say so (the error-log step reads only those too).
        case .nginx: raw.contains("upstream") ? NginxLogParser.parse(raw) : nil
        case .haproxy: HAProxyLogParser.parse(raw)
        case .envoy: EnvoyLogParser.parse(raw)
        }
    }

    /// What a line must hold for one of `formats` to read it as a failure: checked on the bytes of a
    /// log before any line becomes a String.
    public static func needles(_ formats: [ProxyLogFormat]) -> [String] {
        formats.flatMap { f -> [String] in
            switch f {
            case .nginx: ["upstream"]
            case .haproxy: HAProxyLogParser.markers
            case .envoy: EnvoyLogParser.markers
            }
        }
    }

    /// Whose log a line is from, healthy lines too: nginx's error-log stamp and `[level] pid#tid:`,
    /// HAProxy's session or server-state lines, Envoy's default access-log line.
    public static func identify(_ raw: String) -> ProxyLogFormat? {
        let line = raw.count > 4096 ? String(raw.prefix(4096)) : raw
        if line.firstMatch(of: #/^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} \[[a-z]+\] \d+#\d+:/#) != nil { return .nginx }
        if line.hasPrefix("["), (try? EnvoyLogParser.access.firstMatch(in: line)) != nil { return .envoy }
        if (try? HAProxyLogParser.session.firstMatch(in: line)) != nil || line.contains("haproxy[")
            || (try? HAProxyLogParser.serverDown.firstMatch(in: line)) != nil { return .haproxy }
        return nil
    }

    /// Whose log this is, from the lines of its last 64 KiB: the format most of them are in.
    public static func identify(file: String) -> ProxyLogFormat? {
        guard let handle = FileHandle(forReadingAtPath: file) else { return nil }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: size > 65_536 ? size - 65_536 : 0)
        guard let data = try? handle.readToEnd() else { return nil }
        var votes: [ProxyLogFormat: Int] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n").suffix(200) {
            if let format = identify(String(line)) { votes[format, default: 0] += 1 }
        }
        return votes.max { $0.value < $1.value }?.key
    }

    /// The first of `formats` that reads the line.
    public static func parse(_ raw: String, formats: [ProxyLogFormat]) -> (ProxyLogFormat, ProxyLogLine)? {
        for format in formats { if let line = format.parse(raw) { return (format, line) } }
        return nil
    }
}

/// HAProxy's log lines about its servers, in the forms its documentation gives
/// (configuration manual, "Logging"):
///
/// - the HTTP and TCP log formats, `… [06/Feb/2009:12:14:14.655] http-in
///   static/srv1 10/0/-1/-1/3009 503 212 - - SC-- 0/0/0/0/3 0/0 "GET / HTTP/1.1"`,
///   where the termination state's first two characters say who ended the
///   session and in which phase (`SC` refused at connect, `sC` connect
///   timeout, `SH`/`sH` aborted or timed out before the headers, `SD`/`sD`
///   during the body, `PH` a response HAProxy refused); `<NOSRV>` as the
///   server: none was available;
/// - server state changes and health checks: `Server be_api/srv1 is DOWN,
///   reason: Layer4 connection problem, info: "Connection refused"`, `Layer4
///   timeout`, `Layer6 invalid response, info: "SSL handshake failure"`, and
///   `backend be_api has no server available!`.
///
/// The line's upstream is `backend/server`; a session that ended normally is
/// not a line about a failure (nil).
public enum HAProxyLogParser {
    nonisolated(unsafe) static let session =
        #/(?<client>[0-9A-Fa-f.:\[\]]+):\d+ \[(?<date>\d{2}/[A-Za-z]{3}/\d{4}:\d{2}:\d{2}:\d{2})(?:\.\d+)?\] (?<frontend>\S+) (?<backend>[^\s/]+)/(?<server>\S+) (?<timers>[-+\d/]+) (?<status>-?\d+) \+?\d+ \S+ \S+ (?<state>[A-Za-z-]{4})(?<rest>.*)$/#
    nonisolated(unsafe) static let serverDown =
        #/Server (?<backend>[^\s/]+)/(?<server>\S+) is DOWN, reason: (?<reason>[^,]+)(?:, info: "(?<info>[^"]*)")?/#
    nonisolated(unsafe) static let noServer = #/backend (?<backend>\S+) has no server available/#
    nonisolated(unsafe) static let syslogTime = #/^(?<month>[A-Z][a-z]{2}) +(?<day>\d{1,2}) (?<time>\d{2}:\d{2}:\d{2})/#

    /// What a line about a failing server holds, checked before any expression runs: most lines of a
    /// busy log are healthy sessions (`----`, 2xx), and a regular expression per line made a 50 MB log
    /// take 20 s.
    static let markers = ["SC", "sC", "SQ", "sQ", "SH", "sH", "SD", "sD", "SL", "sL", "PH", "<NOSRV>", " 50", " DOWN", "no server available"]

    public static func parse(_ raw: String) -> ProxyLogLine? {
        guard markers.contains(where: { raw.contains($0) }) else { return nil }
        let line = raw.count > 16_384 ? String(raw.prefix(16_384)) : raw
        let text = Redactor.redact(line)
        if let m = try? session.firstMatch(in: line) {
            let state = Array(m.output.state)
            let server = String(m.output.server), backend = String(m.output.backend)
            let status = Int(m.output.status) ?? 0
            let event: ProxyLogEvent
            switch (state[0], state[1]) {
            case ("S", "C") where server == "<NOSRV>", ("S", "Q") where server == "<NOSRV>": event = .noLiveUpstreams
            case ("S", "C"): event = .connectFailed(Errno.connectionRefused)
            case ("s", "C"), ("s", "Q"): event = .timedOut(.connecting)
            case ("S", "H"): event = .closedEarly(.readingHeader)
            case ("s", "H"): event = .timedOut(.readingHeader)
            case ("S", "D"), ("S", "L"): event = .closedEarly(.readingBody)
            case ("s", "D"), ("s", "L"): event = .timedOut(.readingBody)
            case ("P", "H"): event = .invalidHeader
            default:
                // Ended normally (or by the client): not about a failing server, unless HAProxy answered 5xx.
                guard status >= 500 else { return nil }
                event = server == "<NOSRV>" ? .noLiveUpstreams : .other
            }
            let request = m.output.rest.firstMatch(of: #/"([A-Z]+ [^"]*)"/#).map { Redactor.redact(String($0.output.1)) }
            let message = "\(m.output.state) \(status) \(backend)/\(server)"
            return ProxyLogLine(time: time(String(m.output.date)), level: nil, event: event, message: message, client: String(m.output.client),
                                request: request, upstream: "\(backend)/\(server)", text: text)
        }
        if let m = try? serverDown.firstMatch(in: line) {
            let reason = String(m.output.reason), info = m.output.info.map(String.init) ?? ""
            let event: ProxyLogEvent =
                if reason.hasPrefix("Layer4 timeout") { .timedOut(.connecting) }
                else if reason.hasPrefix("Layer4 connection problem"), info.contains("Connection refused") { .connectFailed(Errno.connectionRefused) }
                else if reason.hasPrefix("Layer4") { .connectFailed(Errno.timedOut) }
                else if info.contains("SSL handshake failure") { .closedInHandshake }
                else if reason.hasPrefix("Layer6 timeout") { .timedOut(.handshaking) }
                else { .other }
            let message = "\(m.output.backend)/\(m.output.server) DOWN: \(reason)\(info.isEmpty ? "" : " (\(info))")"
            return ProxyLogLine(time: syslog(line), level: nil, event: event, message: Redactor.redact(message),
                                upstream: "\(m.output.backend)/\(m.output.server)", text: text)
        }
        if let m = try? noServer.firstMatch(in: line) {
            return ProxyLogLine(time: syslog(line), level: nil, event: .noLiveUpstreams, message: "backend \(m.output.backend) has no server available",
                                upstream: "\(m.output.backend)/", text: text)
        }
        return nil
    }

    /// `06/Feb/2009:12:14:14`: HAProxy's local time.
    static func time(_ text: String) -> Date? {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = .current
        f.dateFormat = "dd/MMM/yyyy:HH:mm:ss"
        return f.date(from: text)
    }

    /// A syslog prefix `Feb  6 12:14:14` (no year: this year, or last year when that would be in the future).
    static func syslog(_ line: String) -> Date? {
        guard let m = try? syslogTime.firstMatch(in: line) else { return nil }
        let year = Calendar.current.component(.year, from: Date())
        for y in [year, year - 1] {
            if let d = time("\(String(format: "%02d", Int(m.output.day) ?? 1))/\(m.output.month)/\(y):\(m.output.time)"), d <= Date().addingTimeInterval(86_400) {
                return d
            }
        }
        return nil
    }
}

/// Envoy's access-log lines in its default format (`[%START_TIME%] "%REQ(:METHOD)% …
/// %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% …`, the upstream host the last
/// quoted `host:port`), whose response flags say what failed upstream (`UH` no
/// healthy upstream, `UF` connection failure, `UT` request timeout, `UC`
/// connection termination, `URX` retries exhausted), and with a transport failure
/// reason when the format has one (`delayed connect error: 111`, `TLS error:
/// 268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED`).
/// A line with no upstream flag is not about a failure (nil).
public enum EnvoyLogParser {
    nonisolated(unsafe) static let access =
        #/^\[(?<time>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z)\] "(?<request>[^"]*)" (?<status>\d+) (?<flags>[A-Za-z,-]+)(?<rest>.*)$/#

    /// The response flags and reasons a failing line holds (see `HAProxyLogParser.markers`).
    static let markers = [" UF", " UH", " UT", " UC", " URX", " NR", "TLS error", "TLS_error", "connect error"]

    public static func parse(_ raw: String) -> ProxyLogLine? {
        guard raw.hasPrefix("["), markers.contains(where: { raw.contains($0) }) else { return nil }
        let line = raw.count > 16_384 ? String(raw.prefix(16_384)) : raw
        guard let m = try? access.firstMatch(in: line) else { return nil }
        let flags = Set(m.output.flags.split(separator: ",").map(String.init))
        let rest = String(m.output.rest)
        let reason = rest.firstMatch(of: #/TLS[_ ]error:[_ ]?(?:\|?\d+:)?(?:SSL[_ ]routines|system[_ ]library):(?:OPENSSL_internal|[A-Za-z_]*):(?<reason>[A-Z0-9_]+)/#).map { String($0.output.reason) }
        let errno = rest.firstMatch(of: #/delayed connect error: (\d+)/#).flatMap { Int32($0.output.1) }
        let event: ProxyLogEvent
        if flags.contains("UH") || flags.contains("NR") && Int(m.output.status) == 503 {
            event = .noLiveUpstreams
        } else if let reason {
            event = .tlsFailure(reason)
        } else if let errno {
            event = .connectFailed(errno)
        } else if flags.contains("UT") {
            event = .timedOut(.readingHeader)
        } else if flags.contains("UC") {
            event = .closedEarly(.readingHeader)
        } else if flags.contains("UF") || flags.contains("URX") {
            event = rest.contains("connection timeout") || rest.contains("connection_timeout") ? .timedOut(.connecting) : .connectionFailure
        } else {
            return nil
        }
        // The last quoted host:port is %UPSTREAM_HOST% (the default format's last field).
        let upstream = rest.matches(of: #/"(?:tcp://)?(?<endpoint>\[?[0-9A-Za-z._:-]+\]?:\d+)"/#).last.map { String($0.output.endpoint) }
        let status = String(m.output.status)
        let message = "\(status) \(m.output.flags)\(reason.map { " \($0)" } ?? "")\(errno.map { " connect error \($0)" } ?? "")"
        return ProxyLogLine(time: ISO8601.parse(String(m.output.time)), level: nil, event: event, message: message,
                            request: Redactor.redact(String(m.output.request)), upstream: upstream.map { "tcp://\($0)" }, text: Redactor.redact(line))
    }
}
