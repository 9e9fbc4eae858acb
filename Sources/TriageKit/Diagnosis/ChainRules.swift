import Foundation

/// What is wrong with one verified chain, for a host, at a time: dates of
/// every certificate, names, key sizes, and trust — telling "the server
/// omits an intermediate" from "the issuer is not trusted here".
public struct ChainRules: Sendable {
    public let check: ChainCheck
    public let host: String?
    public let now: Date
    public let warnDays: Int
    /// `cert-expires-soon` within this many days, unless `--warn-days` says otherwise: three weeks,
    /// inside the 30 days a public CA's renewal runs ahead and well before an expiry can page.
    public static let defaultWarnDays = 21

    /// Certificates other clients' verified paths hold (another anchor set, the system store):
    /// whether a missing issuer is a root or an intermediate, when this anchor set cannot say.
    public var known: [Certificate] = []

    /// Dates are judged at `--at`'s date, not the run's: the sentences say so.
    public var atGiven = false
    /// Judged as of the time a capture saw the chain (`analyze`), not this run's.
    public var atCapture = false
    var when: Value { Message(atGiven ? .whenAt : atCapture ? .whenCapture : .whenRun).value }

    public init(check: ChainCheck, host: String?, now: Date, warnDays: Int, known: [Certificate] = []) {
        self.check = check
        self.host = host
        self.now = now
        self.warnDays = warnDays
        self.known = known
    }

    var certificates: [Certificate] { check.chain.certificates }

    func dateFacts(_ cert: Certificate) -> [Fact] {
        [Fact(.subject, .string(cert.subject)), Fact(.notBefore, .typed(.date(cert.notBefore))),
         Fact(.notAfter, .typed(.date(cert.notAfter))), Fact(.daysLeft, .int(cert.daysLeft(at: now)))]
    }

    public var findings: [Finding] {
        guard let leaf = certificates.first else { return [] }
        var out: [Finding] = []
        let name = Value.string(host ?? leaf.displayName)
        for (index, cert) in certificates.enumerated() {
            let facts = dateFacts(cert)
            if cert.isExpired(at: now) {
                let ago = Value.int(Certificate.days(from: cert.notAfter, to: now))
                if index == 0 {
                    out.append(Finding(.certExpired, summary: Message(.findingCertExpired, ["host": name, "date": .typed(.date(cert.notAfter)), "days": ago, "when": when]),
                                       subject: cert.subject, facts: facts, remedyArgs: remedyArgs))
                } else {
                    out.append(Finding(.intermediateExpired,
                                       summary: Message(.findingIntermediateExpired, ["subject": .string(cert.subject), "date": .typed(.date(cert.notAfter)), "days": ago, "when": when]),
                                       subject: cert.subject, facts: facts))
                }
            } else if cert.isNotYetValid(at: now) {
                // Within a day of now, a clock that is behind explains it better than the certificate does.
                let ahead = cert.notBefore.timeIntervalSince(now)
                let clock = ahead < 86_400 ? Message(.remedyClockBehind, ["hours": .string(TextFormat.fixed(ahead / 3600, 1))]) : nil
                // Within a day, in hours: "1 day(s) after this run" beside "1.0 h after this machine's clock" read as a contradiction.
                let summary = ahead < 86_400
                    ? Message(.findingNotYetValidHours, ["subject": .string(cert.subject), "date": .typed(.date(cert.notBefore)),
                                                         "hours": .string(TextFormat.fixed(ahead / 3600, 1)), "when": when])
                    : Message(.findingNotYetValid, ["subject": .string(cert.subject), "date": .typed(.date(cert.notBefore)),
                                                    "days": .int(Certificate.days(from: now, to: cert.notBefore) + 1), "when": when])
                out.append(Finding(.certNotYetValid, summary: summary, subject: cert.subject, facts: facts, remedy: clock))
            } else if cert.daysLeft(at: now) < warnDays {
                out.append(Finding(.certExpiresSoon, severity: .warning,
                                   summary: Message(.findingExpiresSoon, ["subject": .string(cert.subject), "date": .typed(.date(cert.notAfter)),
                                                                          "days": .int(cert.daysLeft(at: now))]),
                                   subject: cert.subject, facts: facts,
                                   remedyArgs: ["subject": .string(cert.displayName), "date": .typed(.date(cert.notAfter))]))
            }
            if cert.hasWeakKey {
                out.append(Finding(.weakKey, summary: Message(.findingWeakKey, ["subject": .string(cert.subject), "algorithm": .string(cert.keyAlgorithm.description),
                                                                                "bits": .int(cert.keyBits)]),
                                   subject: cert.subject, facts: [Fact(.key, .string("\(cert.keyAlgorithm) \(cert.keyBits)"))]))
            }
        }
        out += pathExpiresSoon
        if let host, nameMismatch {
            let sans = Value.list(leaf.alternativeNames.map { .string($0.description) })
            out.append(Finding(.hostnameMismatch, summary: Message(.findingHostnameMismatch, ["host": .string(host), "sans": sans, "subject": .string(leaf.subject)]),
                               subject: leaf.subject, facts: [Fact(.host, .string(host)), Fact(.sans, sans)]))
        }
        if let trust = trustFinding { out.append(trust) }
        if let stores = storesFinding { out.append(stores) }
        out += otherVerifyFindings
        out += pathDateFindings(reported: Set(out.map(\.subject)))
        // One source that answered (revoked, or a verified and current good: no finding) makes the other's
        // "not checked" moot: revocation was checked.
        let fromOCSP = check.ocsp.flatMap { revocationFinding(leaf, $0, crl: false) }
        let fromCRL = check.crl.flatMap { revocationFinding(leaf, $0, crl: true) }
        let answered = (check.ocsp != nil && fromOCSP?.cause != .revocationUnchecked) || (check.crl != nil && fromCRL?.cause != .revocationUnchecked)
        out += [fromOCSP, fromCRL].compactMap { $0 }.filter { !(answered && $0.cause == .revocationUnchecked) }
        let variants = check.chain.variants
        return out.map { $0.on(.chain(variants)) }
    }

