import Foundation
import ArgumentParser
import TriageKit

struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Explain a TLS alert, an OpenSSL error, a curl exit code or an nginx error-log line.",
        discussion: """
        Examples: triage explain 80 · triage explain internal_error · triage explain 'SSL alert number 42'
        · triage explain 554 · triage explain error:0A000438 · triage explain 'curl: (60) …'
        · triage explain "$(tail -1 /var/log/nginx/error.log)"
        """)

    @Argument(parsing: .captureForPassthrough, help: "The text to explain (words are joined with spaces); - reads it from standard input.")
    var text: [String] = []

    func run() throws {
        // The words are passed through untouched (an nginx line has dashes), so --help is ours to see.
        if text == ["--help"] || text == ["-h"] || text.isEmpty {
            Console().result(Self.helpMessage())
            throw Reported(status: text.isEmpty ? ExitStatus.usage : ExitStatus.healthy)
        }
        var input = text.joined(separator: " ")
        if text == ["-"] {
            input = String(decoding: FileHandle.standardInput.readDataToEndOfFile().prefix(1 << 20), as: UTF8.self)
        }
        do {
            Console().result(try Explainer.explain(input).map { $0.text() }.joined(separator: "\n\n"))
        } catch {
            Console().error(error.description)
            throw Reported(status: ExitStatus.usage)
        }
    }
}
