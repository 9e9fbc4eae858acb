import Foundation
import Mustache

/// Renders `report.md` from a case with a Mustache template.
public struct ReportRenderer: Sendable {
    public enum Failure: Error, CustomStringConvertible {
        case template(String, String)
        public var description: String {
            switch self {
            case .template(let name, let why): "cannot parse the report template \(name): \(why)"
            }
        }
    }

    let template: MustacheTemplate
    public let language: String

    /// A template by its text; `name` is only for error messages.
    public init(templateText: String, name: String, language: String) throws {
        do {
            template = try MustacheTemplate(string: templateText)
        } catch {
            throw Failure.template(name, String(describing: error))
        }
        self.language = language
    }

    public func render(_ record: CaseRecord) -> String {
        render(ReportDocument(record), record: record)
    }

    public func render(_ document: ReportDocument, record: CaseRecord) -> String {
        template.render(ReportContext(document: document, record: record, language: language).dictionary)
    }
}

/// The dictionary the templates see. Every string is escaped for where the
/// template puts it: `…Cell` keys for table cells, `…Code` keys for inline
/// code, `fence` next to every raw block.
struct ReportContext {
    let document: ReportDocument
    let record: CaseRecord
    let language: String

    var dictionary: [String: Any] {
        let d = document
        let root = d.rootCause
        let direct = d.directCause
        var out: [String: Any] = [
            "title": title,
            "summary": d.summary,
            "verdict": d.verdict.rawValue,
            "isHealthy": d.verdict == .healthy,
            "isProblem": d.verdict == .problem,
            "isInterrupted": d.verdict == .interrupted,
            "target": d.target ?? "—",
            "targetCode": Markdown.code(d.target ?? "—"),
            "via": d.via.map(Markdown.code) ?? "",
            "hasVia": d.via != nil,
            "startedAt": ISO8601.string(d.startedAt),
            "finishedAt": d.finishedAt.map(ISO8601.string) ?? "—",
            "duration": duration,
            "runbook": d.runbook.name,
            "runbookTitle": d.runbook.title ?? d.runbook.name,
            "runbookSource": Markdown.code(d.runbook.source),
            "host": Markdown.code(d.host),
            "inputs": d.inputs.keys.sorted().map { ["name": $0, "valueCode": Markdown.code(d.inputs[$0]?.text ?? "")] },
            "steps": steps,
            "timeline": timeline,
            "evidence": evidence,
            "hasEvidence": !evidence.isEmpty,
            "warnings": d.findings.filter { $0.severity == .warning }.map(cause),
            "otherFindings": d.findings.filter { $0.severity == .problem && $0.cause != root?.cause && $0.cause != direct?.cause }.map(cause),
        ]
        out["hasWarnings"] = !(out["warnings"] as! [Any]).isEmpty
        out["hasOtherFindings"] = !(out["otherFindings"] as! [Any]).isEmpty
        if let root { out["root"] = cause(root) }
        if let direct { out["direct"] = cause(direct) }
        out["sameCause"] = root?.cause == direct?.cause
        let verify = record.steps.first { $0.id == root?.step }?.command
        out["verifyCommand"] = verify.map(Redactor.redact) ?? ""
        out["verifyFence"] = Markdown.fence(for: verify ?? "")
        out["hasVerify"] = verify != nil
        return out
    }

    var title: String {
        let host = document.target.flatMap { URLPart.host.extract(from: $0).stringValue } ?? document.runbook.name
        guard let root = document.rootCause else {
            return document.verdict == .interrupted ? "\(host): \(language == "zh" ? "诊断被中断" : "diagnosis interrupted")"
                : "\(host): \(language == "zh" ? "未发现问题" : "no problem found")"
        }
        return "\(host): \(CauseText.title(root.cause, language: language))"
    }

    var duration: String {
        guard let end = document.finishedAt else { return "—" }
        return Engine.format(.milliseconds(Int64(end.timeIntervalSince(document.startedAt) * 1000)))
    }

    func cause(_ c: ReportDocument.CauseEntry) -> [String: Any] {
        [
            "code": c.cause.code,
            "title": CauseText.title(c.cause, language: language),
            "summary": c.summary,
            "subject": Markdown.code(c.subject),
            "remedy": c.remedy,
            "step": c.step,
            "facts": c.facts.keys.sorted().map { ["name": $0, "valueCell": Markdown.cell(c.facts[$0]?.text ?? "")] },
        ]
    }

    var steps: [[String: Any]] {
        record.steps.enumerated().map { index, step in
            let transcript = step.transcript.map(Redactor.redact) ?? ""
            return [
                "number": index + 1,
                "id": step.id,
                "uses": step.uses,
                "status": step.status.rawValue,
                "mark": Self.marks[step.status] ?? "",
                "startedAt": ISO8601.string(step.startedAt),
                "durationMs": step.durationMs,
                "summary": Redactor.redact(step.summary),
                "command": step.command.map(Redactor.redact) ?? "",
                "commandFence": Markdown.fence(for: step.command ?? ""),
                "hasCommand": step.command != nil,
                "facts": step.facts.map { ["name": $0.name, "valueCell": Markdown.cell(Redactor.redact($0.value.text))] },
                "hasFacts": !step.facts.isEmpty,
                "findings": step.findings.map { ["code": $0.cause.code, "severity": $0.severity.rawValue, "summary": Redactor.redact($0.summary)] },
                "hasFindings": !step.findings.isEmpty,
                "transcript": transcript,
                "fence": Markdown.fence(for: transcript),
                "hasTranscript": !transcript.isEmpty,
                "artifacts": step.artifacts.map { ["path": $0.path] },
            ]
        }
    }

    static let marks: [StepStatus: String] = [
        .ok: "✅", .warning: "⚠️", .problem: "❌", .failed: "💥", .timedOut: "⏱️", .skipped: "⏭️", .interrupted: "⏹️",
    ]

    var timeline: [[String: Any]] {
        var rows: [[String: Any]] = [["time": Self.clock(document.startedAt), "eventCell": "run started (runbook \(document.runbook.name))"]]
        for step in record.steps {
            rows.append(["time": Self.clock(step.startedAt),
                         "eventCell": Markdown.cell("\(step.id) (\(step.uses)): \(step.status.rawValue) — \(Redactor.redact(step.summary))")])
        }
        if let end = document.finishedAt {
            rows.append(["time": Self.clock(end), "eventCell": Markdown.cell("run \(document.verdict == .interrupted ? "interrupted" : "finished"): \(document.verdict.rawValue)")])
        }
        return rows
    }

    static func clock(_ date: Date) -> String { TextFormat.clock(date) }

    var evidence: [[String: Any]] {
        record.steps.flatMap(\.artifacts).map {
            ["path": $0.path, "bytes": $0.bytes, "descriptionCell": Markdown.cell($0.description)]
        }
    }
}
