/// Escaping for text placed into Markdown by the templates.
public enum Markdown {
    /// Text for a table cell: a `|` would end the cell, a newline the row, and
    /// outside code spans `<` and `>` would be markup (a certificate subject
    /// or a server's answer is the server's text, not HTML for the ticket).
    public static func cell(_ s: String) -> String {
        let text = s.contains("`") ? s : s.replacingOccurrences(of: "&", with: "&amp;")
            .replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        return text.replacingOccurrences(of: "|", with: "\\|")
            .replacingOccurrences(of: "\r\n", with: "<br>")
            .replacingOccurrences(of: "\n", with: "<br>")
    }

    /// Inline code that survives backticks inside it.
    public static func code(_ s: String) -> String {
        let run = longestBacktickRun(s)
        let fence = String(repeating: "`", count: run + 1)
        let pad = s.hasPrefix("`") || s.hasSuffix("`") ? " " : ""
        return "\(fence)\(pad)\(s)\(pad)\(fence)"
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
