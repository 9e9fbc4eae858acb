/// What a ticket needs from the findings: the verdict, the symptom (what the
/// user saw: the proxy's 502, curl's failure), the root cause — the finding
/// that explains the symptom on its own request path, the earliest thing
/// that breaks along that connection — and every other finding with whom
/// it affects, in order of impact.
public struct Diagnosis: Sendable {
    public enum Verdict: String, Sendable, Codable, CaseIterable {
        /// Every step that ran ended ok and no finding is a problem.
        case healthy
        /// A problem was diagnosed.
        case problem
        /// No problem found, but a check could not be completed.
        case inconclusive
        /// SIGINT/SIGTERM ended the run.
        case interrupted
        /// The run has not finished: still running, or killed.
        case incomplete
    }

    /// A finding with whom it affects and its place in the story.
    public struct Impact: Sendable {
        public enum Role: String, Sendable, Codable {
            /// Explains the symptom.
            case root
            /// What the user saw.
            case symptom
            /// Breaks the symptom's connection too, after the root cause.
            case samePath = "same-path"
            /// Breaks another client's connection.
            case otherPath = "other-path"
            /// Affects only clients the case did not observe, or is a warning.
            case latent
        }

        public var finding: Finding
        public var affects: Set<RequestStory.Client>
        public var role: Role
    }

    public var verdict: Verdict
    public var rootCause: Finding?
    /// What the user saw; the root cause itself when nothing else was seen.
    public var directCause: Finding?
    /// Every finding, root first, then by impact; a finding that only affects
    /// clients the case did not observe is a warning.
    public var findings: [Finding]
    public var impacts: [Impact]
    public var story: RequestStory
    /// Steps that failed or timed out, or whose failure nothing explains: what could not be checked.
    public var incompleteSteps: [StepResult]

    /// A step's status as the whole case judges it: a step that found problems the case made warnings
    /// of (an SNI-less abort behind a proxy that sends SNI) is a warning, not a problem, so the table
    /// of checks agrees with "what held".
    public func status(of step: StepResult) -> StepStatus {
        guard step.status == .problem else { return step.status }
        let own = findings.filter { $0.step == step.id }
        return !own.isEmpty && own.allSatisfy({ $0.severity != .problem }) ? .warning : .problem
    }
    /// When the root cause is only the proxy's answer: the evidence that would have explained it.
    public var missingEvidence: [Message]

    public init(_ record: CaseRecord) {
        let evidence = CaseEvidence(record)
        let book = RuleBook(evidence)
        let judgement = book.judgement
        self.init(findings: judgement.findings, steps: record.steps, unexplained: judgement.unexplained,
                  interrupted: record.interrupted, finished: record.isFinished, story: book.story, evidence: evidence)
    }

