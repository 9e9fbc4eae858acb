import Foundation
import TriageWire

/// What the diagnosis needs of a capture's TLS connections, gathered as
/// they stream by: alike connections grouped (count and first), whether SNI
/// works anywhere, the first connection of each distinct chain (per SNI),
/// per server the first certificate sent to SNI and to no SNI, and the first
/// few connections as examples. Its size is bounded by how many distinct
/// things the capture holds (capped), not by how many connections.
public struct CaptureDigest: Sendable {
    public struct Group: Sendable {
        public var label: Message
        public var key: String
        public var count: Int
        public var first: CapturedTLS
    }

    public static let distinctLimit = 10_000
    public let exampleLimit: Int
    public private(set) var count = 0
    public private(set) var examples: [CapturedTLS] = []
    /// Connections whose group, chain or server was beyond `distinctLimit` distinct ones: counted, not told apart.
    public private(set) var overflow = 0
    private var order: [String] = []
    private var byKey: [String: Group] = [:]
    private(set) var sniWorks = false
    private(set) var withSNI: [Endpoint: CapturedTLS] = [:]
    private(set) var withoutSNI: [CapturedTLS] = []
    private var withoutSNIKeys = Set<String>()
    /// The first connection of each distinct leaf and SNI, in the order seen.
    public private(set) var chains: [CapturedTLS] = []
    private var chainKeys = Set<String>()

    public init(exampleLimit: Int = 1_000) { self.exampleLimit = exampleLimit }

    public init<S: Sequence>(_ connections: S) where S.Element == CapturedTLS {
        self.init()
        for c in connections { add(c) }
    }

    public mutating func add(_ c: CapturedTLS) {
        count += 1
        if examples.count < exampleLimit { examples.append(c) }
        // What the label says (outcome, SNI), without rendering it: 80,000 renders took a second.
        let alert = c.fatalAlert ?? c.alerts.first
        let outcome = c.tcp.refused ? "refused" : c.tcp.notTLS != nil ? "not-tls" : c.tcp.unanswered ? "unanswered"
            : alert.map { "alert \($0.code) \($0.level.rawValue) \($0.sender.rawValue)" }
            ?? (c.serverHello ? "handshake \(c.selectedVersion ?? 0)" : "no ServerHello")
        let key = outcome + "|" + (c.sni ?? "") + "|" + c.origin.rawValue
        if byKey[key] != nil {
            byKey[key]!.count += 1
            // Connections arrive as they close: the example is the one that began first.
            if c.firstSeen < byKey[key]!.first.firstSeen { byKey[key]!.first = c; byKey[key]!.label = c.groupLabel }
        } else if byKey.count < Self.distinctLimit {
            order.append(key)
            byKey[key] = Group(label: c.groupLabel, key: key, count: 1, first: c)
        } else {
            overflow += 1
        }
        if c.sni != nil, c.serverHello, c.fatalAlert == nil { sniWorks = true }
        guard let leaf = c.certificates.first else { return }
        if c.sni != nil {
            if withSNI[c.server] == nil, withSNI.count < Self.distinctLimit { withSNI[c.server] = c }
        } else if withoutSNIKeys.count < Self.distinctLimit, withoutSNIKeys.insert(leaf.sha256 + c.server.description).inserted {
            withoutSNI.append(c)
        }
        // Per SNI and per client (triage's own, another's): the proxy's connection is judged as its own.
        if chainKeys.count < Self.distinctLimit, chainKeys.insert(Self.chainKey(c.certificates) + "|" + (c.sni ?? "") + "|" + c.origin.rawValue).inserted {
            chains.append(c)
        }
    }

    /// The name clients asked `server` for with SNI, if any did.
    public func sniName(for server: Endpoint) -> String? { withSNI[server]?.sni }

    /// Every certificate of a chain as sent: two nodes sending the same leaf, one without its intermediate, are two chains.
    public static func chainKey(_ certificates: [Certificate]) -> String { certificates.map(\.sha256).joined(separator: "/") }

