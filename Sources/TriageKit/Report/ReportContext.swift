import Foundation
import TriageWire

/// The dictionary the templates see. The first screen is the ticket: a
/// title naming the symptom and its cause, three lines (what failed, why,
/// what to do), the fix as the exact change with the commands that prove
/// it, the request path as a sequence diagram and what each check showed;
/// the detail below it, collapsed. Every sentence comes from the text table
/// of the report's language; every string is escaped for where the template
/// puts it (`…Cell` for table cells, `…Code` for inline code, a fence
/// longer than any backtick run next to every block).
struct ReportContext {
    let document: ReportDocument
    let record: CaseRecord
    let table: TextTable
    let secrets: SecretSet
    let diagnosis: Diagnosis

    init(document: ReportDocument, record: CaseRecord, table: TextTable, secrets: SecretSet) {
        self.document = document
        self.record = record
        self.table = table
        self.secrets = secrets
        diagnosis = record.diagnosis
    }

    func clean(_ s: String) -> String { secrets.redact(Redactor.redact(s)) }
    func text(_ m: Message) -> String { clean(table.render(m)) }
    /// A sentence placed in Markdown prose: a server's text in it stays text (`Markdown.text`).
    func prose(_ m: Message) -> String { Markdown.text(text(m)) }
    /// Text placed inside a fenced block: control characters visible (the fence is longer than any backtick run).
    func block(_ s: String) -> String { Sink.visible(clean(s)) }

    /// Raw evidence shown inline for a step: the first lines, the rest in its evidence file.
    static let rawLines = 14
    /// A "what it showed" cell: one line of the step's summary.
    static let shownLength = 200

    var dictionary: [String: Any] {
        let d = document
        var out: [String: Any] = [
            "verdict": d.verdict.rawValue,
            "verdictText": text(Message(Self.verdictKeys[d.verdict]!)),
            "summary": Markdown.text(d.summary),
            "host": Markdown.text(host),
            "target": Markdown.text(d.target ?? ""),
            "via": Markdown.text(d.via ?? ""),
            "runbook": Markdown.text(d.runbook.name),
            "startedAt": ISO8601.string(d.startedAt),
            "language": d.language,
            "title": title,
            // A healthy run says what held, never "What failed".
            document.verdict == .healthy ? "held" : "failed": document.verdict == .healthy ? held : failed,
            "todo": todo,
            "checked": checked,
            "others": others,
            "hasOthers": !others.isEmpty,
            "incomplete": d.incomplete.map { i in
                ["step": i.step, "uses": i.uses, "errorCell": Markdown.cell(i.error),
                 "commandCode": i.command.map { Markdown.code($0.split(separator: "\n").first.map(String.init) ?? $0) } ?? "—"] as [String: Any]
            },
            "hasIncomplete": !d.incomplete.isEmpty,
            "background": background,
            "rootFacts": rootFacts,
            "hasRootFacts": !rootFacts.isEmpty,
            "factRows": factRows,
            "hasFacts": !factRows.isEmpty,
            "raw": raw,
            "timeline": timeline,
            "evidence": evidence,
            "evidenceCount": evidence.count,
            "hasEvidence": !evidence.isEmpty,
        ]
        // Mustache takes an empty string for true: absent keys are the false ones.
        if let banner { out["banner"] = banner }
        if let why { out["why"] = why }
        if let impact = document.impact { out["impact"] = Markdown.text(impact.sentence) }
        if let followUp { out["followUp"] = followUp }
        if let at = document.judgedAt { out["judged"] = prose(Message(.reportJudgedAt, ["date": .typed(.date(at))])) }
        if let skipped { out["skipped"] = skipped }
        if let diagram = SequenceDiagram(record: record, story: diagnosis.story, table: table, clean: clean).mermaid {
            out["diagram"] = diagram
        }
        let commands = self.commands
        if !commands.isEmpty {
            out["commands"] = commands
            out["commandsFence"] = Markdown.fence(for: commands)
        }
        if let fix = Fix(diagnosis, record: record) {
            var f: [String: Any] = ["hasProof": !fix.proof.isEmpty, "expectation": fix.expectation.map(prose) ?? ""]
            if let change = fix.change {
                let diff = block(change.unifiedDiff)
                f["diff"] = diff
                f["diffFence"] = Markdown.fence(for: diff)
                f["changeWhere"] = Markdown.code("\(change.file):\(change.firstLine)")
            }
            let proof = block(fix.proof.joined(separator: "\n"))
            f["proof"] = proof
            f["proofFence"] = Markdown.fence(for: proof)
            out["fix"] = f
        }
        return out
    }

