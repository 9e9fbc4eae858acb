import Foundation
import TriageKit
import TriageWire

/// Turns a matrix of handshake attempts into findings, comparing the
/// variants of each address ("with SNI the handshake succeeds; without SNI
/// the server sends fatal alert 80") and the addresses of the name.
struct HandshakeFindings {
    let attempts: [HandshakeAttempt]
    let host: String
    let now: Date

    var findings: [Finding] {
        var out: [Finding] = []
        let byAddress = Dictionary(grouping: attempts, by: \.addressPort)
        for address in orderedAddresses {
            out += findings(for: byAddress[address] ?? [])
        }
        if let mixed = mixedBackends { out.append(mixed) }
        // One finding per cause and subject is enough for a report.
        var seen = Set<String>()
        return out.filter { seen.insert("\($0.cause.code) \($0.subject)").inserted }
    }

    var orderedAddresses: [String] {
        var seen = Set<String>()
        return attempts.map(\.addressPort).filter { seen.insert($0).inserted }
    }

    func findings(for group: [HandshakeAttempt]) -> [Finding] {
        guard let first = group.first else { return [] }
        let subject = first.addressPort
        let withSNI = group.filter { $0.variant != .none }
        let withoutSNI = group.filter { $0.variant == .none }
        var out: [Finding] = []

        if group.allSatisfy({ $0.outcome == .refused }) {
            return [Finding(.connectionRefused, summary: "\(subject) refused the TCP connection: nothing listens on port \(first.port)",
                            subject: subject, facts: [Fact("address", .string(subject))])]
        }
        for a in group {
            switch a.outcome {
            case .timedOut(let phase):
                out.append(Finding(.timeout, summary: "\(subject) (sni \(a.variant)) timed out \(phase)",
                                   subject: subject, facts: [Fact("address", .string(subject)), Fact("variant", .string(a.variant.description)),
                                                             Fact("phase", .string(phase))]))
            case .notTLS(let preview):
                out.append(Finding(.notTLS, summary: "\(subject) does not speak TLS: it answered \(preview)",
                                   subject: subject, facts: [Fact("address", .string(subject)), Fact("answer", .string(preview))]))
            case .refused:
                out.append(Finding(.connectionRefused, summary: "\(subject) refused the TCP connection", subject: subject,
                                   facts: [Fact("address", .string(subject))]))
            default:
                break
            }
        }
        let sniWorks = withSNI.contains { $0.established }
        for a in withoutSNI where sniWorks {
            let good = withSNI.first { $0.established }!
            if let alert = a.fatalAlert, alert.sender == .server {
                out.append(Finding(.alertWithoutSNI,
                                   summary: "without SNI the server sends fatal alert \(alert.code) \(alert.name); with SNI (\(good.serverName ?? host)) the handshake succeeds",
                                   subject: subject, facts: alertFacts(alert, a) + [Fact("with SNI", .string(good.outcomeText))],
                                   remedy: sniRemedy(good, alert: "alert \(alert.code)")))
            } else if case .failed(let why) = a.outcome {
                out.append(Finding(.alertWithoutSNI, summary: "without SNI the handshake fails (\(why)); with SNI (\(good.serverName ?? host)) it succeeds",
                                   subject: subject, facts: [Fact("variant", "none"), Fact("error", .string(why))]))
            } else if a.established, let leaf = a.chain.first, let goodLeaf = good.chain.first, leaf.sha256 != goodLeaf.sha256,
                      let problem = problem(with: leaf) {
                out.append(Finding(.defaultCertWithoutSNI,
                                   summary: "without SNI the server presents another certificate (\(leaf.subject)), which \(problem); with SNI it presents \(goodLeaf.subject)",
                                   subject: subject,
                                   facts: [Fact("variant", "none"), Fact("subject", .string(leaf.subject)),
                                           Fact("notBefore", .string(ISO8601.string(leaf.notBefore))),
                                           Fact("notAfter", .string(ISO8601.string(leaf.notAfter))),
                                           Fact("subjectAltNames", .string(leaf.subjectAltNames.joined(separator: ", "))),
                                           Fact("with SNI", .string(goodLeaf.subject))]))
            }
        }
        if !sniWorks {
            let sample = withSNI.first ?? first
            if let finding = protocolFinding(sample) { out.append(finding) }
        }
        return out
    }

    /// Send SNI from the proxy, and the two commands that show the difference.
    func sniRemedy(_ good: HandshakeAttempt, alert: String) -> String {
        let name = good.serverName ?? host
        return "Make the proxy send SNI: in the nginx location add `proxy_ssl_server_name on;` and `proxy_ssl_name \(name);` "
            + "(without proxy_ssl_name nginx sends the upstream block's name), then reload nginx; or give the server a default "
            + "certificate for clients without SNI. Proof: `openssl s_client -connect \(good.addressPort) -servername \(name) </dev/null` "
            + "completes, while `openssl s_client -connect \(good.addressPort) -noservername </dev/null` gets \(alert)."
    }

