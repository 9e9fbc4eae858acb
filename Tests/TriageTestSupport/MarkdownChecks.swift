import Foundation

/// Checks on a rendered report.md that a reader would make by eye.
public enum MarkdownChecks {
    /// Lines of prose (outside code blocks, inline code, URLs and HTML tags)
    /// with a run of three or more Latin words: English sentences left in a
    /// report of another language. Commands, code and proper names (nginx,
    /// SNI, TLSv1.3, internal_error) stand alone or in pairs and pass.
    public static func englishProse(_ markdown: String) -> [String] {
        var inFence = false
        var out: [String] = []
        let run = try! Regex(#"(?:[A-Za-z][A-Za-z0-9_.'/-]*(?:[ ,]+|$)){3,}"#)
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") { inFence.toggle(); continue }
            if inFence { continue }
            var prose = String(line)
            prose = prose.replacing(try! Regex("`[^`]*`"), with: "")
            prose = prose.replacing(try! Regex(#"https?://\S+"#), with: "")
            prose = prose.replacing(try! Regex("<[^>]+>"), with: "")
            if prose.firstMatch(of: run) != nil { out.append(String(line)) }
        }
        return out
    }

    /// The body of every ```mermaid block.
    public static func mermaidBlocks(_ markdown: String) -> [[String]] {
        var blocks: [[String]] = []
        var current: [String]?
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if current == nil, line == "```mermaid" { current = []; continue }
            if current != nil, line == "```" { blocks.append(current!); current = nil; continue }
            current?.append(line)
        }
        return blocks
    }

    /// What is wrong with a sequence diagram: a first line that is not
    /// `sequenceDiagram`, a line that is neither a participant, an arrow nor
    /// a note, an arrow between undeclared participants, a `;` or `#` that
    /// Mermaid would read as syntax.
    public static func sequenceDiagramProblems(_ lines: [String]) -> [String] {
        guard lines.first == "sequenceDiagram" else { return ["first line is not sequenceDiagram: \(lines.first ?? "")"] }
        var participants = Set<String>()
        var problems: [String] = []
        let participant = try! Regex(#"^    participant ([A-Za-z]+) as \S.*$"#)
        let arrow = try! Regex(#"^    ([A-Za-z]+)(->>|-->>|--x|-x)([A-Za-z]+): \S.*$"#)
        let note = try! Regex(#"^    Note over ([A-Za-z]+),([A-Za-z]+): \S.*$"#)
        for line in lines.dropFirst() {
            if line.contains(";") || line.contains("#") { problems.append("syntax character in: \(line)") }
            if let m = line.wholeMatch(of: participant) {
                participants.insert(String(m.output[1].substring!))
            } else if let m = line.wholeMatch(of: arrow) {
                for i in [1, 3] where !participants.contains(String(m.output[i].substring!)) {
                    problems.append("arrow to an undeclared participant: \(line)")
                }
            } else if let m = line.wholeMatch(of: note) {
                for i in [1, 2] where !participants.contains(String(m.output[i].substring!)) {
                    problems.append("note over an undeclared participant: \(line)")
                }
            } else {
                problems.append("not a participant, arrow or note: \(line)")
            }
        }
        return problems
    }

    /// The arrows of a diagram as `FROM->TO: text`, for assertions.
    public static func arrows(_ lines: [String]) -> [String] {
        let arrow = try! Regex(#"^    ([A-Za-z]+)(?:->>|-->>|--x|-x)([A-Za-z]+): (.*)$"#)
        return lines.compactMap { line in
            line.wholeMatch(of: arrow).map { "\($0.output[1].substring!)->\($0.output[2].substring!): \($0.output[3].substring!)" }
        }
    }

    /// Everything above the collapsed detail: what a ticket shows first.
    public static func firstScreen(_ markdown: String) -> String {
        for heading in ["\n## Details\n", "\n## 分析过程\n"] {
            if let r = markdown.range(of: heading) { return String(markdown[..<r.lowerBound]) }
        }
        return markdown
    }

    /// A demo report with what changes from run to run (ports, process
    /// ids, milliseconds, frame counts) replaced by placeholders.
    public static func normalised(_ markdown: String) -> String {
        var text = markdown
        let rules: [(String, String)] = [
            (#"127\.0\.0\.1:\d+"#, "127.0.0.1:PORT"),
            (#"upstream\.demo\.test:\d+"#, "upstream.demo.test:PORT"),
            // Wherever TMPDIR is (make test gives the suite a folder of its own).
            (#"(?:/[^/\s`]+)*/triage-demo-\d+"#, "/tmp/triage-demo-PID"),
            (#"\d+(\.\d+)? ms"#, "N ms"),
            (#"\d+ frame"#, "N frame"),
            (#"port \d+"#, "port PORT"),
            (#"\d+ (个数据包|packets)"#, "N $1"),
            (#"抓到 \d+ 帧"#, "抓到 N 帧"),
            (#"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"#, "DATE"),
        ]
        for (pattern, replacement) in rules {
            text = text.replacing(try! Regex(pattern)) { match in
                var r = replacement
                if r.contains("$1"), let g = match.output[1].substring { r = r.replacingOccurrences(of: "$1", with: String(g)) }
                return r
            }
        }
        return text
    }
}