    /// Every top-level variable a `--template` sees, with what it holds (the README's table is made
    /// from this list, and a test keeps it and the dictionary the same).
    public static let variables: [(name: String, meaning: String)] = [
        ("verdict", "healthy, problem, inconclusive, interrupted or incomplete"),
        ("verdictText", "the verdict in the report's language"),
        ("summary", "one line for a ticket title"),
        ("host", "the target's host"),
        ("target", "the URL tested (empty without one)"),
        ("via", "the proxy URL that answered the symptom (empty without one)"),
        ("runbook", "the runbook's name"),
        ("startedAt", "when the run started (ISO 8601, UTC)"),
        ("language", "en or zh"),
        ("title", "symptom ← cause, the first line"),
        ("banner", "for a run that did not finish: what is missing (absent otherwise)"),
        ("judged", "with --at: the date certificates were judged at (absent otherwise)"),
        ("failed", "what the user saw (the symptom); absent when healthy"),
        ("held", "for a healthy run: what was checked and held (absent otherwise)"),
        ("impact", "from the proxy's log: how often, between when and when (absent without one)"),
        ("why", "the root cause when it is not the symptom, and why it hits this path (absent otherwise)"),
        ("todo", "what to do: the root cause's remedy"),
        ("followUp", "the follow-up: the exporter alert that would have caught the root cause (absent when the exporter cannot see it)"),
        ("fix", "the fix: diff, diffFence, changeWhere, proof, proofFence, hasProof, expectation (absent when none)"),
        ("diagram", "the request path as a Mermaid sequence diagram (absent when there is none)"),
        ("checked", "one row per step that ran: mark, status, step, uses, shownCell"),
        ("skipped", "the skipped steps in one line (absent when none)"),
        ("others", "the other findings: role, title, summary, remedy …"),
        ("hasOthers", "whether there are other findings"),
        ("incomplete", "the checks that could not be completed: step, uses, errorCell, commandCode"),
        ("hasIncomplete", "whether any check could not be completed"),
        ("background", "rows of the background table: name, valueCell"),
        ("rootFacts", "the root cause's facts: name, valueCell"),
        ("hasRootFacts", "whether the root cause has facts"),
        ("factRows", "every step's facts: id, factsCell"),
        ("hasFacts", "whether any step has facts"),
        ("commands", "the commands to check by hand, one per line"),
        ("commandsFence", "a code fence longer than any backtick run in commands"),
        ("raw", "the first lines of the raw evidence of the steps that found something: step, text, fence, more"),
        ("timeline", "the incident's events in UTC order: time, eventCell"),
        ("evidence", "the evidence files: path, bytes, descriptionCell"),
        ("evidenceCount", "how many evidence files"),
        ("hasEvidence", "whether there are evidence files"),
    ]

    /// The variables as the README's table.
    public static var variablesTable: String {
        "| variable | holds |\n|---|---|\n" + variables.map { "| `{{\($0.name)}}` | \($0.meaning) |\n" }.joined()
    }

    static let verdictKeys: [Diagnosis.Verdict: MessageKey] = [
        .healthy: .verdictHealthy, .problem: .verdictProblem, .inconclusive: .verdictInconclusive,
        .interrupted: .verdictInterrupted, .incomplete: .verdictIncomplete,
    ]

    static let statusKeys: [StepStatus: MessageKey] = [
        .ok: .statusOK, .warning: .statusWarning, .problem: .statusProblem, .failed: .statusFailed,
        .timedOut: .statusTimedOut, .skipped: .statusSkipped, .interrupted: .statusInterrupted,
    ]

    static let marks: [StepStatus: String] = [
        .ok: "✅", .warning: "⚠️", .problem: "❌", .failed: "💥", .timedOut: "⏱️", .skipped: "⏭️", .interrupted: "⏹️",
    ]

    var host: String { document.target.flatMap { URLPart.host.extract(from: $0).stringValue } ?? document.runbook.name }

    // MARK: - The first screen

