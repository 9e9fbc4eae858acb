import Foundation
import TriageWire

/// Turns a matrix of handshake attempts into findings: each attempt's
/// outcome by OpenSSL's reason and the alert's sender, the SNI variants of
/// one endpoint compared ("with SNI it works; without SNI the server sends
/// fatal alert 80"), and the endpoints of one name compared.
public struct HandshakeRules: Sendable {
    public let attempts: [HandshakeAttempt]
    public let host: String
    public let now: Date
    /// The per-connection deadline the attempts had.
    public let timeout: Duration

    public init(attempts: [HandshakeAttempt], host: String, now: Date, timeout: Duration) {
        self.attempts = attempts
        self.host = host
        self.now = now
        self.timeout = timeout
    }

    public var findings: [Finding] {
        var out: [Finding] = []
        for endpoint in endpoints { out += findings(for: attempts.filter { $0.server == endpoint }) }
        out += stapleFindings
        return Self.crossEndpoint(out, attempts: attempts, endpoints: endpoints, host: host, now: now)
    }

    /// What the server's stapled OCSP response says of its leaf (the handshakes as curl makes them):
    /// revoked is a problem; a stale staple is a warning, a problem for a must-staple certificate, as
    /// is a must-staple certificate without a staple.
    var stapleFindings: [Finding] {
        var out: [Finding] = []
        var seen = Set<String>()
        for a in attempts where a.established && a.variant != .none {
            guard let leaf = a.chain.first, seen.insert(leaf.sha256).inserted else { continue }
            let subject = Value.string(leaf.subject)
            var facts = [Fact(.subject, subject)]
            guard let staple = a.staple else {
                if leaf.mustStaple {
                    out.append(Finding(.ocspStale, summary: Message(.findingMustStapleMissing, ["subject": subject]), subject: leaf.subject,
                                       facts: facts, remedy: Message(.remedyMustStaple)).on(.handshake(a.variant)))
                }
                continue
            }
            if let t = staple.thisUpdate { facts.append(Fact(.firstSeen, .typed(.date(t)))) }
            if let t = staple.nextUpdate { facts.append(Fact(.notAfter, .typed(.date(t)))) }
            facts.append(Fact(.note, .string("OCSP \(staple.status.rawValue)\(staple.verified ? ", signature verified" : ", signature not verified")")))
            switch staple.status {
            case .revoked:
                out.append(Finding(.certRevoked, summary: Message(.findingStapleRevoked, ["subject": subject,
                                                                                         "date": staple.revokedAt.map { .typed(.date($0)) } ?? .string("—")]),
                                   subject: leaf.subject, facts: facts).on(.handshake(a.variant)))
            case .good:
                if let next = staple.nextUpdate, next < now {
                    let note: Value = leaf.mustStaple ? Message(.mustStapleNote).value : .string("")
                    out.append(Finding(.ocspStale, severity: leaf.mustStaple ? .problem : .warning,
                                       summary: Message(.findingStapleStale, ["subject": subject, "date": .typed(.date(next)), "mustStaple": note]),
                                       subject: leaf.subject, facts: facts).on(.handshake(a.variant)))
                }
            case .unknown, .unusable:
                out.append(Finding(.ocspStale, severity: leaf.mustStaple ? .problem : .warning,
                                   summary: Message(.findingStapleUnknown, ["subject": subject, "status": .string(staple.status.rawValue),
                                                                            "verified": staple.verified ? .string("") : Message(.stapleUnverified).value]),
                                   subject: leaf.subject, facts: facts).on(.handshake(a.variant)))
            }
        }
        return out
    }

    /// The endpoints in the order first tried.
    public var endpoints: [Endpoint] {
        var seen = Set<Endpoint>()
        return attempts.map(\.server).filter { seen.insert($0).inserted }
    }