    /// The diagnosis of findings already made (the rule matrix builds them by hand; `init(_ record:)` runs the rules).
    public init(findings raw: [Finding], steps: [StepResult] = [], unexplained: Set<String> = [], interrupted: Bool = false,
                finished: Bool = true, story: RequestStory = RequestStory(host: nil, via: nil, proxy: nil), evidence: CaseEvidence? = nil) {
        self.story = story
        // A step the run's --max-time left no time for could not check anything either.
        incompleteSteps = steps.filter { $0.status.isIncomplete || unexplained.contains($0.id) || $0.summary.key == MessageKey.stepNotRunMaxTime.rawValue }
        // A problem that only clients the case did not observe would hit is a
        // warning when a proxy is in the story (its real connection was checked).
        // A proxy that answered fine met none of what its profile predicts: its replay's findings are warnings then.
        let proxyAnswered = evidence?.exchanges(.via).contains { $0.value.succeeded && (1..<400).contains($0.value.status) } ?? false
        let findings = raw.map { f -> Finding in
            var f = f
            if f.severity == .problem, story.proxy != nil, story.affects(f).isDisjoint(with: story.observed) { f.severity = .warning }
            if f.severity == .problem, proxyAnswered, story.affects(f) == [.proxy], Self.predicted(f.path) { f.severity = .warning }
            return f
        }
        let problems = findings.filter { $0.severity == .problem }
        let symptom = problems.first { $0.path == .http(.via) } ?? problems.first { $0.path == .http(.direct) }
        let client: RequestStory.Client = symptom?.path == .http(.via) ? .proxy : .user
        // The proxy's own log outranks every prediction: the causes it names come first.
        let logged = Set(problems.filter { $0.path == .proxyLog }.map(\.cause))
        var confirmed = client == .proxy ? logged : []
        // A certificate the log rejects, where the server gives clients without SNI another certificate with
        // that very problem and the proxy sends none: the log confirms the default certificate's finding,
        // which names the certificate and the SNI fix (the logged cause alone blamed the host's valid one).
        if !confirmed.isDisjoint(with: Self.defaultCertificateProblems),
           problems.contains(where: { $0.cause == .defaultCertWithoutSNI && story.affects($0).contains(client) }) {
            confirmed.subtract(Self.defaultCertificateProblems)
            confirmed.insert(.defaultCertWithoutSNI)
        }
        let explaining = problems.filter { $0 != symptom && story.affects($0).contains(client) }
            .sorted { Self.rank($0, confirmed: confirmed) < Self.rank($1, confirmed: confirmed) }
        var root = explaining.first ?? symptom ?? problems.filter { !story.affects($0).isDisjoint(with: story.observed) }.min { Self.order($0) < Self.order($1) }
            ?? problems.min { Self.order($0) < Self.order($1) }
        var missing: [Message] = []
        if var r = root {
            let confirming = { (f: Finding) in
                f.cause == r.cause || (r.cause == .defaultCertWithoutSNI && Self.defaultCertificateProblems.contains(f.cause))
            }
            if confirmed.contains(r.cause), r.path != .proxyLog, let line = problems.first(where: { $0.path == .proxyLog && confirming($0) })?.facts[.lastLine] {
                r.facts.append(Fact(.confirmedBy, line))
            }
            if r == symptom, r.path == .http(.via), let evidence {
                // Nothing observed or predicted explains the proxy's answer: say what would have.
                missing = Self.missing(evidence, story: story)
                if !missing.isEmpty { r.facts.append(Fact(.missingEvidence, .list(missing.map(\.value)))) }
                if let contradiction = Self.contradiction(evidence, story: story) { r.facts.append(Fact(.note, contradiction)) }
            }
            if story.proxy == nil, [.alertWithoutSNI, .defaultCertWithoutSNI].contains(r.cause) {
                // No proxy sends the request: the clients without SNI are whoever the server has; both ways out
                // (this says both; the proxy's own remedy appended to it repeated them).
                r.remedy = Message(.remedySNIBoth, ["name": .string(story.host ?? "HOST")])
            }
            root = r
        }
        missingEvidence = missing
        rootCause = root
        directCause = symptom.map { s in root.flatMap { $0.key == s.key ? $0 : nil } ?? s } ?? root
        var impacts: [Impact] = []
        if let root { impacts.append(Impact(finding: root, affects: story.affects(root), role: .root)) }
        if let symptom, symptom.key != root?.key { impacts.append(Impact(finding: symptom, affects: story.affects(symptom), role: .symptom)) }
        let rest = findings.filter { $0.key != root?.key && $0.key != symptom?.key }
        let ranked = rest.sorted { a, b in
            let (ra, rb) = (Self.role(a, story: story, client: client), Self.role(b, story: story, client: client))
            return (Self.roleOrder(ra), a.cause.stage, a.cause.rank) < (Self.roleOrder(rb), b.cause.stage, b.cause.rank)
        }
        impacts += ranked.map { Impact(finding: $0, affects: story.affects($0), role: Self.role($0, story: story, client: client)) }
        self.impacts = impacts
        self.findings = impacts.map(\.finding)
        if !finished {
            verdict = .incomplete
        } else if interrupted {
            verdict = .interrupted
        } else if !problems.isEmpty {
            verdict = .problem
        } else if !incompleteSteps.isEmpty {
            verdict = .inconclusive
        } else {
            verdict = .healthy
        }
    }

    /// What a default certificate's finding (`default-cert-without-sni`) can be the reason for.
    static let defaultCertificateProblems: Set<Cause> = [.certExpired, .certNotYetValid, .hostnameMismatch, .untrustedIssuer, .selfSigned,
                                                         .incompleteChain, .certInvalid]

    /// How a candidate explanation ranks: a cause the proxy's log names first; then the
    /// earliest stage along the connection and the more specific cause; of two findings of
    /// one cause, the one resting on the evidence with more facts (a chain, a replay) before the log line.
    static func rank(_ f: Finding, confirmed: Set<Cause>) -> (Int, Int, Int, Int) {
        (confirmed.contains(f.cause) ? 0 : 1, f.cause.stage, f.cause.rank, evidenceOrder(f.path))
    }

    /// Of two findings of one cause, the one that says more: the replay of the client's own
    /// handshake (it compares with what works), a chain, a handshake, a capture, a request, the log line.
    static func evidenceOrder(_ path: FindingPath) -> Int {
        switch path {
        case .replay: 0
        case .chain: 1
        case .handshake, .all: 2
        case .capture: 3
        case .http: 4
        case .proxyLog: 5
        }
    }

