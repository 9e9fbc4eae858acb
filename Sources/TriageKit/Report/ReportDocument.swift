import Foundation

/// The report as data: written as `report.json`, and the model the Markdown
/// templates render. One type for both, so they never disagree. Sentences
/// are rendered in the report's language; facts keep their stable keys and
/// decode back into typed values (`typedFacts`).
public struct ReportDocument: Sendable, Codable {
    public static let currentSchemaVersion = 2

    public struct RunbookInfo: Sendable, Codable {
        public var name: String
        public var title: String?
        public var source: String
    }

    public struct CauseEntry: Sendable, Codable {
        public var cause: Cause
        public var title: String
        public var severity: Severity
        public var summary: String
        public var subject: String
        public var facts: [String: Value]
        public var remedy: String
        public var step: String

        public var typedFacts: [Fact] { FactCoding.decode(facts) }
    }

    public struct StepEntry: Sendable, Codable {
        public var id: String
        /// The runbook's `name:` for the step.
        public var name: String?
        public var uses: String
        public var status: StepStatus
        public var startedAt: Date
        public var durationMs: Int
        public var summary: String
        public var command: String?
        public var facts: [String: Value]
        public var artifacts: [ArtifactEntry]
        public var findings: [Cause]
        public var condition: String?
        public var item: Value?
        public var error: String?

        public var typedFacts: [Fact] { FactCoding.decode(facts) }
    }

    /// How often the proxy's log shows the failure apart from triage's own requests, and when (nginx's local clock).
    public struct ImpactEntry: Sendable, Codable {
        public var count: Int
        public var first: Date?
        public var last: Date?
        /// Seconds east of UTC of nginx's clock.
        public var utcOffset: Int
        public var message: String
        /// Lines triage's own requests made.
        public var own: Int
        /// The impact line, as the report shows it.
        public var sentence: String
    }

    public struct ArtifactEntry: Sendable, Codable {
        public var path: String
        public var bytes: Int
        public var description: String
    }

    /// A check that could not be completed: why, and what to run by hand.
    public struct IncompleteCheck: Sendable, Codable {
        public var step: String
        public var uses: String
        public var status: StepStatus
        public var error: String
        public var command: String?
    }

    public var schemaVersion: Int
    public var language: String
    public var runbook: RunbookInfo
    public var target: String?
    public var via: String?
    public var host: String
    public var startedAt: Date
    public var finishedAt: Date?
    public var verdict: Diagnosis.Verdict
    /// One line for a ticket title.
    public var summary: String
    public var rootCause: CauseEntry?
    public var directCause: CauseEntry?
    public var findings: [CauseEntry]
    public var incomplete: [IncompleteCheck]
    /// The steps the runbook will run, in order (all of them, even before they ran).
    public var plannedSteps: [String]
    public var steps: [StepEntry]
    public var inputs: [String: Value]
    /// From the proxy's log: how often the failure happened, when.
    public var impact: ImpactEntry?
    /// `--at`: the time certificates were judged at, when not the run's.
    public var judgedAt: Date?

    public init(_ record: CaseRecord, table: TextTable = .english, secrets: SecretSet = SecretSet()) {
        let diagnosis = record.diagnosis
        func clean(_ s: String) -> String { secrets.redact(Redactor.redact(s)) }
        func text(_ m: Message) -> String { clean(table.render(m)) }
        schemaVersion = Self.currentSchemaVersion
        language = table.language
        runbook = RunbookInfo(name: record.runbook, title: table.runbookTitle(record.runbook, source: record.runbookSource, given: record.runbookTitle),
                              source: record.runbookSource)
        target = record.target.map(clean)
        via = record.via.map(clean)
        host = record.host
        startedAt = record.startedAt
        finishedAt = record.finishedAt
        verdict = diagnosis.verdict
        func entry(_ f: Finding) -> CauseEntry {
            CauseEntry(cause: f.cause, title: table.title(f.cause), severity: f.severity, summary: text(f.summary),
                       subject: clean(f.subject), facts: FactCoding.encode(f.facts, table: table, clean: clean),
                       remedy: text(f.remedy), step: f.step)
        }
        rootCause = diagnosis.rootCause.map(entry)
        directCause = diagnosis.directCause.map(entry)
        findings = diagnosis.findings.map(entry)
        incomplete = diagnosis.incompleteSteps.map { s in
            IncompleteCheck(step: s.id, uses: s.uses, status: s.status, error: text(s.error ?? s.summary), command: s.command.map(clean))
        }
        plannedSteps = record.plannedSteps
        steps = record.steps.map { s in
            StepEntry(id: s.id, name: s.name.map(clean), uses: s.uses, status: diagnosis.status(of: s), startedAt: s.startedAt, durationMs: s.durationMs,
                      summary: text(s.summary), command: s.command.map(clean),
                      facts: FactCoding.encode(s.facts, table: table, clean: clean),
                      artifacts: s.artifacts.map { ArtifactEntry(path: $0.path, bytes: $0.bytes, description: text($0.description)) },
                      findings: s.findings.map(\.cause), condition: s.condition, item: s.item.map { FactCoding.clean($0.plain, clean) },
                      error: s.error.map(text))
        }
        inputs = record.inputs.mapValues { FactCoding.clean($0.plain, clean) }
        summary = text(Self.summary(record, diagnosis))
        judgedAt = record.judgedAt
        impact = CaseEvidence(record).proxyLog?.value.impact.map { i in
            ImpactEntry(count: i.count, first: i.first, last: i.last, utcOffset: i.utcOffset, message: clean(i.message), own: i.own,
                        sentence: text(Self.impactSentence(i)))
        }
    }