    /// Symptom ← cause: `502 from nginx /test: upstream aborts TLS without SNI (alert 80)`.
    var title: String {
        guard let root = diagnosis.rootCause else {
            return prose(Message(.reportTitleVerdict, ["host": .string(host), "verdict": Message(Self.verdictKeys[document.verdict]!).value]))
        }
        let cause = causeWithQualifier(root)
        if let symptom = diagnosis.directCause, symptom.path == .http(.via), let via = document.via {
            let status = symptom.facts[.status]?.intValue ?? 0
            let path = URLPart.path.extract(from: via).stringValue ?? "/"
            let proxy = proxyName
            return prose(Message(status > 0 ? .reportHeadlineVia : .reportHeadlineViaNoAnswer,
                                ["status": .int(status), "proxy": .string(proxy), "path": .string(path), "cause": .string(cause)]))
        }
        return prose(Message(.reportTitleCause, ["host": .string(host), "cause": .string(cause)]))
    }

    /// The cause's title with the one number an engineer looks for: the alert, the date.
    func causeWithQualifier(_ f: Finding) -> String {
        let title = table.title(f.cause)
        // A client's alert says so (triage's own OpenSSL refusing a TLS 1.0 server with 80, a captured
        // client's 48): "(alert 80)" alone read as the server's.
        if case .alert(let a) = f.facts[.alert]?.typedValue {
            return table.render(a.sender == .client ? .reportQualifierClientAlert : .reportQualifierAlert,
                                ["cause": .string(title), "code": .int(Int(a.code))])
        }
        // The date that is wrong: when it expired, or when it becomes valid.
        let wrongDate = f.cause == .certNotYetValid ? f.facts[.notBefore] : f.facts[.notAfter]
        if [.certExpired, .intermediateExpired, .certNotYetValid].contains(f.cause), let date = wrongDate {
            return table.render(.reportQualifierDate, ["cause": .string(title), "date": date])
        }
        return title
    }

    /// "nginx" when its configuration was read or it says so in `Server:`; HAProxy or Envoy when its log is theirs.
    var proxyName: String {
        let evidence = CaseEvidence(record)
        if let other = evidence.proxyLog?.value.proxy, other != "nginx" { return other }
        let server = evidence.exchanges(.via).first?.value.header("Server") ?? ""
        let isNginx = evidence.proxyConfig != nil || evidence.profiledProxy?.kind == .nginx || server.lowercased().contains("nginx")
        return table.render(isNginx ? .reportProxyNginx : .reportProxyGeneric)
    }

    var skippedCount: Int { record.steps.filter { $0.status == .skipped }.count }
    var ran: Int { record.steps.count - skippedCount }

    /// For runs that did not finish: said before anything else.
    var banner: String? {
        switch document.verdict {
        // Steps whose condition was false are neither done nor still to do.
        case .interrupted: prose(Message(.reportBannerInterrupted, ["done": .int(ran), "planned": .int(record.plannedSteps.count - skippedCount)]))
        case .incomplete: prose(Message(.reportBannerIncomplete, ["done": .int(ran), "planned": .int(record.plannedSteps.count - skippedCount)]))
        default: nil
        }
    }

    /// What the user saw.
    var failed: String {
        if let symptom = diagnosis.directCause { return prose(symptom.summary) }
        return Markdown.text(document.summary)
    }

    /// For a healthy run: what was checked, and that it held.
    var held: String {
        let shown = record.steps.filter { $0.status != .skipped && !Self.plumbing.contains($0.uses) }
        func list(_ steps: [StepResult]) -> Value { .string(steps.map { "\($0.id) (\($0.uses))" }.joined(separator: ", ")) }
        // A step that ended in a warning (an address that refused beside one that answered) held with a warning, said apart.
        let warned = shown.filter { $0.status == .warning }
        let text = prose(Message(.reportHeld, ["checks": list(shown.filter { $0.status != .warning })]))
        return warned.isEmpty ? text : text + prose(Message(.reportHeldWarnings, ["checks": list(warned)]))
    }

    /// Steps that set up evidence for others (a capture starting and stopping): not worth a row on the first screen when ok.
    static let plumbing: Set<String> = ["capture.start", "capture.stop"]

    /// Why: the root cause when it is not the symptom, and why it hits this path.
    var why: String? {
        guard let root = diagnosis.rootCause, root != diagnosis.directCause else { return nil }
        return pathReason(root) ?? prose(root.summary)
    }

