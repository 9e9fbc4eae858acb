import Foundation

/// Everything a step kind gets when it runs: its arguments after
/// interpolation (typed values kept), its deadline, its evidence folder, and
/// the resources of the run that outlive a step.
public struct StepContext: Sendable {
    /// The id the step's evidence is filed under (`handshake`, or
    /// `handshake-2` for the second item of a `for_each`).
    public var stepID: String
    /// `with:` after interpolation.
    public var arguments: [String: Value]
    /// The `item` of a `for_each` run.
    public var item: Value?
    public var timeout: Duration
    public var deadline: ContinuousClock.Instant
    /// The run's start.
    public var runStartedAt: Date
    /// The time certificates are judged at: the run's start, or `--at`; one report has one notion of now.
    public var judgedAt: Date
    public var evidence: EvidenceDirectory
    /// The run's inputs, for steps that want the target URL or CA file.
    public var inputs: [String: Value]
    /// What outlives a step (a running capture); the engine closes what is left at the end.
    public var resources: RunResources
    /// Where a long step says how far it got (a progress line on a terminal).
    public var progress: @Sendable (Message) -> Void = { _ in }

    public init(stepID: String, arguments: [String: Value], item: Value? = nil, timeout: Duration,
                deadline: ContinuousClock.Instant, runStartedAt: Date, evidence: EvidenceDirectory,
                inputs: [String: Value] = [:], resources: RunResources = RunResources()) {
        self.stepID = stepID
        self.arguments = arguments
        self.item = item
        self.timeout = timeout
        self.deadline = deadline
        self.runStartedAt = runStartedAt
        judgedAt = runStartedAt
        self.evidence = evidence
        self.inputs = inputs
        self.resources = resources
    }

    public subscript(_ name: String) -> Value { arguments[name] ?? .null }

    /// Whether the runbook gave the argument at all (even as an expression that came out empty).
    public func given(_ name: String) -> Bool { arguments[name] != nil }

    /// A string argument, with numbers accepted as their text (ports).
    public func string(_ name: String) -> String? {
        switch arguments[name] {
        case .string(let s)?: s.isEmpty ? nil : s
        case .number(let n)?: Value.format(n)
        case .typed(let t)?: t.text
        default: nil
        }
    }

    /// A list argument's strings; a string is split at commas (`addresses: "a,b"`).
    public func strings(_ name: String, splitCommas: Bool = false) -> [String] {
        let raw: [String] = switch arguments[name] {
        case .string(let s)?: [s]
        case .list(let l)?: l.map(\.text)
        case .number(let n)?: [Value.format(n)]
        case .typed(let t)?: [t.text]
        default: []
        }
        let parts = splitCommas ? raw.flatMap { $0.split(separator: ",").map(String.init) } : raw
        // Spaces of any kind and tabs, not line breaks: what Foundation's `.whitespaces` trimmed.
        return parts.map { String($0.trimmed { $0.isWhitespace && !$0.isNewline }) }.filter { !$0.isEmpty }
    }

    public func int(_ name: String) -> Int? { arguments[name]?.intValue }

    /// A boolean argument; the strings "true"/"false" (from --set) count too.
    /// A boolean as text (`--set keylog=false`): true/yes/on/1, false/no/off/0 and "" (any case); nil for other text.
    public static func boolean(word: String) -> Bool? {
        switch word.lowercased() {
        case "true", "yes", "on", "1": true
        case "false", "no", "off", "0", "": false
        default: nil
        }
    }

    public func bool(_ name: String) -> Bool? {
        switch arguments[name] {
        case .bool(let b)?: b
        case .string(let s)?: Self.boolean(word: s)
        default: nil
        }
    }

    public func duration(_ name: String) throws(StepFailure) -> Duration? {
        switch arguments[name] {
        case .string(let s)? where !s.isEmpty:
            do { return try DurationParser.parse(s) } catch {
                throw StepFailure(.badDurationInput, ["input": .string(name), "value": .string(s), "reason": .string(error.description)])
            }
        case .number(let n)?:
            do { return try DurationParser.checked(n) } catch {
                throw StepFailure(.badDurationInput, ["input": .string(name), "value": .string(Value.format(n)), "reason": .string(error.description)])
            }
        default: return nil
        }
    }

    /// The typed values of an argument (one, or a list of them), e.g. the `chains` of tls.handshake.
    public func typed(_ name: String) -> [TypedValue] {
        switch arguments[name] {
        case .typed(let t)?: [t]
        case .list(let l)?: l.compactMap(\.typedValue)
        default: []
        }
    }

    /// The time left before the step's deadline, never negative.
    public var remaining: Duration { max(.zero, deadline - ContinuousClock.now) }
}

/// What a step produced.
public struct StepOutcome: Sendable {
    public var summary: Message
    /// The manual command that shows the same thing (`openssl s_client …`).
    public var command: String?
    public var facts: [Fact]
    /// By the names the kind declares; typed values stay typed.
    public var outputs: [String: Value]
    /// What the step saw, typed: the diagnosis judges it with the rest of the case.
    public var evidence: [Evidence]
    /// Raw evidence shown collapsed in the report (a trace, a command's output).
    public var transcript: String?
    /// Set when the step ran but what it ran did not do its job (a command
    /// exiting non-zero, a transfer that failed without a diagnosis).
    public var failure: Message?
    /// The exchanges the step saw, for the report's picture of the request path.
    public var observations: [Observation]
    /// Events of the incident the step found (a certificate's notAfter, a log line's time).
    public var events: [TimelineEvent]
    /// The step did its job, less well than it should (a capture without the privilege to capture):
    /// a warning on its line, with what to do.
    public var notice: Message?
    /// The step ended because its own deadline came (curl timed the transfer out at the step's
    /// deadline): what it saw is what that deadline allowed. When the run's --max-time had
    /// shortened that deadline, the check was cut short, not answered: the engine says so.
    public var reachedDeadline = false

    public init(summary: Message, command: String? = nil, facts: [Fact] = [], outputs: [String: Value] = [:],
                evidence: [Evidence] = [], transcript: String? = nil, failure: Message? = nil,
                observations: [Observation] = [], events: [TimelineEvent] = []) {
        self.observations = observations
        self.events = events
        self.summary = summary
        self.command = command
        self.facts = facts
        self.outputs = outputs
        self.evidence = evidence
        self.transcript = transcript
        self.failure = failure
    }
}

/// A step that could not do its job, and why — in the language tables'
/// terms, with the library's own text as an argument.
public struct StepFailure: Error, Sendable, CustomStringConvertible {
    public var message: Message

    public init(_ key: MessageKey, _ args: [String: Value] = [:]) {
        message = Message(key, args)
    }

    public init(_ message: Message) { self.message = message }

    public var description: String { TextTable.english.render(message) }
}
