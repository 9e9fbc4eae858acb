import TriageWire

/// Likely causes of an alert, by who sent it — `alert.CODE.SENDER.N` in the
/// text tables. An alert's meaning depends on the sender: alert 80 from the
/// server means it aborts (a broken certificate, a missing SNI), while
/// alert 80 from an OpenSSL 3 client is usually that client refusing a
/// legacy peer.
public enum AlertCauses {
    public static func likely(_ code: UInt8, sender: Peer) -> [Message] {
        let english = TextTable.english
        return (1...9).lazy.map { Message(raw: "alert.\(code).\(sender.rawValue).\($0)") }
            .prefix { english[$0.key] != nil }.map { $0 }
    }

    public static func hasEntry(_ code: UInt8) -> Bool { !likely(code, sender: .server).isEmpty || !likely(code, sender: .client).isEmpty }

    /// The registry's meaning of the code in the table's language (`alert.CODE.meaning`).
    public static func meaning(_ code: UInt8) -> Message { Message(raw: "alert.\(code).meaning") }
}

extension Message {
    /// A key of a table family whose members are data (`alert.80.server.1`),
    /// checked by the tables' completeness test rather than by `MessageKey`.
    public init(raw key: String, _ args: [String: Value] = [:]) {
        self.key = key
        self.args = args
    }
}
