/// The fixed vocabulary of causes. The raw value is the stable code used in
/// findings, `report.json`, `scan` output, metrics and tests; never rename
/// one. Titles and default remedies are `cause.CODE.title` / `.remedy` in
/// the text tables.
public enum Cause: String, Sendable, Codable, CaseIterable {
    case certExpired = "cert-expired"
    case certNotYetValid = "cert-not-yet-valid"
    case hostnameMismatch = "hostname-mismatch"
    case selfSigned = "self-signed"
    case untrustedIssuer = "untrusted-issuer"
    case incompleteChain = "incomplete-chain"
    case intermediateExpired = "intermediate-expired"
    case weakKey = "weak-key"
    case clientCertRequired = "client-cert-required"
    /// The server rejected the client certificate that was sent.
    case clientCertRejected = "client-cert-rejected"
    case protocolVersion = "protocol-version"
    case noSharedCipher = "no-shared-cipher"
    /// The server aborts the handshake when the client sends no SNI.
    case alertWithoutSNI = "alert-without-sni"
    /// Without SNI the server presents another, broken certificate.
    case defaultCertWithoutSNI = "default-cert-without-sni"
    /// Reachable addresses of one name disagree (TLS or HTTP outcome).
    case mixedBackends = "mixed-backends"
    /// An address refuses or is unreachable while others work: clients fall back.
    case addressUnreachable = "address-unreachable"
    case notTLS = "not-tls"
    case timeout = "timeout"
    case connectionRefused = "connection-refused"
    /// The server closed or reset the connection during the handshake.
    case connectionReset = "connection-reset"
    /// The server breaks TLS: unexpected messages, oversized records, floods.
    case tlsProtocolError = "tls-protocol-error"
    /// The server's handshake flight exceeds what clients accept.
    case handshakeTooLarge = "handshake-too-large"
    /// An alert with no more specific cause: reported as the alert itself.
    case tlsAlert = "tls-alert"
    case dnsFailure = "dns-failure"
    case httpError = "http-error"
    /// TLS works, the HTTP answer does not come or stalls.
    case httpTimeout = "http-timeout"
    case httpProtocolError = "http-protocol-error"
    case redirectLoop = "redirect-loop"
    case proxyError = "proxy-error"
    /// The `--via` proxy accepts and never answers, or times out on its upstream.
    case proxyTimeout = "proxy-timeout"
    // Trust and time.
    /// A certificate of the chain expires within the warning window: a warning.
    case certExpiresSoon = "cert-expires-soon"
    /// The certificate is not for TLS servers (Extended Key Usage without serverAuth).
    case certWrongPurpose = "cert-wrong-purpose"
    /// Any other verification error, with OpenSSL's `X509_V_ERR_*` code.
    case certInvalid = "cert-invalid"
    case certRevoked = "cert-revoked"
    case ocspStale = "ocsp-stale"
    // Past TLS, through a proxy.
    case upstreamHeaderTooBig = "upstream-header-too-big"
    case upstreamClosedEarly = "upstream-closed-early"
    case plainHTTPToTLSPort = "plain-http-to-tls-port"
    case tlsToPlainPort = "tls-to-plain-port"
    case noLiveUpstreams = "no-live-upstreams"
    case upstreamDNSStale = "upstream-dns-stale"
    case upstreamProtocolMismatch = "upstream-protocol-mismatch"

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
        .untrustedIssuer, .hostnameMismatch, .certWrongPurpose, .weakKey, .certInvalid, .ocspStale, .certExpiresSoon,
        // HTTP: a loop and a broken answer before a status, the upstream's header too big for the proxy
        // before a connection it closed early, a timeout (nothing came) last.
        .redirectLoop, .upstreamHeaderTooBig, .upstreamClosedEarly, .httpProtocolError, .httpError, .httpTimeout,
        // The proxy's own answer: what the user saw, when nothing above explains it.
        .proxyTimeout, .proxyError,
    ]
}
