import Foundation
import TriageWire

/// What one HTTP exchange says, by curl's result code, the errno behind it,
/// the verify result, the alerts on its connection and how far it got.
public struct HTTPRules: Sendable {
    public let exchange: HTTPExchange
    /// The other request of the story (via ↔ direct), as the direct request's first run saw it.
    public let compare: HTTPExchange?
    /// The status the other request got.
    public var compareStatus: Int? { compare?.status }
    /// The proxy's settings (its configuration read) and what triage measured of the upstream directly:
    /// a 504 is then read in numbers.
    public let proxy: ProxyCase?

    public init(exchange: HTTPExchange, compare: HTTPExchange?, proxy: ProxyCase? = nil) {
        self.exchange = exchange
        self.compare = compare
        self.proxy = proxy
    }

    var host: String { URLPart.host.extract(from: exchange.url).stringValue ?? exchange.url }
    var subject: String { Redactor.redact(exchange.url) }

    var baseFacts: [Fact] {
        let e = exchange
        var facts = [Fact(.url, .string(subject)), Fact(.curlCode, .int(e.curlCode)),
                     Fact(.curlError, .string("\(e.curlName): \(e.curlMessage)"))]
        if e.osErrno != 0 { facts.append(Fact(.osErrno, .string(ErrorNumber.name(e.osErrno)))) }
        if let p = e.primary { facts.append(Fact(.connectedTo, .typed(.endpoint(p)))) }
        facts += [Fact(.connectMs, .number(ms(e.timings.connect))), Fact(.tlsMs, .number(ms(e.timings.tls))),
                  Fact(.firstByteMs, .number(ms(e.timings.firstByte))), Fact(.totalMs, .number(ms(e.timings.total)))]
        if e.headerBytes > 0 { facts.append(Fact(.headerBytes, .int(e.headerBytes))) }
        if e.bodyBytes > 0 { facts.append(Fact(.bodyBytes, .int(e.bodyBytes))) }
        if e.bytesReceived > 0 { facts.append(Fact(.bytesReceived, .int(e.bytesReceived))) }
        return facts
    }

    func ms(_ seconds: Double) -> Double { (seconds * 10_000).rounded() / 10 }

    public var findings: [Finding] { judged.map { $0.on(.http(exchange.role)) } }

    var judged: [Finding] {
        let e = exchange
        guard e.succeeded else { return failureFindings }
        let statusFacts = [Fact(.status, .int(e.status))]
            + (compareStatus.map { [Fact(e.role == .via ? .directStatus : .viaStatus, .int($0))] } ?? [])
        if e.role == .via, e.status >= 500, let direct = compare, direct.succeeded, direct.status == e.status {
            // The upstream gives the same answer to a direct request: the proxy only passes it on; the answer is the cause.
            return [passedOn(direct, facts: statusFacts)]
        }
        if e.role == .via, e.status == 504 {
            // A gateway's 504 is its own deadline passing while it waited for the upstream (nginx answers 504 for
            // nothing else): a timeout, whose numbers the proxy's settings and the direct request give.
            let direct: Value = compareStatus.map { $0 > 0 ? .int($0) : Message(.noAnswer).value } ?? Message(.notTried).value
            var finding = Finding(.proxyTimeout, summary: Message(.findingProxyGatewayTimeout, ["status": .int(e.status), "reason": .string(Self.reason(e.status)),
                                                                                                "direct": direct]),
                                  subject: subject, facts: statusFacts)
            if let proxy { proxy.timedOut(&finding, phase: proxy.gatewayTimeoutPhase) }
            return [finding]
        }
        if e.role == .via, e.status >= 500 {
            let key: MessageKey = compareStatus.map { $0 > 0 ? .findingProxyErrorDirectOK : .findingProxyErrorDirectFailed } ?? .findingProxyError
            return [Finding(.proxyError, summary: Message(key, ["status": .int(e.status), "reason": .string(Self.reason(e.status)),
                                                                "direct": .int(compareStatus ?? 0)]),
                            subject: subject, facts: statusFacts)]
        }
        if e.status >= 400 {
            // What the server said with its status: its Server header and the body's first bytes (the remedy
            // points at them; they were only in the evidence folder).
            var facts = statusFacts
            if let server = e.header("Server") { facts.append(Fact(.serverHeader, .string(server))) }
            let body = e.bodyStart.trimmingCharacters(in: .whitespacesAndNewlines)
            if !body.isEmpty { facts.append(Fact(.bodyStart, .string(body))) }
            return [Finding(.httpError, summary: Message(.findingHTTPError, ["url": .string(subject), "status": .int(e.status), "reason": .string(Self.reason(e.status))]),
                            subject: subject, facts: facts)]
        }
        return []
    }

