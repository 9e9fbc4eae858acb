/// Escaping for text placed into Markdown by the templates: the report's
/// sentences may carry a server's text (a certificate's names, an answer, a
/// log line), which is shown, never rendered as markup.
public enum Markdown {
    /// Prose: every control character made visible, and outside code spans `&`, `<` and `>` as
    /// entities — `</details><script>` in a certificate's name stays text — and the characters of
    /// inline markup (`\`, `[`, `]`, `*`, `_`, `~`) escaped with a backslash: a server's
    /// `![x](http://…)` or `**bold**` (in an answer, a certificate's name, a `Server:` header) is shown,
    /// not rendered as an image, a link or emphasis, and RFC 2253's `\<` stays `\<`. Code spans (our
    /// commands, `proxy_ssl_server_name on;`) and bare URLs (which the renderers link as they are
    /// written) are left as they are.
    public static func text(_ s: String) -> String {
        let visible = Sink.visible(s)
        guard visible.unicodeScalars.contains(where: { markup.contains($0) }) else { return visible }
        // Backtick runs as CommonMark counts them: code points, not characters (a combining mark
        // after a backtick joins it in one Swift Character, but it is still a backtick).
        let scalars = Array(visible.unicodeScalars)
        let runs = backtickRuns(scalars)
        var out = "", position = 0, r = 0
        while r < runs.count {
            let open = runs[r]
            // The span closes at the next run of exactly the same length; without one the run is text.
            guard let close = runs[(r + 1)...].firstIndex(where: { $0.length == open.length }) else { r += 1; continue }
            out += escapeMarkup(scalars[position..<open.start])
            position = runs[close].start + open.length
            out += string(scalars[open.start..<position])
            r = close + 1
        }
        return out + escapeMarkup(scalars[position...])
    }

    /// The maximal runs of backticks: where each starts and how long it is, in code points.
    public static func backtickRuns(_ scalars: [Unicode.Scalar]) -> [(start: Int, length: Int)] {
        var runs: [(start: Int, length: Int)] = []
        var i = 0
        while i < scalars.count {
            guard scalars[i] == "`" else { i += 1; continue }
            var j = i
            while j < scalars.count, scalars[j] == "`" { j += 1 }
            runs.append((i, j - i))
            i = j
        }
        return runs
    }

    static func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    static func escapeMarkup(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        escapeMarkup(Substring(string(scalars)))
    }

    /// What prose escapes outside code spans.
    static let markup: Set<Unicode.Scalar> = ["&", "<", ">", "\\", "[", "]", "*", "_", "~"]

    /// A bare URL as GitHub's and GitLab's autolinking reads it, to the first space, quote or angle
    /// bracket: left as it is written (a `\_` inside it became part of the link's address and showed).
    nonisolated(unsafe) public static let bareURL = #/(?i)(?:https?|ftp)://[^\s<>"'`\\]+/#

    static func escapeMarkup(_ s: Substring) -> String {
        guard s.includes("://") else { return escapeProse(s) }
        var out = "", rest = s
        while let url = rest.firstMatch(of: bareURL) {
            // As GitHub ends an autolink: trailing punctuation, and a `)` it does not balance, are not the URL's.
            var end = url.range.upperBound
            while end > url.range.lowerBound {
                let last = rest[rest.index(before: end)]
                let token = rest[url.range.lowerBound..<end]
                guard "?!.,:*_~".contains(last) || (last == ")" && token.count(where: { $0 == ")" }) > token.count(where: { $0 == "(" })) else { break }
                end = rest.index(before: end)
            }
            out += escapeProse(rest[..<url.range.lowerBound]) + String(rest[url.range.lowerBound..<end])
            rest = rest[end...]
        }
        return out + escapeProse(rest)
    }

    static func escapeProse(_ s: Substring) -> String {
        Sink.replacing(String(s)) { c in
            switch c {
            case "&": "&amp;"
            case "<": "&lt;"
            case ">": "&gt;"
            case "\\", "[", "]", "*", "_", "~": "\\" + String(c)
            default: nil
            }
        }
    }

    /// Text for a table cell: prose, and a `|` would end the cell (even inside a code span,
    /// in GitHub's tables), a newline the row.
    public static func cell(_ s: String) -> String {
        // text() has made every CR visible; a newline is a line break in the cell.
        Sink.replacing(text(s)) { $0 == "|" ? "\\|" : $0 == "\n" ? "<br>" : nil }
    }

    /// Inline code that survives backticks inside it; control characters visible.
    public static func code(_ s: String) -> String {
        let v = Sink.terminalLine(s)
        let run = longestBacktickRun(v)
        let fence = String(repeating: "`", count: run + 1)
        let pad = v.unicodeScalars.first == "`" || v.unicodeScalars.last == "`" ? " " : ""
        return "\(fence)\(pad)\(v)\(pad)\(fence)"
    }

    /// A fence for a code block: longer than any backtick run inside (at least 3).
    public static func fence(for s: String) -> String {
        String(repeating: "`", count: max(3, longestBacktickRun(s) + 1))
    }

    /// In code points, as CommonMark counts them.
    static func longestBacktickRun(_ s: String) -> Int {
        backtickRuns(Array(s.unicodeScalars)).map(\.length).max() ?? 0
    }
}
