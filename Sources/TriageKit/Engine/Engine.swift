import Foundation

/// What the engine tells its observer (the terminal and the case writer).
public enum EngineEvent: Sendable {
    case stepStarted(id: String, uses: String)
    case stepFinished(StepResult)
    case runFinished
}

/// Runs a validated runbook: steps in order, `if` first, `for_each`
/// expanded, `with` interpolated, each run under its deadline.
public struct Engine: Sendable {
    public struct Options: Sendable {
        /// The deadline of a step whose runbook sets no `timeout:`.
        public var defaultTimeout: Duration = .seconds(10)
        /// `--step-timeout`: the deadline of every step, whatever its runbook says.
        public var stepTimeout: Duration?
        /// Where evidence goes; `nil` keeps evidence in memory only.
        public var caseFolder: URL?
        public var env: [String: String] = ProcessInfo.processInfo.environment
        public var host: String = Engine.localHostName
        public var now: @Sendable () -> Date = { Date() }
        /// Values triage sends that must not reappear in any file.
        public var secrets = SecretSet()
        /// `--max-time`: no step runs past it; steps not started by then are skipped.
        public var runDeadline: ContinuousClock.Instant?
        /// A long step's progress (step id, what it says): the terminal's progress line.
        public var progress: @Sendable (String, Message) -> Void = { _, _ in }
        /// `--at`: certificates are judged as of this time instead of the run's start.
        public var judgedAt: Date?

        public init() {}
    }

    public var catalog: StepCatalog
    public var options: Options

    public init(catalog: StepCatalog, options: Options = Options()) {
        self.catalog = catalog
        self.options = options
    }

