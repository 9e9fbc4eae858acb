import Foundation
import Synchronization
import TriageKit
#if canImport(Glibc)
import Glibc
#endif

/// Where triage's words go: the result (the verdict line, the report path,
/// or JSON) to stdout, progress to stderr. Written with write(2): a closed
/// pipe (`triage … | head -1`) makes that stream go quiet — the run goes
/// on and its case is still written — instead of killing the process.
final class Console: Sendable {
    enum Verbosity: Sendable { case quiet, normal, verbose }

    let colour: Bool
    let language: String
    private let loadedTable = Mutex<TextTable?>(nil)
    /// Read on first use: `triage --version` and a usage error never parse a text table.
    var table: TextTable {
        loadedTable.withLock { loaded in
            if let loaded { return loaded }
            let table = (try? TextTable.named(language)) ?? .english
            loaded = table
            return table
        }
    }
    let verbosity: Verbosity
    private let closed = Mutex<(out: Bool, err: Bool)>((false, false))
    /// The result could not be written to stdout (not a reader that left): the process then exits
    /// `ExitStatus.outputFailed` instead of its verdict (see `leave`), so a script notices.
    static let resultLost = Atomic<Bool>(false)
    private let skipped = Mutex<[String]>([])
    /// A progress line is on the terminal (to be cleared by the next line).
    private let progressShown = Mutex(false)
    private let liveProgress: Bool

    init(language: String = "en", verbosity: Verbosity = .normal) {
        colour = isatty(STDERR_FILENO) == 1 && (getenv("NO_COLOR").map { $0.pointee == 0 } ?? true)
        self.language = language
        self.verbosity = verbosity
        liveProgress = isatty(STDERR_FILENO) == 1 && verbosity != .quiet
    }

    /// A long step's progress: one line rewritten in place, on a terminal only.
    @Sendable func progressLine(_ step: String, _ message: Message) {
        guard liveProgress else { return }
        progressShown.withLock { $0 = true }
        write("\r\u{1B}[K  …           \(step) \(table.render(message))", to: STDERR_FILENO)
    }

    private func clearProgress() {
        guard progressShown.withLock({ shown in defer { shown = false }; return shown }) else { return }
        write("\r\u{1B}[K", to: STDERR_FILENO)
    }

    /// Everything goes through here: a failed write (EPIPE) closes the stream for good.
    private func write(_ text: String, to fd: Int32) {
        let isOut = fd == STDOUT_FILENO
        if closed.withLock({ isOut ? $0.out : $0.err }) { return }
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n > 0 { offset += n; continue }
            if n < 0, errno == EINTR { continue }
            // A descriptor inherited non-blocking (a parent set O_NONBLOCK) and a slow reader: wait for room.
            if n < 0, errno == EAGAIN || errno == EWOULDBLOCK {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&p, 1, 1000)
                continue
            }
            let failure = n < 0 ? errno : EIO
            // Set and tested under one lock: two threads failing at once say it once.
            let first = closed.withLock { c -> Bool in
                defer { if isOut { c.out = true } else { c.err = true } }
                return !(isOut ? c.out : c.err)
            }
            guard first else { return }
            // A reader that left (EPIPE: `| head -1`) is no error; a full disk or a dead device is
            // said once, so a lost result is not silent. (The case folder is written either way.)
            if isOut, failure != EPIPE {
                Console.resultLost.store(true, ordering: .relaxed)
                write(paint("triage: ", "31;1") + "cannot write to stdout: \(String(cString: strerror(failure)))\n", to: STDERR_FILENO)
            }
            return
        }
    }

    /// The steps skipped so far, in one line.
    func flushSkipped() {
        let ids = skipped.withLock { ids in defer { ids = [] }; return ids }
        guard !ids.isEmpty else { return }
        progress(paint(table.render(.terminalSkipped, ["steps": .string(ids.joined(separator: ", "))]), "2"))
    }

    /// The result: stdout.
    /// (Text from the network reaches a terminal only through `Sink.terminal`: shown, never obeyed.)
    func result(_ text: String, colour: String? = nil) {
        let safe = Sink.terminal(text)
        write((colour.map { paint(safe, $0) } ?? safe) + "\n", to: STDOUT_FILENO)
    }

    /// Progress: stderr, unless quiet.
    func progress(_ text: String) {
        guard verbosity != .quiet else { return }
        clearProgress()
        write(text + "\n", to: STDERR_FILENO)
    }

    /// Errors: stderr, always.
    func error(_ text: String) { write(paint("triage: ", "31;1") + Sink.terminal(text) + "\n", to: STDERR_FILENO) }

    /// Diagnostics that are the message (a runbook's FILE:LINE:COLUMN errors): stderr, always.
    func diagnostics(_ text: String) { write(Sink.terminal(text) + "\n", to: STDERR_FILENO) }

    func paint(_ text: String, _ code: String) -> String {
        colour ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    func step(_ r: StepResult, secrets: SecretSet = SecretSet()) {
        let clean = { (text: String) in Sink.terminal(secrets.redact(Redactor.redact(text))) }
        guard verbosity != .quiet else { return }
        // Not run (out of --max-time, after a stopping failure) is news: its own line, with why.
        let notRun = [MessageKey.stepNotRunMaxTime, .stepNotRunStopped].map(\.rawValue).contains(r.summary.key)
        if r.status == .skipped, verbosity != .verbose, !notRun {
            // One line at the end for all of them: a skipped step is not news.
            skipped.withLock { $0.append(r.id) }
            return
        }
        let (key, code): (MessageKey, String) = switch r.status {
        case .ok: (.terminalStatusOK, "32")
        case .warning: (.terminalStatusWarning, "33")
        case .problem: (.terminalStatusProblem, "31;1")
        case .failed: (.terminalStatusFailed, "31")
        case .timedOut: (.terminalStatusTimedOut, "31")
        case .skipped: (.terminalStatusSkipped, "2")
        case .interrupted: (.terminalStatusInterrupted, "33")
        }
        let mark = table.render(key)
        // Padded to 11 columns as a terminal shows them (a CJK character takes two).
        let width = mark.unicodeScalars.reduce(0) { $0 + ($1.value >= 0x1100 && $1.value <= 0xFFEF ? 2 : 1) }
        let status = paint(mark + String(repeating: " ", count: max(0, 11 - width)), code)
        // Padded, never cut (Foundation's `padding(toLength:)` cuts, and goes through NSString).
        func padded(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        let id = padded(r.id, 15)
        let duration = padded("\(r.durationMs)ms", 8)
        progress("  \(status) \(id) \(duration) \(Sink.terminalLine(clean(table.render(r.summary))))")
        guard verbosity == .verbose, r.status != .skipped else { return }
        // -v: the step's evidence as it runs.
        if let command = r.command { progress(clean(command).split(separator: "\n").map { "      $ \($0)" }.joined(separator: "\n")) }
        for fact in r.facts { progress("      \(table.label(fact.key)): \(Sink.terminalLine(clean(table.format(fact.value))))") }
        for finding in r.findings { progress("      ⇒ \(finding.cause.code): \(Sink.terminalLine(clean(table.render(finding.summary))))") }
        if let transcript = r.transcript, !transcript.isEmpty {
            let lines = clean(transcript).split(separator: "\n", omittingEmptySubsequences: false)
            progress(lines.prefix(60).map { "      | \($0)" }.joined(separator: "\n"))
            if lines.count > 60 { progress("      | … \(lines.count - 60) more lines in \(r.artifacts.first?.path ?? "the case folder")") }
        }
    }
}