    /// What the CA's OCSP responder (`--fetch-ocsp`) or CRL (`--fetch-crl`) said of the leaf: revoked is a
    /// problem; a responder or CRL that could not be fetched, or an answer that is not a verified good or
    /// revoked for this leaf (a CRL past its nextUpdate too), is a warning — revocation unknown, never the
    /// endpoint's failure. Good says nothing.
    func revocationFinding(_ leaf: Certificate, _ ocsp: ChainCheck.FetchedOCSP, crl: Bool) -> Finding? {
        let subject = Value.string(leaf.displayName), url = Value.string(ocsp.url)
        var facts = [Fact(.url, url)]
        // A CRL's own advice (the cause's is about OCSP).
        let remedy: Message? = crl ? Message(.remedyCRLUnchecked, ["url": url]) : nil
        guard let response = ocsp.response else {
            facts.append(Fact(.error, .string(ocsp.error ?? "—")))
            return Finding(.revocationUnchecked, severity: .warning,
                           summary: Message(crl ? .findingCRLUnreachable : .findingOCSPUnreachable, ["subject": subject, "url": url, "error": .string(ocsp.error ?? "—")]),
                           subject: leaf.subject, facts: facts, remedy: remedy)
        }
        if let next = response.nextUpdate { facts.append(Fact(.nextUpdate, .typed(.date(next)))) }
        switch (response.status, response.verified) {
        case (.revoked, true):
            return Finding(.certRevoked, summary: Message(crl ? .findingCRLRevoked : .findingOCSPRevoked, ["subject": subject, "url": url,
                                                                                 "date": response.revokedAt.map { .typed(.date($0)) } ?? .string("—")]),
                           subject: leaf.subject, facts: facts)
        case (.good, true) where response.nextUpdate.map { $0 >= now } ?? true:
            return nil
        default:
            let stale = response.nextUpdate.map { $0 < now } ?? false
            let status: Value
            if crl {
                // What is wrong with the CRL, not the certificate's status (a "good" in it says nothing then).
                status = !response.verified ? Message(.crlNotIssuers).value
                    : Message(.crlStale, ["date": response.nextUpdate.map { .typed(.date($0)) } ?? .string("—")]).value
            } else {
                let text = response.verified ? response.status.rawValue : "\(response.status.rawValue), not verified"
                status = .string(stale ? "\(text), stale" : text)
            }
            return Finding(.revocationUnchecked, severity: .warning,
                           summary: Message(crl ? .findingCRLUnusable : .findingOCSPUnusable, ["subject": subject, "url": url, "status": status]),
                           subject: leaf.subject, facts: facts, remedy: remedy)
        }
    }

