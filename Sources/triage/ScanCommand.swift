import ArgumentParser
import Foundation
import Synchronization
import TriageKit
import TriageProbes
import TriageWire
#if canImport(Glibc)
import Glibc
#endif

struct ScanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "The TLS checks of the default runbook on many endpoints: one JSON line each, problems first on a terminal.",
        discussion: """
        Targets: HOST, HOST:PORT or https:// URLs, as arguments or one per line in --targets FILE (- for stdin; # comments).
        Every address a name resolves to is checked. Exit 1 if any endpoint has a problem, 0 if none, 2 for a bad target line.
        """)

    @Argument(help: ArgumentHelp("Endpoints to check.", valueName: "TARGET"))
    var targets: [String] = []

    @Option(name: .customLong("targets"), help: ArgumentHelp("A file of targets, one per line ('-': stdin).", valueName: "FILE"))
    var targetsFile: String?

    @Option(name: [.customLong("ca-file"), .customLong("cacert")], help: ArgumentHelp("Trust this CA bundle instead of the system store.", valueName: "PEM"))
    var caFile: String?

    @Option(name: [.customLong("cert"), .customShort("E")], help: ArgumentHelp("A client certificate (PEM) to present.", valueName: "PEM"))
    var cert: String?

    @Option(help: ArgumentHelp("The client certificate's key (PEM).", valueName: "PEM"))
    var key: String?

    @Option(help: "Endpoints checked at once.")
    var concurrency = 256

    @Option(help: "Output: jsonl (one object per endpoint as each finishes), table (sorted by urgency) or csv. Default: table on a terminal, jsonl otherwise.")
    var format: Format?

    @Flag(help: "Also try without SNI (as nginx does by default) and report what that gets.")
    var sniVariants = false

    @Option(help: "A certificate of the chain expiring within this many days is the warning cert-expires-soon.")
    var warnDays = ChainRules.defaultWarnDays

    @Option(help: ArgumentHelp("Judge certificates as of this time instead of now: 2027-01-15, 2027-01-15T09:30:00Z, or +30d.", valueName: "DATE"))
    var at: String?

    @Option(name: .customLong("trust-store"), help: ArgumentHelp("Also verify every chain against this trust store (PEM or PKCS#12); repeatable.", valueName: "NAME=FILE"))
    var trustStores: [String] = []

    @Option(help: ArgumentHelp("Deadline of each handshake, e.g. 3s.", valueName: "DURATION"))
    var timeout = "5s"

    enum Format: String, ExpressibleByArgument, CaseIterable { case jsonl, table, csv }

    func validate() throws {
        guard (1...10_000).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 10000") }
        do {
            _ = try DurationParser.deadline(timeout)
        } catch {
            throw ValidationError("--timeout '\(Sink.echo(timeout, limit: 40))': \(error)")
        }
        guard !targets.isEmpty || targetsFile != nil else { throw ValidationError("give targets as arguments or with --targets FILE") }
    }

    func run() async throws {
        let console = Console()
        var options = EndpointProbe.Options()
        options.caFile = caFile
        options.clientCertificate = cert
        options.clientKey = key ?? cert
        options.withoutSNI = sniVariants
        options.warnDays = warnDays
        if let at {
            guard let date = JudgeTime.parse(at) else {
                console.error(JudgeTime.problem(at))
                throw Reported(status: ExitStatus.usage)
            }
            options.at = date
        }
        for spec in trustStores {
            do { options.trustStores.append(try TrustStore.load(spec, scratch: FileManager.default.temporaryDirectory.appendingPathComponent("triage-stores-\(getpid())"))) }
            catch {
                console.error(error.description)
                throw Reported(status: ExitStatus.usage)
            }
        }
        options.timeout = (try? DurationParser.deadline(timeout)) ?? .seconds(5)
        let probe: EndpointProbe
        do {
            probe = try EndpointProbe(options)
        } catch {
            console.error("cannot set up TLS: \(error)")
            throw Reported(status: ExitStatus.usage)
        }
        let format = format ?? (isatty(STDOUT_FILENO) == 1 ? .table : .jsonl)
        let source = try TargetSource(arguments: targets, file: targetsFile, console: console)
        let scan = Scan(probe: probe, concurrency: concurrency, format: format, console: console, total: source.count)
        let started = ContinuousClock.now
        let badLines = await scan.run(source)
        let elapsed = (ContinuousClock.now - started).seconds
        let tally = scan.tally.withLock { $0 }
        if format == .table { scan.printTable() }
        console.progress(console.table.render(.scanSummary, [
            "count": .int(tally.endpoints), "seconds": .string(TextFormat.fixed(elapsed, 1)),
            "rate": .string(TextFormat.fixed(Double(tally.endpoints) / max(elapsed, 0.001), 0)),
            "problems": .int(tally.problems), "warnings": .int(tally.warnings),
        ]))
        throw Reported(status: badLines > 0 ? ExitStatus.usage : tally.problems > 0 ? ExitStatus.problem
                       : tally.untested > 0 ? ExitStatus.inconclusive : ExitStatus.healthy)
    }
}