    /// Why the root cause hits the proxy's connection: what it sends, by whose word.
    func pathReason(_ root: Finding) -> String? {
        guard let proxy = diagnosis.story.proxy, diagnosis.story.affects(root).contains(.proxy) else { return nil }
        // What the proxy sends as SNI explains a handshake or a certificate, not an HTTP answer, a timeout or a port.
        guard [2, 3].contains(root.cause.stage), ![.plainHTTPToTLSPort, .tlsToPlainPort].contains(root.cause) else { return nil }
        let sends: Value = switch proxy.sni {
        case .none: Message(.reportSendsNoSNI).value
        // For an address, "as the client does" is no SNI at all (RFC 6066).
        case .asClient where IPAddress(diagnosis.story.host ?? "") != nil: Message(.reportSendsNoSNI).value
        case .asClient: Message(.reportSendsSNI, ["name": .string(diagnosis.story.host ?? "")]).value
        case .ip: Message(.reportSendsSNI, ["name": "IP"]).value
        case .name(let n): Message(.reportSendsSNI, ["name": .string(n)]).value
        }
        let source: MessageKey = switch proxy.source {
        case .configuration: .reportSourceConfiguration
        case .input: .reportSourceInput
        case .assumed: .reportSourceAssumed
        case .observed: .reportSourceObserved
        }
        // A name mismatch is about the name the proxy checks (nginx: proxy_ssl_name, else the upstream block's name), not its SNI.
        if root.cause == .hostnameMismatch, let profile = proxy.profile {
            let name = profile.checkedName(host: diagnosis.story.host ?? "")
            return prose(Message(.reportWhyProxyName, ["root": root.summary.value, "proxy": .string(proxyName), "name": .string(name),
                                                       "source": Message(source).value]))
        }
        return prose(Message(.reportWhyProxy, ["root": root.summary.value, "proxy": .string(proxyName), "sends": sends, "source": Message(source).value]))
    }

    /// The follow-up action item: the exporter alert that would have caught the root cause.
    var followUp: String? {
        guard let root = diagnosis.rootCause, let instance = document.target.flatMap(FollowUp.instance(of:)),
              let rule = FollowUp.rule(for: root, among: diagnosis.findings, instance: instance) else { return nil }
        return prose(Message(.reportFollowUp, ["target": .string(Markdown.code(instance)), "rule": .string(Markdown.code(rule))]))
    }

    var todo: String {
        if let root = diagnosis.rootCause { return prose(root.remedy) }
        switch document.verdict {
        case .inconclusive:
            // Steps the run's --max-time left no time for: a longer --max-time, not --step-timeout.
            let outOfTime = diagnosis.incompleteSteps.contains {
                [MessageKey.stepNotRunMaxTime, .stepTimedOutMaxTime].map(\.rawValue).contains($0.summary.key)
            }
            return prose(Message(outOfTime ? .reportTodoInconclusiveMaxTime : .reportTodoInconclusive))
        case .healthy:
            // A capture alone (`analyze`): there is no --via or live path to try, only another capture.
            // A runbook of other checks (`exec`): neither advice is about what it did.
            func ran(_ kinds: Set<String>) -> Bool { record.steps.contains { $0.status != .skipped && kinds.contains($0.uses) } }
            // With --via the proxy's path was checked already: not "or with --via".
            let key: MessageKey = ran(["tls.handshake", "http.request"]) ? (record.via == nil ? .reportTodoHealthy : .reportTodoHealthyVia)
                : ran(["capture.decode"]) ? .reportTodoHealthyCapture : .reportTodoHealthyChecks
            return prose(Message(key))
        default: return prose(Message(.reportTodoPartial))
        }
    }

    /// One line per step that ran.
    var checked: [[String: Any]] {
        record.steps.filter { $0.status != .skipped && !($0.status == .ok && Self.plumbing.contains($0.uses)) }.map { step in
            var shown = clean(table.render(step.error ?? step.summary))
            if shown.count > Self.shownLength { shown = String(shown.prefix(Self.shownLength - 1)) + "…" }
            let status = diagnosis.status(of: step)
            return ["mark": Self.marks[status] ?? "", "step": step.name.map { "\($0) · \(step.id)" } ?? step.id, "uses": step.uses,
                    "status": table.render(Self.statusKeys[status]!), "shownCell": Markdown.cell(shown)]
        }
    }