    /// A certificate of the verified path the server did not send (the trust anchor, an intermediate of
    /// the store) that expires within the warning window: the chain stops verifying on that date as
    /// surely as with an expiring leaf (DST Root CA X3, 2021), and renewing the leaf does not help.
    var pathExpiresSoon: [Finding] {
        let sent = Set(certificates.map(\.der))
        return check.path.filter { !sent.contains($0.der) && !$0.isExpired(at: now) && !$0.isNotYetValid(at: now) && $0.daysLeft(at: now) < warnDays }
            .map { cert in
                Finding(.certExpiresSoon, severity: .warning,
                        summary: Message(.findingExpiresSoon, ["subject": .string(cert.subject), "date": .typed(.date(cert.notAfter)),
                                                               "days": .int(cert.daysLeft(at: now))]),
                        subject: cert.subject, facts: dateFacts(cert),
                        remedy: Message(.remedyPathExpiresSoon, ["subject": .string(cert.displayName), "date": .typed(.date(cert.notAfter))]))
            }
    }

    /// A certificate the server did not send but the verified path holds (an anchor from the store,
    /// an intermediate the store supplied) that expired or is not valid yet: OpenSSL says so at its
    /// depth, and the path names it — an expired root given as the only anchor fails every client.
    func pathDateFindings(reported: Set<String>) -> [Finding] {
        var out: [Finding] = []
        for p in check.verification.problems where p.error == .certHasExpired || p.error == .certNotYetValid {
            guard p.depth >= certificates.count, check.path.indices.contains(p.depth) else { continue }
            let cert = check.path[p.depth]
            guard !reported.contains(cert.subject) else { continue }
            let facts = dateFacts(cert) + [Fact(.verifyError, .list([.string("\(p.code) \(p.text) (depth \(p.depth))")]))]
            if p.error == .certHasExpired {
                out.append(Finding(.intermediateExpired,
                                   summary: Message(.findingIntermediateExpired, ["subject": .string(cert.subject), "date": .typed(.date(cert.notAfter)),
                                                                                  "days": .int(Certificate.days(from: cert.notAfter, to: now)), "when": when]),
                                   subject: cert.subject, facts: facts))
            } else {
                out.append(Finding(.certNotYetValid,
                                   summary: Message(.findingNotYetValid, ["subject": .string(cert.subject), "date": .typed(.date(cert.notBefore)),
                                                                          "days": .int(Certificate.days(from: now, to: cert.notBefore) + 1), "when": when]),
                                   subject: cert.subject, facts: facts))
            }
        }
        return out
    }

    /// OpenSSL's answer to whether the leaf is for `host` (X509_check_host / X509_check_ip
    /// while verifying): never a match of printed names.
    var nameMismatch: Bool {
        check.name != nil && (check.verification.has(.hostnameMismatch) || check.verification.has(.ipAddressMismatch))
    }

