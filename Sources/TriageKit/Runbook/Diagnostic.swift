import Yams

/// A place in a runbook file. Lines and columns count from 1, columns in
/// Unicode scalars as libyaml does, so an editor's "go to" lands on the spot.
public struct SourceLocation: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }

    /// Where byte `offset` of UTF-8 text is: its line, and its column in Unicode scalars as libyaml
    /// counts them (a run of bytes that does not decode counts as one).
    public init(file: String, byteOffset offset: Int, in bytes: [UInt8]) {
        let end = min(max(offset, 0), bytes.count)
        var line = 1, lineStart = 0
        for i in 0..<end where bytes[i] == 0x0A {
            line += 1
            lineStart = i + 1
        }
        self.init(file: file, line: line, column: String(decoding: bytes[lineStart..<end], as: UTF8.self).unicodeScalars.count + 1)
    }

    public func offset(by columns: Int) -> SourceLocation {
        SourceLocation(file: file, line: line, column: column + columns)
    }

    public static func < (a: SourceLocation, b: SourceLocation) -> Bool {
        (a.file, a.line, a.column) < (b.file, b.line, b.column)
    }
}

/// One thing wrong with a runbook: where, and what was expected there.
public struct Diagnostic: Error, Sendable, Hashable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String

    public init(_ location: SourceLocation, _ message: String) {
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): \(message)" }
}

/// Every problem found in one runbook, reported together so a user fixes
/// them in one pass rather than one per run.
public struct RunbookError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]

    public init(_ diagnostics: [Diagnostic]) {
        self.diagnostics = diagnostics.sorted { $0.location < $1.location }
    }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// A YAML document Yams cannot compose, said where the problem is (runbooks and the exporter's config).
public enum YAMLSyntax {
    /// The text without a leading byte-order mark (an editor's "UTF-8 with BOM"): libyaml read
    /// it as content, and a runbook whose first line was not a comment failed to parse at line 2.
    public static func withoutBOM(_ yaml: String) -> String {
        yaml.unicodeScalars.first == "\u{FEFF}" ? String(yaml.unicodeScalars.dropFirst()) : yaml
    }

    /// The document's lines, split at each LF byte without its CR. (As Characters, "\r\n" is one
    /// character, so a CRLF file was one line; and the grapheme walk over the whole file cost more
    /// than the rest of reading a runbook.)
    public static func lines(_ yaml: String) -> [Substring] {
        yaml.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
            let text = Substring(line)
            return text.utf8.last == 0x0D ? text.dropLast() : text
        }
    }

    /// `lines`: the document's lines, to find a duplicated key's second occurrence (Yams marks the mapping).
    public static func diagnostic(_ error: any Error, file: String, lines: [Substring]) -> Diagnostic {
        let top = SourceLocation(file: file, line: 1, column: 1)
        guard let yaml = error as? YamlError else { return Diagnostic(top, "YAML syntax error: \(error)") }
        func at(_ mark: Mark) -> SourceLocation { SourceLocation(file: file, line: mark.line, column: mark.column) }
        switch yaml {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let while_ = context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? ""
            // libyaml names its own setter ("…, set with yaml_set_max_nest_level()"): said in the file's terms.
            if problem.hasPrefix("Maximum nesting level reached") {
                return Diagnostic(at(mark), "YAML syntax error: the document nests deeper than the YAML reader allows")
            }
            return Diagnostic(at(mark), "YAML syntax error: \(problem)\(while_)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.sorted().map { "'\($0)'" }.joined(separator: ", ")
            return Diagnostic(secondOccurrence(of: duplicates.sorted(), from: context.mark, file: file, lines: lines) ?? at(context.mark),
                              "duplicate key \(keys) in this mapping: each key may appear once")
        case .reader(let problem, let offset, _, let text):
            // libyaml's reader gives the byte where it stopped (a NUL, a control character).
            return Diagnostic(offset.map { SourceLocation(file: file, byteOffset: $0, in: Array(text.utf8)) } ?? top, "cannot read the YAML: \(problem)")
        default:
            return Diagnostic(top, "YAML syntax error: \(yaml)")
        }
    }

    /// The line where a duplicated key comes again: a block mapping's key at the mapping's column,
    /// from the mapping's first line (which may be a sequence item's `- key:`) to the first line
    /// indented less, where the mapping ends. Columns count Unicode scalars, as libyaml's do.
    static func secondOccurrence(of keys: [String], from mark: Mark, file: String, lines: [Substring]) -> SourceLocation? {
        guard let key = keys.first, mark.line >= 1, mark.line <= lines.count, mark.column >= 1 else { return nil }
        let column = mark.column - 1
        var seen = 0
        for index in (mark.line - 1)..<min(lines.count, mark.line - 1 + 100_000) {
            let scalars = Array(lines[index].unicodeScalars)
            let indent = scalars.prefix { $0 == " " }.count
            if index > mark.line - 1 {
                if indent == scalars.count || scalars[indent] == "#" { continue }
                if indent < column { break }
                if indent > column { continue }
            }
            guard scalars.count > column else { continue }
            var rest = String.UnicodeScalarView()
            rest.append(contentsOf: scalars[column...])
            let text = String(rest)
            guard text.hasPrefix(key), text.dropFirst(key.count).drop(while: { $0 == " " }).hasPrefix(":") else { continue }
            seen += 1
            if seen == 2 { return SourceLocation(file: file, line: index + 1, column: mark.column) }
        }
        return nil
    }
}