    /// Why a certificate served without SNI is broken, if it is.
    func problem(with cert: Certificate) -> String? {
        if cert.notAfter < now { return "expired on \(ISO8601.string(cert.notAfter))" }
        if cert.notBefore > now { return "is not valid before \(ISO8601.string(cert.notBefore))" }
        if !cert.matches(host: host) { return "does not name \(host) (\(cert.subjectAltNames.joined(separator: ", ")))" }
        return nil
    }

    func alertFacts(_ alert: TLSAlertEvent, _ a: HandshakeAttempt) -> [Fact] {
        [Fact("alert", .int(Int(alert.code))), Fact("alert name", .string(alert.name)), Fact("sender", .string(alert.sender.rawValue)),
         Fact("variant", .string(a.variant.description)), Fact("address", .string(a.addressPort))]
    }

    /// A handshake that fails with SNI too: what the alert and errors say.
    func protocolFinding(_ a: HandshakeAttempt) -> Finding? {
        let subject = a.addressPort
        let errors = a.errors.joined(separator: "; ").lowercased()
        if let alert = a.fatalAlert {
            let facts = alertFacts(alert, a) + (a.acceptableCAs.isEmpty ? [] : [Fact("acceptable CAs", .string(a.acceptableCAs.joined(separator: "; ")))])
            let who = "the \(alert.sender.rawValue) sent fatal alert \(alert.code) \(alert.name)"
            if alert.code == 116 || (a.certificateRequested && alert.sender == .server && [40, 42, 46, 48].contains(alert.code)) {
                let cas = a.acceptableCAs.isEmpty ? "" : " (acceptable CAs: \(a.acceptableCAs.joined(separator: "; ")))"
                return Finding(.clientCertRequired, summary: "the server requires a client certificate and none was sent: \(who)\(cas)",
                               subject: subject, facts: facts)
            }
            if alert.code == 70 || errors.contains("unsupported protocol") || errors.contains("legacy sigalg")
                || errors.contains("no protocols available") || (alert.sender == .client && alert.code == 80) {
                let offered = a.messages.first { $0.sender == .server && $0.description.contains("ServerHello") } != nil
                    ? "the server answered with an old protocol version" : "no protocol version in common"
                return Finding(.protocolVersion, summary: "\(offered): \(who)\(a.errors.last.map { " (\($0))" } ?? "")",
                               subject: subject, facts: facts + [Fact("openssl", .string(a.errors.last ?? ""))])
            }
            if [40, 71].contains(alert.code) {
                return Finding(.noSharedCipher, summary: "no cipher suite or group in common: \(who)", subject: subject, facts: facts)
            }
            if alert.code == 112 {
                return Finding(.hostnameMismatch, summary: "the server does not know the name \(a.serverName ?? host): \(who)",
                               subject: subject, facts: facts)
            }
            let protocolError: Set<UInt8> = [10, 47, 50, 86, 109, 110]
            return Finding(protocolError.contains(alert.code) ? .protocolVersion : .noSharedCipher,
                           summary: "the handshake fails with SNI too: \(who)", subject: subject, facts: facts)
        }
        if errors.contains("unsupported protocol") || errors.contains("no protocols available") {
            return Finding(.protocolVersion, summary: "no TLS version in common (\(a.errors.last ?? ""))", subject: subject,
                           facts: [Fact("openssl", .string(a.errors.last ?? ""))])
        }
        return nil
    }

    /// The addresses of one name disagree: some handshakes work, some fail,
    /// or they present different certificates. Names the bad addresses and
    /// what is wrong there.
    var mixedBackends: Finding? {
        let addresses = orderedAddresses
        guard addresses.count > 1 else { return nil }
        let byAddress = Dictionary(grouping: attempts.filter { $0.variant != .none }, by: \.addressPort)
        let signatures = addresses.map { address in
            (byAddress[address] ?? []).map { "\($0.established)/\($0.chain.first?.sha256 ?? "-")" }.joined(separator: ",")
        }
        guard Set(signatures).count > 1 else { return nil }
        func problem(_ address: String) -> String? {
            let group = byAddress[address] ?? []
            if let failed = group.first(where: { !$0.established }) { return failed.outcomeText }
            return group.compactMap { $0.chain.first.flatMap(self.problem(with:)) }.first.map { "its certificate \($0)" }
        }
        let bad = addresses.filter { problem($0) != nil }
        let good = addresses.filter { problem($0) == nil }
        let facts = addresses.map { Fact($0, .string(problem($0) ?? "ok: " + (byAddress[$0] ?? []).map(\.outcomeText).joined(separator: "; "))) }
        let what = bad.map { "\($0) (\(problem($0)!))" }.joined(separator: ", ")
        let summary = bad.isEmpty
            ? "the \(addresses.count) addresses of \(host) present different certificates: \(addresses.joined(separator: ", "))"
            : "the addresses of \(host) disagree: \(what) is broken\(good.isEmpty ? "" : " while \(good.joined(separator: ", ")) works")"
        return Finding(.mixedBackends, summary: summary, subject: bad.isEmpty ? host : bad.joined(separator: ", "), facts: facts,
                       remedy: "Fix \(bad.isEmpty ? "the odd address" : bad.joined(separator: ", ")) or take it out of DNS / the load balancer until it matches the others.")
    }
}
