import Foundation
import TriageKit

/// What each sink promises, whatever text goes in: the property test
/// (SinkTests) and `make fuzz` (parser-fuzz's sinks target) check the same
/// promises. Each check returns the promise broken, or nil.
public enum SinkContract {
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
        if let first = value.first, ["=", "+", "@", "\t"].contains(first) { return "csv: a formula" }
        if value.first == "-", !value.dropFirst().allSatisfy({ $0.isNumber || $0 == "." }) { return "csv: a formula" }
        return nil
    }

    /// One RFC 4180 field: quoted (with doubled quotes) or plain without comma, quote or line break.
    public static func readCSVField(_ field: String) -> String? {
        if field.hasPrefix("\"") {
            guard field.hasSuffix("\""), field.count >= 2 else { return nil }
            let inner = field.dropFirst().dropLast()
            guard !inner.replacingOccurrences(of: "\"\"", with: "").contains("\"") else { return nil }
            return inner.replacingOccurrences(of: "\"\"", with: "\"")
        }
        return field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? nil : field
    }

    /// One line, nothing hidden, and every quote escaped: a label value cannot be closed early.
    public static func prometheusLabel(_ s: String) -> String? {
        let label = Sink.prometheusLabel(s)
        if label.contains("\n") || hasHidden(label, allowNewline: false) { return "prometheus label: a line break or hidden character" }
        var escaped = false
        for c in label {
            if c == "\"", !escaped { return "prometheus label: an unescaped quote" }
            escaped = c == "\\" && !escaped
        }
        return nil
    }

    /// Prose with no markup outside code spans; a cell that stays one cell; code that stays code.
    public static func markdown(_ s: String) -> String? {
        let text = Markdown.text(s)
        if hasHidden(text, allowNewline: true) { return "markdown text: a hidden character" }
        if outsideCodeSpans(text).contains("<") { return "markdown text: markup outside a code span" }
        let cell = Markdown.cell(s)
        if cell.contains("\n") || cell.contains("\r") { return "markdown cell: a line break" }
        var previous: Character = " "
        for c in cell {
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
        if label.contains("\n") || hasHidden(label, allowNewline: false) { return "mermaid: a line break or hidden character" }
        if label.contains("<") || label.contains(">") || label.contains("%%") { return "mermaid: markup or a comment" }
        let stripped = label.replacingOccurrences(of: #"#(35|37|59|lt|gt);"#, with: "", options: .regularExpression)
        return stripped.contains(";") || stripped.contains("#") ? "mermaid: a live ; or #" : nil
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
