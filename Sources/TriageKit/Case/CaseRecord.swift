import Foundation

/// A run in progress or finished: the runbook, the inputs, and the step
/// results in order. The case folder is rewritten from it as steps end.
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
    /// The ids of the runbook's steps, in order: what the run will do.
    public var plannedSteps: [String]
    public var steps: [StepResult]
    public var interrupted: Bool
    /// `--at`: the time certificates were judged at, when not the run's start.
    public var judgedAt: Date?

    public init(runbook: String, runbookTitle: String?, runbookSource: String, target: String?, via: String?,
                inputs: [String: Value], host: String, startedAt: Date, finishedAt: Date? = nil,
                plannedSteps: [String] = [], steps: [StepResult] = [], interrupted: Bool = false) {
        self.runbook = runbook
        self.runbookTitle = runbookTitle
        self.runbookSource = runbookSource
        self.target = target
        self.via = via
        self.inputs = inputs
        self.host = host
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.plannedSteps = plannedSteps
        self.steps = steps
        self.interrupted = interrupted
    }

    public var findings: [Finding] { steps.flatMap(\.findings) }

    /// Whether the run has ended (a report written while it runs says it has not).
    public var isFinished: Bool { finishedAt != nil }

    public var diagnosis: Diagnosis { Diagnosis(self) }
}
