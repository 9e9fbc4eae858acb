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

    /// Whether the cause is what a user *sees* (a 502, a failed handshake)
    /// rather than *why* it happens. The direct cause is chosen among
    /// symptoms, the root cause among the others.
    public var isSymptom: Bool {
        switch self {
        case .proxyError, .httpError, .alertWithoutSNI, .timeout, .connectionRefused, .dnsFailure,
             .notTLS, .protocolVersion, .noSharedCipher, .clientCertRequired, .mixedBackends, .defaultCertWithoutSNI:
            true
        default:
            false
        }
    }

    /// Lower ranks explain more. A root cause is the lowest-ranked non-symptom
    /// finding; a direct cause is the lowest-ranked symptom (what the user
    /// hit first: the proxy's 502 before the handshake that caused it).
    public var rank: Int {
        switch self {
        case .certExpired: 0
        case .intermediateExpired: 1
        case .certNotYetValid: 2
        case .incompleteChain: 3
        case .untrustedIssuer: 4
        case .selfSigned: 5
        case .hostnameMismatch: 6
        case .weakKey: 7
        case .proxyError: 10
        case .httpError: 11
        case .dnsFailure: 12
        case .connectionRefused: 13
        case .timeout: 14
        case .notTLS: 15
        case .alertWithoutSNI: 16
        case .defaultCertWithoutSNI: 17
        case .clientCertRequired: 18
        case .protocolVersion: 19
        case .noSharedCipher: 20
        case .mixedBackends: 21
        }
    }
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