    /// Alike connections together, largest group first; of equal ones, those that failed first,
    /// then by what they are (not by time: connections made at once begin in any order).
    public var groups: [Group] {
        func failed(_ g: Group) -> Int {
            let c = g.first
            return c.fatalAlert != nil || !c.serverHello || c.tcp.refused || c.tcp.unanswered || c.tcp.notTLS != nil ? 1 : 0
        }
        return order.map { byKey[$0]! }.sorted { ($0.count, failed($0), $1.key) > ($1.count, failed($1), $0.key) }
    }
}

/// Findings from the TLS connections of a capture: what TCP showed below
/// TLS, alerts by sender (with the no-SNI case), the version negotiated, the
/// no-SNI default certificate, and the chains sent in clear as a client
/// verifies them at the time of the capture.
public struct CaptureRules: Sendable {
    public typealias Group = CaptureDigest.Group

    public let digest: CaptureDigest
    public let host: String?
    /// The chains sent in clear as a client verifies them (the step asks
    /// OpenSSL, at the time of the capture), by leaf fingerprint.
    public let checks: [String: ChainCheck]

    /// `--at`: certificates judged as of this time instead of when the capture saw them.
    public var at: Date?

    public init(digest: CaptureDigest, host: String?, checks: [String: ChainCheck] = [:]) {
        self.digest = digest
        self.host = host
        self.checks = checks
    }

    public init(connections: [CapturedTLS], host: String?, checks: [String: ChainCheck] = [:]) {
        self.init(digest: CaptureDigest(connections), host: host, checks: checks)
    }

    public var groups: [Group] { digest.groups }

    public var findings: [Finding] {
        var out: [Finding] = []
        // Without SNI another certificate than with it, and that one is broken: the live run's SNI variant.
        var explained = Set<String>()
        let defaults = defaultCertificateFindings(&explained)
        let (chains, rejected) = chainFindings(explained: explained)
        // A client that rejected a certificate did so for what the chain's own findings on
        // that server name (a weak key, a missing intermediate): those are the cause, not the alert.
        for group in groups {
            let c = group.first
            if let alert = c.fatalAlert, alert.sender == .client, AlertMeaning.isCertificateRejection(alert.code),
               rejected.contains(c.server.description) || explained.contains(c.certificates.first?.sha256 ?? "-") { continue }
            guard let finding = finding(for: group, sniWorks: digest.sniWorks) else { continue }
            out.append(finding.on(.capture(sni: c.sni != nil, byProxy: c.origin == .other)))
        }
        return out + defaults + chains
    }

    /// The chains sent in clear as a client verifies them, at the time each was seen; and the
    /// servers one of whose chains has a problem.
    func chainFindings(explained: Set<String>) -> ([Finding], Set<String>) {
        var out: [Finding] = []
        var servers = Set<String>()
        // Certificates sent in clear: their dates at the time of the capture.
        // Checked against the name the client asked for (SNI), or the one given.
        for c in digest.chains {
            guard let leaf = c.certificates.first, !explained.contains(leaf.sha256) else { continue }
            let chain = CertificateChain(certificates: c.certificates, servers: [c.server], serverName: c.sni)
            let check = checks[CaptureDigest.chainKey(c.certificates)] ?? ChainCheck(chain: chain, verification: ChainVerification(problems: []), caFile: nil)
            var rules = ChainRules(check: ChainCheck(chain: chain, verification: check.verification, storeSupplied: check.storeSupplied, caFile: check.caFile,
                                                     name: check.name),
                                   host: host ?? c.sni, now: at ?? c.firstSeen, warnDays: 0)
            // Days counted from the capture's time (or --at), and said so.
            rules.atGiven = at != nil
            rules.atCapture = at == nil
            let found = rules.findings
            if found.contains(where: { $0.severity == .problem }) { servers.insert(c.server.description) }
            out += found.map { finding in
                var f = finding
                f.facts.append(Fact(.seenAt, .typed(.date(c.firstSeen))))
                f.summary = Message(.inCapture, ["summary": f.summary.value, "time": .typed(.date(c.firstSeen)), "server": .typed(.endpoint(c.server))])
                return f.on(.capture(sni: c.sni != nil, byProxy: c.origin == .other))
            }
        }
        return (out, servers)
    }