    func findings(for group: [HandshakeAttempt]) -> [Finding] {
        guard let first = group.first else { return [] }
        let subject = first.server.description
        let address = Value.typed(.endpoint(first.server))
        if group.allSatisfy({ $0.outcome == .refused }) {
            return [Finding(.connectionRefused, summary: Message(.findingRefused, ["address": address, "port": .int(Int(first.server.port))]),
                            subject: subject, facts: [Fact(.address, address)], remedyArgs: ["port": .int(Int(first.server.port))])]
        }
        if case .unreachable(let errno) = first.outcome, group.allSatisfy({ $0.outcome == first.outcome }) {
            return [Finding(.addressUnreachable, summary: Message(.findingUnreachable, ["address": address, "errno": .string(ErrorNumber.name(errno))]),
                            subject: subject, facts: [Fact(.address, address), Fact(.error, .string(ErrorNumber.name(errno)))])]
        }
        let withSNI = group.filter { $0.variant != .none }
        let withoutSNI = group.filter { $0.variant == .none }
        let working = withSNI.first { $0.established }
        var out: [Finding] = []
        for attempt in group {
            if attempt.variant == .none, let working, let sni = sniFinding(attempt, good: working) {
                out.append(sni.on(sni.cause == .defaultCertWithoutSNI ? .chain([.none]) : .handshake(.none)))
                continue
            }
            if let finding = outcomeFinding(attempt) {
                // A server that refuses or cannot be reached fails every client alike.
                let everyone: Set<Cause> = [.connectionRefused, .addressUnreachable]
                out.append(finding.on(everyone.contains(finding.cause) ? .all : .handshake(attempt.variant)))
            }
        }
        _ = withoutSNI
        return out
    }

    // MARK: - One attempt

    func alertFacts(_ a: HandshakeAttempt, _ alert: TLSAlert) -> [Fact] {
        [Fact(.alert, .typed(.alert(alert))), Fact(.sender, .string(alert.sender.rawValue)),
         Fact(.variant, a.variant.label), Fact(.address, .typed(.endpoint(a.server)))]
    }

    func failureFacts(_ a: HandshakeAttempt) -> [Fact] {
        var facts = [Fact(.address, .typed(.endpoint(a.server))), Fact(.variant, a.variant.label)]
        if let f = a.failure { facts.append(Fact(.opensslError, .string("\(f.code) \(f.text)"))) }
        facts.append(Fact(.bytesReceived, .int(a.bytesReceived)))
        facts.append(Fact(.messagesReceived, .int(a.messageCount)))
        if let last = a.lastServerMessage { facts.append(Fact(.lastMessage, .string(last))) }
        return facts
    }

    /// What one attempt that did not establish says, on its own.
    func outcomeFinding(_ a: HandshakeAttempt) -> Finding? {
        let subject = a.server.description
        let address = Value.typed(.endpoint(a.server))
        let opensslError = Value.string(a.failure.map { "\($0.code) \($0.text)" } ?? "—")
        switch a.outcome {
        case .established, .noDescriptor:
            // Not tried for want of a descriptor here: nothing about the endpoint.
            return nil
        case .refused:
            return Finding(.connectionRefused, summary: Message(.findingRefused, ["address": address, "port": .int(Int(a.server.port))]),
                           subject: subject, facts: [Fact(.address, address)], remedyArgs: ["port": .int(Int(a.server.port))])
        case .unreachable(let errno):
            return Finding(.addressUnreachable, summary: Message(.findingUnreachable, ["address": address, "errno": .string(ErrorNumber.name(errno))]),
                           subject: subject, facts: [Fact(.address, address), Fact(.error, .string(ErrorNumber.name(errno)))])
        case .timedOut(let phase):
            let facts = failureFacts(a) + [Fact(.phase, .string(phase.rawValue)), Fact(.limit, .int(Int(timeout.seconds * 1000)))]
            let key: MessageKey = phase == .connecting ? .findingConnectTimeout
                : a.bytesReceived == 0 ? .findingHandshakeNoAnswer : .findingHandshakeStalled
            return Finding(.timeout, summary: Message(key, ["address": address, "timeout": .string(Engine.format(timeout)),
                                                            "last": .string(a.lastServerMessage ?? "—"), "bytes": .int(a.bytesReceived)]),
                           subject: subject, facts: facts)
        case .notTLS(let preview):
            return Finding(.notTLS, summary: Message(.findingNotTLS, ["address": address, "preview": .string(preview)]),
                           subject: subject, facts: [Fact(.address, address), Fact(.answer, .string(preview))])
        case .closed, .reset:
            return Finding(.connectionReset,
                           summary: Message(a.outcome == .reset ? .findingReset : .findingClosed,
                                            ["address": address, "last": .string(a.lastServerMessage ?? "—"), "variant": a.variant.label]),
                           subject: subject, facts: failureFacts(a))
        case .flood(let limit):
            let (key, n): (MessageKey, Int) = switch limit {
            case .bytes(let n): (.findingFloodBytes, n)
            case .messages(let n): (.findingFloodMessages, n)
            }
            return Finding(.tlsProtocolError, summary: Message(key, ["address": address, "limit": .int(n), "last": .string(a.lastServerMessage ?? "—")]),
                           subject: subject, facts: failureFacts(a) + [Fact(.limit, .int(n))])
        case .failed:
            return reasonFinding(a, alert: nil) ?? Finding(.tlsProtocolError, summary: Message(.findingHandshakeFailed, ["address": address, "error": opensslError]),
                                                           subject: subject, facts: failureFacts(a))
        case .alert(let alert):
            return alertFinding(a, alert)
        }
    }

