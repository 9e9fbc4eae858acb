import Foundation
import TriageKit

/// What is wrong with one chain at a given time, for a given host.
struct ChainAssessment {
    let certificates: [Certificate]
    let host: String?
    let now: Date
    let warnDays: Int
    let verification: ChainVerification
    let caFile: String?

    /// Whole days from `a` to `b`, rounded toward zero: 30.4 days ago is -30.
    static func days(from a: Date, to b: Date) -> Int { Int((b.timeIntervalSince(a) / 86_400).rounded(.towardZero)) }

    var leaf: Certificate { certificates[0] }

    var findings: [Finding] {
        var out: [Finding] = []
        let name = host ?? leaf.commonName ?? leaf.subject
        for (index, cert) in certificates.enumerated() {
            let dates = [Fact("notBefore", .string(ISO8601.string(cert.notBefore))),
                         Fact("notAfter", .string(ISO8601.string(cert.notAfter))),
                         Fact("daysLeft", .int(Self.days(from: now, to: cert.notAfter)))]
            if cert.notAfter < now {
                let ago = Self.days(from: cert.notAfter, to: now)
                if index == 0 {
                    out.append(Finding(.certExpired, summary: "the certificate for \(name) expired on \(ISO8601.string(cert.notAfter)), \(ago) days before this run",
                                       subject: cert.subject, facts: dates))
                } else {
                    out.append(Finding(.intermediateExpired, summary: "the intermediate certificate \(cert.subject) expired on \(ISO8601.string(cert.notAfter)), \(ago) days before this run",
                                       subject: cert.subject, facts: dates))
                }
            } else if cert.notBefore > now {
                out.append(Finding(.certNotYetValid, summary: "the certificate \(cert.subject) is not valid until \(ISO8601.string(cert.notBefore)), \(Self.days(from: now, to: cert.notBefore) + 1) days after this run",
                                   subject: cert.subject, facts: dates))
            } else if Self.days(from: now, to: cert.notAfter) < warnDays {
                out.append(Finding(.certExpired, severity: .warning,
                                   summary: "the certificate \(cert.subject) expires on \(ISO8601.string(cert.notAfter)), in \(Self.days(from: now, to: cert.notAfter)) days",
                                   subject: cert.subject, facts: dates))
            }
            if cert.keyType == "rsaEncryption" || cert.keyType == "RSA", cert.keyBits < 2048 {
                out.append(Finding(.weakKey, summary: "the certificate \(cert.subject) has a \(cert.keyBits)-bit RSA key (at least 2048 bits expected)",
                                   subject: cert.subject, facts: [Fact("key", .string("RSA \(cert.keyBits) bits"))]))
            }
        }
        if let host, !leaf.matches(host: host) {
            out.append(Finding(.hostnameMismatch, summary: "the certificate does not name \(host): it names \(leaf.subjectAltNames.isEmpty ? leaf.subject : leaf.subjectAltNames.joined(separator: ", "))",
                               subject: leaf.subject, facts: [Fact("host", .string(host)), Fact("subjectAltNames", .string(leaf.subjectAltNames.joined(separator: ", ")))]))
        }
        let codes = Set(verification.problems.map(\.code))
        let trust = "the trust store \(caFile ?? "of the system")"
        if leaf.isSelfSigned, certificates.count == 1 {
            out.append(Finding(.selfSigned, summary: "the certificate \(leaf.subject) is self-signed and not in \(trust)",
                               subject: leaf.subject, facts: [Fact("issuer", .string(leaf.issuer))]))
        } else if codes.contains(19) || (codes.contains(20) && certificates.count > 1) {
            let top = certificates.last!
            out.append(Finding(.untrustedIssuer, summary: "the chain ends at \(top.isSelfSigned ? top.subject : top.issuer), which is not in \(trust)",
                               subject: leaf.subject, facts: [Fact("issuer", .string(top.isSelfSigned ? top.subject : top.issuer)), Fact("verify", .string(problemText))]))
        } else if codes.contains(20) || codes.contains(21) || codes.contains(2) {
            out.append(Finding(.incompleteChain, summary: "the server sends \(certificates.count) certificate(s) and not the issuer \(leaf.issuer); a client cannot link the leaf to \(trust)",
                               subject: leaf.subject, facts: [Fact("issuer", .string(leaf.issuer)), Fact("verify", .string(problemText))]))
        }
        return out
    }

    var problemText: String {
        verification.problems.map { "\($0.code) \($0.text) (depth \($0.depth))" }.joined(separator: "; ")
    }

    func facts(prefix: String) -> [Fact] {
        var facts: [Fact] = []
        for (index, cert) in certificates.enumerated() {
            let p = "\(prefix)cert \(index)"
            facts.append(Fact("\(p) subject", .string(cert.subject)))
            facts.append(Fact("\(p) notBefore", .string(ISO8601.string(cert.notBefore))))
            facts.append(Fact("\(p) notAfter", .string(ISO8601.string(cert.notAfter))))
            facts.append(Fact("\(p) daysLeft", .int(Self.days(from: now, to: cert.notAfter))))
        }
        if let host { facts.append(Fact("\(prefix)leaf matches \(host)", .bool(leaf.matches(host: host)))) }
        facts.append(Fact("\(prefix)trusted", .string(verification.trusted ? "yes" : "no: \(problemText)")))
        return facts
    }

    var table: String {
        certificates.enumerated().map { index, c in
            let status = c.notAfter < now ? "EXPIRED" : c.notBefore > now ? "NOT YET VALID" : "valid"
            return """
                cert \(index): \(c.subject)
                  issuer:     \(c.issuer)
                  serial:     \(c.serial)
                  notBefore:  \(ISO8601.string(c.notBefore))
                  notAfter:   \(ISO8601.string(c.notAfter))  (\(Self.days(from: now, to: c.notAfter)) days left, \(status))
                  SANs:       \(c.subjectAltNames.joined(separator: ", "))
                  key:        \(c.keyType) \(c.keyBits) bits; signature \(c.signatureAlgorithm)
                  CA: \(c.isCA), self-signed: \(c.isSelfSigned)
                  sha256:     \(c.sha256)
                """
        }.joined(separator: "\n") + "\n  trusted: \(verification.trusted ? "yes" : problemText)"
    }

    var summaryValue: Value {
        .list(certificates.map { c in
            ["subject": .string(c.subject), "issuer": .string(c.issuer), "serial": .string(c.serial),
             "not_before": .string(ISO8601.string(c.notBefore)), "not_after": .string(ISO8601.string(c.notAfter)),
             "days_left": .int(Self.days(from: now, to: c.notAfter)), "expired": .bool(c.notAfter < now),
             "not_yet_valid": .bool(c.notBefore > now), "sans": .list(c.subjectAltNames.map(Value.string)),
             "key": .string("\(c.keyType) \(c.keyBits)"), "signature": .string(c.signatureAlgorithm),
             "self_signed": .bool(c.isSelfSigned)]
        })
    }
}
