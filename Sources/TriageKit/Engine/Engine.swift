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
        public var defaultTimeout: Duration = .seconds(10)
        /// Where evidence goes; `nil` keeps evidence in memory only.
        public var caseFolder: URL?
        public var env: [String: String] = ProcessInfo.processInfo.environment
        public var host: String = Engine.localHostName
        public var now: @Sendable () -> Date = { Date() }

        public init() {}
    }

    public var catalog: StepCatalog
    public var options: Options

    public init(catalog: StepCatalog, options: Options = Options()) {
        self.catalog = catalog
        self.options = options
    }

    /// Runs the runbook with inputs already resolved (`RunbookLoader.resolveInputs`).
    /// Cancelling the calling task interrupts the current step; the record
    /// returned is then marked interrupted.
    public func run(
        _ runbook: Runbook, inputs: [String: Value],
        observer: @Sendable (EngineEvent, CaseRecord) async -> Void = { _, _ in }
    ) async -> CaseRecord {
        var record = CaseRecord(
            runbook: runbook.name, runbookTitle: runbook.title, runbookSource: runbook.source,
            target: inputs["url"]?.stringValue, via: inputs["via"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 },
            inputs: inputs, host: options.host, startedAt: options.now())
        var scope = Scope(inputs: inputs, env: options.env)
        var stoppedBy: String?

        steps: for spec in runbook.steps {
            if Task.isCancelled { record.interrupted = true; break }
            if let stoppedBy {
                let skipped = StepResult(id: spec.id, uses: spec.uses, status: .skipped, startedAt: options.now(),
                                         durationMs: 0, summary: "not run: step '\(stoppedBy)' failed and has continue_on_error: false")
                record.steps.append(skipped)
                scope.steps[spec.id] = ["status": .string(StepStatus.skipped.rawValue), "outputs": .object([:])]
                await observer(.stepFinished(skipped), record)
                continue
            }
            var runs: [StepResult] = []
            for (runID, item) in plan(spec, scope: scope, into: &runs) {
                await observer(.stepStarted(id: runID, uses: spec.uses), record)
                let result = await runOnce(spec, runID: runID, item: item, scope: scope, record: record)
                runs.append(result)
                if result.status == .interrupted { record.interrupted = true }
                if record.interrupted { break }
            }
            for result in runs {
                record.steps.append(result)
                await observer(.stepFinished(result), record)
            }
            scope.steps[spec.id] = Self.merge(runs, forEach: spec.forEach != nil)
            if record.interrupted { break steps }
            if !spec.continueOnError, runs.contains(where: { $0.status == .failed || $0.status == .timedOut }) {
                stoppedBy = spec.id
            }
        }
        if Task.isCancelled { record.interrupted = true }
        record.finishedAt = options.now()
        await observer(.runFinished, record)
        return record
    }

    /// Evaluates `if` and `for_each`: the runs to make, as (evidence id, item).
    /// A false condition or a failed expression is recorded in `runs` instead.
    private func plan(_ spec: StepSpec, scope: Scope, into runs: inout [StepResult]) -> [(String, Value?)] {
        let now = options.now()
        if let condition = spec.condition {
            do {
                guard try condition.template.evaluate(in: scope).isTruthy else {
                    runs.append(StepResult(id: spec.id, uses: spec.uses, status: .skipped, startedAt: now, durationMs: 0,
                                           summary: "skipped: `\(condition.text)` is false", condition: condition.text))
                    return []
                }
            } catch {
                runs.append(failure(spec, at: now, "\(condition.location.offset(by: error.offset)): \(error.message)"))
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
            runs.append(failure(spec, at: now, error.description))
            return []
        }
        if items.isEmpty {
            runs.append(StepResult(id: spec.id, uses: spec.uses, status: .skipped, startedAt: now, durationMs: 0,
                                   summary: "skipped: the for_each list is empty"))
        }
        return items.enumerated().map { ("\(spec.id)-\($0.offset + 1)", $0.element) }
    }

    private func failure(_ spec: StepSpec, at date: Date, _ message: String) -> StepResult {
        StepResult(id: spec.id, uses: spec.uses, status: .failed, startedAt: date, durationMs: 0,
                   summary: message, error: message)
    }

    private func runOnce(_ spec: StepSpec, runID: String, item: Value?, scope: Scope, record: CaseRecord) async -> StepResult {
        let startedAt = options.now()
        let clockStart = ContinuousClock.now
        var local = scope
        local.item = item
        var arguments: [String: Value] = [:]
        do {
            for (name, argument) in spec.with { arguments[name] = try argument.evaluate(in: local) }
        } catch {
            var r = failure(spec, at: startedAt, error.description)
            r.id = runID
            r.item = item
            return r
        }
        guard let kind = catalog[spec.uses] else {
            return failure(spec, at: startedAt, "unknown step kind '\(spec.uses)'")
        }
        let timeout = spec.timeout ?? options.defaultTimeout
        let evidence = EvidenceDirectory(caseFolder: options.caseFolder, stepID: runID)
        let context = StepContext(stepID: runID, arguments: arguments, item: item, timeout: timeout,
                                  deadline: clockStart + timeout, runStartedAt: record.startedAt,
                                  evidence: evidence, inputs: record.inputs)
        let outcome = await withDeadline(timeout) { try await kind.run(context) }
        let elapsed = ContinuousClock.now - clockStart
        var result = StepResult(id: runID, uses: spec.uses, status: .ok, startedAt: startedAt,
                                durationMs: Int(elapsed.seconds * 1000), summary: "", item: item)
        switch outcome {
        case .finished(.success(let o)):
            result.summary = o.summary
            result.command = o.command
            result.facts = o.facts
            result.outputs = o.outputs
            result.transcript = o.transcript
            result.findings = o.findings.map { var f = $0; f.step = runID; return f }
            if o.failed {
                result.status = .failed
            } else if result.findings.contains(where: { $0.severity == .problem }) {
                result.status = .problem
            } else if !result.findings.isEmpty {
                result.status = .warning
            }
        case .finished(.failure(let error)):
            if error is CancellationError, Task.isCancelled {
                result.status = .interrupted
                result.summary = "interrupted"
            } else {
                result.status = .failed
                result.error = String(describing: error)
                result.summary = result.error ?? "failed"
            }
        case .timedOut:
            result.status = .timedOut
            result.summary = "did not finish within its \(Self.format(timeout)) deadline and was cancelled"
            result.error = result.summary
        case .cancelled:
            result.status = .interrupted
            result.summary = "interrupted (SIGINT/SIGTERM) after \(Self.format(elapsed)); the step was cancelled"
        }
        result.artifacts = evidence.artifacts
        return result
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

    public static func format(_ d: Duration) -> String {
        let s = d.seconds
        if s < 1 { return "\(Int((s * 1000).rounded()))ms" }
        if s.rounded() == s { return "\(Int(s))s" }
        return "\(TextFormat.fixed(s, 1))s"
    }
}
