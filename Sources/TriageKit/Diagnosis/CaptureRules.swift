import Foundation
import TriageWire

/// Findings from the TLS connections of a capture: alerts by sender (with
/// the no-SNI case), and the certificates sent in clear checked at the time
/// of the capture.
public struct CaptureRules: Sendable {
    public struct Group: Sendable {
        public var label: Message
        public var key: String
        public var count: Int
        public var first: CapturedTLS
    }

    public let connections: [CapturedTLS]
    public let host: String?

    public init(connections: [CapturedTLS], host: String?) {
        self.connections = connections
        self.host = host
    }

    /// Alike connections together, largest group first.
    public var groups: [Group] {
        var order: [String] = []
        var byKey: [String: Group] = [:]
        for c in connections {
            // What the label says (outcome, SNI), without rendering it: 80,000 renders took a second.
            let alert = c.fatalAlert ?? c.alerts.first
            let outcome = alert.map { "alert \($0.code) \($0.level.rawValue) \($0.sender.rawValue)" }
                ?? (c.serverHello ? "handshake \(c.selectedVersion ?? 0)" : "no ServerHello")
            let key = outcome + "|" + (c.sni ?? "")
            if byKey[key] == nil { order.append(key); byKey[key] = Group(label: c.groupLabel, key: key, count: 0, first: c) }
            byKey[key]!.count += 1
        }
        return order.map { byKey[$0]! }.sorted { $0.count > $1.count }
    }

    public var findings: [Finding] {
        var out: [Finding] = []
        let sniWorks = connections.contains { $0.sni != nil && $0.serverHello && $0.fatalAlert == nil }
        for group in groups {
            let c = group.first
            guard let alert = c.fatalAlert else { continue }
            let subject = c.server.description
            let facts = [Fact(.connections, .int(group.count)), Fact(.firstSeen, .typed(.date(c.firstSeen))),
                         Fact(.server, .typed(.endpoint(c.server))), Fact(.sni, .string(c.sni ?? "none")), Fact(.alert, .typed(.alert(alert)))]
            let args: [String: Value] = ["count": .int(group.count), "server": .typed(.endpoint(c.server)), "alert": .typed(.alert(alert))]
            let finding: Finding = switch (alert.sender, alert.code) {
            case (.server, _) where c.sni == nil && (sniWorks || alert.code == 80 || alert.code == 112):
                Finding(.alertWithoutSNI, summary: Message(.findingCaptureNoSNI, args), subject: subject, facts: facts,
                        remedy: Message(.remedySendSNI, ["name": .string(host ?? "HOST"), "address": .typed(.endpoint(c.server)), "alert": .int(Int(alert.code))]))
            case (.server, 116):
                Finding(.clientCertRequired, summary: Message(.findingCaptureClientCert, args), subject: subject, facts: facts)
            case (.server, 40) where c.certificateRequest:
                Finding(.clientCertRequired, summary: Message(.findingCaptureClientCert, args), subject: subject, facts: facts)
            case (_, 70):
                Finding(.protocolVersion, summary: Message(.findingCaptureAlert, args), subject: subject, facts: facts)
            case (.server, 40), (.server, 71):
                Finding(.noSharedCipher, summary: Message(.findingCaptureAlert, args), subject: subject, facts: facts)
            case (.client, 45):
                Finding(.certExpired, summary: Message(.findingCaptureClientExpired, args), subject: subject, facts: facts,
                                   remedyArgs: ["address": .typed(.endpoint(c.server)), "host": .string(c.sni ?? host ?? "HOST")])
            case (.client, 48):
                Finding(.untrustedIssuer, summary: Message(.findingCaptureClientUnknownCA, args), subject: subject, facts: facts)
            case (.client, 42), (.client, 46):
                Finding(.untrustedIssuer, summary: Message(.findingCaptureClientRejected, args), subject: subject, facts: facts)
            case (_, 112):
                Finding(.hostnameMismatch, summary: Message(.findingCaptureUnknownName, args), subject: subject, facts: facts)
            default:
                Finding(.tlsAlert, summary: Message(.findingCaptureAlert, args), subject: subject, facts: facts,
                                   remedyArgs: ["code": .int(Int(alert.code)), "name": .string(alert.name)])
            }
            out.append(finding.on(.capture(sni: c.sni != nil)))
        }
        // Certificates sent in clear: their dates at the time of the capture.
        var seen = Set<String>()
        for c in connections {
            guard let leaf = c.certificates.first, seen.insert(leaf.sha256).inserted else { continue }
            let chain = CertificateChain(certificates: c.certificates, servers: [c.server], serverName: c.sni)
            let check = ChainCheck(chain: chain, verification: ChainVerification(problems: []), caFile: nil)
            let rules = ChainRules(check: check, host: host ?? c.sni, now: c.firstSeen, warnDays: 0)
            out += rules.findings.filter { $0.cause != .hostnameMismatch || host != nil }.map { finding in
                var f = finding
                f.facts.append(Fact(.seenAt, .typed(.date(c.firstSeen))))
                f.summary = Message(.inCapture, ["summary": f.summary.value, "time": .typed(.date(c.firstSeen)), "server": .typed(.endpoint(c.server))])
                return f.on(.capture(sni: c.sni != nil))
            }
        }
        return out
    }
}