    /// A handshake that ended with a fatal alert.
    func alertFinding(_ a: HandshakeAttempt, _ alert: TLSAlert) -> Finding {
        let subject = a.server.description
        let facts = alertFacts(a, alert) + (a.acceptableCAs.isEmpty ? [] : [Fact(.acceptableCAs, .list(a.acceptableCAs.map(Value.string)))])
        let alertValue = Value.typed(.alert(alert))
        if alert.sender == .server {
            let context = AlertMeaning.Context(certificateRequested: a.certificateRequested, clientCertificateSent: a.clientCertificateSent)
            switch AlertMeaning.cause(alert.code, sender: .server, context) {
            case .clientCertRejected:
                return Finding(.clientCertRejected, summary: Message(.findingClientCertRejected, ["alert": alertValue]), subject: subject, facts: facts)
            case .clientCertRequired:
                return Finding(.clientCertRequired,
                               summary: Message(.findingClientCertRequired, ["alert": alertValue, "cas": .list(a.acceptableCAs.map(Value.string))]),
                               subject: subject, facts: facts)
            case .protocolVersion:
                return Finding(.protocolVersion, summary: Message(.findingProtocolVersionAlert, ["alert": alertValue]), subject: subject, facts: facts)
            case .noSharedCipher:
                return Finding(.noSharedCipher, summary: Message(.findingNoSharedCipher, ["alert": alertValue]), subject: subject, facts: facts)
            case .hostnameMismatch:
                return Finding(.hostnameMismatch, summary: Message(.findingUnknownName, ["alert": alertValue, "name": .string(a.serverName ?? host)]),
                               subject: subject, facts: facts)
            default:
                break
            }
        } else if let finding = reasonFinding(a, alert: alert) {
            // This client refused what the server sent: OpenSSL's reason says what.
            return finding
        }
        return Finding(.tlsAlert, summary: Message(.findingAlert, ["alert": alertValue]), subject: subject, facts: facts,
                       remedyArgs: ["code": .int(Int(alert.code)), "name": .string(alert.name)])
    }

