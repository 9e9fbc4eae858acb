import Foundation
import TriageKit
import TriageWire

/// `http.request`: the request as the user's client or proxy sends it,
/// through libcurl. Evidence: `trace.txt` (curl's verbose trace),
/// `headers.txt`, `body.txt` (first 4 KiB), all redacted — including any
/// secret this request sent that the server echoes back. Command: the
/// `curl -v` line that repeats the request. The proxy environment
/// (HTTPS_PROXY, NO_PROXY) is honoured as curl would, and reported.
public struct HTTPRequestStep: StepKind {
    public let name = "http.request"
    public let summary = "an HTTP request via libcurl: status, headers, timings, curl error, TLS alerts, verbose trace (secrets redacted); "
        + "a body whose declared length passes 16 MiB is not read past that (a large download answers with its status and first bytes; "
        + "a body of unknown length is read until it ends or times out); from https:// a redirect is followed to https:// only "
        + "(to plain http:// the headers would go in clear: the answer is the redirect, and the trace says so); "
        + "a header value with a line break fails the step unsent"
    public let inputs: [InputDeclaration] = [
        .init("url", .string, required: true, "the URL"),
        .init("method", .string, "GET (default), HEAD, POST, …"),
        .init("headers", .stringOrList, "request headers as 'Name: value'"),
        .init("body", .string, "request body"),
        .init("resolve", .stringOrList, "pin host:port:address, like curl --resolve"),
        .init("connect_to", .stringOrList, "host:port:connect-host:connect-port, like curl --connect-to"),
        .init("port", .integer, "connect to this port instead of the URL's (curl --connect-to HOST:PORT::THIS; the Host header, SNI and --resolve entries for it stay the URL's host's)"),
        .init("proxy", .string, "a proxy URL like curl -x, or none; default: the environment (HTTPS_PROXY, NO_PROXY)"),
        .init("ca_file", .string, "trust this CA bundle instead of the system store"),
        .init("client_cert", .string, "client certificate (PEM), like curl --cert"),
        .init("client_key", .string, "client key (PEM), like curl --key"),
        .init("insecure", .boolean, "skip certificate verification, like curl -k (default false)"),
        .init("max_redirects", .integer, "follow up to this many redirects (default 0)"),
        .init("connect_timeout", .duration, "TCP + TLS connect deadline (default 5s)"),
        .init("timeout", .duration, "total deadline (default: the step's)"),
        .init("role", .string, "direct (default) or via: the request goes to the proxy that answers the error"),
    ]
    public let outputs: [OutputDeclaration] = [
        .init("status", .integer, "the HTTP status (0: no answer)"),
        .init("curl_code", .integer, "curl's result code (0: success)"),
        .init("curl_error", .string, "curl's error text"),
        .init("headers", .object, "response headers by lower-case name (secrets redacted)"),
        .init("timings", .object, "seconds: dns, connect, tls, first_byte, total"),
        .init("verify_result", .integer, "the X509_V_ERR number of the server certificate's verification"),
        .init("date", .string, "the Date header"),
        .init("primary_ip", .address, "the address curl connected to"),
        .init("body", .string, "the first 4 KiB of the body (redacted)"),
        .init("proxy", .string, "the proxy curl went through, if any"),
        .init("local_port", .integer, "curl's own client port (a capture's connection from it is triage's)"),
        .init("local_ip", .address, "the address curl's end of the connection had (CURLINFO_LOCAL_IP)"),
    ]

    public init() {}

    /// A total timeout given as an input is the request's own deadline: the step gets a little more.
    public func deadline(for arguments: [String: Value]) -> Duration? {
        guard let text = arguments["timeout"]?.stringValue, let timeout = try? DurationParser.parse(text) else { return nil }
        return timeout + .seconds(2)
    }