    var skipped: String? {
        let ids = record.steps.filter { $0.status == .skipped }.map(\.id)
        let notRun = record.plannedSteps.filter { id in !record.steps.contains { $0.id == id || $0.id.hasPrefix(id + "-") } }
        var parts: [String] = []
        if !ids.isEmpty { parts.append(prose(Message(.reportSkipped, ["steps": .string(ids.joined(separator: ", "))]))) }
        if !notRun.isEmpty, document.verdict == .interrupted || document.verdict == .incomplete {
            parts.append(prose(Message(.reportNotRun, ["steps": .string(notRun.joined(separator: ", "))])))
        }
        return parts.isEmpty ? nil : parts.joined(separator: " ")
    }

    /// Every finding that is neither the root cause nor the symptom, once:
    /// the same cause on the same subject seen by two steps is one line.
    var others: [[String: Any]] {
        let shown = [diagnosis.rootCause, diagnosis.directCause].compactMap { $0 }
        var seen = Set(shown.map { "\($0.cause.code) \($0.subject)" })
        var rows: [[String: Any]] = []
        let shownCauses = Set(shown.map(\.cause))
        for impact in diagnosis.impacts where impact.role != .root && impact.role != .symptom {
            let f = impact.finding
            // The root cause once: the same cause seen by another step (on another subject) is not another finding.
            guard !shownCauses.contains(f.cause), seen.insert("\(f.cause.code) \(f.subject)").inserted else { continue }
            let remedy = shown.contains { $0.cause == f.cause } ? "" : prose(f.remedy)
            let role: MessageKey = switch (f.severity, impact.role) {
            case (.warning, _): .roleWarning
            case (_, .samePath): .roleSamePath
            case (_, .otherPath): .roleOtherPath
            default: .roleLatent
            }
            var row: [String: Any] = ["code": f.cause.code, "title": table.title(f.cause), "role": table.render(role), "summary": prose(f.summary)]
            if !remedy.isEmpty { row["remedy"] = remedy }
            rows.append(row)
        }
        return rows
    }

    // MARK: - The detail

    var background: [[String: Any]] {
        let d = document
        var rows: [(MessageKey, String)] = [(.reportTarget, Markdown.code(d.target ?? "—"))]
        if let via = d.via { rows.append((.reportVia, Markdown.code(via))) }
        rows.append((.reportWhen, "\(TextFormat.iso8601(d.startedAt)) → \(d.finishedAt.map(TextFormat.iso8601) ?? "—") (\(duration))"))
        rows.append((.reportRunbook, "\(Markdown.cell(d.runbook.name)) — \(Markdown.cell(d.runbook.title ?? d.runbook.name)) (\(Markdown.code(d.runbook.source)))"))
        rows.append((.reportRanOn, Markdown.code(d.host)))
        rows.append((.reportVerdict, "**\(table.render(Self.verdictKeys[d.verdict]!))** (`\(d.verdict.rawValue)`)"))
        return rows.map { ["name": table.render($0.0), "valueCell": $0.1] }
    }

    var duration: String {
        guard let end = document.finishedAt else { return "—" }
        return Engine.format(.milliseconds(Int64(end.timeIntervalSince(document.startedAt) * 1000)))
    }

    /// The root cause's facts, and the steps that saw it.
    var rootFacts: [[String: Any]] {
        guard let root = diagnosis.rootCause else { return [] }
        var rows = displayedFacts(root.facts).map { label, value, verbatim in
            ["name": label, "valueCell": Markdown.cell(verbatim ? Markdown.code(clean(value)) : clean(value))]
        }
        let seenBy = diagnosis.findings.filter { $0.cause == root.cause }.map(\.step) + [root.step]
        rows.insert(["name": table.render(.reportCode), "valueCell": "`\(root.cause.code)`"], at: 0)
        rows.insert(["name": table.render(.reportSubject), "valueCell": Markdown.code(clean(root.subject))], at: 1)
        rows.append(["name": table.render(.reportSeenBy), "valueCell": Array(Set(seenBy)).filter { !$0.isEmpty }.sorted().map(Markdown.code).joined(separator: ", ")])
        return rows
    }