/// The targets, read line by line as the scan goes (a file of a million
/// lines is never held whole); a file is checked in a first pass so that a
/// bad line stops the scan before it starts.
struct TargetSource: Sendable {
    let arguments: [String]
    let file: String?
    /// Known up front for arguments and files, not for stdin.
    let count: Int?

    init(arguments: [String], file: String?, console: Console) throws {
        self.arguments = arguments
        self.file = file
        guard let file, file != "-" else {
            count = file == "-" ? nil : arguments.count
            try Self.check(arguments.enumerated().map { ($0.offset + 1, $0.element) }, origin: "argument", console: console)
            return
        }
        guard FileManager.default.isReadableFile(atPath: file) else {
            console.error("cannot read the targets file \(file)")
            throw Reported(status: ExitStatus.usage)
        }
        try Self.check(arguments.enumerated().map { ($0.offset + 1, $0.element) }, origin: "argument", console: console)
        var total = arguments.count
        var failed = false
        Self.lines(of: file) { number, line in
            total += 1
            if let reason = Scan.reason(line) {
                console.diagnostics("\(file):\(number): \(reason)")
                failed = true
            }
            return true
        }
        if failed { throw Reported(status: ExitStatus.usage) }
        count = total
    }

    /// `FILE:LINE: '…' is not a URL or HOST[:PORT]: why` for each bad line; exit 2 if any.
    static func check(_ lines: [(Int, String)], origin: String, console: Console) throws {
        var failed = false
        for (number, text) in lines {
            guard let reason = Scan.reason(text) else { continue }
            console.diagnostics("\(origin):\(number): \(reason)")
            failed = true
        }
        if failed { throw Reported(status: ExitStatus.usage) }
    }

    /// Each non-empty, non-comment line with its number; `body` returns false to stop.
    static func lines(of path: String, _ body: (Int, String) -> Bool) {
        guard let handle = path == "-" ? FileHandle.standardInput : FileHandle(forReadingAtPath: path) else { return }
        var pending = Data()
        var number = 0
        func emit(_ bytes: Data) -> Bool {
            number += 1
            var line = String(decoding: bytes, as: UTF8.self)
            if let hash = line.firstIndex(of: "#") { line = String(line[..<hash]) }
            line = line.trimmingCharacters(in: .whitespacesAndNewlines)
            return line.isEmpty || body(number, line)
        }
        // A line longer than any target is cut (it is refused for its length) and the rest of it skipped:
        // memory and time stay bounded whatever the file holds.
        let longest = Target.maximumLength + 1
        var skipping = false
        while true {
            let chunk = handle.readData(ofLength: 1 << 16)
            if chunk.isEmpty { break }
            var start = chunk.startIndex
            while let newline = chunk[start...].firstIndex(of: 0x0A) {
                defer { start = newline + 1 }
                // The end of a line already given (cut) is not a line of its own.
                if skipping { skipping = false; continue }
                pending.append(chunk[start..<newline])
                let line = pending
                pending = Data()
                guard emit(line) else { return }
            }
            guard !skipping else { continue }
            pending.append(chunk[start...])
            if pending.count > longest {
                skipping = true
                let line = pending.prefix(longest)
                pending = Data()
                guard emit(line) else { return }
            }
        }
        if !pending.isEmpty { _ = emit(pending) }
    }
}

