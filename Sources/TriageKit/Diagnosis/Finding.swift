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

/// How much a finding matters.
public enum Severity: String, Sendable, Codable {
    /// Something is broken: the run's verdict becomes `problem`.
    case problem
    /// Worth a look, not broken yet (a certificate expiring in 12 days).
    case warning
}
