import Foundation
import TriageKit

/// Progress on stderr: one line per step, colour only on a terminal and
/// only without NO_COLOR (https://no-color.org).
struct Terminal: Sendable {
    let colour: Bool
    let table: TextTable

    init(language: String = "en") {
        colour = isatty(STDERR_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"].map(\.isEmpty) ?? true
        table = (try? TextTable.named(language)) ?? .english
    }

    func line(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    func paint(_ text: String, _ code: String) -> String {
        colour ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    func step(_ r: StepResult) {
        let (mark, code): (String, String) = switch r.status {
        case .ok: ("ok", "32")
        case .warning: ("warn", "33")
        case .problem: ("PROBLEM", "31;1")
        case .failed: ("FAILED", "31")
        case .timedOut: ("TIMEOUT", "31")
        case .skipped: ("skip", "2")
        case .interrupted: ("INTERRUPTED", "33")
        }
        let status = paint(mark.padding(toLength: 11, withPad: " ", startingAt: 0), code)
        let id = r.id.padding(toLength: max(14, r.id.count), withPad: " ", startingAt: 0)
        let duration = "\(r.durationMs)ms".padding(toLength: 8, withPad: " ", startingAt: 0)
        line("  \(status) \(id) \(duration) \(Redactor.redact(table.render(r.summary)))")
    }

    func error(_ text: String) {
        line(paint("triage: ", "31;1") + text)
    }
}