    static func summary(_ record: CaseRecord, _ diagnosis: Diagnosis) -> Message {
        let subject = Value.string(record.target.flatMap { URLPart.host.extract(from: $0).stringValue } ?? record.runbook)
        // Counted as the report's banner counts them: steps whose condition was false are neither done nor to do.
        let skipped = record.steps.filter { $0.status == .skipped }.count
        let ran = record.steps.count - skipped
        switch diagnosis.verdict {
        case .incomplete:
            return Message(.summaryIncomplete, ["subject": subject, "done": .int(ran), "planned": .int(record.plannedSteps.count - skipped)])
        case .interrupted:
            return Message(.summaryInterrupted, ["subject": subject, "done": .int(ran)])
        case .healthy:
            return Message(.summaryHealthy, ["subject": subject])
        case .inconclusive:
            return Message(.summaryInconclusive, ["subject": subject, "count": .int(diagnosis.incompleteSteps.count),
                                                  "steps": .list(diagnosis.incompleteSteps.map { .string($0.id) })])
        case .problem:
            guard let root = diagnosis.rootCause else { return Message(.summaryProblem, ["subject": subject]) }
            return Message(.summaryRootCause, ["subject": subject, "summary": root.summary.value])
        }
    }

    /// "312 × “upstream sent too big header …” in the proxy's log between 09:12 and 09:47 (nginx's local time, UTC+8)".
    static func impactSentence(_ i: ProxyImpact) -> Message {
        let own: Value = i.own > 0 ? Message(.reportImpactOwn, ["own": .int(i.own)]).value : .string("")
        guard i.count > 0 else {
            let window: Message = if let since = i.since { Message(.reportWindowSince, ["since": .typed(.date(since))]) }
                else if let window = i.window { Message(.reportWindowTail, ["size": .string("\(window >> 20) MiB")]) }
                else { Message(.reportWindowWhole) }
            return Message(.reportImpactOwnOnly, ["own": .int(i.own), "window": window.value])
        }
        let zone = TimeZone(secondsFromGMT: i.utcOffset) ?? .current
        let sameDay = i.first.map { f in i.last.map { Calendar.current.dateComponents(in: zone, from: f).day == Calendar.current.dateComponents(in: zone, from: $0).day } ?? true } ?? true
        func clock(_ d: Date?) -> Value {
            guard let d else { return .string("—") }
            let c = Calendar.current.dateComponents(in: zone, from: d)
            let hm = String(format: "%02d:%02d", c.hour ?? 0, c.minute ?? 0)
            return .string(sameDay ? hm : String(format: "%04d-%02d-%02d ", c.year ?? 0, c.month ?? 0, c.day ?? 0) + hm)
        }
        let hours = i.utcOffset / 3600, minutes = abs(i.utcOffset % 3600) / 60
        let offset = i.utcOffset == 0 ? "" : (i.utcOffset > 0 ? "+" : "-") + "\(abs(hours))" + (minutes > 0 ? String(format: ":%02d", minutes) : "")
        return Message(.reportImpact, ["count": .int(i.count), "proxy": .string(i.proxy), "message": .string(i.message), "first": clock(i.first), "last": clock(i.last),
                                       "offset": .string(offset), "own": own])
    }

    /// Reads a `report.json` back.
    public static func decode(_ data: Data) throws -> ReportDocument {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = ISO8601.parse(text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an ISO 8601 date: \(text)"))
            }
            return date
        }
        return try decoder.decode(ReportDocument.self, from: data)
    }

    public func json() throws -> Data {
        var data = try JSONEncoder.sorted.encode(self)
        data.append(0x0A)
        return data
    }
}
