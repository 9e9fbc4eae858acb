/// One diagnosed fact about the target: its cause, what it is about, the
/// evidence that proves it and what to do — the sentences as messages, so
/// the report's language decides the words.
public struct Finding: Sendable, Hashable {
    public var cause: Cause
    public var severity: Severity
    /// One sentence a ticket can quote: "the certificate for a.test expired on …".
    public var summary: Message
    /// What the finding is about: a host, an `address:port`, a certificate subject.
    public var subject: String
    public var facts: [Fact]
    public var remedy: Message
    /// The step that found it; filled in by the engine.
    public var step: String
    /// Which connection of the story it is about, so the diagnosis can tell
    /// whom it affects (the user's client, the proxy's upstream connection).
    public var path: FindingPath = .all

    /// `remedy` defaults to the cause's own (`cause.CODE.remedy`), filled with `remedyArgs`.
    public init(_ cause: Cause, severity: Severity = .problem, summary: Message, subject: String,
                facts: [Fact] = [], remedy: Message? = nil, remedyArgs: [String: Value] = [:], step: String = "") {
        self.cause = cause
        self.severity = severity
        self.summary = summary
        self.subject = subject
        self.facts = facts
        self.remedy = remedy ?? Message(cause: cause, .remedy, remedyArgs)
        self.step = step
    }
}

extension Finding {
    /// The same finding, tagged with the connection it was seen on.
    public func on(_ path: FindingPath) -> Finding {
        var f = self
        f.path = path
        return f
    }
}

/// The connection a finding was seen on.
public enum FindingPath: Sendable, Hashable {
    /// Every client: DNS, an address that refuses, the server as a whole.
    case all
    /// A handshake made with this SNI variant.
    case handshake(SNIVariant)
    /// The replay of the proxy's own handshake, as its profile makes it (SNI, versions, the name it checks, its anchors).
    case replay
    /// A certificate chain, served to these SNI variants (verification is the client's business).
    case chain([SNIVariant])
    /// An HTTP request: the user's client directly, or through the proxy.
    case http(HTTPExchange.Role)
    /// The proxy's own error log.
    case proxyLog
    /// A connection seen in a capture; `sni` is false when its ClientHello carried none;
    /// `byProxy` when its client was not triage (in a run with a proxy: the proxy's own connection).
    case capture(sni: Bool, byProxy: Bool = false)
}

/// How much a finding matters.
public enum Severity: String, Sendable, Codable, CaseIterable {
    /// Something is broken: the run's verdict becomes `problem`.
    case problem
    /// Worth a look, not broken yet (a certificate expiring in 12 days).
    case warning
}