    /// What one group of alike connections shows: below TLS (refused, not
    /// TLS, unanswered), an old version negotiated, or the fatal alert.
    func finding(for group: Group, sniWorks: Bool) -> Finding? {
        let c = group.first
        let subject = c.server.description
        let server = Value.typed(.endpoint(c.server))
        var facts = [Fact(.connections, .int(group.count)), Fact(.firstSeen, .typed(.date(c.firstSeen))), Fact(.server, server)]
        if c.tcp.refused {
            let port = Value.int(Int(c.server.port))
            return Finding(.connectionRefused, summary: Message(.findingCaptureRefused, ["count": .int(group.count), "server": server, "port": port]),
                           subject: subject, facts: facts + [Fact(.address, server)], remedyArgs: ["port": port])
        }
        facts.append(Fact(.sni, .string(c.sni ?? "none")))
        if let preview = c.tcp.notTLS {
            return Finding(.notTLS, summary: Message(.findingCaptureNotTLS, ["count": .int(group.count), "server": server, "preview": .string(preview)]),
                           subject: subject, facts: facts + [Fact(.address, server), Fact(.answer, .string(preview))])
        }
        if c.tcp.unanswered {
            return Finding(.timeout, summary: Message(.findingCaptureUnanswered, ["count": .int(group.count), "server": server, "ms": .int(c.tcp.waitedMs)]),
                           subject: subject, facts: facts + [Fact(.address, server), Fact(.bytesReceived, .int(0)), Fact(.elapsedMs, .number(Double(c.tcp.waitedMs)))])
        }
        if c.serverHello, let version = c.selectedVersion, version < 0x0303 {
            // Whatever alert followed, the version is what a current client refuses.
            var versionFacts = facts + [Fact(.version, .string(ProtocolVersion.name(version)))]
            if let alert = c.fatalAlert { versionFacts.append(Fact(.alert, .typed(.alert(alert)))) }
            return Finding(.protocolVersion, summary: Message(.findingCaptureOldVersion, ["count": .int(group.count), "server": server,
                                                                                         "version": .string(ProtocolVersion.name(version))]),
                           subject: subject, facts: versionFacts)
        }
        guard let alert = c.fatalAlert else { return nil }
        facts.append(Fact(.alert, .typed(.alert(alert))))
        let args: [String: Value] = ["count": .int(group.count), "server": server, "alert": .typed(.alert(alert))]
        let context = AlertMeaning.Context(certificateRequested: c.certificateRequest, clientCertificateSent: c.clientCertificateSent,
                                           withoutSNI: c.sni == nil, sniWorks: sniWorks)
        var cause = AlertMeaning.cause(alert.code, sender: alert.sender, context)
        // A client that rejects a chain that verifies (dates, trust, key all fine at the time) with
        // bad_certificate / certificate_unknown rejected the name: it is not the one it asked for.
        if alert.sender == .client, [AlertCode.badCertificate.rawValue, AlertCode.certificateUnknown.rawValue].contains(alert.code),
           let check = checks[CaptureDigest.chainKey(c.certificates)], check.verification.trusted {
            cause = .hostnameMismatch
        }
        return switch (alert.sender, cause) {
        case (.server, .alertWithoutSNI):
            Finding(.alertWithoutSNI, summary: Message(.findingCaptureNoSNI, args), subject: subject, facts: facts,
                    remedy: Message(.remedySendSNI, ["name": .string(host ?? "HOST"), "address": server, "alert": .int(Int(alert.code))]))
        case (.server, .clientCertRequired):
            Finding(.clientCertRequired, summary: Message(.findingCaptureClientCert, args), subject: subject, facts: facts)
        case (.server, .clientCertRejected):
            Finding(.clientCertRejected, summary: Message(.findingCaptureClientCertRejected, args), subject: subject, facts: facts)
        case (.client, .certExpired):
            Finding(.certExpired, summary: Message(.findingCaptureClientExpired, args), subject: subject, facts: facts,
                    remedyArgs: ["address": server, "host": .string(c.sni ?? host ?? "HOST")])
        case (.client, .untrustedIssuer) where alert.code == AlertCode.unknownCA.rawValue:
            Finding(.untrustedIssuer, summary: Message(.findingCaptureClientUnknownCA, args), subject: subject, facts: facts)
        case (.client, .untrustedIssuer):
            Finding(.untrustedIssuer, summary: Message(.findingCaptureClientRejected, args), subject: subject, facts: facts)
        case (.client, .hostnameMismatch):
            Finding(.hostnameMismatch, summary: Message(.findingCaptureClientName, args.merging(["sni": .string(c.sni ?? "—")]) { a, _ in a }),
                    subject: subject, facts: facts)
        case (_, .hostnameMismatch):
            Finding(.hostnameMismatch, summary: Message(.findingCaptureUnknownName, args), subject: subject, facts: facts)
        case (_, .tlsAlert):
            Finding(.tlsAlert, summary: Message(.findingCaptureAlert, args), subject: subject, facts: facts,
                    remedyArgs: ["code": .int(Int(alert.code)), "name": .string(alert.name)])
        case (_, let other):
            Finding(other, summary: Message(.findingCaptureAlert, args), subject: subject, facts: facts,
                    remedyArgs: ["code": .int(Int(alert.code)), "name": .string(alert.name), "text": .string(alert.name)])
        }
    }