    /// The upstream's own 5xx, passed on by the proxy: what the upstream said (status, Server, the body's first bytes).
    func passedOn(_ direct: HTTPExchange, facts: [Fact]) -> Finding {
        var facts = facts
        let server = direct.header("Server")
        if let server { facts.append(Fact(.serverHeader, .string(server))) }
        let body = direct.bodyStart.trimmingCharacters(in: .whitespacesAndNewlines)
        if !body.isEmpty { facts.append(Fact(.bodyStart, .string(body))) }
        let reason = Value.string(Self.reason(direct.status))
        return Finding(.httpError, summary: Message(.findingProxyPassesOn, ["status": .int(direct.status), "reason": reason,
                                                                            "server": .string(server.map { " (Server: \($0))" } ?? "")]),
                       subject: Redactor.redact(direct.url), facts: facts,
                       remedy: Message(.remedyUpstreamAnswer, ["status": .int(direct.status),
                                                               "server": .string(server.map { " (Server: \($0))" } ?? ""),
                                                               "body": .string(body.isEmpty ? "" : ": “\(body.count > 120 ? String(body.prefix(117)) + "…" : body)”")]))
    }

    var failureFindings: [Finding] {
        let e = exchange
        let facts = baseFacts
        let url = Value.string(subject)
        if let proxy = e.proxy, e.role != .via {
            let args: [String: Value] = ["url": url, "proxy": .string(proxy.url), "source": .string(proxy.source), "status": .int(e.proxyConnectStatus),
                                         "host": .string(host), "errno": .string(ErrorNumber.name(e.osErrno))]
            if e.proxyConnectStatus >= 300 {
                // The proxy would not open the tunnel (a policy's 403, a 407 for credentials): the request never left it.
                return [Finding(.proxyError, summary: Message(.findingCurlProxyTunnel, args), subject: proxy.url,
                                facts: facts + [Fact(.status, .int(e.proxyConnectStatus))], remedy: Message(.remedyClientProxyTunnel, args))]
            }
            if e.code == .couldntConnect {
                // curl connects to the proxy first: the connection it could not make was the proxy's, not the URL's.
                let cause: Cause = e.osErrno == Errno.connectionRefused ? .connectionRefused : e.osErrno == Errno.timedOut ? .timeout : .addressUnreachable
                return [Finding(cause, summary: Message(.findingCurlProxyUnreachable, args), subject: proxy.url, facts: facts,
                                remedy: Message(.remedyClientProxy, args))]
            }
        }
        switch e.code {
        case .couldntResolveHost?, .couldntResolveProxy?:
            return [Finding(.dnsFailure, summary: Message(e.code == .couldntResolveProxy ? .findingCurlNoProxyName : .findingCurlNoName,
                                                          ["host": .string(host), "error": .string(e.curlMessage)]),
                            subject: host, facts: facts)]
        case .couldntConnect?:
            switch e.osErrno {
            case Errno.connectionRefused:
                return [Finding(.connectionRefused, summary: Message(e.role == .via ? .findingProxyRefused : .findingCurlRefused, ["url": url]),
                                subject: subject, facts: facts, remedyArgs: ["port": .int(URLPart.port.extract(from: e.url).intValue ?? 0)])]
            case Errno.timedOut:
                return [Finding(.timeout, summary: Message(.findingCurlConnectTimeout, ["url": url]), subject: subject, facts: facts)]
            default:
                return [Finding(.addressUnreachable, summary: Message(.findingCurlUnreachable, ["url": url, "errno": .string(ErrorNumber.name(e.osErrno))]),
                                subject: subject, facts: facts)]
            }
        case .operationTimedOut?:
            return [timeoutFinding]
        case .tooManyRedirects?:
            return [Finding(.redirectLoop, summary: Message(.findingRedirectLoop, ["url": url, "count": .int(e.redirects), "last": .string(e.effectiveURL ?? "—")]),
                            subject: subject, facts: facts + [Fact(.redirects, .int(e.redirects))])]
        case .peerFailedVerification?:
            return [verifyFinding]
        case .sslConnectError?, .recvError?, .sendError?, .gotNothing?, .sslClientCert?:
            if let alert = e.alerts.first(where: { $0.isFatal && $0.sender == .server }) {
                return [alertFinding(alert)]
            }
            if e.osErrno == Errno.connectionReset {
                return [Finding(.connectionReset, summary: Message(e.role == .via ? .findingProxyReset : .findingCurlReset, ["url": url]),
                                subject: subject, facts: facts)]
            }
            if e.code == .gotNothing {
                return [Finding(e.role == .via ? .proxyError : .httpProtocolError, summary: Message(.findingEmptyReply, ["url": url]),
                                subject: subject, facts: facts)]
            }
            if e.code == .recvError, !e.isHTTPS || e.tlsEstablished {
                // The connection (and TLS) worked; what came back broke HTTP: oversized headers, garbage.
                return [Finding(.httpProtocolError, summary: Message(.findingHTTPReceive, ["url": url, "bytes": .int(e.headerBytes), "error": .string(e.curlMessage)]),
                                subject: subject, facts: facts)]
            }
            // A TLS failure without an alert: the handshake step explains it better.
            return []
        case .partialFile?:
            // The upstream itself ended the body short of its Content-Length.
            let declared = e.header("Content-Length").flatMap(Int.init) ?? 0
            return [Finding(.upstreamClosedEarly, summary: Message(.findingBodyCut, ["url": url, "declared": .int(declared), "received": .int(e.bodyBytes)]),
                            subject: subject, facts: facts + [Fact(.contentLength, .int(declared))],
                            remedy: Message(.remedyBodyCut, ["declared": .int(declared), "received": .int(e.bodyBytes)]))]
        case .unsupportedProtocol? where e.timings.connect > 0 && (!e.isHTTPS || e.tlsEstablished) && e.status == 0 && e.redirects == 0:
            // The scheme is http or https, which curl speaks: after a connection, with no status and no
            // redirect followed (a Location to `myapp://` ends with the same code), code 1 is an answer
            // without an HTTP status line (HTTP/0.9, which curl refuses), i.e. not HTTP.
            return [Finding(.httpProtocolError, summary: Message(.findingHTTPProtocol, ["url": url, "error": .string("\(e.curlName): \(e.curlMessage)")]),
                            subject: subject, facts: facts)]
        case .weirdServerReply?, .http2?, .http2Stream?, .badContentEncoding?, .tooLarge?, .filesizeExceeded?:
            return [Finding(.httpProtocolError, summary: Message(.findingHTTPProtocol, ["url": url, "error": .string("\(e.curlName): \(e.curlMessage)")]),
                            subject: subject, facts: facts)]
        default:
            if e.curlCode == 27, e.headerBytes > 0 {   // CURLE_OUT_OF_MEMORY while reading a giant header
                return [Finding(.httpProtocolError, summary: Message(.findingHTTPReceive, ["url": url, "bytes": .int(e.headerBytes), "error": .string(e.curlMessage)]),
                                subject: subject, facts: facts)]
            }
            return []
        }
    }

