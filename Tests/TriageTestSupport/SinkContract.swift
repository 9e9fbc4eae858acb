import Foundation
import TriageKit

/// What each sink promises, whatever text goes in: the property test
/// (SinkTests) and `make fuzz` (parser-fuzz's sinks target) check the same
/// promises. Each check returns the promise broken, or nil.
public enum SinkContract {
    /// Whether `s` holds the code point `c` (never a search by Character: a combining mark joins the one before it).
    static func has(_ s: String, _ c: Unicode.Scalar) -> Bool { s.unicodeScalars.contains(c) }

    /// Every sink's promise for `s`: the broken ones, named.
    public static func violations(_ s: String) -> [String] {
        [terminal(s), json(s), csv(s), prometheusLabel(s), markdown(s), mermaid(s), fileName(s)].compactMap { $0 }
    }

    /// A control character (C0, DEL, C1) or a bidirectional override a reader cannot see.
    public static func hasHidden(_ s: String, allowNewline: Bool) -> Bool {
        s.unicodeScalars.contains { c in
            if allowNewline, c == "\n" || c == "\t" { return false }
            return c.value < 0x20 || (0x7F...0x9F).contains(c.value) || (0x202A...0x202E).contains(c.value)
                || (0x2066...0x2069).contains(c.value) || c.value == 0x200E || c.value == 0x200F || c.value == 0x061C
        }
    }

    public static func terminal(_ s: String) -> String? {
        if hasHidden(Sink.terminal(s), allowNewline: true) { return "terminal: a hidden character" }
        if hasHidden(Sink.terminalLine(s), allowNewline: false) { return "terminal line: a hidden character or a line break" }
        let echoed = Sink.echo(s)
        if echoed.count > 201 { return "echo: longer than 200 characters" }
        if hasHidden(echoed, allowNewline: false) { return "echo: a hidden character" }
        return nil
    }

    /// A JSON string that reads back as the same text, with nothing hidden.
    public static func json(_ s: String) -> String? {
        let encoded = Sink.json(s)
        if hasHidden(encoded, allowNewline: false) { return "json: a hidden character" }
        let decoded = try? JSONSerialization.jsonObject(with: Data("[\(encoded)]".utf8)) as? [String]
        return decoded == [s] ? nil : "json: does not read back"
    }

    /// One CSV field that reads back, and nothing a spreadsheet runs as a formula.
    public static func csv(_ s: String) -> String? {
        let field = Sink.csv(s)
        if hasHidden(field, allowNewline: true) { return "csv: a hidden character" }
        guard let value = readCSVField(field) else { return "csv: not one field" }
        if value.unicodeScalars.first == "=" || value.unicodeScalars.first == "+" || value.unicodeScalars.first == "@" { return "csv: a formula" }
        if let first = value.first, ["=", "+", "@", "\t"].contains(first) { return "csv: a formula" }
        if value.first == "-", !value.dropFirst().allSatisfy({ $0.isNumber || $0 == "." }) { return "csv: a formula" }
        return nil
    }