    /// Every fact of every step that ran: one row per step, a line per fact.
    var factRows: [[String: Any]] {
        record.steps.filter { !$0.facts.isEmpty }.map { step in
            let lines = displayedFacts(step.facts).map { label, value, verbatim in
                "**\(Markdown.cell(label)):** \(Markdown.cell(verbatim ? Markdown.code(clean(value)) : clean(value)))"
            }
            return ["step": step.id, "factsCell": lines.joined(separator: "<br>")]
        }
    }

    /// Facts as label and text; a request's five timings read as one line.
    func displayedFacts(_ facts: [Fact]) -> [(String, String, Bool)] { Self.displayed(facts, table: table) }

    static let timingKeys: [FactKey] = [.dnsMs, .connectMs, .tlsMs, .firstByteMs, .totalMs]
    /// Facts whose value is machine text quoted as it is (a log line, a capture filter): shown as code.
    static let verbatimKeys: Set<FactKey> = [.filter, .lastLine, .curlError, .phase, .confirmedBy, .event]

    static func displayed(_ facts: [Fact], table: TextTable) -> [(String, String, Bool)] {
        var out: [(String, String, Bool)] = []
        var timings: [String] = []
        for fact in facts {
            if timingKeys.contains(fact.key) {
                if timings.isEmpty { out.append(("", "", false)) }
                timings.append("\(table.label(fact.key)) \(table.format(fact.value))")
                out[out.count - 1] = (table.render(.reportTimings), timings.joined(separator: " · "), false)
            } else {
                out.append((table.label(fact.key), table.format(fact.value), verbatimKeys.contains(fact.key)))
            }
        }
        return out
    }

    /// The commands to check by hand, step by step.
    var commands: String {
        record.steps.filter { $0.status != .skipped && $0.command != nil }.map { step in
            "# \(step.id) (\(step.uses))\n" + block(step.command ?? "")
        }.joined(separator: "\n")
    }

    /// The raw evidence of the steps that found or hit something; the first
    /// lines inline, the rest in the step's evidence file.
    var raw: [[String: Any]] {
        record.steps.filter { [.problem, .failed, .timedOut, .warning].contains($0.status) }.compactMap { step in
            guard let transcript = step.transcript.map(block), !transcript.isEmpty else { return nil }
            let lines = transcript.split(separator: "\n", omittingEmptySubsequences: false)
            let shown = lines.prefix(Self.rawLines).joined(separator: "\n")
            var entry: [String: Any] = ["id": step.id, "text": shown, "fence": Markdown.fence(for: shown)]
            if lines.count > Self.rawLines {
                let file = step.artifacts.first { $0.path.hasSuffix("transcript.txt") || $0.path.hasSuffix("trace.txt") }?.path ?? "evidence/\(step.id)/"
                entry["more"] = prose(Message(.reportMoreLines, ["count": .int(lines.count - Self.rawLines), "path": .string(file)]))
            }
            return entry
        }
    }

    /// Events of the incident in order: certificates' validity, the proxy's
    /// log, captured alerts, and the run itself.
    var timeline: [[String: Any]] {
        var events = [TimelineEvent(at: record.startedAt, Message(.eventRunStarted, ["runbook": .string(record.runbook)]))]
        var seen = Set<String>()
        for step in record.steps {
            for event in step.events where seen.insert(table.render(event.message) + "\(event.at)").inserted { events.append(event) }
        }
        if let end = record.finishedAt {
            events.append(TimelineEvent(at: end, Message(.eventRunFinished, ["verdict": Message(Self.verdictKeys[document.verdict]!).value])))
        }
        return events.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map { _, e in
            let what = text(e.message) + (e.clock.map { " (\(text($0)))" } ?? "")
            return ["time": Self.timestamp(e.at), "eventCell": Markdown.cell(what)]
        }
    }

    /// `2026-11-01 00:00:00`: the timeline mixes days and milliseconds.
    static func timestamp(_ date: Date) -> String {
        let c = TextFormat.utc(date)
        return "\(TextFormat.padded(c.year, 4))-\(TextFormat.padded(c.month, 2))-\(TextFormat.padded(c.day, 2)) "
            + "\(TextFormat.padded(c.hour, 2)):\(TextFormat.padded(c.minute, 2)):\(TextFormat.padded(c.second, 2))"
    }

    var evidence: [[String: Any]] {
        document.steps.flatMap(\.artifacts).map {
            ["path": $0.path, "bytes": $0.bytes, "descriptionCell": Markdown.cell($0.description)]
        }
    }
}
