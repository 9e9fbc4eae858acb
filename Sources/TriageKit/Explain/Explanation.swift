import TriageWire

/// What `triage explain` and `tls.decode-alert` say about one code: a
/// heading, typed facts and the likely causes, all as messages.
public struct Explanation: Sendable, Hashable {
    public enum Kind: String, Sendable {
        case alert, curl, openssl, x509, nginx, client
    }

    public var kind: Kind
    /// e.g. `TLS alert 80 internal_error (fatal)`.
    public var heading: Message
    public var facts: [Fact]
    public var likelyCauses: [Message]
    /// Set for `.alert`.
    public var alert: AlertDescription?
    public var sender: Peer?
    public var level: AlertLevel?
    /// The causes in triage's vocabulary this code points to, the likeliest first.
    public var causes: [Cause] = []

    public func text(_ table: TextTable = .english) -> String {
        var lines = [table.render(heading)]
        for fact in facts { lines.append("  \(table.label(fact.key)): \(table.format(fact.value))") }
        if !causes.isEmpty, !facts.contains(where: { $0.key == .cause }) {
            lines.append("  \(table.label(.cause)): \(causes.map(\.code).concatenated(separator: ", "))")
        }
        if !likelyCauses.isEmpty {
            lines.append("  \(table.render(.explainLikelyCauses)):")
            lines += likelyCauses.map { "    - \(table.render($0))" }
        }
        return lines.concatenated(separator: "\n")
    }

    /// The explanation of a TLS alert, with causes for the sender when known
    /// (both senders' when not).
    public static func alert(_ a: AlertDescription, level: AlertLevel? = nil, sender: Peer? = nil) -> Explanation {
        let levelText: Message = level.map { Message($0 == .fatal ? .levelFatal : .levelWarning) }
            ?? Message(a.alwaysFatal ? .levelFatal : .levelWarningOrFatal)
        var facts = [Fact(.code, .int(Int(a.code))), Fact(.name, .string(a.name)), Fact(.level, levelText),
                     Fact(.definedIn, .string(a.reference)), Fact(.meaning, AlertCauses.meaning(a.code))]
        if a.deprecated { facts.append(Fact(.note, Message(.explainReservedAlert))) }
        var causes: [Message] = []
        if let sender {
            facts.append(Fact(.sender, Message.peer(sender)))
            causes = AlertCauses.likely(a.code, sender: sender)
        } else {
            causes = AlertCauses.likely(a.code, sender: .server).map { Message(.explainIfServerSent, ["cause": $0.value]) }
                + AlertCauses.likely(a.code, sender: .client).map { Message(.explainIfClientSent, ["cause": $0.value]) }
        }
        var e = Explanation(kind: .alert,
                            heading: Message(.explainAlertHeading, ["code": .int(Int(a.code)), "name": .string(a.name), "level": levelText.value]),
                            facts: facts, likelyCauses: causes, alert: a, sender: sender, level: level)
        // Pasted text quotes an alert its writer received: from the server, unless the text says otherwise.
        e.causes = AlertMeaning.likelyCauses(a.code, sender: sender ?? .server)
        return e
    }

    public static func curl(_ e: CurlError) -> Explanation {
        var x = Explanation(kind: .curl, heading: Message(.explainCurlHeading, ["code": .int(e.code), "name": .string("CURLE_\(e.name)")]),
                            facts: [Fact(.code, .int(e.code)), Fact(.name, .string("CURLE_\(e.name)")), Fact(.meaning, e.meaning.value)],
                            likelyCauses: [])
        x.causes = e.causes
        return x
    }

    /// An X.509 verify result (`X509_V_ERR_*`) and the causes it names.
    /// `code` is one `X509VerifyCode.describe` knows; its meaning is the text tables' `x509.CODE.meaning`.
    public static func x509(_ code: Int, depth: Int? = nil) -> Explanation {
        let meaning = Message(raw: "x509.\(code).meaning").value
        var x = Explanation(kind: .x509, heading: Message(.explainX509Heading, ["code": .int(code), "meaning": meaning]),
                            facts: [Fact(.code, .int(code)), Fact(.meaning, meaning)], likelyCauses: [])
        x.causes = ClientPattern.causes(forVerify: code)
        // An expired certificate above the leaf is an intermediate's (or the root's) date.
        if code == 10, let depth, depth > 0 { x.causes = [.intermediateExpired] }
        return x
    }
}

/// X.509 verify results (`X509_V_ERR_*`, OpenSSL's x509_vfy.h) that show up
/// in nginx's "upstream SSL certificate verify error: (10:certificate has expired)".
public enum X509VerifyCode {
    public static func describe(_ code: Int) -> String? { X509VerifyError(rawValue: code)?.meaning }
}
