import Foundation
import TriageKit
internal import CCurl
internal import CTriageShims

/// What an HTTP request through libcurl showed.
public struct HTTPExchange: Sendable {
    public struct Timings: Sendable {
        /// Seconds from the start, as curl's `-w %{time_…}` reports them.
        public var nameLookup, connect, tls, firstByte, total: Double
    }

    public var curlCode: Int
    public var curlName: String
    public var curlMessage: String
    public var status: Int
    public var httpVersion: String?
    /// Response header lines of the last response, in order.
    public var headers: [(name: String, value: String)]
    public var rawHeaders: String
    public var body: String
    public var bodyBytes: Int
    public var timings: Timings
    public var verifyResult: Int
    public var primaryIP: String?
    public var primaryPort: Int
    public var effectiveURL: String?
    public var trace: String

    public func header(_ name: String) -> String? {
        headers.last { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// The options of one request, mirroring curl's command line.
public struct HTTPRequest: Sendable {
    public var url: String
    public var method = "GET"
    public var headers: [String] = []
    public var body: String?
    public var resolve: [String] = []
    public var connectTo: [String] = []
    public var proxy: String?
    public var caFile: String?
    public var insecure = false
    public var maxRedirects = 0
    public var connectTimeout: Duration = .seconds(5)
    public var timeout: Duration = .seconds(10)
    public var bodyLimit = 4096

    public init(url: String) { self.url = url }

    /// The `curl -v` line that repeats the request (secrets redacted later).
    public var command: String {
        var argv = ["curl", "-v"]
        if method != "GET" { argv += method == "HEAD" ? ["-I"] : ["-X", method] }
        for h in headers { argv += ["-H", Self.redactedHeader(h)] }
        if let body { argv += ["--data-raw", body] }
        for r in resolve { argv += ["--resolve", r] }
        for c in connectTo { argv += ["--connect-to", c] }
        if let proxy { argv += ["-x", proxy] }
        if let caFile { argv += ["--cacert", caFile] }
        if insecure { argv.append("-k") }
        if maxRedirects > 0 { argv += ["-L", "--max-redirs", String(maxRedirects)] }
        argv += ["--connect-timeout", TextFormat.fixed(connectTimeout.seconds, 1), "--max-time", TextFormat.fixed(timeout.seconds, 1), url]
        return ShellQuote.join(argv)
    }

    static let secretHeaders: Set<String> = ["authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-auth-token"]

    /// `Name: value` with the value masked when the header carries a secret.
    static func redactedHeader(_ line: String) -> String {
        guard let colon = line.firstIndex(of: ":"),
              secretHeaders.contains(line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()) else { return line }
        return "\(line[..<colon]): \(Redactor.mask)"
    }

    /// Performs the request on the calling thread (run it with `onThread`).
    func perform(cancel: CancelFlag) throws -> HTTPExchange {
        guard let h = triage_http_new(bodyLimit) else {
            throw StepFailure("http.request: \(String(cString: triage_lazy_error()))")
        }
        defer { triage_http_free(h) }
        func set(_ option: CURLoption, _ value: String) { triage_http_set_str(h, Int32(option.rawValue), value) }
        func set(_ option: CURLoption, _ value: Int) { triage_http_set_long(h, Int32(option.rawValue), value) }
        set(CURLOPT_URL, url)
        switch method {
        case "GET": break
        case "HEAD": set(CURLOPT_NOBODY, 1)
        default: set(CURLOPT_CUSTOMREQUEST, method)
        }
        for header in headers { triage_http_add_list(h, Int32(CURLOPT_HTTPHEADER.rawValue), header) }
        for r in resolve { triage_http_add_list(h, Int32(CURLOPT_RESOLVE.rawValue), r) }
        for c in connectTo { triage_http_add_list(h, Int32(CURLOPT_CONNECT_TO.rawValue), c) }
        if let body { triage_http_set_body(h, body, body.utf8.count) }
        set(CURLOPT_PROXY, proxy ?? "")
        if let caFile { set(CURLOPT_CAINFO, caFile) }
        if insecure { set(CURLOPT_SSL_VERIFYPEER, 0); set(CURLOPT_SSL_VERIFYHOST, 0) }
        set(CURLOPT_FOLLOWLOCATION, maxRedirects > 0 ? 1 : 0)
        set(CURLOPT_MAXREDIRS, maxRedirects)
        set(CURLOPT_CONNECTTIMEOUT_MS, Int(connectTimeout.seconds * 1000))
        set(CURLOPT_TIMEOUT_MS, max(1, Int(timeout.seconds * 1000)))

        let code = Int(triage_http_perform(h, cancel.cFlag))
        if cancel.isCancelled { throw CancellationError() }

        func text(_ f: (OpaquePointer?, UnsafeMutablePointer<Int>) -> UnsafePointer<CChar>?) -> String {
            var n = 0
            guard let p = f(h, &n) else { return "" }
            return String(decoding: UnsafeRawBufferPointer(start: p, count: n), as: UTF8.self)
        }
        func seconds(_ info: CURLINFO) -> Double { Double(triage_http_info_off(h, Int32(info.rawValue))) / 1_000_000 }
        let rawHeaders = text { triage_http_headers($0, $1) }
        let errorText = String(cString: triage_http_error_text(h))
        return HTTPExchange(
            curlCode: code, curlName: CurlError.named(code).map { "CURLE_\($0.name)" } ?? "CURLE_\(code)",
            curlMessage: errorText.isEmpty ? String(cString: triage_http_strerror(Int32(code))) : errorText,
            status: triage_http_info_long(h, Int32(CURLINFO_RESPONSE_CODE.rawValue)),
            httpVersion: Self.statusLine(rawHeaders).map { String($0.prefix { $0 != " " }) },
            headers: Self.lastHeaders(rawHeaders), rawHeaders: rawHeaders,
            body: text { triage_http_body($0, $1) }, bodyBytes: triage_http_body_total(h),
            timings: .init(nameLookup: seconds(CURLINFO_NAMELOOKUP_TIME_T), connect: seconds(CURLINFO_CONNECT_TIME_T),
                           tls: seconds(CURLINFO_APPCONNECT_TIME_T), firstByte: seconds(CURLINFO_STARTTRANSFER_TIME_T),
                           total: seconds(CURLINFO_TOTAL_TIME_T)),
            verifyResult: triage_http_info_long(h, Int32(CURLINFO_SSL_VERIFYRESULT.rawValue)),
            primaryIP: triage_http_info_str(h, Int32(CURLINFO_PRIMARY_IP.rawValue)).map { String(cString: $0) },
            primaryPort: triage_http_info_long(h, Int32(CURLINFO_PRIMARY_PORT.rawValue)),
            effectiveURL: triage_http_info_str(h, Int32(CURLINFO_EFFECTIVE_URL.rawValue)).map { String(cString: $0) },
            trace: text { triage_http_trace($0, $1) })
    }

    /// The header block of the last response (after redirects and 100s).
    static func lastHeaders(_ raw: String) -> [(name: String, value: String)] {
        let blocks = raw.components(separatedBy: "\r\n\r\n").filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
        guard let last = blocks.last else { return [] }
        return last.split(whereSeparator: \.isNewline).dropFirst().compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
    }

    static func statusLine(_ raw: String) -> String? {
        raw.split(whereSeparator: \.isNewline).last { $0.hasPrefix("HTTP/") }.map(String.init)
    }
}
