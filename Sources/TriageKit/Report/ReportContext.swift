import Foundation

/// The dictionary the templates see. Every string is escaped for where the
/// template puts it: `…Cell` keys for table cells, `…Code` keys for inline
/// code, `fence` next to every raw block. Every sentence comes from the
/// text table of the report's language.
struct ReportContext {
    let document: ReportDocument
    let record: CaseRecord
    let table: TextTable
    let secrets: SecretSet

    func clean(_ s: String) -> String { secrets.redact(Redactor.redact(s)) }

    var dictionary: [String: Any] {
        let d = document
        let root = d.rootCause
        let direct = d.directCause
        var out: [String: Any] = [
            "title": title,
            "summary": d.summary,
            "verdict": d.verdict.rawValue,
            "verdictText": table.render(Self.verdictKeys[d.verdict]!),
            "isHealthy": d.verdict == .healthy,
            "isProblem": d.verdict == .problem,
            "isInterrupted": d.verdict == .interrupted,
            "isInconclusive": d.verdict == .inconclusive,
            "isIncomplete": d.verdict == .incomplete,
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
            "steps": steps,
            "timeline": timeline,
            "evidence": evidence,
            "hasEvidence": !evidence.isEmpty,
            "warnings": d.findings.filter { $0.severity == .warning }.map(cause),
            "otherFindings": d.findings.filter { $0.severity == .problem && $0.cause != root?.cause && $0.cause != direct?.cause }.map(cause),
            "incomplete": d.incomplete.map { i in
                ["step": i.step, "uses": i.uses, "status": i.status.rawValue, "errorCell": Markdown.cell(i.error),
                 "commandCode": i.command.map { Markdown.code($0.split(separator: "\n").first.map(String.init) ?? $0) } ?? ""]
            },
            "hasIncomplete": !d.incomplete.isEmpty,
            "remaining": d.plannedSteps.dropFirst(d.steps.count).joined(separator: ", "),
        ]
        out["hasWarnings"] = !(out["warnings"] as! [Any]).isEmpty
        out["hasOtherFindings"] = !(out["otherFindings"] as! [Any]).isEmpty
        if let root { out["root"] = cause(root) }
        if let direct { out["direct"] = cause(direct) }
        out["sameCause"] = root?.cause == direct?.cause
        let verify = record.steps.first { $0.id == root?.step }?.command
        out["verifyCommand"] = verify.map(clean) ?? ""
        out["verifyFence"] = Markdown.fence(for: verify ?? "")
        out["hasVerify"] = verify != nil
        return out
    }

    static let verdictKeys: [Diagnosis.Verdict: MessageKey] = [
        .healthy: .verdictHealthy, .problem: .verdictProblem, .inconclusive: .verdictInconclusive,
        .interrupted: .verdictInterrupted, .incomplete: .verdictIncomplete,
    ]

    var title: String {
        let host = Value.string(document.target.flatMap { URLPart.host.extract(from: $0).stringValue } ?? document.runbook.name)
        guard let root = document.rootCause else {
            return table.render(.reportTitleVerdict, ["host": host, "verdict": Message(Self.verdictKeys[document.verdict]!).value])
        }
        return table.render(.reportTitleCause, ["host": host, "cause": .string(root.title)])
    }

    var duration: String {
        guard let end = document.finishedAt else { return "—" }
        return Engine.format(.milliseconds(Int64(end.timeIntervalSince(document.startedAt) * 1000)))
    }

    func cause(_ c: ReportDocument.CauseEntry) -> [String: Any] {
        [
            "code": c.cause.code,
            "title": c.title,
            "summary": c.summary,
            "subject": Markdown.code(c.subject),
            "remedy": c.remedy,
            "step": c.step,
            "facts": factRows(c.typedFacts),
        ]
    }

    func factRows(_ facts: [Fact]) -> [[String: Any]] {
        facts.map { ["name": table.label($0.key), "valueCell": Markdown.cell(clean(table.format($0.value)))] }
    }

    var steps: [[String: Any]] {
        record.steps.enumerated().map { index, step in
            let transcript = step.transcript.map(clean) ?? ""
            let entry = document.steps.indices.contains(index) ? document.steps[index] : nil
            return [
                "number": index + 1,
                "id": step.id,
                "uses": step.uses,
                "status": step.status.rawValue,
                "mark": Self.marks[step.status] ?? "",
                "startedAt": ISO8601.string(step.startedAt),
                "durationMs": step.durationMs,
                "summary": entry?.summary ?? clean(table.render(step.summary)),
                "command": step.command.map(clean) ?? "",
                "commandFence": Markdown.fence(for: step.command ?? ""),
                "hasCommand": step.command != nil,
                "facts": step.facts.map { ["name": table.label($0.key), "valueCell": Markdown.cell(clean(table.format($0.value)))] },
                "hasFacts": !step.facts.isEmpty,
                "findings": step.findings.map { ["code": $0.cause.code, "severity": $0.severity.rawValue, "summary": clean(table.render($0.summary))] },
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
        var rows: [[String: Any]] = [["time": TextFormat.clock(document.startedAt),
                                      "eventCell": Markdown.cell(table.render(.timelineRunStarted, ["runbook": .string(document.runbook.name)]))]]
        for step in record.steps {
            rows.append(["time": TextFormat.clock(step.startedAt),
                         "eventCell": Markdown.cell(clean(table.render(.timelineStep, ["step": .string(step.id), "uses": .string(step.uses),
                                                                                        "status": .string(step.status.rawValue),
                                                                                        "summary": step.summary.value])))])
        }
        if let end = document.finishedAt {
            rows.append(["time": TextFormat.clock(end),
                         "eventCell": Markdown.cell(table.render(.timelineRunFinished, ["verdict": Message(Self.verdictKeys[document.verdict]!).value]))])
        }
        return rows
    }

    var evidence: [[String: Any]] {
        document.steps.flatMap(\.artifacts).map {
            ["path": $0.path, "bytes": $0.bytes, "descriptionCell": Markdown.cell($0.description)]
        }
    }
}
