import Foundation
import TriageKit
import TriageWire

/// Hand-built evidence for the rule matrix: no server, no network, only
/// the typed values steps hand to the diagnosis.
enum Build {
    static let now = ISO8601.parse("2026-06-01T12:00:00Z")!
    static let host = "api.example.test"
    static let day: TimeInterval = 86_400

    enum Family: String, CaseIterable, Sendable { case v4, v6 }
    enum Version: String, CaseIterable, Sendable { case tls12 = "TLSv1.2", tls13 = "TLSv1.3" }

    static func address(_ f: Family, _ n: UInt8 = 1) -> IPAddress {
        f == .v4 ? IPAddress(v4: 127, 0, 0, n) : IPAddress("::\(n)")!
    }

    static func endpoint(_ f: Family, _ n: UInt8 = 1, port: UInt16 = 8443) -> Endpoint { Endpoint(address(f, n), port: port) }

    static func cert(_ name: String = host, sans: [String]? = nil, notBefore: Date = now - 30 * day, notAfter: Date = now + 300 * day,
                     issuer: String = "CN=Test CA", selfSigned: Bool = false, ca: Bool = false, bits: Int = 2048,
                     aia: String? = nil) -> Certificate {
        let subject = "CN=\(name)"
        return Certificate(der: Array(name.utf8), subject: subject, issuer: selfSigned ? subject : issuer, serial: "01",
                           notBefore: notBefore, notAfter: notAfter, alternativeNames: (sans ?? [name]).map { .dns($0) },
                           keyAlgorithm: .rsa, keyBits: bits, signatureAlgorithm: "sha256WithRSAEncryption", isCA: ca,
                           isSelfSigned: selfSigned, sha256: "SHA:\(name):\(notAfter.timeIntervalSince1970):\(issuer)", caIssuersURL: aia)
    }

    static func problem(_ e: X509VerifyError, depth: Int = 0) -> ChainVerification.Problem {
        ChainVerification.Problem(error: e, code: e.rawValue, depth: depth, text: e.meaning ?? "error")
    }

    /// One attempt: established (with a chain), or ended by `outcome`.
    static func attempt(_ server: Endpoint, _ variant: SNIVariant, _ version: Version, outcome: HandshakeAttempt.Outcome = .established,
                        chain: [Certificate] = [cert()], verify: X509VerifyError = .ok, nameMatches: Bool = true,
                        certificateRequested: Bool = false, alerts: [TLSAlert] = []) -> HandshakeAttempt {
        var a = HandshakeAttempt(server: server, host: host, variant: variant, serverName: variant.serverName(host: host, address: server.address))
        a.outcome = outcome
        a.version = outcome == .established ? version.rawValue : nil
        a.connectMs = 0.3
        if case .established = outcome {
            a.chain = chain
            a.verifyCode = verify.rawValue
            a.verifyError = verify
            a.nameMatches = nameMatches
        }
        if case .alert(let alert) = outcome { a.alerts = [alert] + alerts } else { a.alerts = alerts }
        a.certificateRequested = certificateRequested
        return a
    }

    static func serverAlert(_ code: UInt8) -> TLSAlert { TLSAlert(code: code, level: .fatal, sender: .server) }
    static func clientAlert(_ code: UInt8) -> TLSAlert { TLSAlert(code: code, level: .fatal, sender: .client) }

    static func matrix(_ attempts: [HandshakeAttempt], profile: ClientProfile? = nil, checks: [ChainCheck] = []) -> Evidence {
        .handshakes(HandshakeMatrix(host: host, attempts: attempts, timeout: .seconds(5), profile: profile, checks: checks))
    }

    /// `path`: the path OpenSSL built, leaf to anchor (empty: none given).
    static func review(_ chain: [Certificate], problems: [ChainVerification.Problem] = [], caFile: String? = nil, server: Endpoint,
                       variants: [SNIVariant] = [.asClient], warnDays: Int = 21, storeSupplied: [Certificate] = [], path: [Certificate] = []) -> Evidence {
        let c = CertificateChain(certificates: chain, servers: [server], variants: variants, serverName: host)
        var check = ChainCheck(chain: c, verification: ChainVerification(problems: problems), storeSupplied: storeSupplied, caFile: caFile, name: host)
        check.path = path
        return .chains(ChainReview(checks: [check], host: host, warnDays: warnDays, at: now))
    }