    /// The verification errors no finding above names: a wrong purpose, and any other
    /// `X509_V_ERR_*` with OpenSSL's code and text — a chain that does not verify is never "ok".
    var otherVerifyFindings: [Finding] {
        let named: Set<X509VerifyError> = [.certHasExpired, .certNotYetValid, .depthZeroSelfSignedCert, .selfSignedCertInChain,
                                           .unableToGetIssuerCert, .unableToGetIssuerCertLocally, .unableToVerifyLeafSignature, .certChainTooLong,
                                           .hostnameMismatch, .ipAddressMismatch, .eeKeyTooSmall, .caKeyTooSmall]
        guard let leaf = certificates.first else { return [] }
        var out: [Finding] = []
        var seen = Set<Int>()
        for p in check.verification.problems where !named.contains(p.error) && seen.insert(p.code).inserted {
            let subject = certificates.indices.contains(p.depth) ? certificates[p.depth].subject : leaf.subject
            let facts = [Fact(.verifyCode, .int(p.code)), Fact(.verifyError, .list([.string("\(p.code) \(p.text) (depth \(p.depth))")]))]
            if p.error == .invalidPurpose {
                out.append(Finding(.certWrongPurpose, summary: Message(.findingWrongPurpose, ["subject": .string(subject), "code": .int(p.code), "text": .string(p.text)]),
                                   subject: subject, facts: facts))
            } else {
                out.append(Finding(.certInvalid, summary: Message(.findingCertInvalid, ["code": .int(p.code), "text": .string(p.text), "depth": .int(p.depth),
                                                                                       "subject": .string(subject)]),
                                   subject: subject, facts: facts, remedyArgs: ["code": .int(p.code), "text": .string(p.text)]))
            }
        }
        return out
    }

    var remedyArgs: [String: Value] {
        let address = check.chain.servers.first.map { Value.typed(.endpoint($0)) } ?? .string("HOST:443")
        return ["address": address, "host": .string(host ?? certificates.first?.displayName ?? "HOST")]
    }

    var trustStore: Value { check.caFile.map(Value.string) ?? Message(.theSystemStore).value }

