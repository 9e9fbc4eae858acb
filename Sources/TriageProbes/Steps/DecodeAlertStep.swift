import TriageKit
import TriageWire

/// `tls.decode-alert`: turns an alert — a number, a name, the `alert` output
/// of `tls.handshake`, or pasted text such as an nginx error-log line — into
/// its name, level, RFC text, sender and the likely causes for that sender.
/// The same decoder backs `triage explain`.
///
/// Inputs: `alert`, `sender` (`client` / `server`), `text`.
/// Outputs: `code`, `name`, `sender`, `level`, `openssl_error` (the packed
/// OpenSSL error code when the text held one). Command: `triage explain …`.
/// An nginx line that failed while handshaking to its upstream becomes a
/// `proxy-error` finding naming the upstream address.
public struct DecodeAlertStep: StepKind {
    public let name = "tls.decode-alert"
    public let summary = "explain a TLS alert (code, name, RFC text, sender, likely causes); also reads nginx/OpenSSL/curl error text"
    public let inputs: [InputDeclaration] = [
        .init("alert", .any, "an alert number or name, or the alert output of tls.handshake"),
        .init("sender", .string, "who sent the alert: client or server"),
        .init("text", .string, "text to explain instead: an nginx error-log line, an OpenSSL error, a curl message"),
    ]

    public init() {}

    public func run(_ context: StepContext) async throws -> StepOutcome {
        var facts: [Fact] = []
        var explanations: [Explanation]
        var query: String
        var sender = context.string("sender").flatMap(Peer.init(rawValue:))
        switch context["alert"] {
        case .object(let alert):
            query = alert["code"]?.text ?? ""
            sender = sender ?? alert["sender"]?.stringValue.flatMap(Peer.init(rawValue:))
            for key in ["address", "variant"] { if let v = alert[key], !v.isNull { facts.append(Fact(key, v)) } }
        case .null:
            guard let text = context.string("text") else {
                throw StepFailure("tls.decode-alert: nothing to decode: give 'alert' (a number or name) or 'text'")
            }
            query = text
        case let other:
            query = other.text
        }
        if let code = UInt8(query), let alert = AlertDescription.named(code) {
            // A number here is an alert, never a curl exit code.
            explanations = [.alert(alert, level: .fatal, sender: sender)]
        } else {
            do {
                explanations = try Explainer.explain(query)
            } catch {
                throw StepFailure(error.description)
            }
        }
        if let sender, let i = explanations.firstIndex(where: { $0.kind == .alert }), let a = explanations[i].alert {
            explanations[i] = .alert(a, level: .fatal, sender: sender)
        }
        var outputs: [String: Value] = [:]
        var findings: [Finding] = []
        let alert = explanations.first { $0.kind == .alert }
        if let alert, let a = alert.alert {
            outputs = ["code": .int(Int(a.code)), "name": .string(a.name),
                       "sender": alert.sender.map { .string($0.rawValue) } ?? .null,
                       "level": alert.facts.first { $0.name == "level" }?.value ?? .null]
            facts += [Fact("alert", .string("\(a.code) \(a.name)")), Fact("defined in", .string(a.reference))]
            if let s = alert.sender { facts.append(Fact("sent by", .string(s.rawValue))) }
        }
        if let openssl = explanations.first(where: { $0.kind == .openssl }),
           let code = openssl.facts.first(where: { $0.name == "error code" })?.value {
            outputs["openssl_error"] = code
        }
        if let nginx = explanations.first(where: { $0.kind == .nginx }) {
            facts += nginx.facts
            let upstream = nginx.facts.first { $0.name == "upstream address" }?.value.text ?? "the upstream"
            let phase = nginx.facts.first { $0.name == "phase" }?.value.text ?? ""
            let how = alert?.alert.map { "the upstream sent fatal alert \($0.code) \($0.name)" } ?? "the handshake failed"
            findings.append(Finding(.proxyError, summary: "nginx failed \(phase.replacingOccurrences(of: "while ", with: "")) \(upstream): \(how); the client got 502",
                                    subject: upstream, facts: nginx.facts + (alert?.alert.map { [Fact("alert", .int(Int($0.code)))] } ?? [])))
        }
        let heading = explanations.map(\.heading).joined(separator: "; ")
        return StepOutcome(summary: heading, command: "triage explain \(ShellQuote.quote(query))", facts: facts,
                           outputs: outputs, findings: findings,
                           transcript: explanations.map(\.text).joined(separator: "\n\n"))
    }
}
