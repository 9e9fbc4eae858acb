import Foundation
import Synchronization
import TriageKit
import TriageProbes
import TriageWire
#if canImport(Glibc)
import Glibc
#endif

/// The targets, read line by line as the scan goes (a file of a million
/// lines is never held whole); a file is checked in a first pass so that a
/// bad line stops the scan before it starts.
public struct TargetSource: Sendable {
    public let arguments: [String]
    public let file: String?
    /// Known up front for arguments and files, not for stdin.
    public let count: Int?

    /// What stops a scan before it starts: an unreadable file, bad lines (`ORIGIN:LINE: why` each).
    public struct Refused: Error {
        public var lines: [String]
    }

    public init(arguments: [String], file: String?) throws(Refused) {
        self.arguments = arguments
        self.file = file
        if let file, file != "-", let why = Readable.why(file) { throw Refused(lines: ["cannot read the targets file \(file): \(why)"]) }
        // stdin, a pipe (`--targets <(…)`) or a FIFO gives its lines once: read as they come, a bad one
        // said and skipped; a regular file is checked whole before anything is probed.
        guard let file, file != "-", Readable.isRegular(file) else {
            count = file == nil ? arguments.count : nil
            try Self.check(arguments.enumerated().map { ($0.offset + 1, $0.element) }, origin: "argument")
            return
        }
        try Self.check(arguments.enumerated().map { ($0.offset + 1, $0.element) }, origin: "argument")
        var total = arguments.count
        var bad: [String] = []
        let failed = Self.lines(of: file) { number, line in
            total += 1
            if let reason = Scan.reason(line), bad.count < 1000 { bad.append("\(file):\(number): \(reason)") }
            return true
        }
        if let failed { throw Refused(lines: ["cannot read the targets file \(file): \(failed)"]) }
        if !bad.isEmpty { throw Refused(lines: bad) }
        count = total
    }

    /// `FILE:LINE: '…' is not a URL or HOST[:PORT]: why` for each bad line.
    static func check(_ lines: [(Int, String)], origin: String) throws(Refused) {
        let bad = lines.compactMap { number, text in Scan.reason(text).map { "\(origin):\(number): \($0)" } }
        if !bad.isEmpty { throw Refused(lines: bad) }
    }

    /// Each non-empty, non-comment line with its number; `body` returns false to stop.
    /// Returns why reading failed (stdin a directory, an I/O error), nil when it read to the end.
    @discardableResult
    public static func lines(of path: String, _ body: (Int, String) -> Bool) -> String? {
        guard let handle = path == "-" ? FileHandle.standardInput : FileHandle(forReadingAtPath: path) else {
            return Readable.why(path) ?? "cannot open"
        }
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
        defer { if path != "-" { try? handle.close() } }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            // One read(2) at a time: lines from a slow pipe are scanned as they come, not once 64 KiB
            // have gathered (FileHandle's reads wait for the count, and readData traps on an error).
            let n = buffer.withUnsafeMutableBytes { read(handle.fileDescriptor, $0.baseAddress, $0.count) }
            if n < 0, errno == EINTR { continue }
            if n < 0 { return String(cString: strerror(errno)) }
            if n == 0 { break }
            let chunk = Data(buffer[0..<n])
            var start = chunk.startIndex
            while let newline = chunk[start...].firstIndex(of: 0x0A) {
                defer { start = newline + 1 }
                // The end of a line already given (cut) is not a line of its own.
                if skipping { skipping = false; continue }
                pending.append(chunk[start..<newline])
                let line = pending
                pending = Data()
                guard emit(line) else { return nil }
            }
            guard !skipping else { continue }
            pending.append(chunk[start...])
            if pending.count > longest {
                skipping = true
                let line = pending.prefix(longest)
                pending = Data()
                guard emit(line) else { return nil }
            }
        }
        if !pending.isEmpty { _ = emit(pending) }
        return nil
    }
}

/// The scan itself: a bounded number of endpoints in flight, each line
/// printed as it finishes (or kept for the table), a progress line on a terminal.
public final class Scan: Sendable {
    public enum Format: String, Sendable, CaseIterable { case jsonl, table, csv }

    /// Where a scan's output goes: result lines (stdout), diagnostics and progress (stderr).
    public struct Output: Sendable {
        public var result: @Sendable (String) -> Void
        public var diagnostic: @Sendable (String) -> Void
        public var progress: @Sendable (Message) -> Void

        public init(result: @escaping @Sendable (String) -> Void, diagnostic: @escaping @Sendable (String) -> Void,
                    progress: @escaping @Sendable (Message) -> Void) {
            self.result = result
            self.diagnostic = diagnostic
            self.progress = progress
        }
    }

    public struct Tally: Sendable {
        public var endpoints = 0
        public var problems = 0
        public var warnings = 0
        /// Not tried for want of a descriptor here.
        public var untested = 0
    }