    /// Runs the runbook with inputs already resolved (`RunbookLoader.resolveInputs`).
    ///
    /// Steps run in order, one after another — except a step with `after:`,
    /// which starts as soon as those steps, the steps its expressions read
    /// and every earlier `continue_on_error: false` step have ended, so it
    /// can overlap with the steps in between (the handshake matrix with the
    /// HTTP reproduction). The runs of a `for_each` run side by side, at most 64 at once. Results
    /// are recorded and reported in runbook order whatever order they end in.
    /// Cancelling the calling task interrupts the running steps; the record
    /// returned is then marked interrupted. Resources a step left open (a
    /// capture whose stop step never ran) are closed before it returns.
    public func run(
        _ runbook: Runbook, inputs: [String: Value],
        observer: @Sendable (EngineEvent, CaseRecord) async -> Void = { _, _ in }
    ) async -> CaseRecord {
        var record = CaseRecord(
            runbook: runbook.name, runbookTitle: runbook.title, runbookSource: runbook.source,
            target: inputs["url"]?.stringValue, via: inputs["via"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 },
            inputs: inputs, host: options.host, startedAt: options.now(), plannedSteps: runbook.steps.map(\.id))
        record.judgedAt = options.judgedAt
        let specs = runbook.steps
        let indexByID = Dictionary(specs.enumerated().map { ($0.element.id, $0.offset) }, uniquingKeysWith: { a, _ in a })
        let waitsFor: [Set<Int>] = specs.enumerated().map { index, spec in
            guard let after = spec.after else { return Set(0..<index) }
            var deps = Set((spec.dependencies.union(after)).compactMap { indexByID[$0] }.filter { $0 < index })
            for earlier in 0..<index where !specs[earlier].continueOnError { deps.insert(earlier) }
            return deps
        }
        var scope = Scope(inputs: inputs, env: options.env)
        var results: [Int: [StepResult]] = [:]
        var started = Set<Int>(), finished = Set<Int>()
        var nextToReport = 0
        var stoppedBy: String?
        /// Steps recorded as not run (out of --max-time, or after a stopping failure) or cut short by --max-time:
        /// what they would have output is unknown.
        var notRun = Set<String>()
        let runStart = record.startedAt
        let resources = RunResources()

        await withTaskGroup(of: (Int, [StepResult]).self) { group in
            func launchReady() async {
                for index in specs.indices where !started.contains(index) && waitsFor[index].isSubset(of: finished) {
                    if Task.isCancelled || record.interrupted { return }
                    started.insert(index)
                    let spec = specs[index]
                    let outOfTime = options.runDeadline.map { ContinuousClock.now >= $0 } ?? false
                    if outOfTime || stoppedBy != nil {
                        // A condition already false on what ran (it reads inputs, or steps that ended) is a
                        // skip as in any run: only the steps that would have run count as not run.
                        if let condition = spec.condition, condition.template.stepsRead.isDisjoint(with: notRun),
                           let value = try? condition.template.evaluate(in: scope), !value.isTruthy {
                            let skipped = StepResult(id: spec.id, uses: spec.uses, status: .skipped, startedAt: options.now(), durationMs: 0,
                                                     summary: Message(.stepSkippedCondition, ["condition": .string(condition.text)]),
                                                     condition: condition.text)
                            group.addTask { (index, [skipped]) }
                            continue
                        }
                        notRun.insert(spec.id)
                        let why = outOfTime ? Message(.stepNotRunMaxTime) : Message(.stepNotRunStopped, ["step": .string(stoppedBy ?? "")])
                        let skipped = StepResult(id: spec.id, uses: spec.uses, status: .skipped, startedAt: options.now(), durationMs: 0, summary: why)
                        group.addTask { (index, [skipped]) }
                        continue
                    }
                    var planned: [StepResult] = []
                    let runs = plan(spec, scope: scope, into: &planned)
                    for (runID, _) in runs { await observer(.stepStarted(id: runID, uses: spec.uses), record) }
                    let snapshot = scope
                    group.addTask {
                        let outcomes = await withTaskGroup(of: (Int, StepResult).self) { inner in
                            // At most `forEachWidth` items at once: 3,000 items of an `exec` step were 3,000
                            // processes and 4,400 descriptors, and under a low descriptor limit most failed.
                            var pending = runs.enumerated().makeIterator()
                            func launch() -> Bool {
                                guard let (n, (runID, item)) = pending.next() else { return false }
                                inner.addTask {
                                    (n, await self.runOnce(spec, runID: runID, item: item, scope: snapshot, startedAt: runStart,
                                                           inputs: inputs, resources: resources))
                                }
                                return true
                            }
                            for _ in 0..<Self.forEachWidth where !launch() { break }
                            var out: [(Int, StepResult)] = []
                            for await r in inner {
                                out.append(r)
                                _ = launch()
                            }
                            return out.sorted { $0.0 < $1.0 }.map(\.1)
                        }
                        return (index, planned + outcomes)
                    }
                }
            }

            await launchReady()
            var done: [Int: [StepResult]] = [:]
            for await (index, ended) in group {
                let spec = specs[index]
                finished.insert(index)
                // Judged with everything seen so far: a step's status is the case's word on its evidence.
                done[index] = ended
                let judgement = RuleBook(CaseEvidence(record, steps: done.keys.sorted().flatMap { done[$0]! })).judgement
                let runs = ended.map { var r = Self.judged($0, by: judgement); r.name = spec.name; return r }
                done[index] = runs
                results[index] = runs
                // Cut short by --max-time: what it would have output is unknown, as for a step that never started.
                if runs.contains(where: { $0.summary.key == MessageKey.stepTimedOutMaxTime.rawValue }) { notRun.insert(spec.id) }
                // A for_each step's own record (skipped, or an expression that
                // failed) stands for it only when no item ran.
                let itemRuns = runs.filter { spec.forEach == nil || $0.id != spec.id }
                scope.steps[spec.id] = itemRuns.isEmpty && !runs.isEmpty ? Self.merge(runs)
                    : Self.merge(itemRuns, forEach: spec.forEach != nil)
                if runs.contains(where: { $0.status == .interrupted }) || Task.isCancelled { record.interrupted = true }
                if !spec.continueOnError, stoppedBy == nil, runs.contains(where: { $0.status == .failed || $0.status == .timedOut }) {
                    stoppedBy = spec.id
                }
                while let ready = results[nextToReport] {
                    for result in ready {
                        record.steps.append(result)
                        await observer(.stepFinished(result), record)
                    }
                    results[nextToReport] = nil
                    nextToReport += 1
                }
                await launchReady()
            }
        }
        // Steps that ended after an earlier one was interrupted.
        for index in results.keys.sorted() { record.steps += results[index] ?? [] }
        // The final word: every step's findings judged over the whole case.
        let judgement = RuleBook(CaseEvidence(record)).judgement
        record.steps = record.steps.map { Self.judged($0, by: judgement) }
        await resources.closeAll()
        if Task.isCancelled { record.interrupted = true }
        record.finishedAt = options.now()
        await observer(.runFinished, record)
        return record
    }

