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
    /// The `--via` proxy accepts and never answers.
    case proxyTimeout = "proxy-timeout"

    public var code: String { rawValue }

    /// Order within a stage: the more specific explanation first.
    public var rank: Int { Cause.allCases.firstIndex(of: self)! }
}