    let probe: EndpointProbe
    let concurrency: Int
    let format: Format
    let output: Output
    let total: Int?
    public let tally = Mutex(Tally())
    /// For the table: every line, sorted at the end.
    private let rows = Mutex<[ScanLine]>([])
    private let started = ContinuousClock.now
    private let lastProgress = Mutex(ContinuousClock.now)

    public init(probe: EndpointProbe, concurrency: Int, format: Format, output: Output, total: Int?) {
        self.probe = probe
        self.concurrency = concurrency
        self.format = format
        self.output = output
        self.total = total
    }

    /// Runs every target; returns how many stdin lines were not targets.
    public func run(_ source: TargetSource) async -> Int {
        if format == .csv { output.result(ScanLine.csvHeader) }
        // Lines are read on a thread of their own and handed over through a bounded stream.
        let (stream, continuation) = AsyncStream<(Int, String, String)>.makeStream(bufferingPolicy: .unbounded)
        let gate = DispatchSemaphore(value: concurrency * 2)
        let reader = Thread {
            for (index, text) in source.arguments.enumerated() {
                gate.wait()
                continuation.yield((index + 1, text, "argument"))
            }
            if let file = source.file {
                let origin = file == "-" ? "stdin" : file
                if let failed = TargetSource.lines(of: file, { number, line in
                    gate.wait()
                    continuation.yield((number, line, origin))
                    return true
                }) {
                    // Not a target's verdict: the list itself was cut short, so the scan is not clean.
                    continuation.yield((0, "", "cannot read \(origin): \(failed)"))
                }
            }
            continuation.finish()
        }
        reader.start()
        var bad = 0
        await withTaskGroup(of: Void.self) { group in
            var inFlight = 0
            for await (number, text, origin) in stream {
                if number == 0 {
                    output.diagnostic(origin)
                    bad += 1
                    continue
                }
                gate.signal()
                guard let target = try? Target.forTLS(text) else {
                    output.diagnostic("\(origin):\(number): \(Self.reason(text) ?? text)")
                    bad += 1
                    continue
                }
                if inFlight >= concurrency {
                    await group.next()
                    inFlight -= 1
                }
                inFlight += 1
                group.addTask { [self] in
                    for result in await probe.probe(target) {
                        var line = ScanLine(result, now: probe.options.judgedAt())
                        line.input = "\(origin):\(number)"
                        record(line)
                    }
                }
            }
        }
        return bad
    }

    /// Why `text` is not a target, or nil when it is one.
    public static func reason(_ text: String) -> String? {
        do { _ = try Target.forTLS(text); return nil } catch { return error.description }
    }

    func record(_ line: ScanLine) {
        tally.withLock { t in
            t.endpoints += 1
            if line.problem { t.problems += 1 } else if line.untested { t.untested += 1 } else if !line.causes.isEmpty { t.warnings += 1 }
        }
        switch format {
        case .jsonl: output.result(line.json)
        case .csv: output.result(line.csv)
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
        output.progress(Message(.scanProgress, ["done": .int(t.endpoints), "total": total.map { .int($0) } ?? "?",
                                                             "rate": .string(TextFormat.fixed(rate, 0)), "problems": .int(t.problems)]))
    }

    /// Problems first, then the soonest expiry.
    public func printTable() {
        let sorted = rows.withLock { $0 }.sorted { a, b in
            (a.problem ? 0 : 1, a.daysLeft ?? Int.max, a.target) < (b.problem ? 0 : 1, b.daysLeft ?? Int.max, b.target)
        }
        output.result(ScanLine.tableHeader)
        for line in sorted { output.result(line.tableRow) }
    }
}

/// One endpoint's result, as `scan` prints it.
public struct ScanLine: Sendable {
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
    /// Where the target was given (`targets.txt:3`, `stdin:7`, `argument:2`): a list's duplicates told apart.
    var input: String?

    public init(_ r: EndpointProbe.Result, now: Date = Date()) {
        target = Redactor.redact(r.target)
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
            "\"input\":\(s(input))",
        ]
        return "{" + fields.joined(separator: ",") + "}"
    }

    static func quote(_ s: String) -> String { Sink.json(s) }

    static let csvHeader = "target,address,port,ok,cause,causes,not_after,days_left,issuer,subject,version,cipher,alert,without_sni,duration_ms,error,input"

    var csv: String {
        func f(_ v: String?) -> String { v.map(Sink.csv) ?? "" }
        return [f(target), f(address), f(port.map(String.init)), f(String(ok)), f(cause), f(causes.joined(separator: " ")),
                f(notAfter.map(ISO8601.string)), f(daysLeft.map(String.init)), f(issuer), f(subject), f(version), f(cipher),
                f(alert.map { "\($0.code) \($0.name)" }), f(withoutSNI.map(String.init)), f(TextFormat.fixed(durationMs, 1)), f(error), f(input)].joined(separator: ",")
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