    /// CURLE_OPERATION_TIMEDOUT: where the request stalled.
    var timeoutFinding: Finding {
        let e = exchange
        let facts = baseFacts
        let url = Value.string(subject)
        let total = Value.string(TextFormat.fixed(e.timings.total, 1) + " s")
        if e.timings.connect == 0 {
            return Finding(e.role == .via ? .proxyTimeout : .timeout, summary: Message(.findingCurlConnectTimeout, ["url": url]), subject: subject, facts: facts)
        }
        if e.role == .via {
            let direct: Value = compareStatus.map { $0 > 0 ? .int($0) : Message(.noAnswer).value } ?? Message(.notTried).value
            return Finding(.proxyTimeout, summary: Message(.findingProxyTimeout, ["url": url, "total": total, "direct": direct]),
                           subject: subject, facts: facts)
        }
        if e.isHTTPS, !e.tlsEstablished {
            return Finding(.timeout, summary: Message(.findingCurlTLSTimeout, ["url": url, "total": total]), subject: subject, facts: facts)
        }
        // After the handshake, what came back: nothing, a stream that never ends, or a trickle.
        let received = max(e.headerBytes + e.bodyBytes, e.responseBytes)
        if e.timings.firstByte == 0, e.headerBytes == 0, received <= 0 {
            return Finding(.httpTimeout, summary: Message(.findingHTTPNoAnswer, ["url": url, "total": total]), subject: subject, facts: facts)
        }
        if Double(received) / max(e.timings.total, 0.001) > 65_536 {
            // Not a stall: the answer keeps coming and never ends.
            return Finding(.httpTimeout, summary: Message(.findingHTTPEndless, ["url": url, "total": total, "bytes": .int(received)]),
                           subject: subject, facts: facts)
        }
        return Finding(.httpTimeout, summary: Message(.findingHTTPStalled, ["url": url, "total": total, "bytes": .int(received),
                                                                             "ttfb": .string(TextFormat.fixed(e.timings.firstByte * 1000, 0) + " ms")]),
                       subject: subject, facts: facts)
    }

