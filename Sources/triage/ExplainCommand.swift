import Foundation
import ArgumentParser
import TriageKit

struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Explain a TLS alert, an OpenSSL error, a curl exit code, an nginx error-log line, or a client's TLS error (Java, Go, Python, Node.js, Envoy, HAProxy).",
        discussion: """
        Examples:
          triage explain 80
          triage explain 'SSL alert number 42'
          triage explain error:0A000438
          triage explain 'curl: (60) SSL certificate problem: certificate has expired'
          triage explain "$(tail -1 /var/log/nginx/error.log)"
          triage explain 'javax.net.ssl.SSLHandshakeException: PKIX path building failed'
          kubectl logs deploy/api | grep -m1 x509 | triage explain -
        --lang zh (first or last) explains in Chinese.
        """)

    @Argument(parsing: .captureForPassthrough, help: "The text to explain (words are joined with spaces); - reads it from standard input.")
    var text: [String] = []

    func run() throws {
        // The words are passed through untouched (an nginx line has dashes),
        // so --help and a leading --lang are ours to see.
        var words = text
        var language = "en"
        // `--lang zh` first or last (`triage explain 80 --lang zh`); in the middle it is part of the text.
        // `--` ends the options, as everywhere (`triage explain -- -1`, `--lang zh -- 80`): what follows is the text.
        if words.count >= 2, words[0] == "--lang" {
            language = words[1]
            words.removeFirst(2)
        }
        var literal = false
        if words.first == "--" {
            words.removeFirst()
            literal = true
        } else if words.count >= 3, words[words.count - 2] == "--lang", Bundled.languages.contains(words[words.count - 1]) {
            language = words[words.count - 1]
            words.removeLast(2)
        }
        let console = Console(language: language)
        guard (try? TextTable.named(language)) != nil else {
            console.error("unknown language '\(language)': one of \(Bundled.languages.joined(separator: ", "))")
            throw Reported(status: ExitStatus.usage)
        }
        if (!literal && (words == ["--help"] || words == ["-h"])) || words.isEmpty {
            console.result(Triage.helpMessage(for: Self.self))
            throw Reported(status: words.isEmpty ? ExitStatus.usage : ExitStatus.healthy)
        }
        var input = words.concatenated(separator: " ")
        if words == ["-"] {
            // readDataToEndOfFile traps on a read error (stdin a directory); read(upToCount:) throws it.
            do { input = String(decoding: try FileHandle.standardInput.read(upToCount: 1 << 20) ?? Data(), as: UTF8.self) } catch {
                console.error("cannot read stdin: \(Readable.reason(of: error))")
                throw Reported(status: ExitStatus.usage)
            }
        }
        do {
            console.result(try Explainer.explain(input).map { $0.text(console.table) }.concatenated(separator: "\n\n"))
        } catch {
            console.error(console.table.render(.explainNotUnderstood, ["text": .string(String(error.input.prefix(200)))]))
            throw Reported(status: ExitStatus.usage)
        }
    }
}
