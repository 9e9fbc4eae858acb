import Foundation
import Synchronization

/// One `triage run`: the runbook loaded and checked, the inputs resolved,
/// the case folder chosen — everything that can be refused before a step runs.
public struct CaseRun: Sendable {
    public struct Request: Sendable {
        public var runbook: Bundled.Source
        /// Runbook inputs as given (`--set KEY=VALUE`, flags): text, or a list for repeated flags.
        public var given: [String: Value]
        public var out: URL?
        public var workingDirectory: URL
        public var language: String
        public var templatePath: String?
        public var formats: Set<CaseFolder.Format>
        public var defaultTimeout: Duration
        /// `--step-timeout`: the deadline of every step, whatever its runbook says.
        public var stepTimeout: Duration?
        /// Values the run sends that must not reappear in any file (header values, passwords).
        public var secrets: [String]
        /// `--max-time`: the whole run's deadline.
        public var maxTime: Duration?
        /// A long step's progress, for the terminal.
        public var progress: @Sendable (String, Message) -> Void = { _, _ in }
        /// `--force`: replace an earlier case in `out` instead of writing beside it.
        public var force = false
        /// `--at`: judge certificates as of this time.
        public var judgedAt: Date?

        public init(runbook: Bundled.Source, given: [String: String], out: URL? = nil,
                    workingDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
                    language: String = "en", templatePath: String? = nil,
                    formats: Set<CaseFolder.Format> = [.md, .json], defaultTimeout: Duration = .seconds(10),
                    stepTimeout: Duration? = nil, secrets: [String] = []) {
            self.init(runbook: runbook, values: given.mapValues(Value.string), out: out, workingDirectory: workingDirectory,
                      language: language, templatePath: templatePath, formats: formats, defaultTimeout: defaultTimeout,
                      stepTimeout: stepTimeout, secrets: secrets)
        }

        public init(runbook: Bundled.Source, values given: [String: Value], out: URL? = nil,
                    workingDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
                    language: String = "en", templatePath: String? = nil,
                    formats: Set<CaseFolder.Format> = [.md, .json], defaultTimeout: Duration = .seconds(10),
                    stepTimeout: Duration? = nil, secrets: [String] = []) {
            self.runbook = runbook
            self.given = given
            self.out = out
            self.workingDirectory = workingDirectory
            self.language = language
            self.templatePath = templatePath
            self.formats = formats
            self.defaultTimeout = defaultTimeout
            self.stepTimeout = stepTimeout
            self.secrets = secrets
        }
    }

    public let runbook: Runbook
    public let inputs: [String: Value]
    public let folder: CaseFolder
    /// The folder, held for this run (its lock is released when the run is gone).
    public let claim: CaseFolder.Claim
    /// What never reaches an output: the secrets given and those found in the inputs.
    public let secrets: SecretSet
    public let engine: Engine

    /// Loads and checks everything; throws `RunbookError` (exit 2) or a
    /// usage error before anything runs.
    public init(_ request: Request, catalog: StepCatalog, now: Date = Date()) throws {
        // The runbook is read and checked on this thread while the report template and the text table
        // are parsed on a second one: independent, a millisecond or two each, before any step can start.
        // A runbook's error is thrown first, as when one followed the other.
        let loaded = Mutex<Result<(Runbook, [String: Value]), any Error>?>(nil)
        let parsed = Mutex<Result<ReportRenderer, any Error>?>(nil)
        DispatchQueue.concurrentPerform(iterations: 2) { part in
            if part == 0 {
                let result = Result { () throws -> (Runbook, [String: Value]) in
                    let runbook = try RunbookLoader(catalog: catalog).load(yaml: request.runbook.text, source: request.runbook.origin)
                    return (runbook, try RunbookLoader.resolveInputs(runbook, values: request.given))
                }
                loaded.withLock { $0 = result }
            } else {
                let result = Result { () throws -> ReportRenderer in
                    let template = try Bundled.template(language: request.language, path: request.templatePath)
                    return try ReportRenderer(templateText: template.text, name: template.origin, table: try TextTable.named(request.language))
                }
                parsed.withLock { $0 = result }
            }
        }
        (runbook, inputs) = try loaded.withLock { $0! }.get()
        let renderer = try parsed.withLock { $0! }.get()
        let host = inputs["url"]?.stringValue.flatMap { URLPart.host.extract(from: $0).stringValue } ?? runbook.name
        let asked = request.out ?? CaseFolder.defaultURL(under: request.workingDirectory, host: host, at: now)
        claim = try CaseFolder.claim(asked, force: request.force)
        let url = claim.url
        let secrets = SecretSet(request.secrets + Self.secrets(in: inputs) + Self.proxySecrets(environment: ProcessInfo.processInfo.environment))
        self.secrets = secrets
        folder = CaseFolder(url: url, formats: request.formats, renderer: renderer, secrets: secrets)
        var options = Engine.Options()
        options.caseFolder = url
        options.defaultTimeout = request.defaultTimeout
        options.stepTimeout = request.stepTimeout
        options.secrets = secrets
        options.runDeadline = request.maxTime.map { .now + $0 }
        options.progress = request.progress
        options.judgedAt = request.judgedAt
        engine = Engine(catalog: catalog, options: options)
    }

