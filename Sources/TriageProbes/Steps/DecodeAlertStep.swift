import TriageKit
import TriageWire

/// `tls.decode-alert`: turns an alert — a number, a name, the `alert` output
/// of `tls.handshake` or `capture.decode`, or pasted text such as an nginx
/// error-log line — into its name, level, RFC text, sender and the likely
/// causes for that sender. The same decoder backs `triage explain`.
/// Command: `triage explain …`. An nginx line that failed while
/// handshaking to its upstream becomes a `proxy-error` finding naming the
/// upstream address.
public struct DecodeAlertStep: StepKind {
    public let name = "tls.decode-alert"
    public let summary = "explain a TLS alert (code, name, RFC text, sender, likely causes); also reads nginx/OpenSSL/curl error text"
    public let inputs: [InputDeclaration] = [
        .init("alert", .any, "an alert: the alert output of tls.handshake or capture.decode, a number, or a name"),
        .init("sender", .string, "who sent the alert: client or server"),
        .init("text", .string, "text to explain instead: an nginx error-log line, an OpenSSL error, a curl message"),
    ]
    public let outputs: [OutputDeclaration] = [
        .init("alert", .alert, "the alert decoded"),
        .init("code", .integer, "its code"),
        .init("name", .string, "its registry name, e.g. internal_error"),
        .init("sender", .string, "client or server, when known"),
        .init("level", .string, "fatal or warning"),
        .init("openssl_error", .string, "the packed OpenSSL error code the text held, e.g. 0A000438"),
    ]

    public init() {}

    public func run(_ context: StepContext) async throws -> StepOutcome {
        var facts: [Fact] = []
        var explanations: [Explanation]
        var query: String
        var sender = context.string("sender").flatMap(Peer.init(rawValue:))
        var level: AlertLevel = .fatal
        switch context["alert"] {
        case .typed(.alert(let alert)):
            query = "\(alert.code)"
            sender = sender ?? alert.sender
            level = alert.level
            if let server = alert.server { facts.append(Fact(.address, .typed(.endpoint(server)))) }
            if let variant = alert.variant { facts.append(Fact(.variant, variant.label)) }
        case .null:
            guard let text = context.string("text") else { throw StepFailure(.decodeNothing) }
            query = text
        case let other:
            query = other.text
        }
        if let code = UInt8(query), let alert = AlertDescription.named(code) {
            // A number here is an alert, never a curl exit code.
            explanations = [.alert(alert, level: level, sender: sender)]
        } else {
            do {
                explanations = try Explainer.explain(query)
            } catch {
                throw StepFailure(.decodeNotUnderstood, ["text": .string(String(query.prefix(200)))])
            }
        }
        if let sender, let i = explanations.firstIndex(where: { $0.kind == .alert }), let a = explanations[i].alert {
            explanations[i] = .alert(a, level: explanations[i].level ?? level, sender: sender)
        }
        var outputs: [String: Value] = ["alert": .null, "code": .null, "name": .null, "sender": .null, "level": .null, "openssl_error": .null]
        var evidence: [Evidence] = []
        let alertExplanation = explanations.first { $0.kind == .alert }
        if let e = alertExplanation, let a = e.alert {
            let typed = TLSAlert(code: a.code, level: e.level ?? level, sender: e.sender ?? .server)
            outputs["alert"] = .typed(.alert(typed))
            outputs["code"] = .int(Int(a.code))
            outputs["name"] = .string(a.name)
            outputs["sender"] = e.sender.map { .string($0.rawValue) } ?? .null
            outputs["level"] = .string((e.level ?? level).name)
            facts += e.facts.filter { [.code, .name, .level, .sender, .definedIn, .meaning].contains($0.key) }
            facts += e.likelyCauses.map { Fact(.likelyCause, $0) }
        }
        if let openssl = explanations.first(where: { $0.kind == .openssl }), let code = openssl.facts[.opensslError] {
            outputs["openssl_error"] = code
            facts.append(Fact(.opensslError, code))
        }
        if let nginx = explanations.first(where: { $0.kind == .nginx }) {
            facts += nginx.facts
            // A pasted nginx line is the proxy's own word, judged like its error log.
            if let line = NginxLogParser.parse(query) {
                evidence.append(.proxyLog(ProxyLog(file: "-", lines: [line], count: 1, first: line, last: line)))
            }
        }
        return StepOutcome(summary: Message(.joined, ["parts": .list(explanations.map(\.heading.value))]),
                           command: "triage explain \(ShellQuote.quote(query))", facts: facts, outputs: outputs, evidence: evidence,
                           transcript: explanations.map { $0.text() }.joined(separator: "\n\n"))
    }
}
