import Foundation

/// The report as data: written as `report.json`, and the model the Markdown
/// templates render. One type for both, so they never disagree.
public struct ReportDocument: Sendable, Codable {
    public static let currentSchemaVersion = 1

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
    }

    public struct StepEntry: Sendable, Codable {
        public var id: String
        public var uses: String
        public var status: StepStatus
        public var startedAt: Date
        public var durationMs: Int
        public var summary: String
        public var command: String?
        public var facts: [String: Value]
        public var artifacts: [Artifact]
        public var findings: [Cause]
        public var condition: String?
        public var item: Value?
        public var error: String?
    }

    public var schemaVersion: Int
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
    public var steps: [StepEntry]
    public var inputs: [String: Value]

    public init(_ record: CaseRecord) {
        let diagnosis = record.diagnosis
        schemaVersion = Self.currentSchemaVersion
        runbook = RunbookInfo(name: record.runbook, title: record.runbookTitle, source: record.runbookSource)
        target = record.target.map(Redactor.redact)
        via = record.via.map(Redactor.redact)
        host = record.host
        startedAt = record.startedAt
        finishedAt = record.finishedAt
        verdict = diagnosis.verdict
        rootCause = diagnosis.rootCause.map(Self.entry)
        directCause = diagnosis.directCause.map(Self.entry)
        findings = diagnosis.findings.map(Self.entry)
        steps = record.steps.map { s in
            StepEntry(id: s.id, uses: s.uses, status: s.status, startedAt: s.startedAt, durationMs: s.durationMs,
                      summary: Redactor.redact(s.summary), command: s.command.map(Redactor.redact),
                      facts: Self.facts(s.facts), artifacts: s.artifacts, findings: s.findings.map(\.cause),
                      condition: s.condition, item: s.item, error: s.error.map(Redactor.redact))
        }
        inputs = record.inputs.mapValues { v in v.stringValue.map { .string(Redactor.redact($0)) } ?? v }
        summary = Self.summary(record, diagnosis)
    }

    static func entry(_ f: Finding) -> CauseEntry {
        CauseEntry(cause: f.cause, title: CauseText.title(f.cause), severity: f.severity,
                   summary: Redactor.redact(f.summary), subject: f.subject, facts: facts(f.facts),
                   remedy: f.remedy, step: f.step)
    }

    static func facts(_ list: [Fact]) -> [String: Value] {
        Dictionary(list.map { ($0.name, $0.value.stringValue.map { .string(Redactor.redact($0)) } ?? $0.value) },
                   uniquingKeysWith: { a, _ in a })
    }

    static func summary(_ record: CaseRecord, _ diagnosis: Diagnosis) -> String {
        let subject = record.target.flatMap { URLPart.host.extract(from: $0).stringValue } ?? record.runbook
        switch diagnosis.verdict {
        case .interrupted:
            return "\(subject): run interrupted after \(record.steps.count) step(s); partial evidence"
        case .healthy:
            let failed = record.steps.filter { $0.status == .failed || $0.status == .timedOut }.count
            return failed == 0 ? "\(subject): no problem found" : "\(subject): no problem found, but \(failed) step(s) could not run"
        case .problem:
            return diagnosis.rootCause.map { "\(subject): \($0.summary)" } ?? "\(subject): problem found"
        }
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