    /// A finding made from what a client would meet (a replay, a handshake variant, a chain, triage's own
    /// connections in the capture: its probes), not from what the proxy itself was seen doing (its log,
    /// its captured connection, its answer).
    static func predicted(_ path: FindingPath) -> Bool {
        switch path {
        case .replay, .handshake, .chain, .all: true
        case .capture(_, let byProxy): !byProxy
        case .http, .proxyLog: false
        }
    }

    /// The evidence a case lacked to explain a proxy's error.
    static func missing(_ evidence: CaseEvidence, story: RequestStory) -> [Message] {
        var out: [Message] = []
        if evidence.proxyLog == nil { out.append(Message(.missingProxyLog)) }
        if evidence.proxyConfig == nil { out.append(Message(.missingProxyConfig)) }
        if evidence.captures.isEmpty { out.append(Message(.missingCapture)) }
        return out
    }

    /// The replay of the proxy's handshake worked where the proxy failed: the report names the contradiction.
    static func contradiction(_ evidence: CaseEvidence, story: RequestStory) -> Message? {
        guard let replay = evidence.replays.first?.value, let profile = replay.profile, !replay.attempts.isEmpty,
              replay.attempts.contains(where: \.established) else { return nil }
        return Message(.replayContradiction, ["proxy": .string(profile.name), "profile": profile.summary.value])
    }

    static func role(_ f: Finding, story: RequestStory, client: RequestStory.Client) -> Impact.Role {
        guard f.severity == .problem else { return .latent }
        let affects = story.affects(f)
        if affects.contains(client) { return .samePath }
        return affects.isDisjoint(with: story.observed) ? .latent : .otherPath
    }

    static func roleOrder(_ r: Impact.Role) -> Int {
        switch r {
        case .root: 0
        case .symptom: 1
        case .samePath: 2
        case .otherPath: 3
        case .latent: 4
        }
    }

    /// Where along a connection a cause breaks it — name, address, the
    /// server's side of the handshake, the certificate, HTTP, the proxy —
    /// and, within a stage, the more specific cause first.
    static func order(_ f: Finding) -> (Int, Int) { (f.cause.stage, f.cause.rank) }

    /// The process exit status for this diagnosis (see README, "Exit status").
    public var exitStatus: Int32 {
        switch verdict {
        case .healthy: ExitStatus.healthy
        case .problem: ExitStatus.problem
        case .inconclusive: ExitStatus.inconclusive
        case .interrupted, .incomplete: ExitStatus.interrupted
        }
    }
}

extension Cause {
    /// The order a connection meets causes in: 0 the name, 1 the address,
    /// 2 the server's side of the handshake, 3 the certificate the client
    /// checks, 4 HTTP (and a runbook's own causes), 5 the proxy's answer. The earliest one on a path is
    /// the one that explains its failure; the later ones are masked by it.
    public var stage: Int {
        switch self {
        case .dnsFailure, .upstreamDNSStale: 0
        case .connectionRefused, .timeout, .addressUnreachable, .noLiveUpstreams: 1
        case .mixedBackends, .notTLS, .alertWithoutSNI, .clientCertRequired, .clientCertRejected, .protocolVersion, .noSharedCipher,
             .connectionReset, .tlsProtocolError, .handshakeTooLarge, .tlsAlert, .tlsToPlainPort, .plainHTTPToTLSPort,
             .upstreamProtocolMismatch: 2
        case .defaultCertWithoutSNI, .certExpired, .intermediateExpired, .certNotYetValid, .incompleteChain, .untrustedIssuer,
             .selfSigned, .hostnameMismatch, .weakKey, .certExpiresSoon, .certWrongPurpose, .certInvalid, .certRevoked, .ocspStale, .revocationUnchecked: 3
        case .httpError, .httpTimeout, .httpProtocolError, .redirectLoop, .upstreamHeaderTooBig, .upstreamClosedEarly: 4
        case .proxyError, .proxyTimeout: 5
        // A runbook's own cause: what the user checks on the upstream, after the connection held.
        default: 4
        }
    }
}

/// triage's exit statuses, one place for all of them.
public enum ExitStatus {
    public static let healthy: Int32 = 0
    public static let problem: Int32 = 1
    public static let usage: Int32 = 2
    /// A check could not be completed and nothing found explains why.
    public static let inconclusive: Int32 = 3
    public static let internalError: Int32 = 70
    /// The result (verdict line, report path, JSON, scan rows) could not be written to stdout: a full
    /// disk, a dead device (sysexits' EX_IOERR). A reader that closed the pipe is no error.
    public static let outputFailed: Int32 = 74
    /// 128 + SIGINT, as shells report a command stopped by Ctrl-C.
    public static let interrupted: Int32 = 130
}