    public func run(_ context: StepContext) async throws -> StepOutcome {
        guard let url = context.string("url") else { throw StepFailure(.inputEmpty, ["step": .string(name), "input": "url"]) }
        var request = HTTPRequest(url: url)
        request.role = context.string("role") == "via" ? .via : .direct
        request.method = context.string("method")?.uppercased() ?? "GET"
        request.headers = context.strings("headers")
        if let header = HTTPRequest.headerWithLineBreak(request.headers) {
            throw StepFailure(.inputHeaderLineBreak, ["step": .string(name), "header": .string(header)])
        }
        request.body = context.string("body")
        request.resolve = Self.resolveEntries(context.strings("resolve"), url: url)
        request.connectTo = context.strings("connect_to") + Self.portSwitch(context.int("port"), url: url)
        switch context.string("proxy") {
        case nil: request.proxy = .environment(ProcessInfo.processInfo.environment)
        case "none"?: request.proxy = .none
        case let url?: request.proxy = .url(url)
        }
        request.caFile = context.string("ca_file")
        request.clientCertificate = context.string("client_cert")
        request.clientKey = context.string("client_key")
        request.insecure = context.bool("insecure") ?? false
        // `--at`: curl verifies as of that date too, so its verdict and the chain's agree.
        if context.judgedAt != context.runStartedAt { request.verifyTime = context.judgedAt }
        request.maxRedirects = max(0, min(context.int("max_redirects") ?? 0, 1000))
        request.connectTimeout = try context.duration("connect_timeout") ?? .seconds(5)
        let requested = try context.duration("timeout")
        let deadline = context.deadline
        // A little under the step's deadline, so curl says where it stalled
        // before the engine cancels it; counted again when the transfer
        // starts (the pool may have kept it waiting).
        @Sendable func budget() -> Duration {
            let left = deadline - .now
            let margin = min(.seconds(1), max(.milliseconds(250), left / 5))
            return max(.milliseconds(100), left - margin)
        }
        request.timeout = min(requested ?? budget(), budget())
        let prepared = request
        let result: HTTPRequest.Result
        let used: Duration
        do {
            (result, used) = try await onPool { cancel in
                var request = prepared
                request.timeout = min(prepared.timeout, budget())
                let timeout = request.timeout
                return Result { () throws(CurlEasy.Unavailable) in (try request.perform(cancel: cancel), timeout) }
            }.get()
        } catch {
            throw StepFailure(.curlUnavailable, ["error": .string(error.description)])
        }
        // Cancelled mid-transfer, curl has nothing to say; a transfer that ended on its own
        // (its own deadline too) is kept even when the engine has given up waiting for it.
        if result.exchange.curlCode == CurlEasy.abortedByCancel { try Task.checkCancellation() }
        let e = result.exchange
        try writeEvidence(result, context: context)
        let summary = e.succeeded
            ? Message(.httpSummary, ["url": .string(Redactor.redact(url)), "status": .int(e.status), "ms": .string(TextFormat.fixed(e.timings.total * 1000, 1))])
            : Message(.httpFailed, ["url": .string(Redactor.redact(url)), "code": .int(e.curlCode), "name": .string(e.curlName), "error": .string(e.curlMessage)])
        var outcome = StepOutcome(
            summary: summary,
            command: request.command,
            facts: facts(result),
            outputs: outputs(result),
            evidence: [.exchange(e)],
            transcript: result.trace,
            observations: [observation(e)])
        // curl's own timeout, set from the step's deadline (not from a shorter `timeout:` input), ran out.
        outcome.reachedDeadline = e.code == .operationTimedOut && (requested.map { used < $0 } ?? true)
            && e.timings.total >= (used - .milliseconds(50)).seconds
        return outcome
    }

    /// `HOST:PORT:ADDRESS` pins as curl parses them: an IPv6 address in
    /// brackets; none for a URL whose host is an address (curl resolves no
    /// literal, and `::1:443:::1` would not parse).
    /// `port:` as a `--connect-to` entry after the given ones (curl takes the first that matches):
    /// the URL's host and port to the same host on the other port. Without it a `--resolve` pinned
    /// for the other port did not match the URL, and curl asked DNS for the name.
    static func portSwitch(_ port: Int?, url: String) -> [String] {
        guard let port, (1...65535).contains(port), let host = URLPart.host.extract(from: url).stringValue else { return [] }
        let own = URLPart.port.extract(from: url).intValue ?? (url.lowercased().hasPrefix("http://") ? 80 : 443)
        guard port != own else { return [] }
        return ["\(host.contains(":") ? "[\(host)]" : host):\(own)::\(port)"]
    }

    static func resolveEntries(_ entries: [String], url: String) -> [String] {
        if let host = URLPart.host.extract(from: url).stringValue, IPAddress(host) != nil { return [] }
        return entries.map { entry in
            let parts = entry.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, !parts[2].hasPrefix("["), IPAddress(String(parts[2]))?.isV6 == true else { return entry }
            return "\(parts[0]):\(parts[1]):[\(parts[2])]"
        }
    }

