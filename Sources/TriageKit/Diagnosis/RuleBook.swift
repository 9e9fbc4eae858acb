import Foundation

/// Every rule, once, over the evidence of the whole case. Each finding is
/// tagged with the step whose evidence it rests on, and with the connection
/// it was seen on; which client it affects and whether it is the root cause
/// is the diagnosis's business.
public struct RuleBook: Sendable {
    public let evidence: CaseEvidence
    public let story: RequestStory

    public init(_ evidence: CaseEvidence) {
        self.evidence = evidence
        story = RequestStory(evidence)
    }

    /// What the rules found, and the steps whose evidence shows a failure no finding explains.
    public struct Judgement: Sendable {
        public var findings: [Finding]
        /// Steps that failed at their job with nothing found to say why (an HTTP transfer that failed without a cause).
        public var unexplained: Set<String>
    }

    public var judgement: Judgement {
        var out: [Finding] = []
        var unexplained = Set<String>()
        func add(_ findings: [Finding], step: String) { out += findings.map { var f = $0; f.step = step; return f } }
        for item in evidence.items {
            switch item.evidence {
            case .resolution(let r):
                add(DNSRules(r).findings, step: item.step)
            case .unresolved(let u):
                add([unresolvedFinding(u)], step: item.step)
            case .handshakes(let m):
                add(handshakeFindings(m), step: item.step)
            case .exchange(let e):
                // With nginx's configuration read, its answers are read against its settings.
                let found = HTTPRules(exchange: e, compare: compare(with: e),
                                      proxy: e.role == .via && evidence.proxyConfig != nil ? proxyCase : nil).findings
                if !e.succeeded, found.isEmpty { unexplained.insert(item.step) }
                add(found, step: item.step)
            case .chains(let review):
                add(chainFindings(review), step: item.step)
            case .capture(let c):
                var rules = CaptureRules(digest: c.digest, host: c.host, checks: c.checks)
                rules.at = c.at
                add(rules.findings, step: item.step)
            case .proxyLog(let log):
                add(ProxyLogRules(log: log, context: proxyContext, leaf: upstreamLeaf, trust: replayTrust, proxy: proxyCase).findings, step: item.step)
            case .declared(let f):
                add([f], step: item.step)
            case .proxyConfig, .profile:
                break
            }
        }
        out = AddressFallback.apply(out, evidence: evidence)
        out = PlainURLToTLSPort.apply(out, evidence: evidence)
        out = ServerClock.annotate(out, evidence: evidence)
        // One finding per cause, subject and connection: the same fact seen twice on one path says nothing new.
        var seen = Set<Finding.Key>()
        return Judgement(findings: out.filter { seen.insert($0.key).inserted }, unexplained: unexplained)
    }

    public var findings: [Finding] { judgement.findings }

    // MARK: - Per kind of evidence

    func unresolvedFinding(_ u: Unresolved) -> Finding {
        if u.specialUse {
            return Finding(.dnsFailure, summary: Message(.findingSpecialUse, ["host": .string(u.host)]), subject: u.host)
        }
        return Finding(.dnsFailure, summary: Message(.findingNoAddress, ["host": .string(u.host)]), subject: u.host,
                       facts: [Fact(.host, .string(u.host)), Fact(.addressSource, u.source)])
    }

    /// A handshake matrix's findings; a replay's are the replayed client's, its certificate judged as that client judges it.
    func handshakeFindings(_ m: HandshakeMatrix) -> [Finding] {
        var found = HandshakeRules(attempts: m.attempts, host: m.host, now: evidence.now, timeout: m.timeout).findings
        if let profile = m.profile {
            // A replay may hold a control (the same client with SNI): only what the replayed client meets counts.
            let variant = profile.sni.normalised(host: m.host)
            found = found.filter { f in
                switch f.path {
                case .handshake(let v): v == variant
                case .chain(let variants): variants == [variant]
                default: true
                }
            }
        }
        if !m.versions.isEmpty {
            let spoken = m.versions.filter(\.accepted).map { Value.string($0.version) }
            found = found.map { f in
                guard f.cause == .protocolVersion else { return f }
                var f = f
                if !spoken.isEmpty { f.facts.append(Fact(.serverSpeaks, .list(spoken))) }
                for probe in m.versions { f.facts.append(Fact(.versionProbe, probe.message.value)) }
                return f
            }
        }
        guard let profile = m.profile else { return found }
        var replayed = found.map { $0.path == .all ? $0 : $0.on(.replay) }
        if profile.verifies {
            for check in replayChecks(m) {
                replayed += ChainRules(check: check, host: profile.checkedName(host: m.host), now: evidence.now, warnDays: 0, known: known).findings
                    .filter { $0.severity == .problem }.map { $0.on(.replay) }
            }
        }
        return replayed
    }

    func chainFindings(_ review: ChainReview) -> [Finding] {
        // A chain seen only without SNI while another is served with SNI is the default certificate:
        // the handshake's SNI rule reports it (`default-cert-without-sni`).
        let hasSNIChain = review.checks.contains { !$0.chain.seenOnlyWithoutSNI }
        return review.checks.filter { !(hasSNIChain && $0.chain.seenOnlyWithoutSNI) }.flatMap { check in
            var rules = ChainRules(check: check, host: review.host, now: review.at, warnDays: review.warnDays, known: known)
            rules.atGiven = review.at != evidence.startedAt
            return rules.findings
        }
    }

