import TriageWire

/// A sentence by reference: a key into the language tables
/// (`templates/text.LANG.txt`) and typed arguments. Code decides what to
/// say; the table of the report's language decides the words.
public struct Message: Sendable, Hashable, Codable {
    /// The table key: a `MessageKey`, or a cause's `cause.CODE.title` / `.remedy`.
    public var key: String
    public var args: [String: Value]

    public init(_ key: MessageKey, _ args: [String: Value] = [:]) {
        self.key = key.rawValue
        self.args = args
    }

    /// A cause's title or default remedy.
    public init(cause: Cause, _ part: CausePart, _ args: [String: Value] = [:]) {
        key = "cause.\(cause.code).\(part.rawValue)"
        self.args = args
    }

    public enum CausePart: String, Sendable, CaseIterable { case title, remedy }

    /// A proxy's own words for a cause's remedy (`remedy.proxy.haproxy.CAUSE`: its directives, not
    /// nginx's), when the tables have them.
    public static func proxyRemedy(_ cause: Cause, proxy: String, _ args: [String: Value] = [:]) -> Message? {
        let key = "remedy.proxy.\(proxy.lowercased()).\(cause.code)"
        return TextTable.english[key] == nil ? nil : Message(raw: key, args)
    }

    /// The message as an argument of another message.
    public var value: Value { .typed(.message(self)) }

    /// "the client" / "the server" in the table's language.
    public static func peer(_ peer: Peer) -> Value { Message(peer == .client ? .peerClient : .peerServer).value }
}
