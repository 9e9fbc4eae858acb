import Foundation
import Testing
import TriageKit

/// Hostile strings through every sink: whatever a server sends, each sink's
/// output keeps its promise (no control byte on a terminal, no live markup in
/// Markdown or Mermaid, JSON and CSV that read back, a file name from a fixed
/// alphabet).
@Suite struct SinkTests {
    /// What a certificate, an answer or a log line may carry.
    static let hostile: [String] = {
        var out = [
            "victim.test\u{0}.attacker.example", "line\r\nbreak", "\u{1B}[2J\u{1B}]0;owned\u{7}", "</details><script>alert(1)</script>",
            "<img src=x onerror=alert(1)>", "``` fence ```", "`code` and `` two ``", "a|b|c", "A-->>B: hi", "%% comment", "#59;",
            "semi;colon", "\u{202E}evil\u{202C}txt.exe", "\u{2066}isolate\u{2069}", "=cmd|' /C calc'!A0", "+1", "-2+3", "@SUM(1)",
            "\t=tab", "\u{85}next-line\u{9B}csi", "back\\slash", "quote\"d", "../../etc/passwd", ".", "..", "", " ", "ünïcödé 名前",
            "\u{7F}del", "${{ inputs.x }}", "$(touch /tmp/pwned)",
        ]
        var mixed = ""
        for (i, s) in out.enumerated() where i < 20 { mixed += s }
        out.append(mixed)
        out.append(String(repeating: "<a>`|\u{1B}\n", count: 200_000))   // about 1 MB
        return out
    }()

    static func hasHidden(_ s: String, allowNewline: Bool) -> Bool {
        s.unicodeScalars.contains { c in
            if allowNewline, c == "\n" || c == "\t" { return false }
            return c.value < 0x20 || (0x7F...0x9F).contains(c.value) || (0x202A...0x202E).contains(c.value)
                || (0x2066...0x2069).contains(c.value) || c.value == 0x200E || c.value == 0x200F || c.value == 0x061C
        }
    }

    @Test(arguments: hostile) func terminal(_ s: String) {
        #expect(!Self.hasHidden(Sink.terminal(s), allowNewline: true))
        #expect(!Self.hasHidden(Sink.terminalLine(s), allowNewline: false))
        let echoed = Sink.echo(s)
        #expect(echoed.count <= 201)
        #expect(!Self.hasHidden(echoed, allowNewline: false))
    }

    @Test(arguments: hostile) func json(_ s: String) throws {
        let encoded = Sink.json(s)
        #expect(!Self.hasHidden(encoded, allowNewline: false))
        let decoded = try JSONSerialization.jsonObject(with: Data("[\(encoded)]".utf8)) as? [String]
        #expect(decoded == [s])
    }

    @Test(arguments: hostile) func csv(_ s: String) {
        let field = Sink.csv(s)
        #expect(!Self.hasHidden(field, allowNewline: true))
        // Reads back as one field; nothing a spreadsheet runs.
        let value = Self.readCSVField(field)
        #expect(value != nil, "\(field.prefix(80))")
        if let value, let first = value.first { #expect(!["=", "+", "@"].contains(first) && first != "\t", "\(value.prefix(40))") }
        if let value, value.first == "-" { #expect(value.dropFirst().allSatisfy { $0.isNumber || $0 == "." } || value.isEmpty) }
    }

    /// One RFC 4180 field: quoted (with doubled quotes) or plain without comma, quote or line break.
    static func readCSVField(_ field: String) -> String? {
        if field.hasPrefix("\"") {
            guard field.hasSuffix("\""), field.count >= 2 else { return nil }
            let inner = field.dropFirst().dropLast()
            guard !inner.replacingOccurrences(of: "\"\"", with: "").contains("\"") else { return nil }
            return inner.replacingOccurrences(of: "\"\"", with: "\"")
        }
        return field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? nil : field
    }

    @Test(arguments: hostile) func prometheusLabel(_ s: String) {
        let label = Sink.prometheusLabel(s)
        #expect(!label.contains("\n"))
        #expect(!Self.hasHidden(label, allowNewline: false))
        // Every quote is escaped: a label value cannot be closed early.
        var escaped = false
        for c in label {
            if c == "\"" { #expect(escaped, "\(label.prefix(60))") }
            escaped = c == "\\" && !escaped
        }
    }

    @Test(arguments: hostile) func markdown(_ s: String) {
        let text = Markdown.text(s)
        #expect(!Self.hasHidden(text, allowNewline: true))
        #expect(!Self.outsideCodeSpans(text).contains("<"), "\(text.prefix(80))")
        let cell = Markdown.cell(s)
        #expect(!cell.contains("\n") && !cell.contains("\r"))
        // A `|` that is not escaped would end the cell.
        var previous: Character = " "
        for c in cell {
            if c == "|" { #expect(previous == "\\", "\(cell.prefix(80))") }
            previous = c
        }
        let code = Markdown.code(s)
        let fence = code.prefix { $0 == "`" }
        #expect(code.hasSuffix(String(fence)))
        #expect(!code.dropFirst(fence.count).dropLast(fence.count).contains(String(fence)))
        #expect(!Self.hasHidden(code, allowNewline: false))
        let block = String(repeating: "x", count: 3) + s
        #expect(Markdown.fence(for: block).count > Self.longestRun(block))
    }

    static func longestRun(_ s: String) -> Int {
        var longest = 0, run = 0
        for c in s { if c == "`" { run += 1; longest = max(longest, run) } else { run = 0 } }
        return longest
    }

    /// The text outside code spans, as CommonMark pairs backtick runs of equal length.
    static func outsideCodeSpans(_ s: String) -> String {
        var out = ""
        var rest = Substring(s)
        while let tick = rest.firstIndex(of: "`") {
            out += rest[..<tick]
            let run = rest[tick...].prefix { $0 == "`" }
            let after = rest[run.endIndex...]
            if let close = after.range(of: String(run)), after[close.upperBound...].first != "`" {
                rest = after[close.upperBound...]
            } else {
                rest = after
            }
        }
        return out + rest
    }

    @Test(arguments: hostile) func mermaid(_ s: String) {
        let label = Mermaid.label(s)
        #expect(!label.contains("\n"))
        #expect(!label.contains("<") && !label.contains(">"))
        #expect(!label.contains("%%"))
        #expect(!Self.hasHidden(label, allowNewline: false))
        // Every `;` left ends an entity this escaper wrote (#35; #37; #59; #lt; #gt;).
        let stripped = label.replacingOccurrences(of: #"#(35|37|59|lt|gt);"#, with: "", options: .regularExpression)
        #expect(!stripped.contains(";") && !stripped.contains("#"), "\(label.prefix(80))")
    }

    @Test(arguments: hostile) func fileName(_ s: String) {
        let name = FileName.safe(s)
        #expect(!name.isEmpty && name != "." && name != ".." && !name.hasPrefix("."))
        #expect(name.utf8.count <= 100)
        #expect(name.utf8.allSatisfy { b in (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) || b == 0x2D || b == 0x2E || b == 0x5F })
        // Two different names never meet in one file.
        if s != "x" { #expect(FileName.safe(s + "x") != name) }
    }
}
