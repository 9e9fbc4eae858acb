import Foundation
import TriageKit
import TriageWire

/// The options of one request, mirroring curl's command line.
public struct HTTPRequest: Sendable {
    /// Starts loading libcurl on a thread of its own (see `CurlEasy.warmUp`).
    public static func warmUp() { CurlEasy.warmUp() }

    public enum Proxy: Sendable, Hashable {
        /// What curl would use: HTTPS_PROXY / https_proxy / ALL_PROXY, unless NO_PROXY matches.
        case environment([String: String])
        case none
        case url(String)
    }

    public var url: String
    public var role: HTTPExchange.Role = .direct
    public var method = "GET"
    public var headers: [String] = []
    public var body: String?
    public var resolve: [String] = []
    public var connectTo: [String] = []
    public var proxy: Proxy = .none
    public var caFile: String?
    public var clientCertificate: String?
    public var clientKey: String?
    public var insecure = false
    public var maxRedirects = 0
    public var connectTimeout: Duration = .seconds(5)
    public var timeout: Duration = .seconds(10)
    public var bodyLimit = 4096
    /// The body is read up to this many bytes, then the transfer stops: a stream or a large download
    /// says what it has to say (status, headers, first bytes) without gigabytes over the wire.
    public var bodyReadLimit = 16 << 20
    /// `--at`: the server's certificates verified as of this time, as the rest of the run judges them.
    public var verifyTime: Date?

    public init(url: String) { self.url = url }

    /// The proxy curl will go through, and where that choice came from.
    public var effectiveProxy: (url: String?, source: String) {
        switch proxy {
        case .none: return (nil, "none")
        case .url(let u): return (u, "option")
        case .environment(let env): return Self.environmentProxy(for: url, env)
        }
    }

