import Foundation
import TriageKit
import TriageProbes

/// Runs a prepared case with the terminal attached: step lines on stderr as
/// steps end, SIGINT/SIGTERM turned into cancellation, then the result on
/// stdout — the report path and, last, the verdict line (`root cause: …`,
/// `no problem found`, `inconclusive: …`), or report.json with `--json`.
enum CaseExecution {
    static func execute(_ caseRun: CaseRun, console: Console, json: Bool = false, badInputIsUsageError: Bool = false) async -> Int32 {
        let table = console.table
        // libcurl and its dependencies load while the steps before the first request run (a tenth of a run);
        // the handshake loops' threads are created before it starts (see HandshakeLoops.start).
        if caseRun.runbook.steps.contains(where: { $0.uses == "tls.handshake" }) { HandshakeLoops.start() }
        if caseRun.runbook.steps.contains(where: { $0.uses == "http.request" }) { HTTPRequest.warmUp() }
        console.progress(table.render(.terminalHeader, ["title": .string(table.runbookTitle(caseRun.runbook.name, source: caseRun.runbook.source, given: caseRun.runbook.title)),
                                                        "runbook": .string(caseRun.runbook.source), "case": .string(caseRun.folder.url.path)]))
        if let earlier = caseRun.claim.movedFrom {
            console.progress(table.render(.terminalCaseMoved, ["earlier": .string(earlier.path), "path": .string(caseRun.folder.url.path)]))
        }
        let task = Task {
            try await caseRun.run { event, _ in
                if case .stepFinished(let result) = event { console.step(result, secrets: caseRun.secrets) }
            }
        }
        Signals.onInterrupt {
            console.progress(table.render(.terminalCancelling))
            task.cancel()
        }
        let record: CaseRecord
        do {
            record = try await task.value
        } catch let error as CaseFolder.Unusable {
            console.error(error.description)
            return ExitStatus.usage
        } catch let error as CaseFiles.Failure {
            // The case could not be written (a full disk, a folder made read-only): said as curl says it.
            console.error(error.description)
            return ExitStatus.usage
        } catch {
            console.error("internal error: \(error)")
            return ExitStatus.internalError
        }
        console.flushSkipped()
        let diagnosis = record.diagnosis
        if badInputIsUsageError, diagnosis.verdict == .inconclusive, let first = record.steps.first, first.status == .failed, first.facts.isEmpty {
            // The input itself (a file that is not a capture) was the problem: it read nothing.
            console.error(table.render(first.error ?? first.summary))
            return ExitStatus.usage
        }
        if json {
            // report.json to stdout, whatever --format wrote to the case folder.
            if let data = try? caseRun.folder.json(record) {
                console.result(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines))
            }
            return diagnosis.exitStatus
        }
        if console.verbosity != .quiet {
            console.result(table.render(.terminalReport, ["path": .string(caseRun.folder.reportPath)]))
        }
        let (line, colour) = verdictLine(diagnosis, console: console, secrets: caseRun.secrets)
        console.result(line, colour: colour)
        return diagnosis.exitStatus
    }

    /// The last line: how sure triage is. `secrets`: the case's (a proxy's password taken from `-x` or the
    /// environment is one no pattern knows), as in every step line and file.
    static func verdictLine(_ diagnosis: Diagnosis, console: Console, secrets: SecretSet = SecretSet()) -> (String, String?) {
        let table = console.table
        let clean = { (text: String) in Sink.terminalLine(secrets.redact(Redactor.redact(text))) }
        switch diagnosis.verdict {
        case .problem:
            guard let root = diagnosis.rootCause else { return (table.render(.verdictProblem), nil) }
            return (table.render(.terminalRootCause, ["code": .string(root.cause.code),
                                                      "summary": .string(clean(table.render(root.summary)))]), "31;1")
        case .healthy:
            // The same cause on the same subject seen by two steps is one warning, as in the report.
            let warnings = Set(diagnosis.findings.filter { $0.severity == .warning }.map { "\($0.cause.code) \($0.subject)" }).count
            return (table.render(warnings == 0 ? .terminalHealthy : .terminalHealthyWarnings, ["count": .int(warnings)]), "32")
        case .inconclusive:
            let steps = diagnosis.incompleteSteps.map { Message(.terminalIncompleteStep, ["step": .string($0.id), "why": ($0.error ?? $0.summary).value]).value }
            return (clean(table.render(.terminalInconclusive, ["count": .int(steps.count), "steps": .list(steps)])), "33")
        case .interrupted, .incomplete:
            return (table.render(.terminalInterrupted), "33")
        }
    }
}