    /// The runs of one `for_each` step that run at once (the rest start as those end).
    static let forEachWidth = 64

    /// Evaluates `if` and `for_each`: the runs to make, as (evidence id, item).
    /// A false condition or a failed expression is recorded in `runs` instead.
    private func plan(_ spec: StepSpec, scope: Scope, into runs: inout [StepResult]) -> [(String, Value?)] {
        let now = options.now()
        if let condition = spec.condition {
            do {
                guard try condition.template.evaluate(in: scope).isTruthy else {
                    runs.append(StepResult(id: spec.id, uses: spec.uses, status: .skipped, startedAt: now, durationMs: 0,
                                           summary: Message(.stepSkippedCondition, ["condition": .string(condition.text)]),
                                           condition: condition.text))
                    return []
                }
            } catch {
                runs.append(failure(spec, at: now, Message(.errorText, ["text": .string("\(condition.location.offset(by: error.offset)): \(error.message)")])))
                return []
            }
        }
        guard let forEach = spec.forEach else { return [(spec.id, nil)] }
        let items: [Value]
        do {
            switch try forEach.evaluate(in: scope) {
            case .list(let l): items = l
            case .null: items = []
            case let single: items = [single]
            }
        } catch {
            runs.append(failure(spec, at: now, Message(.errorText, ["text": .string(error.description)])))
            return []
        }
        if items.isEmpty {
            runs.append(StepResult(id: spec.id, uses: spec.uses, status: .skipped, startedAt: now, durationMs: 0,
                                   summary: Message(.stepSkippedEmptyList)))
        }
        return items.enumerated().map { ("\(spec.id)-\($0.offset + 1)", $0.element) }
    }

    /// An integer or boolean argument that an expression made from text of another kind (`port:
    /// 8443x`): the step's accessor would read it as absent and the step would use its default
    /// (port 443), so the step fails with what it got instead. Empty text is absent.
    static func misfit(_ arguments: [String: Value], of kind: any StepKind) -> Message? {
        for declaration in kind.inputs {
            guard case .string(let text)? = arguments[declaration.name], !text.isEmpty else { continue }
            let fits = switch declaration.kind {
            case .integer: Value.string(text).intValue != nil
            case .boolean: StepContext.boolean(word: text) != nil
            default: true
            }
            if !fits {
                return Message(.inputMisfit, ["input": .string(declaration.name), "value": .string(Sink.echo(text, limit: 80)),
                                              "expected": .string(declaration.kind.withArticle)])
            }
        }
        return nil
    }

    private func failure(_ spec: StepSpec, at date: Date, _ message: Message) -> StepResult {
        StepResult(id: spec.id, uses: spec.uses, status: .failed, startedAt: date, durationMs: 0, summary: message, error: message)
    }

    /// The deadline a step runs under: `--step-timeout`, else the runbook's, else the kind's, else the engine's.
    func timeout(of spec: StepSpec, kind: any StepKind) -> Duration {
        options.stepTimeout ?? spec.timeout ?? kind.defaultTimeout ?? options.defaultTimeout
    }

