import Foundation

/// What a step saw, as typed values: the only thing a step hands to the
/// diagnosis. Steps do not judge; `Diagnosis` runs every rule once over the
/// evidence of the whole case, so a finding can rest on what several steps
/// saw (the proxy's log line, its captured connection, the replay of its
/// handshake).
public enum Evidence: Sendable {
    /// A resolver's answers for a name.
    case resolution(DNSResolution)
    /// A name that gave no address to try.
    case unresolved(Unresolved)
    /// Handshakes with every address of a name, in the variants or the client profile asked for.
    case handshakes(HandshakeMatrix)
    /// One HTTP request through libcurl.
    case exchange(HTTPExchange)
    /// Certificate chains verified against a trust store at a time.
    case chains(ChainReview)
    /// The TLS connections of a capture.
    case capture(CaptureReview)
    /// What the proxy's configuration says it does for the request.
    case proxyConfig(ProxyConfig)
    /// The proxy's own error-log lines about the upstream.
    case proxyLog(ProxyLog)
    /// How a client connects, as a step worked it out (the proxy's profile).
    case profile(ClientProfile)
    /// A finding the runbook itself declares (a step's `finding:`), taken as it is.
    case declared(Finding)
}

/// A name with no address: nothing to connect to.
public struct Unresolved: Sendable, Hashable {
    public var host: String
    /// Where the (empty) answer came from: /etc/hosts, getaddrinfo, a special-use name.
    public var source: Value
    /// A special-use name (RFC 6761) the machine does not answer.
    public var specialUse: Bool

    public init(host: String, source: Value, specialUse: Bool = false) {
        self.host = host
        self.source = source
        self.specialUse = specialUse
    }
}

/// The handshakes of one `tls.handshake` run: every address × variant, and
/// the pinned-version probes made when the version was the problem.
public struct HandshakeMatrix: Sendable {
    public var host: String
    public var attempts: [HandshakeAttempt]
    /// The per-connection deadline each attempt had.
    public var timeout: Duration
    public var versions: [VersionProbe]
    /// The client whose handshake this replays exactly (the proxy), when it is one.
    public var profile: ClientProfile?
    /// For a replay: each chain verified as that client verifies it (its anchors, the name it checks, its depth, serverAuth).
    public var checks: [ChainCheck]

    public init(host: String, attempts: [HandshakeAttempt], timeout: Duration, versions: [VersionProbe] = [], profile: ClientProfile? = nil,
                checks: [ChainCheck] = []) {
        self.host = host
        self.attempts = attempts
        self.timeout = timeout
        self.versions = versions
        self.profile = profile
        self.checks = checks
    }
}

/// One pinned-version handshake: what the server answers to that version alone.
public struct VersionProbe: Sendable, Hashable {
    public var version: String
    public var accepted: Bool
    public var message: Message
    /// The probe's own client port (its connection in a capture is triage's).
    public var localPort: UInt16?

    public init(version: String, accepted: Bool, message: Message, localPort: UInt16? = nil) {
        self.version = version
        self.accepted = accepted
        self.message = message
        self.localPort = localPort
    }
}

/// Chains as a client would judge them: each verified against the anchors, at a time, for a name.
public struct ChainReview: Sendable {
    public var checks: [ChainCheck]
    /// The name the leaf must match.
    public var host: String?
    /// Warn when a certificate expires within this many days.
    public var warnDays: Int
    /// The time the chains are judged at.
    public var at: Date

    public init(checks: [ChainCheck], host: String?, warnDays: Int, at: Date) {
        self.checks = checks
        self.host = host
        self.warnDays = warnDays
        self.at = at
    }
}

/// What a capture held, reduced as it streamed by, with its chains verified.
public struct CaptureReview: Sendable {
    public var digest: CaptureDigest
    /// The chains sent in clear as a client verifies them, by `CaptureDigest.chainKey`.
    public var checks: [String: ChainCheck]
    /// The name certificates must match (default: each ClientHello's SNI).
    public var host: String?
    /// `--at`: certificates judged as of this time, not the capture's.
    public var at: Date?

    public init(digest: CaptureDigest, checks: [String: ChainCheck], host: String?, at: Date? = nil) {
        self.digest = digest
        self.checks = checks
        self.host = host
        self.at = at
    }
}
