/// Findings ranked into what a ticket needs: the verdict, the direct cause
/// (what the user saw) and the root cause (why), and the checks that could
/// not be completed.
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

    public var verdict: Verdict
    public var rootCause: Finding?
    public var directCause: Finding?
    /// Every finding, problems first, each group by rank and step order.
    public var findings: [Finding]
    /// Steps that failed or timed out: what could not be checked.
    public var incompleteSteps: [StepResult]

    public init(_ record: CaseRecord) {
        self.init(findings: record.findings, steps: record.steps, interrupted: record.interrupted, finished: record.isFinished)
    }

    public init(findings: [Finding], steps: [StepResult] = [], interrupted: Bool = false, finished: Bool = true) {
        let ordered = findings.enumerated().sorted { a, b in
            let ka = (a.element.severity == .problem ? 0 : 1, -a.element.cause.layer, a.element.cause.rank, a.offset)
            let kb = (b.element.severity == .problem ? 0 : 1, -b.element.cause.layer, b.element.cause.rank, b.offset)
            return ka < kb
        }.map(\.element)
        self.findings = ordered
        let problems = ordered.filter { $0.severity == .problem }
        rootCause = problems.first
        directCause = problems.min { ($0.cause.layer, $0.cause.rank) < ($1.cause.layer, $1.cause.rank) }
        incompleteSteps = steps.filter { $0.status.isIncomplete }
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