    /// One RFC 4180 field: quoted (with doubled quotes) or plain without comma, quote or line break.
    public static func readCSVField(_ field: String) -> String? {
        let scalars = Array(field.unicodeScalars)
        if scalars.first == "\"" {
            guard scalars.count >= 2, scalars.last == "\"" else { return nil }
            var out = String.UnicodeScalarView()
            var i = 1
            while i < scalars.count - 1 {
                if scalars[i] == "\"" {
                    guard i + 1 < scalars.count - 1, scalars[i + 1] == "\"" else { return nil }
                    i += 1
                }
                out.append(scalars[i])
                i += 1
            }
            return String(out)
        }
        return scalars.contains { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" } ? nil : field
    }

    /// One line, nothing hidden, and every quote escaped: a label value cannot be closed early.
    public static func prometheusLabel(_ s: String) -> String? {
        let label = Sink.prometheusLabel(s)
        if has(label, "\n") || hasHidden(label, allowNewline: false) { return "prometheus label: a line break or hidden character" }
        var escaped = false
        for c in label.unicodeScalars {
            if c == "\"", !escaped { return "prometheus label: an unescaped quote" }
            escaped = c == "\\" && !escaped
        }
        return nil
    }

    /// Prose with no markup outside code spans; a cell that stays one cell; code that stays code.
    public static func markdown(_ s: String) -> String? {
        let text = Markdown.text(s)
        if hasHidden(text, allowNewline: true) { return "markdown text: a hidden character" }
        if has(outsideCodeSpans(text), "<") { return "markdown text: markup outside a code span" }
        // A bare URL stays as written, but not its trailing punctuation (see Markdown.escapeMarkup): that is still checked.
        let withoutURLs = outsideCodeSpans(text).replacing(Markdown.bareURL) { m in
            "URL" + String(m.output.reversed().prefix { "?!.,:*_~)".contains($0) }.reversed())
        }
        if hasUnescapedMarkup(withoutURLs) {
            return "markdown text: a link, image or emphasis character not escaped"
        }
        let cell = Markdown.cell(s)
        if has(cell, "\n") || has(cell, "\r") { return "markdown cell: a line break" }
        var previous: Unicode.Scalar = " "
        for c in cell.unicodeScalars {
            if c == "|", previous != "\\" { return "markdown cell: an unescaped |" }
            previous = c
        }
        // Code points, as CommonMark counts backticks (a combining mark joins a backtick's Character).
        let code = Array(Markdown.code(s).unicodeScalars)
        let fence = code.prefix { $0 == "`" }.count
        let inner = code.dropFirst(fence).dropLast(fence)
        if fence == 0 || !code.suffix(fence).allSatisfy({ $0 == "`" }) || inner.last == "`" || inner.first == "`"
            || longestRun(String(String.UnicodeScalarView(inner))) >= fence {
            return "markdown code: the span closes early"
        }
        if hasHidden(Markdown.code(s), allowNewline: false) { return "markdown code: a hidden character" }
        let block = "xxx" + s
        if Markdown.fence(for: block).count <= longestRun(block) { return "markdown fence: not longer than a backtick run inside" }
        return nil
    }

    /// `[`, `]`, `*`, `_` or `~` not escaped by a backslash (an odd run of them before it): a server's
    /// `![x](http://…)` would render as an image.
    public static func hasUnescapedMarkup(_ s: String) -> Bool {
        var backslashes = 0
        for c in s.unicodeScalars {
            if ["[", "]", "*", "_", "~"].contains(c), backslashes % 2 == 0 { return true }
            backslashes = c == "\\" ? backslashes + 1 : 0
        }
        return false
    }

    static func longestRun(_ s: String) -> Int {
        var longest = 0, run = 0
        for c in s.unicodeScalars { if c == "`" { run += 1; longest = max(longest, run) } else { run = 0 } }
        return longest
    }

    /// The text outside code spans, as CommonMark pairs them: a span opens at a run of backticks
    /// and closes at the next *maximal* run of exactly the same length (runs counted in code points);
    /// without one, the run is text.
    public static func outsideCodeSpans(_ s: String) -> String {
        let scalars = Array(s.unicodeScalars)
        var runs: [(start: Int, length: Int)] = []
        var i = 0
        while i < scalars.count {
            guard scalars[i] == "`" else { i += 1; continue }
            var j = i
            while j < scalars.count, scalars[j] == "`" { j += 1 }
            runs.append((i, j - i))
            i = j
        }
        var out = String.UnicodeScalarView(), position = 0, r = 0
        while r < runs.count {
            let open = runs[r]
            guard let close = runs[(r + 1)...].firstIndex(where: { $0.length == open.length }) else { r += 1; continue }
            out.append(contentsOf: scalars[position..<open.start])
            position = runs[close].start + open.length
            r = close + 1
        }
        out.append(contentsOf: scalars[position...])
        return String(out)
    }

    /// One line, no HTML, no comment, and every `;` or `#` left is an entity this escaper wrote.
    public static func mermaid(_ s: String) -> String? {
        let label = Mermaid.label(s)
        if has(label, "\n") || hasHidden(label, allowNewline: false) { return "mermaid: a line break or hidden character" }
        if has(label, "<") || has(label, ">") || has(label, "%") { return "mermaid: markup or a comment" }
        // Every `;` or `#` left belongs to an entity this escaper wrote (#35; #37; #59; #lt; #gt;).
        let scalars = Array(label.unicodeScalars)
        var i = 0
        while i < scalars.count {
            if scalars[i] == ";" { return "mermaid: a live ;" }
            if scalars[i] == "#" {
                let entity = ["35;", "37;", "59;", "lt;", "gt;"].first { e in
                    Array(e.unicodeScalars).enumerated().allSatisfy { i + 1 + $0.offset < scalars.count && scalars[i + 1 + $0.offset] == $0.element }
                }
                guard let entity else { return "mermaid: a live #" }
                i += 1 + entity.unicodeScalars.count
                continue
            }
            i += 1
        }
        return nil
    }

    /// A fixed alphabet, never `.`/`..`/hidden, at most 100 bytes, and two names never meet.
    public static func fileName(_ s: String) -> String? {
        let name = FileName.safe(s)
        if name.isEmpty || name == "." || name == ".." || name.hasPrefix(".") { return "file name: empty or dot" }
        if name.utf8.count > 100 { return "file name: longer than 100 bytes" }
        let allowed = name.utf8.allSatisfy { b in
            (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) || b == 0x2D || b == 0x2E || b == 0x5F
        }
        if !allowed { return "file name: a byte outside the alphabet" }
        if s != "x", FileName.safe(s + "x") == name { return "file name: two names meet" }
        return nil
    }
}