    /// What OpenSSL's reason code says about a failed attempt.
    func reasonFinding(_ a: HandshakeAttempt, alert: TLSAlert?) -> Finding? {
        guard let failure = a.failure else { return nil }
        let subject = a.server.description
        let facts = failureFacts(a) + (alert.map { [Fact(.alert, .typed(.alert($0)))] } ?? [])
        let error = Value.string("\(failure.code) \(failure.text)")
        switch failure.reason {
        case .unsupportedProtocol:
            return Finding(.protocolVersion, summary: Message(.findingNoCommonVersion, ["error": error]), subject: subject, facts: facts)
        case .legacySignatureAlgorithm:
            return Finding(.protocolVersion, summary: Message(.findingLegacyServer, ["error": error]), subject: subject, facts: facts)
        case .noSharedParameters:
            return Finding(.noSharedCipher, summary: Message(.findingNoSharedParameters, ["error": error]), subject: subject, facts: facts)
        case .excessiveMessageSize where a.lastServerMessage == nil:
            // Nothing sensible came first: the very first message announces an absurd size.
            return Finding(.tlsProtocolError, summary: Message(.findingAbsurdMessage, ["error": error, "bytes": .int(a.bytesReceived)]),
                           subject: subject, facts: facts)
        case .excessiveMessageSize:
            return Finding(.handshakeTooLarge, summary: Message(.findingTooLarge, ["error": error, "bytes": .int(a.bytesReceived),
                                                                                   "last": .string(a.lastServerMessage ?? "—")]),
                           subject: subject, facts: facts)
        case .recordOverflow, .unexpectedMessage, .tooManyWarningAlerts, .malformedMessage, .renegotiation:
            return Finding(.tlsProtocolError, summary: Message(.findingProtocolError, ["error": error, "last": .string(a.lastServerMessage ?? "—")]),
                           subject: subject, facts: facts)
        case .notTLS:
            return Finding(.notTLS, summary: Message(.findingNotTLSReason, ["address": .typed(.endpoint(a.server)), "error": error]),
                           subject: subject, facts: facts)
        case .unexpectedEOF:
            return Finding(.connectionReset, summary: Message(.findingClosed, ["address": .typed(.endpoint(a.server)),
                                                                               "last": .string(a.lastServerMessage ?? "—"),
                                                                               "variant": a.variant.label]),
                           subject: subject, facts: facts)
        case .clientCertificate:
            return Finding(.clientCertRejected, summary: Message(.findingClientCertUnusable, ["error": error]), subject: subject, facts: facts)
        case .peerAlert, .other:
            return nil
        }
    }

    // MARK: - SNI variants of one endpoint

    /// Without SNI something differs while SNI works: the seed incident.
    func sniFinding(_ a: HandshakeAttempt, good: HandshakeAttempt) -> Finding? {
        let subject = a.server.description
        let name = good.serverName ?? host
        let remedyArgs: [String: Value] = ["name": .string(name), "address": .typed(.endpoint(good.server))]
        if let alert = a.fatalAlert, alert.sender == .server {
            return Finding(.alertWithoutSNI, summary: Message(.findingAlertWithoutSNI, ["code": .int(Int(alert.code)), "alert_name": .string(alert.name),
                                                                                       "name": .string(name)]),
                           subject: subject, facts: alertFacts(a, alert) + [Fact(.withSNI, good.outcomeMessage)],
                           remedy: Message(.remedySendSNI, remedyArgs.merging(["alert": .int(Int(alert.code))]) { a, _ in a }))
        }
        if !a.established, a.connected {
            return Finding(.alertWithoutSNI, summary: Message(.findingFailsWithoutSNI, ["outcome": a.outcomeMessage.value, "name": .string(name)]),
                           subject: subject, facts: failureFacts(a) + [Fact(.withSNI, good.outcomeMessage)],
                           remedy: Message(.remedySendSNI, remedyArgs.merging(["alert": .string("—")]) { a, _ in a }))
        }
        if a.established, let leaf = a.chain.first, let goodLeaf = good.chain.first, leaf.sha256 != goodLeaf.sha256,
           let problem = Self.problem(with: leaf, nameMatches: a.nameMatches, host: host, now: now) {
            return Finding(.defaultCertWithoutSNI,
                           summary: Message(.findingDefaultCert, ["subject": .string(leaf.subject), "problem": problem.value,
                                                                  "good": .string(goodLeaf.subject)]),
                           subject: subject,
                           facts: [Fact(.variant, SNIVariant.none.label), Fact(.subject, .string(leaf.subject)),
                                   Fact(.notBefore, .typed(.date(leaf.notBefore))), Fact(.notAfter, .typed(.date(leaf.notAfter))),
                                   Fact(.sans, .list(leaf.alternativeNames.map { .string($0.description) })),
                                   Fact(.withSNI, .string(goodLeaf.subject))],
                           remedyArgs: remedyArgs)
        }
        return nil
    }

