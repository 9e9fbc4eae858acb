/// report.md in Jira wiki markup (Jira Data Center, and Cloud's classic
/// editor, render neither Markdown nor Mermaid): the same report, converted
/// from the Markdown the templates render, so both say the same thing in the
/// same words. It reads the Markdown triage writes — headings, pipe tables,
/// fenced code, `<details>` sections, quotes, lists, `**bold**`, code spans,
/// `<br>` — not Markdown at large.
public enum JiraMarkup {
    public static func convert(_ markdown: String) -> String {
        var out: [String] = []
        let lines = markdown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var i = 0
        while i < lines.count {
            let line = lines[i]
            // A fenced block: ``` (or longer) with its info string, closed by the same fence.
            if let fence = fenceOpening(line) {
                var body: [String] = []
                i += 1
                while i < lines.count, lines[i] != fence.marks { body.append(lines[i]); i += 1 }
                i += 1
                if fence.info == "mermaid" {
                    out += sequence(body)
                } else {
                    let macro = fence.info == "sh" ? "code:bash" : "noformat"
                    let name = macro == "noformat" ? "noformat" : "code"
                    out.append("{\(macro)}")
                    // The block's own text cannot close it early.
                    out += body.map { $0.replacingOccurrences(of: "{\(name)}", with: "{ \(name)}") }
                    out.append("{\(name)}")
                }
                continue
            }
            if line.hasPrefix("<details><summary>"), line.hasSuffix("</summary>") {
                let title = String(line.dropFirst("<details><summary>".count).dropLast("</summary>".count))
                // The panel's title is a macro parameter: no `|`, `}` or `=` may end it.
                let safe = String(unescapeEntities(title).map { "|}={".contains($0) ? " " : $0 })
                out.append("{panel:title=\(safe)}")
                i += 1
                continue
            }
            if line == "</details>" { out.append("{panel}"); i += 1; continue }
            // A pipe table: a header row, its separator, then rows.
            if line.hasPrefix("|"), i + 1 < lines.count, isSeparator(lines[i + 1]) {
                out.append("||" + cells(line).map { cell in cell.isEmpty ? " " : inline(cell) }.joined(separator: "||") + "||")
                i += 2
                while i < lines.count, lines[i].hasPrefix("|") {
                    out.append("|" + cells(lines[i]).map { cell in cell.isEmpty ? " " : inline(cell) }.joined(separator: "|") + "|")
                    i += 1
                }
                continue
            }
            out.append(block(line))
            i += 1
        }
        var text = out.joined(separator: "\n")
        while text.contains("\n\n\n") { text = text.replacingOccurrences(of: "\n\n\n", with: "\n\n") }
        return text
    }

    /// One line outside tables and code: a heading, a quote, a list item or prose.
    static func block(_ line: String) -> String {
        // A break at the end of a line is the line's end.
        let line = line.hasSuffix("<br>") ? String(line.dropLast(4)) : line
        var level = 0
        while level < line.count, line[line.index(line.startIndex, offsetBy: level)] == "#" { level += 1 }
        if level > 0, level <= 6, line.dropFirst(level).hasPrefix(" ") {
            return "h\(level). " + inline(String(line.dropFirst(level + 1)))
        }
        if line.hasPrefix("> ") { return "bq. " + inline(String(line.dropFirst(2))) }
        if line.hasPrefix("- ") { return "* " + inline(String(line.dropFirst(2))) }
        return inline(line)
    }

    static func fenceOpening(_ line: String) -> (marks: String, info: String)? {
        let marks = String(line.prefix { $0 == "`" })
        guard marks.count >= 3 else { return nil }
        return (marks, String(line.dropFirst(marks.count)))
    }

    static func isSeparator(_ line: String) -> Bool {
        line.hasPrefix("|") && line.allSatisfy { "|-: ".contains($0) } && line.contains("-")
    }

    /// A table row's cells, split at pipes that are not escaped (`\|`), trimmed.
    static func cells(_ row: String) -> [String] {
        var cells: [String] = [], current = ""
        var escaped = false
        for c in row.dropFirst() {
            if escaped { current.append(c); escaped = false; continue }
            if c == "\\" { current.append(c); escaped = true; continue }
            if c == "|" { cells.append(current.trimmingCharacters(in: .whitespaces)); current = ""; continue }
            current.append(c)
        }
        if !current.trimmingCharacters(in: .whitespaces).isEmpty { cells.append(current.trimmingCharacters(in: .whitespaces)) }
        return cells
    }

