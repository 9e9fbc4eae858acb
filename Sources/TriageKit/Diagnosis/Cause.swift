/// The vocabulary of causes. The raw value is the stable code used in
/// findings, `report.json`, `scan` output, metrics and tests; never rename
/// one. Titles and default remedies are `cause.CODE.title` / `.remedy` in
/// the text tables.
///
/// The built-in causes are the static members (`allCases`); a runbook's own
/// `finding:` may name any other kebab-case code (`Cause(custom:)`), which
/// takes part in the verdict like a built-in one and ranks after them.
public struct Cause: RawRepresentable, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    public let rawValue: String

    /// A built-in cause; nil for any other code.
    public init?(rawValue: String) {
        guard Self.builtIn.contains(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    /// A code a runbook chose (`finding: cause:`): lower-case letters, digits and single dashes.
    public init?(custom code: String) {
        guard Self.isCode(code) else { return nil }
        self.rawValue = code
    }

    private init(_ code: String) { rawValue = code }

    public var isBuiltIn: Bool { Self.builtIn.contains(rawValue) }
    public var description: String { rawValue }

    public static func isCode(_ code: String) -> Bool {
        guard let first = code.utf8.first, (0x61...0x7A).contains(first), code.utf8.count <= 64, code.utf8.last != 0x2D,
              !code.contains("--") else { return false }
        return code.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D }
    }

    public init(from decoder: any Decoder) throws {
        let code = try decoder.singleValueContainer().decode(String.self)
        guard Self.isCode(code) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a cause code: \(code)"))
        }
        rawValue = code
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }

    public static let certExpired = Cause("cert-expired")
    public static let certNotYetValid = Cause("cert-not-yet-valid")
    public static let hostnameMismatch = Cause("hostname-mismatch")
    public static let selfSigned = Cause("self-signed")
    public static let untrustedIssuer = Cause("untrusted-issuer")
    public static let incompleteChain = Cause("incomplete-chain")
    public static let intermediateExpired = Cause("intermediate-expired")
    public static let weakKey = Cause("weak-key")
    public static let clientCertRequired = Cause("client-cert-required")
    /// The server rejected the client certificate that was sent.
    public static let clientCertRejected = Cause("client-cert-rejected")
    public static let protocolVersion = Cause("protocol-version")
    public static let noSharedCipher = Cause("no-shared-cipher")
    /// The server aborts the handshake when the client sends no SNI.
    public static let alertWithoutSNI = Cause("alert-without-sni")
    /// Without SNI the server presents another, broken certificate.
    public static let defaultCertWithoutSNI = Cause("default-cert-without-sni")
    /// Reachable addresses of one name disagree (TLS or HTTP outcome).
    public static let mixedBackends = Cause("mixed-backends")
    /// An address refuses or is unreachable while others work: clients fall back.
    public static let addressUnreachable = Cause("address-unreachable")
    public static let notTLS = Cause("not-tls")
    public static let timeout = Cause("timeout")
    public static let connectionRefused = Cause("connection-refused")
    /// The server closed or reset the connection during the handshake.
    public static let connectionReset = Cause("connection-reset")
    /// The server breaks TLS: unexpected messages, oversized records, floods.
    public static let tlsProtocolError = Cause("tls-protocol-error")
    /// The server's handshake flight exceeds what clients accept.
    public static let handshakeTooLarge = Cause("handshake-too-large")
    /// An alert with no more specific cause: reported as the alert itself.
    public static let tlsAlert = Cause("tls-alert")
    public static let dnsFailure = Cause("dns-failure")
    public static let httpError = Cause("http-error")
    /// TLS works, the HTTP answer does not come or stalls.
    public static let httpTimeout = Cause("http-timeout")
    public static let httpProtocolError = Cause("http-protocol-error")
    public static let redirectLoop = Cause("redirect-loop")
    public static let proxyError = Cause("proxy-error")
    /// The `--via` proxy accepts and never answers, or times out on its upstream.
    public static let proxyTimeout = Cause("proxy-timeout")
    // Trust and time.
    /// A certificate of the chain expires within the warning window: a warning.
    public static let certExpiresSoon = Cause("cert-expires-soon")
    /// The certificate is not for TLS servers (Extended Key Usage without serverAuth).
    public static let certWrongPurpose = Cause("cert-wrong-purpose")
    /// Any other verification error, with OpenSSL's `X509_V_ERR_*` code.
    public static let certInvalid = Cause("cert-invalid")
    public static let certRevoked = Cause("cert-revoked")
    public static let ocspStale = Cause("ocsp-stale")
    /// `--fetch-ocsp`: the CA's OCSP responder could not be asked or gave no usable answer (a warning, never a problem).
    public static let revocationUnchecked = Cause("revocation-unchecked")
    // Past TLS, through a proxy.
    public static let upstreamHeaderTooBig = Cause("upstream-header-too-big")
    public static let upstreamClosedEarly = Cause("upstream-closed-early")
    public static let plainHTTPToTLSPort = Cause("plain-http-to-tls-port")
    public static let tlsToPlainPort = Cause("tls-to-plain-port")
    public static let noLiveUpstreams = Cause("no-live-upstreams")
    public static let upstreamDNSStale = Cause("upstream-dns-stale")
    public static let upstreamProtocolMismatch = Cause("upstream-protocol-mismatch")


    public static let allCases: [Cause] = [
        .certExpired, .certNotYetValid, .hostnameMismatch, .selfSigned, .untrustedIssuer, .incompleteChain, .intermediateExpired, .weakKey, .clientCertRequired, .clientCertRejected, .protocolVersion, .noSharedCipher, .alertWithoutSNI, .defaultCertWithoutSNI, .mixedBackends, .addressUnreachable, .notTLS, .timeout, .connectionRefused, .connectionReset, .tlsProtocolError, .handshakeTooLarge, .tlsAlert, .dnsFailure, .httpError, .httpTimeout, .httpProtocolError, .redirectLoop, .proxyError, .proxyTimeout, .certExpiresSoon, .certWrongPurpose, .certInvalid, .certRevoked, .ocspStale, .revocationUnchecked, .upstreamHeaderTooBig, .upstreamClosedEarly, .plainHTTPToTLSPort, .tlsToPlainPort, .noLiveUpstreams, .upstreamDNSStale, .upstreamProtocolMismatch,
    ]
    static let builtIn: Set<String> = Set(allCases.map(\.rawValue))

    public var code: String { rawValue }

    /// Order within a stage: the more specific explanation first (see `Cause.ranking`).
    public var rank: Int { Cause.ranking.firstIndex(of: self) ?? Cause.ranking.count }

    /// Every cause, the more specific before the more general, so that of
    /// two findings at the same place on a connection the one that says
    /// more is the root cause. The reasons, pairwise:
    public static let ranking: [Cause] = [
        // The name: nothing else happens without an address; a proxy's stale copy of it before a fresh failure.
        .upstreamDNSStale, .dnsFailure,
        // The address: a whole block marked down says more than one refusal; refused (RST) is certain,
        // a timeout may be a firewall; one address of several failing is a warning, not the cause.
        .noLiveUpstreams, .connectionRefused, .timeout, .addressUnreachable,
        // The server's side of the handshake. What it speaks at all first (a plain port, not TLS), then
        // a server that answers differently per address, then aborts with a known reason (SNI, a client
        // certificate, the version, the ciphers) before aborts without one (reset, broken TLS, size), and
        // a bare alert last: it is reported as itself because nothing more specific is known.
        .tlsToPlainPort, .plainHTTPToTLSPort, .notTLS, .mixedBackends, .alertWithoutSNI, .clientCertRequired, .clientCertRejected,
        .protocolVersion, .noSharedCipher, .upstreamProtocolMismatch, .handshakeTooLarge, .connectionReset, .tlsProtocolError, .tlsAlert,
        // The certificate the client checks. The default certificate served without SNI names both the
        // missing SNI and what is wrong with that certificate; then dates (the most common and the most
        // certain), revocation, then trust (self-signed before an unknown issuer, a missing intermediate
        // before an untrusted root), the name, the purpose, the key, any other verify error, and the
        // warnings last.
        .defaultCertWithoutSNI, .certExpired, .intermediateExpired, .certNotYetValid, .certRevoked, .selfSigned, .incompleteChain,
        .untrustedIssuer, .hostnameMismatch, .certWrongPurpose, .weakKey, .certInvalid, .ocspStale, .revocationUnchecked, .certExpiresSoon,
        // HTTP: a loop and a broken answer before a status, the upstream's header too big for the proxy
        // before a connection it closed early, a timeout (nothing came) last.
        .redirectLoop, .upstreamHeaderTooBig, .upstreamClosedEarly, .httpProtocolError, .httpError, .httpTimeout,
        // The proxy's own answer: what the user saw, when nothing above explains it.
        .proxyTimeout, .proxyError,
    ]
}