    /// A server that gives ClientHellos without SNI another certificate than
    /// those with SNI, and that certificate is expired, not yet valid or for
    /// another name: the same finding as the live run's no-SNI variant.
    /// `explained` gets the fingerprints of those default certificates.
    func defaultCertificateFindings(_ explained: inout Set<String>) -> [Finding] {
        var out: [Finding] = []
        for c in digest.withoutSNI {
            guard let leaf = c.certificates.first, let good = digest.withSNI[c.server], let goodLeaf = good.certificates.first, goodLeaf.sha256 != leaf.sha256,
                  let name = host ?? good.sni else { continue }
            // OpenSSL's name check of this chain (verified for the name the SNI connections asked for), else the client's own rejection.
            let check = checks[CaptureDigest.chainKey(c.certificates)]
            let rejectedByClient = c.fatalAlert.map { $0.sender == .client && AlertMeaning.isCertificateRejection($0.code) } ?? false
            let checked: Bool? = check.flatMap { $0.name == nil ? nil : !($0.verification.has(.hostnameMismatch) || $0.verification.has(.ipAddressMismatch)) }
            let nameMatches = checked ?? (rejectedByClient ? false : nil)
            guard let problem = HandshakeRules.problem(with: leaf, nameMatches: nameMatches, host: name, now: c.firstSeen) else { continue }
            explained.insert(leaf.sha256)
            out.append(Finding(.defaultCertWithoutSNI,
                               summary: Message(.findingDefaultCert, ["subject": .string(leaf.subject), "problem": problem.value, "good": .string(goodLeaf.subject)]),
                               subject: c.server.description,
                               facts: [Fact(.variant, SNIVariant.none.label), Fact(.subject, .string(leaf.subject)),
                                       Fact(.notBefore, .typed(.date(leaf.notBefore))), Fact(.notAfter, .typed(.date(leaf.notAfter))),
                                       Fact(.sans, .list(leaf.alternativeNames.map { .string($0.description) })),
                                       Fact(.withSNI, .string(goodLeaf.subject)), Fact(.seenAt, .typed(.date(c.firstSeen)))],
                               remedyArgs: ["name": .string(name), "address": .typed(.endpoint(good.server))]).on(.capture(sni: false, byProxy: c.origin == .other)))
        }
        return out
    }
}