    private func runOnce(_ spec: StepSpec, runID: String, item: Value?, scope: Scope, startedAt runStart: Date,
                         inputs: [String: Value], resources: RunResources) async -> StepResult {
        let startedAt = options.now()
        let clockStart = ContinuousClock.now
        var local = scope
        local.item = item
        var arguments: [String: Value] = [:]
        do {
            for (name, argument) in spec.with { arguments[name] = try argument.evaluate(in: local) }
        } catch {
            var r = failure(spec, at: startedAt, Message(.errorText, ["text": .string(error.description)]))
            r.id = runID
            r.item = item
            return r
        }
        guard let kind = catalog[spec.uses] else {
            return failure(spec, at: startedAt, Message(.stepUnknownKind, ["kind": .string(spec.uses)]))
        }
        if let misfit = Self.misfit(arguments, of: kind) {
            var r = failure(spec, at: startedAt, misfit)
            r.id = runID
            r.item = item
            return r
        }
        // Two deadlines: the step's own (`context.deadline`), which a step
        // that watches the clock (curl's timeout, the handshake loop) meets
        // with its evidence in hand; and the engine's, a little later, that
        // cancels a step that did not. Under load the first may be overrun
        // by a few hundred milliseconds without losing what the step saw.
        var timeout = timeout(of: spec, kind: kind)
        if options.stepTimeout == nil, let needed = kind.deadline(for: arguments) { timeout = max(timeout, needed) }
        var hardTimeout = timeout + Self.grace(timeout)
        let ownTimeout = timeout
        if let runDeadline = options.runDeadline {
            hardTimeout = max(.zero, min(hardTimeout, runDeadline - clockStart))
            timeout = min(timeout, hardTimeout)
        }
        let evidence = EvidenceDirectory(caseFolder: options.caseFolder, stepID: runID, secrets: options.secrets)
        var prepared = StepContext(stepID: runID, arguments: arguments, item: item, timeout: timeout,
                                   deadline: clockStart + timeout, runStartedAt: runStart,
                                   evidence: evidence, inputs: inputs, resources: resources)
        let report = options.progress
        prepared.progress = { report(runID, $0) }
        if let at = options.judgedAt { prepared.judgedAt = at }
        let context = prepared
        // The hand-in window never takes the run past --max-time.
        let window = Duration.milliseconds(cancelGraceMilliseconds)
        let handIn = options.runDeadline.map { min(window, max(.zero, $0 - (clockStart + hardTimeout))) } ?? window
        let outcome = await withDeadline(hardTimeout, handIn: handIn) { try await kind.run(context) }
        let elapsed = ContinuousClock.now - clockStart
        var result = StepResult(id: runID, uses: spec.uses, status: .ok, startedAt: startedAt,
                                durationMs: Int(elapsed.seconds * 1000), summary: Message(.stepOK), item: item)
        switch outcome {
        case .finished(.success(let o)):
            result.summary = o.summary
            result.command = o.command
            result.facts = o.facts
            result.outputs = o.outputs
            result.transcript = o.transcript
            result.observations = o.observations
            result.events = o.events
            result.notice = o.notice
            result.evidence = o.evidence
            if let undeclared = o.outputs.keys.sorted().first(where: { kind.output($0) == nil }) {
                // A kind that returns what it does not declare is a defect; say so rather than hide it.
                result.status = .failed
                result.error = Message(.stepUndeclaredOutput, ["kind": .string(kind.name), "output": .string(undeclared)])
            } else if let failure = o.failure {
                result.status = .failed
                result.error = failure
            }
            // Its own clock ended it at a deadline --max-time had shortened: cut short, as if the engine had
            // stopped it. What it saw stays in the report (facts, files), but is not judged: "no answer
            // within 1.6 s" would be the run's budget, not the server's fault.
            if o.reachedDeadline, timeout < ownTimeout, result.status != .failed {
                result.status = .timedOut
                result.summary = Message(.stepTimedOutMaxTime, ["deadline": .string(Self.format(timeout))])
                result.error = result.summary
                result.evidence = []
                result.observations = []
            }
            // Interrupted, it handed in what it had: kept, and marked as cut short.
            if Task.isCancelled, result.status != .failed {
                result.status = .interrupted
                result.error = Message(.stepInterrupted, ["elapsed": .string(Self.format(elapsed))])
            }
        case .finished(.failure(let error)):
            if error is CancellationError, Task.isCancelled {
                result.status = .interrupted
                result.summary = Message(.stepInterrupted, ["elapsed": .string(Self.format(elapsed))])
            } else {
                result.status = .failed
                let message = (error as? StepFailure)?.message ?? Message(.errorText, ["text": .string(String(describing: error))])
                result.error = message
                result.summary = message
            }
        case .timedOut:
            result.status = .timedOut
            // Cut short by --max-time: a longer --max-time is what would let it finish, not --step-timeout.
            result.summary = Message(timeout < ownTimeout ? .stepTimedOutMaxTime : .stepTimedOut, ["deadline": .string(Self.format(timeout))])
            result.error = result.summary
        case .cancelled:
            result.status = .interrupted
            result.summary = Message(.stepInterrupted, ["elapsed": .string(Self.format(elapsed))])
        }
        if let finding = spec.finding { declare(finding, of: spec, in: &result, scope: local) }
        // A long transcript is kept whole beside the report, which shows its first lines.
        if let transcript = result.transcript, transcript.utf8.count > 2048 || transcript.split(separator: "\n").count > 14,
           !evidence.artifacts.contains(where: { $0.path.hasSuffix("/trace.txt") }) {
            _ = try? evidence.write("transcript.txt", text: transcript, description: Message(.evidenceTranscript))
        }
        result.artifacts = evidence.artifacts
        return result
    }