    /// Self-signed, an untrusted root, a missing intermediate, or an issuer unknown here.
    var trustFinding: Finding? {
        let v = check.verification
        guard let leaf = certificates.first, let top = certificates.last else { return nil }
        let verifyFacts = [Fact(.verifyError, .list(v.problems.map { .string("\($0.code) \($0.text) (depth \($0.depth))") }))]
        // OpenSSL's 18 says so; a self-signed leaf that failed only for its name or dates is in the anchors
        // (`--cacert` it) and not the problem — its name or dates are.
        let notTrust: Set<X509VerifyError> = [.certHasExpired, .certNotYetValid, .hostnameMismatch, .ipAddressMismatch, .invalidPurpose,
                                              .eeKeyTooSmall, .caKeyTooSmall, .certRevoked]
        if v.has(.depthZeroSelfSignedCert)
            || (leaf.isSelfSigned && certificates.count == 1 && !v.trusted && !v.problems.contains { notTrust.contains($0.error) }) {
            return Finding(.selfSigned, summary: Message(.findingSelfSigned, ["subject": .string(leaf.subject), "store": trustStore]),
                           subject: leaf.subject, facts: [Fact(.issuer, .string(leaf.issuer))] + verifyFacts)
        }
        if v.has(.selfSignedCertInChain) {
            // The chain ends in a root the anchors do not hold.
            let root = certificates.last { $0.isSelfSigned } ?? top
            return Finding(.untrustedIssuer, summary: Message(.findingUntrustedRoot, ["root": .string(root.subject), "store": trustStore]),
                           subject: leaf.subject, facts: [Fact(.issuer, .string(root.subject))] + verifyFacts)
        }
        if v.has(.certChainTooLong) {
            // The issuer was there, the client stopped looking: more intermediates than its verify depth.
            return Finding(.certInvalid, summary: Message(.findingChainTooLong, ["count": .int(certificates.count), "depth": .int(max(0, certificates.count - 1))]),
                           subject: leaf.subject, facts: [Fact(.chainLength, .int(certificates.count))] + verifyFacts,
                           remedy: Message(.remedyVerifyDepth, ["depth": .int(max(1, certificates.count - 1))]))
        }
        if v.has(.unableToGetIssuerCertLocally) || v.has(.unableToVerifyLeafSignature) || v.has(.unableToGetIssuerCert),
           let fetched = check.fetched, let issuer = fetched.certificate {
            // The leaf's AIA was fetched (--fetch-aia): it decides between the two readings.
            let facts = [Fact(.missingIssuer, .string(issuer.subject)), Fact(.url, .string(fetched.url))] + verifyFacts
            if fetched.completes {
                return Finding(.incompleteChain,
                               summary: Message(.findingIncompleteChainFetched, ["count": .int(certificates.count), "issuer": .string(issuer.subject),
                                                                                 "url": .string(fetched.url), "store": trustStore]),
                               subject: leaf.subject, facts: facts)
            }
            return Finding(.untrustedIssuer,
                           summary: Message(.findingAIAUntrusted, ["issuer": .string(issuer.subject), "url": .string(fetched.url), "store": trustStore,
                                                                   "error": .string(fetched.error ?? "—")]),
                           subject: leaf.subject, facts: facts, remedy: Message(.remedyPrivateCA, ["issuer": .string(issuer.issuer)]))
        }
        if v.has(.unableToGetIssuerCertLocally) || v.has(.unableToVerifyLeafSignature) || v.has(.unableToGetIssuerCert) {
            // The issuer of the last certificate sent is nowhere to be found here. Another anchor set may say what it is.
            if let issuer = known.first(where: { $0.subject == top.issuer }), issuer.isSelfSigned {
                return Finding(.untrustedIssuer, summary: Message(.findingRootNotAnchor, ["root": .string(top.issuer), "store": trustStore]),
                               subject: leaf.subject, facts: [Fact(.issuer, .string(top.issuer))] + verifyFacts,
                               remedy: Message(.remedyAddRoot, ["root": .string(top.issuer), "store": trustStore]))
            }
            if let file = check.caFile {
                // The user's bundle is the anchor set: an issuer neither in it nor sent is an intermediate the server must send.
                let aia = top.caIssuersURL.map { [Fact(.url, .string($0))] } ?? []
                return Finding(.incompleteChain,
                               summary: Message(.findingIncompleteChainAnchors, ["count": .int(certificates.count), "issuer": .string(top.issuer), "file": .string(file)]),
                               subject: leaf.subject, facts: [Fact(.missingIssuer, .string(top.issuer))] + aia + verifyFacts)
            }
            // A public CA names where its intermediate lives (AIA): then the server omits it.
            if let url = top.caIssuersURL {
                return Finding(.incompleteChain,
                               summary: Message(.findingIncompleteChainAIA, ["count": .int(certificates.count), "issuer": .string(top.issuer), "url": .string(url)]),
                               subject: leaf.subject, facts: [Fact(.missingIssuer, .string(top.issuer)), Fact(.url, .string(url))] + verifyFacts)
            }
            // Against the system store with no AIA, both readings stand; say what decides.
            return Finding(.untrustedIssuer, summary: Message(.findingUnknownIssuerBoth, ["issuer": .string(top.issuer), "store": trustStore]),
                           subject: leaf.subject, facts: [Fact(.issuer, .string(top.issuer))] + verifyFacts,
                           remedy: Message(.remedyPrivateCA, ["issuer": .string(top.issuer)]))
        }
        if v.trusted, let missing = check.storeSupplied.first {
            // It verified only because the trust store holds the intermediate the server did not send.
            return Finding(.incompleteChain,
                           summary: Message(.findingIncompleteChainKnown, ["count": .int(certificates.count), "missing": .string(missing.subject), "store": trustStore]),
                           subject: leaf.subject, facts: [Fact(.missingIssuer, .string(missing.subject)), Fact(.chainLength, .int(certificates.count))])
        }
        return nil
    }

