/// What a ticket needs from the findings: the verdict, the symptom (what the
/// user saw: the proxy's 502, curl's failure), the root cause — the finding
/// that explains the symptom on its own request path, the earliest thing
/// that breaks along that connection — and every other finding with whom
/// it affects, in order of impact.
public struct Diagnosis: Sendable {
    public enum Verdict: String, Sendable, Codable {
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
    /// Steps that failed or timed out: what could not be checked.
    public var incompleteSteps: [StepResult]

    public init(_ record: CaseRecord) {
        self.init(findings: record.findings, steps: record.steps, interrupted: record.interrupted, finished: record.isFinished,
                  story: RequestStory(record))
    }

    public init(findings raw: [Finding], steps: [StepResult] = [], interrupted: Bool = false, finished: Bool = true,
                story: RequestStory = RequestStory(host: nil, via: nil, proxy: nil)) {
        self.story = story
        incompleteSteps = steps.filter { $0.status.isIncomplete }
        // A problem that only clients the case did not observe would hit is a
        // warning when a proxy is in the story (its real connection was checked).
        let findings = raw.map { f -> Finding in
            var f = f
            if f.severity == .problem, story.proxy != nil, story.affects(f).isDisjoint(with: story.observed) { f.severity = .warning }
            return f
        }
        let problems = findings.filter { $0.severity == .problem }
        let symptom = problems.first { $0.path == .http(.via) } ?? problems.first { $0.path == .http(.direct) }
        let client: RequestStory.Client = symptom?.path == .http(.via) ? .proxy : .user
        let explaining = problems.filter { $0 != symptom && story.affects($0).contains(client) }
            .sorted { Self.order($0) < Self.order($1) }
        let root = explaining.first ?? symptom ?? problems.filter { !story.affects($0).isDisjoint(with: story.observed) }.min { Self.order($0) < Self.order($1) }
            ?? problems.min { Self.order($0) < Self.order($1) }
        rootCause = root
        directCause = symptom ?? root
        var impacts: [Impact] = []
        if let root { impacts.append(Impact(finding: root, affects: story.affects(root), role: .root)) }
        if let symptom, symptom != root { impacts.append(Impact(finding: symptom, affects: story.affects(symptom), role: .symptom)) }
        let rest = findings.filter { $0 != root && $0 != symptom }
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
    /// checks, 4 HTTP, 5 the proxy's answer. The earliest one on a path is
    /// the one that explains its failure; the later ones are masked by it.
    public var stage: Int {
        switch self {
        case .dnsFailure: 0
        case .connectionRefused, .timeout, .addressUnreachable: 1
        case .mixedBackends, .notTLS, .alertWithoutSNI, .clientCertRequired, .clientCertRejected, .protocolVersion, .noSharedCipher,
             .connectionReset, .tlsProtocolError, .handshakeTooLarge, .tlsAlert: 2
        case .defaultCertWithoutSNI, .certExpired, .intermediateExpired, .certNotYetValid, .incompleteChain, .untrustedIssuer,
             .selfSigned, .hostnameMismatch, .weakKey: 3
        case .httpError, .httpTimeout, .httpProtocolError, .redirectLoop: 4
        case .proxyError, .proxyTimeout: 5
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
    /// 128 + SIGINT, as shells report a command stopped by Ctrl-C.
    public static let interrupted: Int32 = 130
}