    /// Runs the steps. Evidence is on disk as each step ends; the reports are
    /// rewritten at most every 100 ms (`report.json`) or 250 ms (`report.md`)
    /// while steps finish, the latest state always within that time, and at
    /// the end (`ReportThrottle`) — so a fast run does not serialise itself
    /// once per step, while a slow or killed run still leaves a recent report. Cancelling the calling task
    /// interrupts the run; the reports are still written.
    public func run(observer: @escaping @Sendable (EngineEvent, CaseRecord) async -> Void = { _, _ in }) async throws -> CaseRecord {
        let folder = self.folder
        // The first report exists before the first step: a run killed at any
        // moment leaves a case that says it did not finish, never "healthy".
        var planned = CaseRecord(runbook: runbook.name, runbookTitle: runbook.title, runbookSource: runbook.source,
                                 target: inputs["url"]?.stringValue, via: inputs["via"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 },
                                 inputs: inputs, host: engine.options.host, startedAt: engine.options.now(),
                                 plannedSteps: runbook.steps.map(\.id))
        planned.judgedAt = engine.options.judgedAt
        // report.json before the first step; report.md and report.jira (a Mustache render, whose first
        // dynamic casts look protocol conformances up: a few ms) are rendered beside the first steps,
        // and every later write of them waits for that one.
        try? folder.write(planned, formats: folder.formats.intersection([.json]))
        let textFormats = folder.formats.subtracting([.json])
        let plan = planned
        let plannedText: Task<Void, Never>? = textFormats.isEmpty ? nil : Task.detached { try? folder.write(plan, formats: textFormats) }
        let throttle = ReportThrottle(folder: folder, start: .now, firstText: plannedText)
        let record = await engine.run(runbook, inputs: inputs) { event, record in
            if case .stepFinished = event { await throttle.finished(record) }
            await observer(event, record)
        }
        try await throttle.close(with: record)
        return record
    }

    /// Secret values among the inputs: header values that carry credentials,
    /// passwords in URLs, token-like query values; and every value of the
    /// `headers` input (`-H`, `--set headers=`), whatever the header's name.
    static func secrets(in inputs: [String: Value]) -> [String] {
        var out: [String] = []
        func visit(_ value: Value) {
            switch value {
            case .string(let s): out += Redactor.secretValues(in: s)
            case .list(let l): l.forEach(visit)
            case .object(let o): o.values.forEach(visit)
            default: break
            }
        }
        inputs.values.forEach(visit)
        for header in inputs["headers"].map(Self.strings) ?? [] { out += headerValues(header) }
        for proxy in inputs["proxy"].map(Self.strings) ?? [] { out += Redactor.proxySecrets(proxy) }
        return out
    }

    /// The credentials of a proxy the environment gives curl (`HTTPS_PROXY=http://user:password@…`):
    /// the request step goes through it as curl would, so they are as secret as `--proxy`'s.
    static func proxySecrets(environment: [String: String]) -> [String] {
        Redactor.proxyVariables.compactMap { environment[$0] }.flatMap(Redactor.proxySecrets)
    }

    /// A `Name: value` header's value; with line breaks in it (refused before it is sent, but shown
    /// in the report's inputs), each line's value too, and a line without a name whole.
    static func headerValues(_ header: String) -> [String] {
        func value(_ line: Substring) -> String {
            String((line.firstIndex(of: ":").map { line[line.index(after: $0)...] } ?? line).trimmed())
        }
        let lines = header.split(whereSeparator: \.isNewline)
        return (header.contains(":") ? [value(header[...])] : []) + (lines.count > 1 ? lines.map(value) : [])
    }

    private static func strings(_ value: Value) -> [String] {
        switch value {
        case .string(let s): [s]
        case .list(let l): l.flatMap(strings)
        default: []
        }
    }
}
