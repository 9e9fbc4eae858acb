import Foundation

/// One exchange a step saw on the wire, as the report's sequence diagram
/// draws it: who sent what to whom, and what came back. A handshake attempt
/// is one (ClientHello → alert 80), an HTTP request is one (GET /test →
/// 502), a DNS question is one.
public struct Observation: Sendable, Hashable {
    /// The parties of the request's path.
    public enum Party: String, Sendable, Hashable, Codable {
        /// The user's client; triage stands in for it.
        case client
        /// The `--via` proxy.
        case proxy
        /// The HTTPS server the proxy (or the client) connects to.
        case upstream
        /// The DNS resolver.
        case resolver
    }

    /// The connection it belongs to, in the diagnosis's terms (who it stands for).
    public var path: FindingPath
    public var from: Party
    public var to: Party
    /// What was sent: "ClientHello without SNI", "GET /test".
    public var request: Message
    /// What came back: "fatal alert 80 internal_error", "HTTP 502".
    public var answer: Message
    /// Whether the answer is a success for this exchange.
    public var ok: Bool
    /// The server's address or URL, for the participant's label.
    public var server: String
    /// The exchange ended in the client's own alert (a legacy server it refused, a chain too large):
    /// drawn from the client, not as the server's answer.
    public var endedByClient = false

    public init(path: FindingPath, from: Party, to: Party, request: Message, answer: Message, ok: Bool, server: String) {
        self.path = path
        self.from = from
        self.to = to
        self.request = request
        self.answer = answer
        self.ok = ok
        self.server = server
    }
}

/// Something that happened in the incident's world — not a step of triage's
/// own: a certificate's validity starting or ending, the proxy logging its
/// first and last upstream error, an alert crossing the wire in a capture.
/// The report's timeline is these, in order, with the run itself.
public struct TimelineEvent: Sendable, Hashable {
    public var at: Date
    public var message: Message
    /// The clock the time was read from, when it is not UTC (nginx logs local time).
    public var clock: Message?

    public init(at: Date, _ message: Message, clock: Message? = nil) {
        self.at = at
        self.message = message
        self.clock = clock
    }
}