    /// Why a certificate is broken for `host` at `now`, if it is; whether it names
    /// `host` is OpenSSL's answer (`nameMatches`, from X509_check_host), never a match of text.
    static func problem(with cert: Certificate, nameMatches: Bool?, host: String, now: Date) -> Message? {
        if cert.isExpired(at: now) { return Message(.certProblemExpired, ["date": .typed(.date(cert.notAfter))]) }
        if cert.isNotYetValid(at: now) { return Message(.certProblemNotYetValid, ["date": .typed(.date(cert.notBefore))]) }
        if nameMatches == false {
            return Message(.certProblemName, ["host": .string(host), "sans": .list(cert.alternativeNames.map { .string($0.description) })])
        }
        return nil
    }

    // MARK: - Endpoints of one name

    /// Endpoints that cannot be reached while others can are a warning
    /// (`address-unreachable`: clients fall back); reachable endpoints whose
    /// TLS outcome or certificate differ are `mixed-backends`.
    static func crossEndpoint(_ findings: [Finding], attempts: [HandshakeAttempt], endpoints: [Endpoint], host: String, now: Date) -> [Finding] {
        guard endpoints.count > 1 else { return findings }
        let reachable = endpoints.filter { e in attempts.contains { $0.server == e && $0.connected } }
        let unreachable = endpoints.filter { !reachable.contains($0) }
        var out = findings
        if !reachable.isEmpty {
            // Clients that try every address reach the others: the unreachable ones are a warning.
            out = out.map { f in
                guard AddressFallback.connectCauses.contains(f.cause),
                      let e = unreachable.first(where: { $0.description == f.subject }) else { return f }
                return AddressFallback.warning(from: f, endpoint: e, working: reachable).on(f.path)
            }
        }
        guard reachable.count > 1 else { return out }
        // Compare what clients with SNI get from each reachable endpoint.
        let signature: (Endpoint) -> String = { e in
            attempts.filter { $0.server == e && $0.variant != .none }.map { "\($0.outcomeCode)/\($0.chain.first?.sha256 ?? "-")" }.joined(separator: ",")
        }
        guard Set(reachable.map(signature)).count > 1 else { return out }
        func problem(_ e: Endpoint) -> Message? {
            let group = attempts.filter { $0.server == e && $0.variant != .none }
            if let failed = group.first(where: { !$0.established }) { return failed.outcomeMessage }
            return group.compactMap { a in a.chain.first.flatMap { Self.problem(with: $0, nameMatches: a.nameMatches, host: host, now: now) } }.first
                .map { Message(.certProblemIts, ["problem": $0.value]) }
        }
        let bad = reachable.filter { problem($0) != nil }
        let good = reachable.filter { problem($0) == nil }
        let facts = reachable.map { e in Fact(.attempt, Message(.mixedEndpointState, ["address": .typed(.endpoint(e)),
                                                                                     "state": (problem(e) ?? Message(.stateOK)).value])) }
        let summary = bad.isEmpty
            ? Message(.findingMixedCertificates, ["count": .int(reachable.count), "host": .string(host), "addresses": .list(reachable.map { .typed(.endpoint($0)) })])
            : Message(.findingMixedBackends, ["host": .string(host),
                                              "bad": .list(bad.map { e in Message(.mixedEndpointState, ["address": .typed(.endpoint(e)), "state": problem(e)!.value]).value }),
                                              "good": .list(good.map { .typed(.endpoint($0)) })])
        out.append(Finding(.mixedBackends, summary: summary, subject: bad.isEmpty ? host : bad.map(\.description).joined(separator: ", "), facts: facts,
                           remedyArgs: ["bad": .list((bad.isEmpty ? reachable : bad).map { .typed(.endpoint($0)) })]))
        return out
    }
}