    /// The chains a replay saw that its client met (not its control's).
    func replayChecks(_ m: HandshakeMatrix) -> [ChainCheck] {
        guard let profile = m.profile else { return [] }
        return m.checks.filter { $0.chain.variants.isEmpty || $0.chain.variants.contains(profile.sni.normalised(host: m.host)) }
    }

    /// Every certificate of every path some anchor set built: what a missing issuer is, when one set cannot say.
    var known: [Certificate] {
        evidence.chainReviews.flatMap { $0.value.checks.flatMap(\.path) } + evidence.matrices.flatMap { $0.value.checks.flatMap(\.path) }
    }

    /// What the replay of the proxy's profile makes of its chain's trust, to read a verify error nginx logged
    /// (its 20 is an untrusted root, a missing intermediate, or a verify depth reached alike).
    var replayTrust: Finding? {
        for (_, m) in evidence.replays {
            guard let profile = m.profile else { continue }
            for check in replayChecks(m) {
                let rules = ChainRules(check: check, host: profile.checkedName(host: m.host), now: evidence.now, warnDays: 0, known: known)
                // Only a replay with nginx's own anchors (its configuration read) speaks for them; without it,
                // only what other anchor sets showed (the missing issuer is a root) holds whatever nginx trusts.
                if let finding = rules.trustFinding,
                   profile.source == .configuration(file: evidence.proxyConfig?.file ?? "") || finding.summary.key == MessageKey.findingRootNotAnchor.rawValue {
                    return finding
                }
            }
        }
        return nil
    }

    /// The other request of the story (via ↔ direct): for the proxy's answer, the direct request's first run.
    func compare(with e: HTTPExchange) -> HTTPExchange? {
        e.role == .via ? evidence.exchanges(.direct).first?.value : nil
    }

    /// What the case says about the proxy's own connection, for reading an alert it logged.
    var proxyContext: AlertMeaning.Context {
        let attempts = evidence.matrices.flatMap(\.value.attempts)
        let withoutSNI = story.proxy?.sni == SNIVariant.none.normalised(host: evidence.host ?? "")
        return AlertMeaning.Context(certificateRequested: attempts.contains(where: \.certificateRequested),
                                    clientCertificateSent: story.proxy?.profile?.clientCertificate != nil,
                                    withoutSNI: withoutSNI && story.proxy?.sni == SNIVariant.none,
                                    sniWorks: attempts.contains { $0.variant != .none && $0.established })
    }

    /// The proxy's side of the case: its settings, and what triage measured of the upstream directly.
    var proxyCase: ProxyCase {
        let resolution = evidence.resolutions.first?.value
        return ProxyCase(config: evidence.proxyConfig, profile: evidence.profiledProxy,
                         direct: evidence.exchanges(.direct).map(\.value),
                         attempts: evidence.matrices.filter { $0.value.profile == nil }.flatMap { m in m.value.attempts.map { ($0, m.value.timeout) } },
                         resolved: resolution.map { DNSRules($0).addresses } ?? [], resolver: resolution?.server)
    }

    /// The leaf served with SNI (else any), for naming what a certificate finding is about.
    var upstreamLeaf: Certificate? {
        let attempts = evidence.matrices.flatMap(\.value.attempts)
        return (attempts.first { $0.variant != .none && !$0.chain.isEmpty } ?? attempts.first { !$0.chain.isEmpty })?.chain.first
    }
}

extension Finding {
    /// What makes two findings the same: cause, subject, connection.
    public struct Key: Hashable, Sendable {
        public var cause: Cause
        public var subject: String
        public var path: FindingPath
    }

    public var key: Key { Key(cause: cause, subject: subject, path: path) }
}

extension StepOutcome {
    /// What the rules make of this step's evidence on its own, judged now (a run
    /// judges it with the rest of the case: see `RuleBook`).
    public var findings: [Finding] {
        RuleBook(CaseEvidence(host: nil, now: Date(), items: evidence.map { CaseEvidence.Item(step: "", $0) })).findings
    }
}

/// A server whose `Date:` is far from this machine's clock: said on every finding about a certificate's
/// dates, since either clock may be the one that is wrong.
enum ServerClock {
    static let tolerance: TimeInterval = 300

    static func annotate(_ findings: [Finding], evidence: CaseEvidence) -> [Finding] {
        guard let exchange = evidence.exchanges(.direct).first(where: { $0.value.header("Date") != nil })?.value,
              let text = exchange.header("Date"), let date = parse(text) else { return findings }
        let skew = date.timeIntervalSince(evidence.startedAt)
        guard abs(skew) > tolerance else { return findings }
        let note = Message(.noteServerClock, ["date": .typed(.date(date)), "minutes": .int(Int((abs(skew) / 60).rounded())),
                                              "direction": Message(skew > 0 ? .clockAhead : .clockBehind).value])
        return findings.map { f in
            guard [.certNotYetValid, .certExpired, .intermediateExpired, .certExpiresSoon].contains(f.cause) else { return f }
            var f = f
            f.facts.append(Fact(.note, note.value))
            return f
        }
    }

    /// RFC 9110's IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func parse(_ text: String) -> Date? {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return f.date(from: text.trimmingCharacters(in: .whitespaces))
    }
}
