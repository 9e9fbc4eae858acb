import Foundation
import TriageKit

/// `http.request`: the request as the user's client or proxy sends it,
/// through libcurl.
///
/// Inputs: `url` (required), `method`, `headers` ("Name: value" list),
/// `body`, `resolve` (`host:port:address`, like `curl --resolve`),
/// `connect_to`, `proxy`, `ca_file`, `insecure` (false), `max_redirects`
/// (0), `connect_timeout` (5s), `timeout` (total; default the step's
/// deadline), `role` (`direct` or `via`: a request to the proxy that
/// answers the error), `compare_status` (the status the other request got).
///
/// Outputs: `status`, `curl_code`, `curl_error`, `headers`, `timings`,
/// `verify_result`, `date`, `primary_ip`, `body`. Evidence: `trace.txt`
/// (curl's verbose trace), `headers.txt`, `body.txt` (first 4 KiB), all
/// redacted. Command: the `curl -v` line that repeats the request.
public struct HTTPRequestStep: StepKind {
    public let name = "http.request"
    public let summary = "an HTTP request via libcurl: status, headers, timings, curl error, verbose trace (secrets redacted)"
    public let inputs: [InputDeclaration] = [
        .init("url", .string, required: true, "the URL"),
        .init("method", .string, "GET (default), HEAD, POST, …"),
        .init("headers", .stringOrList, "request headers as 'Name: value'"),
        .init("body", .string, "request body"),
        .init("resolve", .stringOrList, "pin host:port:address, like curl --resolve"),
        .init("connect_to", .stringOrList, "host:port:connect-host:connect-port, like curl --connect-to"),
        .init("proxy", .string, "a proxy URL, like curl -x"),
        .init("ca_file", .string, "trust this CA bundle instead of the system store"),
        .init("insecure", .boolean, "skip certificate verification, like curl -k (default false)"),
        .init("max_redirects", .integer, "follow up to this many redirects (default 0)"),
        .init("connect_timeout", .duration, "TCP + TLS connect deadline (default 5s)"),
        .init("timeout", .duration, "total deadline (default: the step's)"),
        .init("role", .string, "direct (default) or via: the request goes to the proxy that answers the error"),
        .init("compare_status", .any, "the status the other request (direct or via) got, for the comparison"),
    ]

    public init() {}

    public func run(_ context: StepContext) async throws -> StepOutcome {
        guard let url = context.string("url") else { throw StepFailure("http.request: 'url' is empty") }
        var request = HTTPRequest(url: url)
        request.method = context.string("method")?.uppercased() ?? "GET"
        request.headers = context.strings("headers")
        request.body = context.string("body")
        request.resolve = context.strings("resolve")
        request.connectTo = context.strings("connect_to")
        request.proxy = context.string("proxy")
        request.caFile = context.string("ca_file")
        request.insecure = context.bool("insecure") ?? false
        request.maxRedirects = context["max_redirects"].intValue ?? 0
        request.connectTimeout = context.duration("connect_timeout") ?? .seconds(5)
        request.timeout = min(context.duration("timeout") ?? context.remaining, context.remaining)
        let prepared = request
        let exchange: HTTPExchange
        do {
            exchange = try await onThread { cancel in Result { try prepared.perform(cancel: cancel) } }.get()
        } catch is CancellationError {
            throw CancellationError()
        }
        let role = context.string("role") ?? "direct"
        try writeEvidence(exchange, context: context)
        let findings = HTTPFindings(exchange: exchange, url: url, role: role, compareStatus: context["compare_status"].intValue).findings
        return StepOutcome(
            summary: summary(exchange, url: url),
            command: Redactor.redact(request.command),
            facts: facts(exchange),
            outputs: outputs(exchange),
            findings: findings,
            transcript: Redactor.redact(exchange.trace),
            // A transfer that failed without a diagnosis of its own (a TLS
            // error the handshake step explains) did not do its job.
            failed: exchange.curlCode != 0 && findings.isEmpty)
    }

    func summary(_ e: HTTPExchange, url: String) -> String {
        let target = Redactor.redact(url)
        if e.curlCode != 0 {
            return "\(target): curl error \(e.curlCode) \(e.curlName): \(Redactor.redact(e.curlMessage))"
        }
        return "\(target): HTTP \(e.status) in \(TextFormat.fixed(e.timings.total * 1000, 1)) ms"
    }

    func facts(_ e: HTTPExchange) -> [Fact] {
        var facts: [Fact] = []
        if e.status > 0 { facts.append(Fact("status", .int(e.status))) }
        facts.append(Fact("curl", .string("\(e.curlCode) \(e.curlName)\(e.curlCode == 0 ? "" : ": \(Redactor.redact(e.curlMessage))")")))
        if let ip = e.primaryIP, !ip.isEmpty { facts.append(Fact("connected to", .string("\(ip):\(e.primaryPort)"))) }
        let t = e.timings
        facts.append(Fact("timings (ms)", .string("dns \(ms(t.nameLookup)), connect \(ms(t.connect)), tls \(ms(t.tls)), first byte \(ms(t.firstByte)), total \(ms(t.total))")))
        if e.verifyResult != 0 { facts.append(Fact("TLS verify result", .int(e.verifyResult))) }
        if let server = e.header("Server") { facts.append(Fact("server", .string(server))) }
        if let date = e.header("Date") { facts.append(Fact("date", .string(date))) }
        return facts
    }

    func ms(_ seconds: Double) -> String { TextFormat.fixed(seconds * 1000, 1) }

    func outputs(_ e: HTTPExchange) -> [String: Value] {
        var headers: [String: Value] = [:]
        for (name, value) in e.headers { headers[name.lowercased()] = .string(Redactor.redact("\(name): \(value)").dropPrefix("\(name): ")) }
        return [
            "status": .int(e.status), "curl_code": .int(e.curlCode), "curl_error": .string(Redactor.redact(e.curlMessage)),
            "headers": .object(headers), "verify_result": .int(e.verifyResult), "date": e.header("Date").map(Value.string) ?? .null,
            "primary_ip": e.primaryIP.map(Value.string) ?? .null, "body": .string(Redactor.redact(e.body)),
            "timings": ["dns": .number(e.timings.nameLookup), "connect": .number(e.timings.connect), "tls": .number(e.timings.tls),
                        "first_byte": .number(e.timings.firstByte), "total": .number(e.timings.total)],
        ]
    }

    func writeEvidence(_ e: HTTPExchange, context: StepContext) throws {
        try context.evidence.write("trace.txt", text: e.trace, description: "curl's verbose trace (secrets redacted)")
        if !e.rawHeaders.isEmpty {
            try context.evidence.write("headers.txt", text: e.rawHeaders, description: "response headers")
        }
        if !e.body.isEmpty {
            try context.evidence.write("body.txt", text: e.body, description: "first \(e.body.utf8.count) of \(e.bodyBytes) body bytes")
        }
    }
}

extension String {
    func dropPrefix(_ prefix: String) -> String { hasPrefix(prefix) ? String(dropFirst(prefix.count)) : self }
}
