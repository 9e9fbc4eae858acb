/// Escaping for text placed into Markdown by the templates: the report's
/// sentences may carry a server's text (a certificate's names, an answer, a
/// log line), which is shown, never rendered as markup.
public enum Markdown {
    /// Prose: every control character made visible, and outside code spans `&`, `<` and `>` as
    /// entities — `</details><script>` in a certificate's name stays text. Code spans (our
    /// commands, `proxy_ssl_server_name on;`) are left as they are: Markdown shows them literally.
    public static func text(_ s: String) -> String {
        let visible = Sink.visible(s)
        guard visible.contains(where: { $0 == "<" || $0 == ">" || $0 == "&" }) else { return visible }
        var out = ""
        var rest = Substring(visible)
        while let tick = rest.firstIndex(of: "`") {
            out += escapeMarkup(rest[..<tick])
            let run = rest[tick...].prefix { $0 == "`" }
            let afterOpen = rest[run.endIndex...]
            // The span closes at the next run of exactly the same length (CommonMark).
            var search = afterOpen.startIndex
            var close: Range<Substring.Index>?
            while let next = afterOpen[search...].firstIndex(of: "`") {
                let other = afterOpen[next...].prefix { $0 == "`" }
                if other.count == run.count { close = next..<other.endIndex; break }
                search = other.endIndex
            }
            guard let close else {
                // No closing run: the backticks are literal text.
                out += run
                rest = afterOpen
                continue
            }
            out += rest[tick..<close.upperBound]
            rest = rest[close.upperBound...]
        }
        return out + escapeMarkup(rest)
    }

    static func escapeMarkup(_ s: Substring) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    /// Text for a table cell: prose, and a `|` would end the cell (even inside a code span,
    /// in GitHub's tables), a newline the row.
    public static func cell(_ s: String) -> String {
        text(s).replacingOccurrences(of: "|", with: "\\|")
            .replacingOccurrences(of: "\r\n", with: "<br>")
            .replacingOccurrences(of: "\n", with: "<br>")
            .replacingOccurrences(of: "\r", with: "<br>")
    }

    /// Inline code that survives backticks inside it; control characters visible.
    public static func code(_ s: String) -> String {
        let v = Sink.terminalLine(s)
        let run = longestBacktickRun(v)
        let fence = String(repeating: "`", count: run + 1)
        let pad = v.hasPrefix("`") || v.hasSuffix("`") ? " " : ""
        return "\(fence)\(pad)\(v)\(pad)\(fence)"
    }

    /// A fence for a code block: longer than any backtick run inside (at least 3).
    public static func fence(for s: String) -> String {
        String(repeating: "`", count: max(3, longestBacktickRun(s) + 1))
    }

    static func longestBacktickRun(_ s: String) -> Int {
        var longest = 0, current = 0
        for c in s {
            if c == "`" { current += 1; longest = max(longest, current) } else { current = 0 }
        }
        return longest
    }
}
