import Foundation
import TriageKit
import TriageWire

/// The connections of a capture as a report sees them: a table, groups of
/// alike connections, and findings.
struct CaptureView {
    let connections: [CapturedConnection]
    let host: String?

    struct Group { var label: String; var count: Int; var first: CapturedConnection }

    static func endpoint(_ e: TCPConversation.Endpoint) -> String {
        e.address.count == 16 ? "[\(IPv6.text(e.address))]:\(e.port)" : "\(e.address.map(String.init).joined(separator: ".")):\(e.port)"
    }

    func time(_ c: CapturedConnection) -> Date { Date(timeIntervalSince1970: Double(c.firstMicroseconds) / 1_000_000) }

    func outcome(_ c: CapturedConnection) -> String {
        if let alert = c.alerts.first(where: { $0.level == 2 }) ?? c.alerts.first {
            let name = AlertDescription.named(alert.code)?.name ?? "unknown"
            return "\(alert.level == 2 ? "fatal" : "warning") alert \(alert.code) \(name) from the \(alert.sender.rawValue)"
        }
        if c.serverSide.helloSeen { return "handshake \(ProtocolVersion.name(c.serverSide.selectedVersion ?? 0))" }
        return "no ServerHello"
    }

    var groups: [Group] {
        var order: [String] = []
        var byLabel: [String: Group] = [:]
        for c in connections {
            let label = "\(outcome(c)), \(c.clientSide.sni.map { "SNI \($0)" } ?? "no SNI")"
            if byLabel[label] == nil { order.append(label); byLabel[label] = Group(label: label, count: 0, first: c) }
            byLabel[label]!.count += 1
        }
        return order.map { byLabel[$0]! }.sorted { $0.count > $1.count }
    }

    var table: String {
        connections.map { c in
            var line = "\(ISO8601.string(time(c))) \(Self.endpoint(c.client)) → \(Self.endpoint(c.server)) sni=\(c.clientSide.sni ?? "none")"
            line += " offered=\(c.clientSide.offeredVersions.map(ProtocolVersion.name).joined(separator: ","))"
            if let v = c.serverSide.selectedVersion { line += " selected=\(ProtocolVersion.name(v))" }
            if let cipher = c.serverSide.selectedCipher { line += " cipher=0x\(String(cipher, radix: 16))" }
            for a in c.alerts { line += " alert=\(a.level == 2 ? "fatal" : "warning"):\(a.code)(\(a.sender.rawValue))" }
            for der in c.serverSide.certificates {
                if let cert = try? Certificate(der: der) { line += " cert=[\(cert.subject) notAfter=\(ISO8601.string(cert.notAfter))]" }
            }
            if c.serverSide.certificateRequest { line += " certificate-request" }
            if c.gaps { line += " (packets lost)" }
            return line
        }.joined(separator: "\n")
    }

    func value(_ c: CapturedConnection) -> Value {
        [
            "client": .string(Self.endpoint(c.client)), "server": .string(Self.endpoint(c.server)),
            "sni": c.clientSide.sni.map(Value.string) ?? .null, "time": .string(ISO8601.string(time(c))),
            "version": c.serverSide.selectedVersion.map { .string(ProtocolVersion.name($0)) } ?? .null,
            "alerts": .list(c.alerts.map { ["code": .int(Int($0.code)), "level": .int(Int($0.level)), "sender": .string($0.sender.rawValue)] }),
            "certificates": .list(c.serverSide.certificates.compactMap { try? Certificate(der: $0) }.map {
                ["subject": .string($0.subject), "not_after": .string(ISO8601.string($0.notAfter))] }),
        ]
    }

    var findings: [Finding] {
        var out: [Finding] = []
        let sniWorks = connections.contains { $0.clientSide.sni != nil && $0.serverSide.helloSeen && $0.alerts.allSatisfy { $0.level != 2 } }
        for group in groups {
            let c = group.first
            let subject = Self.endpoint(c.server)
            let facts = [Fact("connections", .int(group.count)), Fact("first seen", .string(ISO8601.string(time(c)))),
                         Fact("server", .string(subject)), Fact("sni", .string(c.clientSide.sni ?? "none"))]
            guard let alert = c.alerts.first(where: { $0.level == 2 }) else { continue }
            let name = AlertDescription.named(alert.code)?.name ?? "unknown"
            let alertFacts = facts + [Fact("alert", .int(Int(alert.code))), Fact("alert name", .string(name)), Fact("sender", .string(alert.sender.rawValue))]
            let what = "\(group.count) connection(s) to \(subject) ended with fatal alert \(alert.code) \(name) from the \(alert.sender.rawValue)"
            switch (alert.sender, alert.code) {
            case (.server, _) where c.clientSide.sni == nil && (sniWorks || alert.code == 80 || alert.code == 112):
                out.append(Finding(.alertWithoutSNI, summary: "\(what); their ClientHello carried no SNI", subject: subject, facts: alertFacts))
            case (.server, 116):
                out.append(Finding(.clientCertRequired, summary: "\(what): the server wants a client certificate", subject: subject, facts: alertFacts))
            case (.server, 40) where c.serverSide.certificateRequest:
                out.append(Finding(.clientCertRequired, summary: "\(what): the server asked for a client certificate", subject: subject, facts: alertFacts))
            case (_, 70):
                out.append(Finding(.protocolVersion, summary: what, subject: subject, facts: alertFacts))
            case (.server, 40), (.server, 71):
                out.append(Finding(.noSharedCipher, summary: what, subject: subject, facts: alertFacts))
            case (.client, 45):
                out.append(Finding(.certExpired, summary: "\(what): the client found the server certificate expired", subject: subject, facts: alertFacts))
            case (.client, 48):
                out.append(Finding(.untrustedIssuer, summary: "\(what): the client does not trust the issuer", subject: subject, facts: alertFacts))
            case (.client, 42), (.client, 46):
                out.append(Finding(.untrustedIssuer, summary: "\(what): the client rejected the certificate", subject: subject, facts: alertFacts))
            case (_, 112):
                out.append(Finding(.hostnameMismatch, summary: "\(what): the server does not know the name sent", subject: subject, facts: alertFacts))
            default:
                out.append(Finding(.noSharedCipher, summary: what, subject: subject, facts: alertFacts))
            }
        }
        // Certificates sent in clear: their dates at the time of the capture.
        var seen = Set<[UInt8]>()
        for c in connections {
            let chain = c.serverSide.certificates.compactMap { try? Certificate(der: $0) }
            guard !chain.isEmpty, seen.insert(c.serverSide.certificates[0]).inserted else { continue }
            let assessment = ChainAssessment(certificates: chain, host: host ?? c.clientSide.sni, now: time(c), warnDays: 0,
                                             verification: ChainVerification(problems: []), caFile: nil)
            out += assessment.findings.filter { $0.cause != .hostnameMismatch || host != nil }.map { finding in
                var f = finding
                f.facts.append(Fact("seen at", .string(ISO8601.string(time(c)))))
                f.summary += " (as seen in the capture at \(ISO8601.string(time(c))), \(Self.endpoint(c.server)))"
                return f
            }
        }
        return out
    }
}
