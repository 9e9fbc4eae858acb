/// Findings ranked into what a ticket needs: the direct cause (what the user
/// saw) and the root cause (why).
public struct Diagnosis: Sendable {
    public enum Verdict: String, Sendable, Codable {
        case healthy, problem, interrupted
    }

    public var verdict: Verdict
    public var rootCause: Finding?
    public var directCause: Finding?
    /// Every finding, problems first, each group by rank and step order.
    public var findings: [Finding]

    public init(findings: [Finding], interrupted: Bool) {
        let ordered = findings.enumerated().sorted { a, b in
            let ka = (a.element.severity == .problem ? 0 : 1, -a.element.cause.layer, a.element.cause.rank, a.offset)
            let kb = (b.element.severity == .problem ? 0 : 1, -b.element.cause.layer, b.element.cause.rank, b.offset)
            return ka < kb
        }.map(\.element)
        self.findings = ordered
        let problems = ordered.filter { $0.severity == .problem }
        rootCause = problems.first
        directCause = problems.min { ($0.cause.layer, $0.cause.rank) < ($1.cause.layer, $1.cause.rank) }
        if interrupted {
            verdict = .interrupted
        } else {
            verdict = problems.isEmpty ? .healthy : .problem
        }
    }

    /// The process exit status for this diagnosis (see README, "Exit status").
    public var exitStatus: Int32 {
        switch verdict {
        case .healthy: ExitStatus.healthy
        case .problem: ExitStatus.problem
        case .interrupted: ExitStatus.interrupted
        }
    }
}

/// triage's exit statuses, one place for all of them.
public enum ExitStatus {
    public static let healthy: Int32 = 0
    public static let problem: Int32 = 1
    public static let usage: Int32 = 2
    public static let internalError: Int32 = 70
    /// 128 + SIGINT, as shells report a command stopped by Ctrl-C.
    public static let interrupted: Int32 = 130
}
