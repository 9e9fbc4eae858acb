import Foundation

/// How a step ended.
public enum StepStatus: String, Sendable, Codable, CaseIterable {
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

    /// The step ran but could not complete its check.
    public var isIncomplete: Bool { self == .failed || self == .timedOut }
}

/// The record of one step run: what the report and `report.json` show.
public struct StepResult: Sendable {
    public var id: String
    public var uses: String
    public var status: StepStatus
    public var startedAt: Date
    public var durationMs: Int
    public var summary: Message
    public var command: String?
    public var facts: [Fact]
    public var artifacts: [Artifact]
    /// What the step saw, typed: what the diagnosis reads.
    public var evidence: [Evidence]
    /// The findings the diagnosis rests on this step's evidence (filled by the engine, judged over the whole case).
    public var findings: [Finding]
    public var outputs: [String: Value]
    public var transcript: String?
    /// For a skipped step, the condition that was false.
    public var condition: String?
    /// For a `for_each` run, its item.
    public var item: Value?
    public var error: Message?
    public var observations: [Observation]
    public var events: [TimelineEvent]
    /// The step did its job, less well than it should: a warning, with what to do.
    public var notice: Message?
    /// The runbook's `name:` for the step, shown beside its id.
    public var name: String?

    public init(id: String, uses: String, status: StepStatus, startedAt: Date, durationMs: Int,
                summary: Message, command: String? = nil, facts: [Fact] = [], artifacts: [Artifact] = [],
                evidence: [Evidence] = [], findings: [Finding] = [], outputs: [String: Value] = [:], transcript: String? = nil,
                condition: String? = nil, item: Value? = nil, error: Message? = nil,
                observations: [Observation] = [], events: [TimelineEvent] = []) {
        self.observations = observations
        self.events = events
        self.id = id
        self.uses = uses
        self.status = status
        self.startedAt = startedAt
        self.durationMs = durationMs
        self.summary = summary
        self.command = command
        self.facts = facts
        self.artifacts = artifacts
        self.evidence = evidence
        self.findings = findings
        self.outputs = outputs
        self.transcript = transcript
        self.condition = condition
        self.item = item
        self.error = error
    }
}