    /// `proxy`: the proxy curl went through (its URL, where it came from) and its answer to CONNECT.
    static func exchange(_ role: HTTPExchange.Role, status: Int = 200, curl: Int = 0, errno: Int32 = 0, pinned: Endpoint? = nil,
                         url: String? = nil, connect: Double = 0.001, tls: Double = 0.002, firstByte: Double = 0.003,
                         http: String = "HTTP/1.1", verifyResult: Int = 0, headers: [(name: String, value: String)] = [],
                         proxy: (url: String, source: String)? = nil, connectStatus: Int = 0) -> Evidence {
        let u = url ?? (role == .via ? "http://127.0.0.1:8080/test" : "https://\(host):8443/")
        var e = HTTPExchange(url: u, role: role, curlCode: curl, curlName: "CURLE_\(curl)", curlMessage: curl == 0 ? "" : "failed", osErrno: errno,
                             status: status, httpVersion: http, headers: headers, headerBytes: status > 0 ? 100 : 0, bodyBytes: 0,
                             timings: .init(nameLookup: 0, connect: connect, tls: tls, firstByte: firstByte, total: 0.004),
                             verifyResult: verifyResult, verifyError: X509VerifyError(rawValue: verifyResult) ?? .ok, primary: pinned, redirects: 0, effectiveURL: nil,
                             traceTruncated: false, bodyTruncated: false)
        e.pinned = pinned?.address
        e.proxy = proxy
        e.proxyConnectStatus = connectStatus
        return .exchange(e)
    }

    static func captured(_ server: Endpoint, sni: String?, version: Version, alerts: [TLSAlert] = [], certificates: [Certificate] = [],
                         origin: CapturedTLS.Origin = .other, serverHello: Bool = true, refused: Bool = false, unanswered: Bool = false,
                         certificateRequest: Bool = false, closedWithoutRequest: Bool = false, selected: UInt16? = nil) -> CapturedTLS {
        let v: UInt16 = version == .tls13 ? 0x0304 : 0x0303
        return CapturedTLS(client: Endpoint(server.address, port: 40_000), server: server, firstSeen: now, sni: sni,
                           offeredVersions: [v], selectedVersion: serverHello ? (selected ?? v) : nil, selectedCipher: nil, serverHello: serverHello,
                           alerts: alerts.map { TLSAlert(code: $0.code, level: $0.level, sender: $0.sender, server: server, serverName: sni) },
                           certificates: certificates, certificateRequest: certificateRequest, gaps: false,
                           tcp: .init(refused: refused, unanswered: unanswered, waitedMs: unanswered ? 5_000 : 3),
                           origin: origin, closedWithoutRequest: closedWithoutRequest)
    }

    static func capture(_ connections: [CapturedTLS], checks: [String: ChainCheck] = [:]) -> Evidence {
        .capture(CaptureReview(digest: CaptureDigest(connections), checks: checks, host: host))
    }

    /// Another proxy's line (HAProxy's, Envoy's), read by the parser of its format.
    static func log(_ text: String, format: ProxyLogFormat) -> Evidence {
        let line = format.parse(text)!
        return .proxyLog(ProxyLog(file: "proxy.log", proxy: format.rawValue, lines: [line], count: 1, first: line, last: line))
    }

    static func log(_ message: String, upstream: Endpoint) -> Evidence {
        let text = "2026/06/01 12:00:00 [error] 7#7: *3 \(message), client: 10.0.0.5, server: _, request: \"GET /test HTTP/1.1\", "
            + "upstream: \"https://\(upstream)/x\", host: \"gw.example.test\""
        let line = NginxLogParser.parse(text)!
        return .proxyLog(ProxyLog(file: "error.log", lines: [line], count: 1, first: line, last: line))
    }

    static func nginxConfig(_ settings: [String: [String]], upstream: Endpoint) -> Evidence {
        .proxyConfig(ProxyConfig(file: "/etc/nginx/nginx.conf", location: "/test", locationWhere: "/etc/nginx/nginx.conf:10", source: nil,
                                 proxyPass: "https://backend/x", scheme: "https", upstreamName: "backend",
                                 servers: [ProxyConfig.Server(host: upstream.address.description, port: Int(upstream.port))],
                                 proxyHost: "backend", settings: settings, sslName: settings["proxy_ssl_name"]?.first, hostHeader: nil))
    }

    /// nginx's profile as the configuration (or its defaults) makes it.
    static func nginxProfile(_ settings: [String: [String]]? = nil, upstream: Endpoint, version: NginxVersion = NginxVersion(1, 22, 1)) -> ClientProfile {
        var config: ProxyConfig?
        if let settings, case .proxyConfig(let c) = nginxConfig(settings, upstream: upstream) { config = c }
        return ClientProfile.nginx(config: config, version: ProxyVersion(version, source: .input), proxySNI: nil, host: host)
    }
}

/// One row: a case, and what the diagnosis must make of it.
struct MatrixRow: Sendable, CustomStringConvertible {
    var name: String
    var via: Bool
    var items: [Evidence]
    /// The root cause, or nil for a healthy case.
    var root: Cause?
    /// For a healthy case: the warning it must carry.
    var warning: Cause?
    var affects: Set<RequestStory.Client>
    /// The root cause carries the proxy log's line that confirms it.
    var confirmedBy = false

    var description: String { name }
}