    /// curl's rules: the scheme's `SCHEME_proxy` (lower case first), then
    /// `ALL_PROXY`; `NO_PROXY` (`*`, host names, domain suffixes) wins.
    static func environmentProxy(for url: String, _ env: [String: String]) -> (url: String?, source: String) {
        let scheme = URLPart.scheme.extract(from: url).stringValue ?? "https"
        let host = (URLPart.host.extract(from: url).stringValue ?? "").lowercased()
        let noProxy = (env["no_proxy"] ?? env["NO_PROXY"] ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
        for entry in noProxy {
            let bare = entry.hasPrefix(".") ? String(entry.dropFirst()) : entry
            if entry == "*" || host == bare || host.hasSuffix("." + bare) { return (nil, "NO_PROXY") }
        }
        // curl ignores upper-case HTTP_PROXY (a CGI header could set it).
        let names = scheme == "http" ? ["http_proxy"] : ["\(scheme)_proxy", "\(scheme.uppercased())_PROXY"]
        for name in names + ["all_proxy", "ALL_PROXY"] {
            if let value = env[name], !value.isEmpty { return (value, name) }
        }
        return (nil, "none")
    }

    /// The `curl -v` line that repeats the request (secrets masked).
    public var command: String {
        var argv = ["curl", "-v"]
        if method != "GET" { argv += method == "HEAD" ? ["-I"] : ["-X", method] }
        for h in headers { argv += ["-H", Self.redactedHeader(h)] }
        if let body { argv += ["--data-raw", body] }
        for r in resolve { argv += ["--resolve", r] }
        for c in connectTo { argv += ["--connect-to", c] }
        switch proxy {
        case .url(let p): argv += ["-x", p]
        case .none: argv += ["--noproxy", "*"]
        case .environment: break
        }
        if let caFile { argv += ["--cacert", caFile] }
        if let clientCertificate { argv += ["--cert", clientCertificate] }
        if let clientKey { argv += ["--key", clientKey] }
        if insecure { argv.append("-k") }
        if maxRedirects > 0 { argv += ["-L", "--max-redirs", String(maxRedirects)] + (Self.isHTTPS(url) ? ["--proto-redir", "=https"] : []) }
        argv += ["--connect-timeout", TextFormat.fixed(connectTimeout.seconds, 1), "--max-time", TextFormat.fixed(timeout.seconds, 1), url]
        return Redactor.redact(ShellQuote.join(argv))
    }

    /// The name of the first header whose text holds a CR or LF (curl would send a second header of
    /// the sender's choosing), or nil; the name only, as the value may be a secret.
    public static func headerWithLineBreak(_ headers: [String]) -> String? {
        headers.first { $0.utf8.contains(0x0D) || $0.utf8.contains(0x0A) }.map { String($0.prefix { $0 != ":" && !$0.isNewline }.prefix(80)) }
    }

    static func isHTTPS(_ url: String) -> Bool { URLPart.scheme.extract(from: url).stringValue?.lowercased() == "https" }

    static let secretHeaders: Set<String> = ["authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-auth-token"]

    /// `Name: value` with the value masked when the header carries a secret.
    static func redactedHeader(_ line: String) -> String {
        guard let colon = line.firstIndex(of: ":"),
              secretHeaders.contains(line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()) else { return line }
        return "\(line[..<colon]): \(Redactor.mask)"
    }

    /// What the transfer left: the exchange, and the raw texts for evidence.
    public struct Result: Sendable {
        public var exchange: HTTPExchange
        public var trace: String
        public var rawHeaders: String
        public var body: String
        /// The body's bytes as they came (at most `bodyLimit`).
        public var bodyBytes: [UInt8] = []
        public var proxy: (url: String?, source: String)
    }

    /// The whole result, performed on the blocking pool; nil when libcurl is missing.
    public func fetch() async -> Result? {
        let prepared = self
        let result = await onPool { cancel in Swift.Result { () throws(CurlEasy.Unavailable) in try prepared.perform(cancel: cancel) } }
        return try? result.get()
    }

    /// What a request with a deadline came to.
    public enum Outcome: Sendable {
        case fetched(Result)
        /// libcurl is missing.
        case unavailable
        /// No thread of the blocking pool came free for it before 100 ms of `deadline` were left: the
        /// state of this process, not of the server (never sent).
        case noThread
    }

    /// The request, to end by `deadline`: the time it waits for a thread of the blocking pool comes off
    /// its timeouts (a transfer started late keeps the caller's deadline; it has at least 100 ms, as
    /// a request started with less has), and one that no thread takes up in time is not sent at all.
    public func fetch(by deadline: ContinuousClock.Instant) async -> Outcome {
        let prepared = self
        let outcome = await BlockingPool.shared.run(startingBy: deadline - .milliseconds(100)) { cancel -> Outcome in
            let left = max(.milliseconds(100), deadline - .now)
            var request = prepared
            request.timeout = min(request.timeout, left)
            request.connectTimeout = min(request.connectTimeout, left)
            do { return .fetched(try request.perform(cancel: cancel)) } catch { return .unavailable }
        }
        return outcome ?? .noThread
    }

    /// Performs the request on the calling thread (run it on the blocking pool).
    func perform(cancel: CancelFlag) throws(CurlEasy.Unavailable) -> Result {
        let easy = try CurlEasy(bodyLimit: bodyLimit)
        easy.set(.url, url)
        switch method {
        case "GET": break
        case "HEAD": easy.set(.noBody, 1)
        default: easy.set(.customRequest, method)
        }
        for header in headers { easy.append(.httpHeader, header) }
        for r in resolve { easy.append(.resolve, r) }
        for c in connectTo { easy.append(.connectTo, c) }
        if let body { easy.setBody(body) }
        let proxy = effectiveProxy
        // Always explicit: "" turns curl's own reading of the environment off, so the report says what was used.
        easy.set(.proxy, proxy.url ?? "")
        if let caFile { easy.set(.caInfo, caFile) }
        if let verifyTime { easy.verify(at: verifyTime) }
        if let clientCertificate { easy.set(.sslCert, clientCertificate) }
        if let clientKey { easy.set(.sslKey, clientKey) }
        // An encrypted key is an error (58), as for triage's own handshakes: never a passphrase prompt on the terminal.
        if clientCertificate != nil { easy.set(.keyPassword, "") }
        if insecure { easy.set(.verifyPeer, 0); easy.set(.verifyHost, 0) }
        // From https:// a redirect is followed to https:// only: to http:// the request's headers (an
        // -H secret, a cookie) would go in clear, where curl -L sends them. A libcurl without either
        // option (before 7.19.4) follows none from https://.
        let secure = Self.isHTTPS(url)
        let restricted = !secure || easy.set(.redirectProtocols, "https") == 0 || easy.set(.redirectProtocolMask, 2 /* CURLPROTO_HTTPS */) == 0
        easy.set(.followLocation, maxRedirects > 0 && restricted ? 1 : 0)
        easy.set(.maxRedirects, maxRedirects)
        easy.set(.connectTimeoutMs, max(1, Int(connectTimeout.seconds * 1000)))
        easy.set(.timeoutMs, max(1, Int(timeout.seconds * 1000)))

        easy.capBody(at: bodyReadLimit)
        var code = easy.perform(cancel: cancel)
        let info = easy.info
        let rawHeaders = easy.headers
        var trace = easy.trace
        if code == CurlEasy.writeError, easy.bodyCapped {
            // Stopped by triage at the cap, not by the server or the network: the answer is what came.
            trace += "* [triage: the body was not read past \(bodyReadLimit >> 20) MiB; the answer is its status, headers and first bytes]\n"
            code = 0
        }
        // A redirect to a scheme curl does not speak (`Location: myapp://cb`, an OAuth deep link) ends
        // the transfer with CURLE_UNSUPPORTED_PROTOCOL, though the server answered: the answer is that
        // redirect, as `curl` without -L shows it.
        if code == 1, (300..<400).contains(info.status) {
            let location = Self.lastHeaders(rawHeaders).last { $0.name.lowercased() == "location" }?.value
            if secure, let location, !Self.isHTTPS(location), location.includes("://") {
                trace += "* [triage: the redirect was not followed: its Location (\(location)) leaves https://, and from https:// a redirect is followed to https:// only (the request's headers would leave TLS); the answer is this \(info.status)]\n"
            } else {
                trace += "* [triage: the redirect was not followed: its Location names a scheme curl does not speak; the answer is this \(info.status)]\n"
            }
            code = 0
        }
        if easy.traceDropped > 0 {
            trace += "* [triage: \(easy.traceDropped) more bytes of trace were not kept: the trace is limited to 1 MiB]\n"
        }
        let primary = info.primaryIP.flatMap { ip in IPAddress(ip).map { Endpoint($0, port: UInt16(clamping: info.primaryPort)) } }
        let host = URLPart.host.extract(from: url).stringValue
        let alerts = easy.alerts.map { a in
            TLSAlert(code: a.code, level: a.level == 1 ? .warning : .fatal, sender: a.sentByClient ? .client : .server, variant: .asClient,
                     server: primary, serverName: host)
        }
        var exchange = HTTPExchange(
            url: url, role: role, curlCode: code, curlName: CurlEasy.name(code), curlMessage: easy.errorText(code: code),
            osErrno: info.osErrno, status: info.status,
            httpVersion: Self.statusLine(rawHeaders).map { String($0.prefix { $0 != " " }) },
            headers: Self.lastHeaders(rawHeaders), headerBytes: easy.headerTotal, bodyBytes: easy.bodyTotal, timings: info.timings,
            verifyResult: info.verifyResult, verifyError: ChainVerifier.name(info.verifyResult), primary: primary,
            redirects: info.redirects, effectiveURL: info.effectiveURL, traceTruncated: easy.traceDropped > 0,
            bodyTruncated: easy.bodyTotal > bodyLimit)
        exchange.alerts = alerts
        exchange.bytesReceived = max(easy.tlsBytesIn, easy.headerTotal + easy.bodyTotal)
        exchange.responseBytes = max(easy.applicationBytesIn, easy.headerTotal + easy.bodyTotal)
        exchange.bodyStart = Redactor.redact(String(easy.body.prefix(200)))
        exchange.proxy = proxy.url.map { (Redactor.redact($0), proxy.source) }
        exchange.proxyConnectStatus = info.connectStatus
        exchange.local = info.localIP.flatMap { ip in IPAddress(ip).map { Endpoint($0, port: UInt16(clamping: info.localPort)) } }
        exchange.pinned = resolve.lazy.compactMap { entry -> IPAddress? in
            let address = entry.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).last.map(String.init) ?? ""
            return IPAddress(address.hasPrefix("[") ? String(address.dropFirst().dropLast()) : address)
        }.first
        var result = Result(exchange: exchange, trace: trace, rawHeaders: rawHeaders, body: easy.body, proxy: proxy)
        result.bodyBytes = easy.bodyBytes
        return result
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