/// The scan itself: a bounded number of endpoints in flight, each line
/// printed as it finishes (or kept for the table), a progress line on a terminal.
final class Scan: Sendable {
    struct Tally: Sendable {
        var endpoints = 0
        var problems = 0
        var warnings = 0
        /// Not tried for want of a descriptor here.
        var untested = 0
    }

    let probe: EndpointProbe
    let concurrency: Int
    let format: ScanCommand.Format
    let console: Console
    let total: Int?
    let tally = Mutex(Tally())
    /// For the table: every line, sorted at the end.
    private let rows = Mutex<[ScanLine]>([])
    private let started = ContinuousClock.now
    private let lastProgress = Mutex(ContinuousClock.now)

    init(probe: EndpointProbe, concurrency: Int, format: ScanCommand.Format, console: Console, total: Int?) {
        self.probe = probe
        self.concurrency = concurrency
        self.format = format
        self.console = console
        self.total = total
    }

    /// Runs every target; returns how many stdin lines were not targets.
    func run(_ source: TargetSource) async -> Int {
        if format == .csv { console.result(ScanLine.csvHeader) }
        // Lines are read on a thread of their own and handed over through a bounded stream.
        let (stream, continuation) = AsyncStream<(Int, String, String)>.makeStream(bufferingPolicy: .unbounded)
        let gate = DispatchSemaphore(value: concurrency * 2)
        let reader = Thread {
            for (index, text) in source.arguments.enumerated() {
                gate.wait()
                continuation.yield((index + 1, text, "argument"))
            }
            if let file = source.file {
                TargetSource.lines(of: file) { number, line in
                    gate.wait()
                    continuation.yield((number, line, file == "-" ? "stdin" : file))
                    return true
                }
            }
            continuation.finish()
        }
        reader.start()
        var bad = 0
        await withTaskGroup(of: Void.self) { group in
            var inFlight = 0
            for await (number, text, origin) in stream {
                gate.signal()
                guard let target = try? Target(text) else {
                    console.diagnostics("\(origin):\(number): \(Self.reason(text) ?? text)")
                    bad += 1
                    continue
                }
                if inFlight >= concurrency {
                    await group.next()
                    inFlight -= 1
                }
                inFlight += 1
                group.addTask { [self] in
                    for result in await probe.probe(target) { record(ScanLine(result)) }
                }
            }
        }
        return bad
    }

    /// Why `text` is not a target, or nil when it is one.
    static func reason(_ text: String) -> String? {
        do { _ = try Target(text); return nil } catch { return error.description }
    }

    func record(_ line: ScanLine) {
        tally.withLock { t in
            t.endpoints += 1
            if line.problem { t.problems += 1 } else if line.untested { t.untested += 1 } else if !line.causes.isEmpty { t.warnings += 1 }
        }
        switch format {
        case .jsonl: console.result(line.json)
        case .csv: console.result(line.csv)
        case .table: rows.withLock { $0.append(line) }
        }
        showProgress()
    }

    /// done/total, rate, problems so far: on a terminal, four times a second.
    func showProgress() {
        let now = ContinuousClock.now
        guard lastProgress.withLock({ last in
            guard now - last >= .milliseconds(250) else { return false }
            last = now
            return true
        }) else { return }
        let t = tally.withLock { $0 }
        let rate = Double(t.endpoints) / max((now - started).seconds, 0.001)
        console.progressLine("scan", Message(.scanProgress, ["done": .int(t.endpoints), "total": total.map { .int($0) } ?? "?",
                                                             "rate": .string(TextFormat.fixed(rate, 0)), "problems": .int(t.problems)]))
    }

    /// Problems first, then the soonest expiry.
    func printTable() {
        let sorted = rows.withLock { $0 }.sorted { a, b in
            (a.problem ? 0 : 1, a.daysLeft ?? Int.max, a.target) < (b.problem ? 0 : 1, b.daysLeft ?? Int.max, b.target)
        }
        console.result(ScanLine.tableHeader)
        for line in sorted { console.result(line.tableRow) }
    }
}

/// One endpoint's result, as `scan` prints it.
struct ScanLine: Sendable {
    var target: String
    var address: String?
    var port: Int?
    var ok: Bool
    var problem: Bool
    var cause: String?
    var causes: [String]
    var notAfter: Date?
    var daysLeft: Int?
    var issuer: String?
    var subject: String?
    var version: String?
    var cipher: String?
    var alert: TLSAlert?
    /// The handshake without SNI (with --sni-variants): what clients that send none get.
    var withoutSNI: Bool?
    var durationMs: Double
    var error: String?
    var untested: Bool