    /// The request as the report's sequence diagram draws it.
    func observation(_ e: HTTPExchange) -> Observation {
        let path = URLPart.path.extract(from: e.url).stringValue ?? "/"
        let answer = e.status > 0
            ? Message(.observeHTTPStatus, ["status": .int(e.status), "reason": .string(HTTPRules.reason(e.status).isEmpty ? "" : " " + HTTPRules.reason(e.status))])
            : Message(.observeHTTPFailed, ["code": .int(e.curlCode), "name": .string(e.curlName)])
        return Observation(path: .http(e.role), from: .client, to: e.role == .via ? .proxy : .upstream,
                           request: Message(.observeHTTPRequest, ["method": "GET", "path": .string(Redactor.redact(path))]),
                           answer: answer, ok: e.succeeded && e.status < 400,
                           server: e.primary?.description ?? "\(URLPart.host.extract(from: e.url).stringValue ?? "?"):\(URLPart.port.extract(from: e.url).intValue ?? 443)")
    }

    func facts(_ r: HTTPRequest.Result) -> [Fact] {
        let e = r.exchange
        var facts: [Fact] = [Fact(.url, .string(Redactor.redact(e.url)))]
        if e.status > 0 { facts.append(Fact(.status, .int(e.status))) }
        facts.append(Fact(.curlCode, .int(e.curlCode)))
        if !e.succeeded { facts.append(Fact(.curlError, .string("\(e.curlName): \(e.curlMessage)"))) }
        if let p = e.primary { facts.append(Fact(.connectedTo, .typed(.endpoint(p)))) }
        facts.append(Fact(.proxy, r.proxy.url.map { Value.string(Redactor.redact($0) + " (\(r.proxy.source))") } ?? Message(.noProxy, ["source": .string(r.proxy.source)]).value))
        let t = e.timings
        facts += [Fact(.dnsMs, .number(ms(t.nameLookup))), Fact(.connectMs, .number(ms(t.connect))), Fact(.tlsMs, .number(ms(t.tls))),
                  Fact(.firstByteMs, .number(ms(t.firstByte))), Fact(.totalMs, .number(ms(t.total)))]
        if e.verifyResult != 0 { facts.append(Fact(.verifyCode, .int(e.verifyResult))) }
        for alert in e.alerts { facts.append(Fact(.alert, .typed(.alert(alert)))) }
        if let server = e.header("Server") { facts.append(Fact(.serverHeader, .string(server))) }
        if let date = e.header("Date") { facts.append(Fact(.dateHeader, .string(date))) }
        if e.redirects > 0 { facts.append(Fact(.redirects, .int(e.redirects))) }
        if e.traceTruncated { facts.append(Fact(.note, Message(.traceCut))) }
        return facts
    }

    func ms(_ seconds: Double) -> Double { (seconds * 10_000).rounded() / 10 }

    func outputs(_ r: HTTPRequest.Result) -> [String: Value] {
        let e = r.exchange
        var headers: [String: Value] = [:]
        for (name, value) in e.headers { headers[name.lowercased()] = .string(Redactor.redact("\(name): \(value)").dropPrefix("\(name): ")) }
        return [
            "status": .int(e.status), "curl_code": .int(e.curlCode), "curl_error": .string(e.succeeded ? "" : e.curlMessage),
            "headers": .object(headers), "verify_result": .int(e.verifyResult), "date": e.header("Date").map(Value.string) ?? .null,
            "primary_ip": e.primary.map { .typed(.address($0.address)) } ?? .null, "body": .string(Redactor.redact(r.body)),
            "timings": ["dns": .number(e.timings.nameLookup), "connect": .number(e.timings.connect), "tls": .number(e.timings.tls),
                        "first_byte": .number(e.timings.firstByte), "total": .number(e.timings.total)],
            "proxy": r.proxy.url.map { .string(Redactor.redact($0)) } ?? .null,
            "local_port": e.local.map { .int(Int($0.port)) } ?? .null,
            "local_ip": e.local.map { .typed(.address($0.address)) } ?? .null,
        ]
    }

    func writeEvidence(_ r: HTTPRequest.Result, context: StepContext) throws {
        try context.evidence.write("trace.txt", text: r.trace, description: Message(.evidenceTrace))
        if !r.rawHeaders.isEmpty {
            try context.evidence.write("headers.txt", text: r.rawHeaders, description: Message(.evidenceHeaders))
        }
        if !r.body.isEmpty {
            var body = r.body
            if r.exchange.bodyTruncated { body += "\n[triage: body cut at \(r.body.utf8.count) of \(r.exchange.bodyBytes) bytes]\n" }
            try context.evidence.write("body.txt", text: body, description: Message(.evidenceBody, ["kept": .int(r.body.utf8.count), "total": .int(r.exchange.bodyBytes)]))
        }
    }
}

extension String {
    func dropPrefix(_ prefix: String) -> String { hasPrefix(prefix) ? String(dropFirst(prefix.count)) : self }
}