    /// A step's own `finding:`: when its condition holds over the step's outputs (absent: when the step failed),
    /// the evidence holds the runbook's finding, and the failure it explains is no longer unexplained.
    private func declare(_ spec: FindingSpec, of step: StepSpec, in result: inout StepResult, scope: Scope) {
        guard [.ok, .failed].contains(result.status) else { return }
        var own = scope
        own.steps[step.id] = ["status": .string(result.status.rawValue), "outputs": .object(result.outputs)]
        do {
            if let when = spec.when {
                guard try when.template.evaluate(in: own).isTruthy else { return }
            } else if result.status != .failed {
                return
            }
            // One line each, as a finding's sentences are: a command's output keeps its words, not its line breaks.
            func line(_ v: Value) -> String { v.text.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
            let summary = line(try spec.summary.evaluate(in: own))
            let remedy = try spec.remedy.map { line(try $0.evaluate(in: own)) }
            let finding = Finding(spec.cause, severity: spec.severity, summary: Message(.errorText, ["text": .string(summary)]),
                                  subject: step.name ?? step.id,
                                  remedy: remedy.map { Message(.errorText, ["text": .string($0)]) } ?? Message(.findingDeclaredRemedy))
            result.evidence.append(.declared(finding))
            result.status = .ok
            result.error = nil
        } catch {
            result.status = .failed
            result.error = Message(.errorText, ["text": .string("\(spec.location): finding: \(error)")])
        }
    }

    /// A step's result with the findings the judgement rests on its evidence, and
    /// its status from them: a step that ran to its end is ok, warning or problem by
    /// what the case makes of what it saw; one whose failure nothing explains failed.
    static func judged(_ result: StepResult, by judgement: RuleBook.Judgement) -> StepResult {
        var r = result
        r.findings = judgement.findings.filter { $0.step == r.id }
        guard [.ok, .warning, .problem].contains(r.status) else { return r }
        if judgement.unexplained.contains(r.id) {
            r.status = .failed
            r.error = r.summary
        } else if r.findings.contains(where: { $0.severity == .problem }) {
            r.status = .problem
        } else if !r.findings.isEmpty || r.notice != nil {
            r.status = .warning
        } else {
            r.status = .ok
        }
        return r
    }

    /// `steps.<id>` for expressions. For a `for_each` step, each output is
    /// the list of every run's value (even for one run) and the status is
    /// the worst run's.
    static func merge(_ runs: [StepResult], forEach: Bool = false) -> Value {
        guard runs.count != 1 || forEach else {
            return ["status": .string(runs[0].status.rawValue), "outputs": .object(runs[0].outputs)]
        }
        let order: [StepStatus] = [.interrupted, .failed, .timedOut, .problem, .warning, .ok, .skipped]
        let worst = order.first { s in runs.contains { $0.status == s } } ?? .skipped
        var outputs: [String: Value] = [:]
        for key in Set(runs.flatMap(\.outputs.keys)) {
            outputs[key] = .list(runs.map { $0.outputs[key] ?? .null })
        }
        return ["status": .string(worst.rawValue), "outputs": .object(outputs)]
    }

    /// The machine's name from uname(2). Not `ProcessInfo.hostName`, which
    /// asks the resolver for a canonical name: a DNS query triage must not send.
    public static var localHostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// How long past its own deadline a step may take before the engine cancels it.
    static func grace(_ timeout: Duration) -> Duration {
        min(.seconds(2), max(.milliseconds(500), timeout / 4))
    }

    public static func format(_ d: Duration) -> String {
        let s = d.seconds
        if s < 1 { return "\(Int((s * 1000).rounded()))ms" }
        if s.rounded() == s { return "\(Int(s))s" }
        return "\(TextFormat.fixed(s, 1))s"
    }
}