    init(_ r: EndpointProbe.Result, now: Date = Date()) {
        target = r.target
        address = r.endpoint.map { $0.address.description }
        port = r.endpoint.map { Int($0.port) }
        ok = r.ok
        problem = r.problem
        untested = r.untested
        cause = r.cause?.cause.code
        var seen = Set<String>()
        causes = r.findings.map(\.cause.code).filter { seen.insert($0).inserted }
        let expiry = r.earliestExpiry
        notAfter = expiry
        daysLeft = expiry.map { Certificate.days(from: now, to: $0) }
        issuer = r.leaf?.issuer
        subject = r.leaf?.subject
        let client = r.attempts.first { $0.variant == .asClient }
        version = client?.version
        cipher = client?.cipher
        alert = r.attempts.compactMap(\.fatalAlert).first
        withoutSNI = r.withoutSNI
        durationMs = (r.duration.seconds * 10_000).rounded() / 10
        error = r.error.map(TextTable.english.render) ?? client.flatMap { $0.established ? nil : TextTable.english.render($0.outcomeMessage) }
    }

    /// One JSON object, keys in a fixed order, absent values as null.
    var json: String {
        func s(_ v: String?) -> String { v.map(Self.quote) ?? "null" }
        let alertJSON = alert.map { a in
            "{\"code\":\(a.code),\"name\":\(Self.quote(a.name)),\"level\":\(Self.quote(a.isFatal ? "fatal" : "warning")),\"sender\":\(Self.quote(a.sender.rawValue))}"
        } ?? "null"
        let fields = [
            "\"target\":\(Self.quote(target))", "\"address\":\(s(address))", "\"port\":\(port.map(String.init) ?? "null")",
            "\"ok\":\(ok)", "\"cause\":\(s(cause))", "\"causes\":[\(causes.map(Self.quote).joined(separator: ","))]",
            "\"not_after\":\(s(notAfter.map(ISO8601.string)))", "\"days_left\":\(daysLeft.map(String.init) ?? "null")",
            "\"issuer\":\(s(issuer))", "\"subject\":\(s(subject))", "\"version\":\(s(version))", "\"cipher\":\(s(cipher))",
            "\"alert\":\(alertJSON)", "\"without_sni\":\(withoutSNI.map(String.init) ?? "null")", "\"duration_ms\":\(TextFormat.fixed(durationMs, 1))", "\"error\":\(s(error))",
        ]
        return "{" + fields.joined(separator: ",") + "}"
    }

    static func quote(_ s: String) -> String { Sink.json(s) }

    static let csvHeader = "target,address,port,ok,cause,causes,not_after,days_left,issuer,subject,version,cipher,alert,without_sni,duration_ms,error"

    var csv: String {
        func f(_ v: String?) -> String { v.map(Sink.csv) ?? "" }
        return [f(target), f(address), f(port.map(String.init)), f(String(ok)), f(cause), f(causes.joined(separator: " ")),
                f(notAfter.map(ISO8601.string)), f(daysLeft.map(String.init)), f(issuer), f(subject), f(version), f(cipher),
                f(alert.map { "\($0.code) \($0.name)" }), f(withoutSNI.map(String.init)), f(TextFormat.fixed(durationMs, 1)), f(error)].joined(separator: ",")
    }

    static let tableHeader = "STATUS   DAYS  ENDPOINT                                  CAUSE                    DETAIL"

    var tableRow: String {
        let status = problem ? "PROBLEM" : untested ? "untested" : causes.isEmpty ? "ok" : "warn"
        let endpoint = Sink.terminalLine(address.map { a in "\(target) \(a.contains(":") ? "[\(a)]" : a):\(port ?? 0)" } ?? target)
        let detail = Sink.terminalLine(error ?? [version, cipher, subject].compactMap { $0 }.joined(separator: " "))
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s.padding(toLength: n, withPad: " ", startingAt: 0) }
        return pad(status, 9) + pad(daysLeft.map(String.init) ?? "-", 6) + pad(endpoint, 42) + pad(cause ?? causes.first ?? "-", 25) + detail
    }
}
