import Foundation

/// How a step ended.
public enum StepStatus: String, Sendable, Codable {
    /// Ran and found nothing wrong.
    case ok
    /// Ran and found only warnings.
    case warning
    /// Ran and found a problem (its findings say which).
    case problem
    /// Could not do its job: an error, a command that exited non-zero.
    case failed
    /// Passed its deadline and was cancelled.
    case timedOut = "timed-out"
    /// Its `if:` was false, or an earlier step stopped the run.
    case skipped
    /// The run was interrupted (SIGINT / SIGTERM) while it ran.
    case interrupted
}

/// The record of one step run: what the report and `report.json` show.
public struct StepResult: Sendable, Codable {
    public var id: String
    public var uses: String
    public var status: StepStatus
    public var startedAt: Date
    public var durationMs: Int
    public var summary: String
    public var command: String?
    public var facts: [Fact]
    public var artifacts: [Artifact]
    public var findings: [Finding]
    public var outputs: [String: Value]
    public var transcript: String?
    /// For a skipped step, the condition that was false.
    public var condition: String?
    /// For a `for_each` run, its item.
    public var item: Value?
    public var error: String?

    public init(id: String, uses: String, status: StepStatus, startedAt: Date, durationMs: Int,
                summary: String, command: String? = nil, facts: [Fact] = [], artifacts: [Artifact] = [],
                findings: [Finding] = [], outputs: [String: Value] = [:], transcript: String? = nil,
                condition: String? = nil, item: Value? = nil, error: String? = nil) {
        self.id = id
        self.uses = uses
        self.status = status
        self.startedAt = startedAt
        self.durationMs = durationMs
        self.summary = summary
        self.command = command
        self.facts = facts
        self.artifacts = artifacts
        self.findings = findings
        self.outputs = outputs
        self.transcript = transcript
        self.condition = condition
        self.item = item
        self.error = error
    }
}

/// A run in progress or finished: the runbook, the inputs, and the step
/// results in order. The case folder is rewritten from it after every step.
public struct CaseRecord: Sendable {
    public var runbook: String
    public var runbookTitle: String?
    public var runbookSource: String
    public var target: String?
    public var via: String?
    public var inputs: [String: Value]
    /// The machine that ran triage.
    public var host: String
    public var startedAt: Date
    public var finishedAt: Date?
    public var steps: [StepResult]
    public var interrupted: Bool

    public init(runbook: String, runbookTitle: String?, runbookSource: String, target: String?, via: String?,
                inputs: [String: Value], host: String, startedAt: Date, finishedAt: Date? = nil,
                steps: [StepResult] = [], interrupted: Bool = false) {
        self.runbook = runbook
        self.runbookTitle = runbookTitle
        self.runbookSource = runbookSource
        self.target = target
        self.via = via
        self.inputs = inputs
        self.host = host
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.steps = steps
        self.interrupted = interrupted
    }

    public var findings: [Finding] { steps.flatMap(\.findings) }

    public var diagnosis: Diagnosis { Diagnosis(findings: findings, interrupted: interrupted) }
}