    /// The trust stores that reject the chain, each with why: the root it lacks, or the expired
    /// certificate on the path it builds (a cross-sign leading an old store to an expired root).
    var storesFinding: Finding? {
        let rejecting = check.stores.filter { !$0.verification.trusted }
        guard !rejecting.isEmpty, let leaf = certificates.first else { return nil }
        let reasons: [Value] = rejecting.map { store in
            let v = store.verification
            if let expired = v.problems.first(where: { $0.error == .certHasExpired }), store.path.indices.contains(expired.depth) {
                let cert = store.path[expired.depth]
                return Message(.storeExpired, ["name": .string(store.name), "subject": .string(cert.subject), "date": .typed(.date(cert.notAfter))]).value
            }
            if v.has(.unableToGetIssuerCertLocally) || v.has(.unableToGetIssuerCert) || v.has(.selfSignedCertInChain), let top = store.path.last {
                return Message(.storeLacks, ["name": .string(store.name), "issuer": .string(top.isSelfSigned ? top.subject : top.issuer)]).value
            }
            return Message(.storeOther, ["name": .string(store.name), "error": .string(v.problems.first.map { "\($0.code) \($0.text)" } ?? "—")]).value
        }
        let expiredOnly = rejecting.allSatisfy { s in s.verification.problems.allSatisfy { $0.error == .certHasExpired } }
        return Finding(expiredOnly ? .intermediateExpired : .untrustedIssuer,
                       summary: Message(.findingStoresReject, ["count": .int(rejecting.count), "total": .int(check.stores.count), "stores": .list(reasons)]),
                       subject: leaf.subject, facts: check.stores.map { Fact(.trustStore, .string($0.line)) },
                       remedy: Message(.remedyStores))
    }

    /// The per-chain facts a report shows.
    public var facts: [Fact] {
        var facts: [Fact] = []
        if let first = check.chain.servers.first { facts.append(Fact(.address, .typed(.endpoint(first)))) }
        facts += check.chain.variants.map { Fact(.variant, $0.label) }
        for cert in certificates { facts.append(Fact(.certificate, .typed(.certificate(cert)))) }
        if let leaf = certificates.first {
            facts += [Fact(.notBefore, .typed(.date(leaf.notBefore))), Fact(.notAfter, .typed(.date(leaf.notAfter))),
                      Fact(.daysLeft, .int(leaf.daysLeft(at: now)))]
            if host != nil, check.name != nil { facts.append(Fact(.hostMatch, .bool(!nameMismatch))) }
        }
        facts.append(Fact(.trusted, .bool(check.verification.trusted && check.storeSupplied.isEmpty)))
        if !check.verification.trusted {
            facts.append(Fact(.verifyError, .list(check.verification.problems.map { .string("\($0.code) \($0.text) (depth \($0.depth))") })))
        }
        return facts
    }

    /// The table `openssl x509 -text` readers expect, for the raw evidence.
    public var table: String {
        certificates.enumerated().map { index, c in
            let status = c.isExpired(at: now) ? "EXPIRED" : c.isNotYetValid(at: now) ? "NOT YET VALID" : "valid"
            return """
                cert \(index): \(c.subject)
                  issuer:     \(c.issuer)
                  serial:     \(c.serial)
                  notBefore:  \(ISO8601.string(c.notBefore))
                  notAfter:   \(ISO8601.string(c.notAfter))  (\(c.daysLeft(at: now)) days left, \(status))
                  SANs:       \(c.alternativeNames.map(\.description).joined(separator: ", "))
                  key:        \(c.keyAlgorithm) \(c.keyBits) bits; signature \(c.signatureAlgorithm)
                  CA: \(c.isCA), self-signed: \(c.isSelfSigned)
                  sha256:     \(c.sha256)
                """
        }.joined(separator: "\n") + "\n  trusted: " + (check.verification.trusted
            ? (check.storeSupplied.isEmpty ? "yes" : "yes, with \(check.storeSupplied.map(\.subject).joined(separator: "; ")) from the trust store")
            : check.verification.problems.map { "\($0.code) \($0.text) (depth \($0.depth))" }.joined(separator: "; "))
    }
}
