import Foundation
import TriageKit

/// `x509.check-dates`: every certificate of a chain — subject, issuer,
/// serial, notBefore / notAfter (ISO 8601 UTC), days left, expired or not
/// yet valid at the run's start, SANs and the host match, key, signature,
/// self-signed — and whether the chain reaches a trusted root.
///
/// Inputs: `chains` (the `chains` output of tls.handshake), or `chain` (a
/// PEM list, one PEM text, or a file path); `host`; `ca_file`; `warn_days`
/// (30). A chain seen only without SNI while another is served with SNI is
/// listed but raises no certificate finding: tls.handshake reports it as
/// `default-cert-without-sni`.
///
/// Findings: cert-expired, cert-not-yet-valid, intermediate-expired,
/// hostname-mismatch, self-signed, untrusted-issuer, incomplete-chain,
/// weak-key; near expiry is a warning. Command:
/// `openssl s_client … | openssl x509 -noout -dates`.
public struct X509CheckDatesStep: StepKind {
    public let name = "x509.check-dates"
    public let summary = "dates, names, keys and trust of every certificate of a chain"
    public let inputs: [InputDeclaration] = [
        .init("chains", .any, "the chains output of tls.handshake"),
        .init("chain", .any, "a chain: a list of PEM certificates, one PEM text, or a PEM file path"),
        .init("host", .string, "the name the leaf must match"),
        .init("ca_file", .string, "trust this CA bundle instead of the system store"),
        .init("warn_days", .integer, "warn when a certificate expires within this many days (default 30)"),
    ]

    public init() {}

    struct Subject {
        var label: String
        var address: String?
        var serverName: String?
        var certificates: [Certificate]
        var withoutSNIOnly: Bool
    }

    public func run(_ context: StepContext) async throws -> StepOutcome {
        let subjects = try chains(context)
        guard !subjects.isEmpty else { throw StepFailure("x509.check-dates: no certificate to check (give 'chains' or 'chain')") }
        let host = context.string("host")
        let caFile = context.string("ca_file")
        let warnDays = context["warn_days"].intValue ?? 30
        let now = context.runStartedAt
        var facts: [Fact] = []
        var findings: [Finding] = []
        var table: [String] = []
        var checked: [Value] = []
        for subject in subjects {
            let verification = ChainVerification.verify(subject.certificates, caFile: caFile, at: now)
            let assessment = ChainAssessment(certificates: subject.certificates, host: host, now: now, warnDays: warnDays,
                                             verification: verification, caFile: caFile)
            if !subject.withoutSNIOnly { findings += assessment.findings }
            facts += assessment.facts(prefix: subjects.count > 1 ? "\(subject.label) " : "")
            table.append("# \(subject.label)\(subject.withoutSNIOnly ? " (served only without SNI)" : "")\n" + assessment.table)
            checked.append(assessment.summaryValue)
        }
        let leaf = subjects[0].certificates[0]
        let target = subjects[0].address.map { address in
            "openssl s_client -connect \(address)\(subjects[0].serverName.map { " -servername \($0)" } ?? " -noservername") </dev/null 2>/dev/null | openssl x509 -noout -subject -issuer -dates"
        }
        let state = leaf.notAfter < now ? "expired \(ISO8601.string(leaf.notAfter))" : "valid until \(ISO8601.string(leaf.notAfter))"
        return StepOutcome(
            summary: "\(subjects.map(\.certificates.count).reduce(0, +)) certificate(s) in \(subjects.count) chain(s); leaf \(leaf.commonName ?? leaf.subject) \(state)",
            command: target ?? "openssl x509 -noout -subject -issuer -dates -in chain.pem",
            facts: facts,
            outputs: ["certificates": .list(checked), "not_after": .string(ISO8601.string(leaf.notAfter)),
                      "days_left": .int(ChainAssessment.days(from: now, to: leaf.notAfter))],
            findings: findings,
            transcript: table.joined(separator: "\n\n"))
    }

    func chains(_ context: StepContext) throws -> [Subject] {
        var out: [Subject] = []
        for value in context["chains"].listValue ?? [] {
            guard let o = value.objectValue else { continue }
            let pem = (o["pem"]?.listValue ?? []).map(\.text).joined()
            let variants = (o["variants"]?.listValue ?? []).map(\.text)
            out.append(Subject(label: "\(o["address"]?.text ?? "?") sni=\(variants.joined(separator: ","))",
                               address: o["address"]?.stringValue, serverName: o["sni"]?.stringValue,
                               certificates: try Certificate.chain(pem: pem), withoutSNIOnly: variants == ["none"]))
        }
        // A chain seen only without SNI is "default" only when another chain was seen with SNI.
        if !out.contains(where: { !$0.withoutSNIOnly }) { out = out.map { var s = $0; s.withoutSNIOnly = false; return s } }
        switch context["chain"] {
        case .list(let items):
            out.append(Subject(label: "chain", certificates: try Certificate.chain(pem: items.map(\.text).joined()), withoutSNIOnly: false))
        case .string(let text) where text.contains("-----BEGIN"):
            out.append(Subject(label: "chain", certificates: try Certificate.chain(pem: text), withoutSNIOnly: false))
        case .string(let path) where !path.isEmpty:
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw StepFailure("cannot read \(path)") }
            out.append(Subject(label: path, certificates: try Certificate.chain(pem: text), withoutSNIOnly: false))
        default:
            break
        }
        return out.filter { !$0.certificates.isEmpty }
    }
}