    /// CURLE_PEER_FAILED_VERIFICATION: the verify result says why.
    var verifyFinding: Finding {
        let e = exchange
        // curl (OpenSSL backend) starts its verify result at 1 (`!X509_V_OK`) and checks the host name before
        // it reads OpenSSL's result: 60 with a result of 1 is its own host-name check failing.
        let cause: Cause = if e.verifyResult == 1 { .hostnameMismatch } else { switch e.verifyError {
        case .certHasExpired: .certExpired
        case .certNotYetValid: .certNotYetValid
        case .depthZeroSelfSignedCert: .selfSigned
        case .hostnameMismatch, .ipAddressMismatch: .hostnameMismatch
        case .eeKeyTooSmall, .caKeyTooSmall: .weakKey
        default: .untrustedIssuer
        } }
        return Finding(cause, summary: Message(.findingCurlVerify, ["url": .string(subject), "code": .int(e.verifyResult), "error": .string(e.curlMessage)]),
                       subject: host, facts: baseFacts + [Fact(.verifyCode, .int(e.verifyResult))],
                       remedyArgs: ["address": .string(host), "host": .string(host)])
    }

    func alertFinding(_ alert: TLSAlert) -> Finding {
        let facts = baseFacts + [Fact(.alert, .typed(.alert(alert)))]
        let value = Value.typed(.alert(alert))
        // A server's certificate alerts to curl are about curl's certificate (the server asked for one); 40 stays a cipher question.
        let certificateAlert = alert.code != AlertCode.handshakeFailure.rawValue && AlertMeaning.isServerCertificateComplaint(alert.code)
        let context = AlertMeaning.Context(certificateRequested: certificateAlert, clientCertificateSent: true)
        switch AlertMeaning.cause(alert.code, sender: .server, context) {
        case .clientCertRequired: return Finding(.clientCertRequired, summary: Message(.findingCurlClientCert, ["alert": value]), subject: subject, facts: facts)
        case .clientCertRejected: return Finding(.clientCertRejected, summary: Message(.findingCurlClientCertRejected, ["alert": value]), subject: subject, facts: facts)
        case .protocolVersion: return Finding(.protocolVersion, summary: Message(.findingProtocolVersionAlert, ["alert": value]), subject: subject, facts: facts)
        case .noSharedCipher: return Finding(.noSharedCipher, summary: Message(.findingNoSharedCipher, ["alert": value]), subject: subject, facts: facts)
        case .hostnameMismatch: return Finding(.hostnameMismatch, summary: Message(.findingUnknownName, ["alert": value, "name": .string(host)]), subject: subject, facts: facts)
        default: return Finding(.tlsAlert, summary: Message(.findingAlert, ["alert": value]), subject: subject, facts: facts,
                                remedyArgs: ["code": .int(Int(alert.code)), "name": .string(alert.name)])
        }
    }

    public static func reason(_ status: Int) -> String {
        [200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently", 302: "Found", 304: "Not Modified",
         307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 408: "Request Timeout",
         429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
         504: "Gateway Timeout"][status] ?? ""
    }
}

/// The errno values the rules tell apart (Linux numbering, as the kernel reports them).
public enum Errno {
    public static let connectionRefused: Int32 = 111   // ECONNREFUSED
    public static let connectionReset: Int32 = 104     // ECONNRESET
    public static let timedOut: Int32 = 110            // ETIMEDOUT
    public static let hostUnreachable: Int32 = 113     // EHOSTUNREACH
    public static let networkUnreachable: Int32 = 101  // ENETUNREACH
    public static let addressNotAvailable: Int32 = 99  // EADDRNOTAVAIL
}