    /// Inline Markdown as triage writes it: code spans become `{{monospace}}`, `**bold**` `*bold*`, `<br>` a
    /// line break; everything else is text, with Jira's markup characters escaped so a server's text stays text.
    static func inline(_ text: String) -> String {
        // A line in italics (`_…_`, the report's closing line): Jira's own italics.
        if text.count > 2, text.hasPrefix("_"), text.hasSuffix("_"), !text.dropFirst().dropLast().contains("_") {
            return "_" + inline(String(text.dropFirst().dropLast())) + "_"
        }
        let scalars = Array(text.unicodeScalars)
        let runs = Markdown.backtickRuns(scalars)
        var out = "", position = 0, r = 0
        while r < runs.count {
            let open = runs[r]
            guard let close = runs[(r + 1)...].firstIndex(where: { $0.length == open.length }) else { r += 1; continue }
            out += prose(Markdown.string(scalars[position..<open.start]))
            var code = Markdown.string(scalars[(open.start + open.length)..<runs[close].start])
            if code.hasPrefix(" "), code.hasSuffix(" "), code.count >= 2 { code = String(code.dropFirst().dropLast()) }
            out += code.isEmpty ? "" : "{{" + escape(code.replacingOccurrences(of: "\\|", with: "|")) + "}}"
            position = runs[close].start + open.length
            r = close + 1
        }
        return out + prose(Markdown.string(scalars[position...]))
    }

    /// Prose between code spans: bold, line breaks, entities, escapes.
    static func prose(_ text: String) -> String {
        var out = ""
        for (n, part) in text.components(separatedBy: "**").enumerated() {
            if n > 0 { out += "*" }
            let pieces = part.components(separatedBy: "<br>").map { escape(unescapeEntities(unescapeMarkdown($0))) }
            out += pieces.joined(separator: " \\\\ ")
        }
        return out
    }

    /// Markdown's backslash escapes (`\*`, `\[`, `\_`, `\|`, `\\`: what `Markdown.text` and `Markdown.cell`
    /// put before a server's markup characters) back to the characters, which `escape` then escapes
    /// for Jira.
    static func unescapeMarkdown(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out = String.UnicodeScalarView()
        var escaping = false
        for c in s.unicodeScalars {
            if escaping { out.append(c); escaping = false; continue }
            if c == "\\" { escaping = true; continue }
            out.append(c)
        }
        if escaping { out.append("\\") }
        return String(out)
    }

    static func unescapeEntities(_ s: String) -> String {
        guard s.contains("&") else { return s }
        return s.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&amp;", with: "&")
    }

    /// Jira's markup characters as text: macros `{`, links `[`, effects `* _ + ^ ~ -`, images `!`, cells `|`.
    static func escape(_ s: String) -> String {
        var out = ""
        var previous: Character = " "
        for c in s {
            switch c {
            case "{", "}", "[", "]", "*", "_", "+", "^", "~", "!", "|", "\\":
                out.append("\\")
            case "-" where previous.isWhitespace:
                out.append("\\")
            default:
                break
            }
            out.append(c)
            previous = c
        }
        return out
    }

    /// The Mermaid sequence diagram as a numbered text sequence: `Client → Proxy: GET /`.
    static func sequence(_ lines: [String]) -> [String] {
        var names: [String: String] = [:]
        var out: [String] = []
        for raw in lines {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("participant "), let range = line.range(of: " as ") {
                names[String(line.dropFirst("participant ".count)[..<range.lowerBound])] = mermaidText(String(line[range.upperBound...]))
            } else if line.hasPrefix("Note over "), let colon = line.firstIndex(of: ":") {
                out.append("")
                out.append("*" + escape(mermaidText(String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces))) + "*")
            } else if let colon = line.firstIndex(of: ":") {
                let head = line[..<colon], message = mermaidText(String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces))
                // `-x`: the sender ends the exchange itself (a client's own alert); after `--x`, which holds it.
                for (arrow, shown) in [("--x", "✗"), ("-->>", "←"), ("->>", "→"), ("-x", "✗→")] {
                    guard let r = head.range(of: arrow) else { continue }
                    let from = names[String(head[..<r.lowerBound])] ?? String(head[..<r.lowerBound])
                    let to = names[String(head[r.upperBound...])] ?? String(head[r.upperBound...])
                    let text = shown == "→" || shown == "✗→" ? "\(from) \(shown) \(to): \(message)" : "\(to) \(shown) \(from): \(message)"
                    out.append("# " + escape(text))
                    break
                }
            }
        }
        return out
    }

    /// Mermaid's entities back to text, in one pass (an escaped `#` stays one).
    static func mermaidText(_ s: String) -> String {
        var out = "", rest = Substring(s)
        while let hash = rest.firstIndex(of: "#") {
            out += rest[..<hash]
            rest = rest[hash...]
            if let (character, entity) = Mermaid.entities.first(where: { rest.hasPrefix($0.value) }) {
                out.unicodeScalars.append(character)
                rest = rest.dropFirst(entity.count)
            } else {
                out += "#"
                rest = rest.dropFirst()
            }
        }
        return out + rest
    }
}
