/// The fixed vocabulary of causes. The raw value is the stable code used in
/// findings, `report.json`, exit reasons and tests; never rename one.
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
    case protocolVersion = "protocol-version"
    case noSharedCipher = "no-shared-cipher"
    /// The server aborts the handshake when the client sends no SNI.
    case alertWithoutSNI = "alert-without-sni"
    /// Without SNI the server presents another, broken certificate.
    case defaultCertWithoutSNI = "default-cert-without-sni"
    /// The addresses of one name disagree.
    case mixedBackends = "mixed-backends"
    case notTLS = "not-tls"
    case timeout = "timeout"
    case connectionRefused = "connection-refused"
    case dnsFailure = "dns-failure"
    case httpError = "http-error"
    case proxyError = "proxy-error"

    public var code: String { rawValue }

    /// How far from the user the cause sits: 0 is what the user saw (the
    /// proxy's 502), higher layers explain lower ones (the handshake that
    /// failed behind it, the certificate behind that). The direct cause is
    /// the finding of the lowest layer, the root cause the one of the
    /// highest. `mixed-backends` is deepest: when the addresses of a name
    /// disagree, that difference is what explains the rest.
    public var layer: Int {
        switch self {
        case .proxyError: 0
        case .httpError: 1
        case .dnsFailure, .connectionRefused, .timeout: 2
        case .notTLS, .alertWithoutSNI, .defaultCertWithoutSNI, .clientCertRequired, .protocolVersion, .noSharedCipher: 3
        case .certExpired, .intermediateExpired, .certNotYetValid, .incompleteChain, .untrustedIssuer, .selfSigned,
             .hostnameMismatch, .weakKey: 4
        case .mixedBackends: 5
        }
    }

    /// Order within a layer: the more specific explanation first.
    public var rank: Int { Cause.allCases.firstIndex(of: self)! }
}

/// How much a finding matters.
public enum Severity: String, Sendable, Codable {
    /// Something is broken: the run's verdict becomes `problem`.
    case problem
    /// Worth a look, not broken yet (a certificate expiring in 12 days).
    case warning
}

/// One diagnosed fact about the target: its cause, what it is about, the
/// evidence that proves it and what to do.
public struct Finding: Sendable, Codable, Hashable {
    public var cause: Cause
    public var severity: Severity
    /// One sentence a ticket can quote: "the certificate for a.test expired on …".
    public var summary: String
    /// What the finding is about: a host, an `address:port`, a certificate subject.
    public var subject: String
    public var facts: [Fact]
    public var remedy: String
    /// The step that found it; filled in by the engine.
    public var step: String

    public init(_ cause: Cause, severity: Severity = .problem, summary: String, subject: String,
                facts: [Fact] = [], remedy: String? = nil, step: String = "") {
        self.cause = cause
        self.severity = severity
        self.summary = summary
        self.subject = subject
        self.facts = facts
        self.remedy = remedy ?? CauseText.remedy(cause)
        self.step = step
    }
}
