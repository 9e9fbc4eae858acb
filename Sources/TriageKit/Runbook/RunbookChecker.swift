import Yams

/// The walk over a composed YAML tree that builds a `Runbook` and collects
/// diagnostics. It keeps going after a problem so one pass finds them all.
struct RunbookChecker {
    let file: String
    let catalog: StepCatalog
    var diagnostics: [Diagnostic] = []
    /// The file's lines, to point inside a block scalar (its node's mark is the `|`).
    var lines: [Substring] = []

    static let topKeys = ["name", "title", "description", "inputs", "steps"]
    static let inputKeys = ["required", "default", "type", "description"]
    static let stepKeys = ["id", "name", "uses", "run", "env", "with", "if", "for_each", "timeout", "continue_on_error", "continue-on-error",
                           "after", "finding"]
    static let findingKeys = ["when", "cause", "severity", "summary", "remedy"]

    init(file: String, catalog: StepCatalog) {
        self.file = file
        self.catalog = catalog
    }

    func location(_ node: Node) -> SourceLocation {
        SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    mutating func error(_ node: Node, _ message: String) {
        diagnostics.append(Diagnostic(location(node), message))
    }

    /// Where `text` first appears at or after the node's mark (the line and column in the file), else the node.
    func location(of text: String, in node: Node) -> SourceLocation {
        guard let mark = node.mark, mark.line >= 1 else { return location(node) }
        for index in (mark.line - 1)..<min(lines.count, mark.line - 1 + 10_000) {
            let line = lines[index]
            let from = index == mark.line - 1 ? line.index(line.startIndex, offsetBy: min(max(mark.column - 1, 0), line.count)) : line.startIndex
            if let range = line[from...].range(of: text) {
                return SourceLocation(file: file, line: index + 1, column: line.distance(from: line.startIndex, to: range.lowerBound) + 1)
            }
        }
        return location(node)
    }

    func syntaxDiagnostic(_ error: any Error) -> Diagnostic {
        YAMLSyntax.diagnostic(error, file: file, lines: lines)
    }

    // MARK: - Shapes

    /// The pairs of a mapping, with unknown keys reported.
    mutating func mapping(_ node: Node, what: String, allowed: [String]?) -> [(key: String, keyNode: Node, value: Node)]? {
        guard case .mapping(let mapping) = node else {
            error(node, "\(what) must be a mapping (key: value), got \(kind(node))")
            return nil
        }
        var pairs: [(String, Node, Node)] = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                error(keyNode, "keys of \(what) must be plain names")
                continue
            }
            if let allowed, !allowed.contains(key) {
                error(keyNode, "unknown key '\(key)' in \(what)\(Spelling.didYouMean(key, allowed)): expected one of \(allowed.joined(separator: ", "))")
                continue
            }
            pairs.append((key, keyNode, value))
        }
        return pairs
    }

    /// The resolved YAML type of a scalar.
    enum ScalarType { case null, bool, int, float, string }

    /// The document is composed with Yams' basic resolver, which leaves a plain
    /// scalar's type to us: its default one compiles seven ICU regular
    /// expressions and matches each against every scalar, a third of loading
    /// a runbook. An untagged plain scalar (its tag still implicit: nothing
    /// resolves a value's tag before this) is typed as that resolver types it
    /// (YAML 1.1: `yes`/`on` are booleans, `0x1F` and `1_000` numbers, `~`
    /// null); a quoted one is a string; an explicit tag (`!!int 5`, `!!str yes`)
    /// is kept. (Mapping keys are resolved while Yams composes, by the basic
    /// resolver: every key is a string, so `1:` and `"1":` are the same key.)
    func scalarType(_ node: Node) -> ScalarType? {
        guard case .scalar(let scalar) = node else { return nil }
        switch scalar.tag.rawValue {
        case "tag:yaml.org,2002:null": return .null
        case "tag:yaml.org,2002:bool": return .bool
        case "tag:yaml.org,2002:int": return .int
        case "tag:yaml.org,2002:float": return .float
        case "": return Self.implicitType(scalar.string)
        default: return .string
        }
    }

    /// What YAML 1.1's implicit resolution (Yams' default resolver) makes of a plain scalar.
    static func implicitType(_ text: String) -> ScalarType {
        switch text {
        case "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF":
            return .bool
        case "", "~", "null", "Null", "NULL":
            return .null
        default:
            break
        }
        // Numbers start with a digit, a sign or a dot; most scalars (names, templates, durations' units) end here.
        guard let first = text.utf8.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == UInt8(ascii: ".")
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { return .string }
        let bytes = Array(text.utf8)
        if YAMLNumber.isInt(bytes[...]) { return .int }
        if YAMLNumber.isFloat(bytes[...]) { return .float }
        return .string
    }

    func kind(_ node: Node) -> String {
        switch node {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        case .scalar(let s):
            switch scalarType(node) {
            case .null: "null"
            case .bool: "a boolean (\(s.string))"
            case .int, .float: "a number (\(s.string))"
            default: "a string ('\(s.string)')"
            }
        }
    }

    mutating func string(_ node: Node, what: String) -> String? {
        guard case .scalar(let s) = node, scalarType(node) != .null else {
            error(node, "\(what) must be a string, got \(kind(node))")
            return nil
        }
        return s.string
    }

    mutating func bool(_ node: Node, what: String) -> Bool? {
        guard scalarType(node) == .bool, let b = node.bool else {
            error(node, "\(what) must be true or false, got \(kind(node))")
            return nil
        }
        return b
    }

    /// A literal YAML value as a `Value` (no expressions).
    func value(_ node: Node) -> Value {
        switch node {
        case .scalar(let s):
            switch scalarType(node) {
            case .null: return .null
            case .bool: return node.bool.map(Value.bool) ?? .string(s.string)
            case .int: return node.int.map(Value.int) ?? .string(s.string)
            case .float: return node.float.map(Value.number) ?? .string(s.string)
            default: return .string(s.string)
            }
        case .sequence(let seq): return .list(seq.map(value))
        case .mapping(let m):
            var o: [String: Value] = [:]
            for (k, v) in m { o[k.string ?? ""] = value(v) }
            return .object(o)
        case .alias: return .null
        }
    }

    /// Where character `offset` of a scalar's text sits in the file. Exact
    /// for single-line plain and quoted scalars; block scalars point at
    /// their start.
    func location(of node: Node, offset: Int) -> SourceLocation {
        guard case .scalar(let s) = node, !s.string.utf8.contains(0x0A) else { return location(node) }
        switch s.style {
        case .plain, .any: return location(node).offset(by: offset)
        case .singleQuoted, .doubleQuoted: return location(node).offset(by: offset + 1)
        default: return location(node)
        }
    }
}

/// YAML 1.1's int and float patterns (those of Yams' default resolver), matched by hand: compiling them
/// as Swift regular expressions cost 2 % of a run's CPU, and as NSRegularExpression far more.
enum YAMLNumber {
    typealias Bytes = ArraySlice<UInt8>

    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    static func isDigitOrUnderscore(_ b: UInt8) -> Bool { isDigit(b) || b == UInt8(ascii: "_") }
    static func isHex(_ b: UInt8) -> Bool { isDigitOrUnderscore(b) || (b | 0x20 >= UInt8(ascii: "a") && b | 0x20 <= UInt8(ascii: "f")) }

    /// The text after an optional sign.
    static func unsigned(_ b: Bytes) -> Bytes {
        guard let first = b.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") else { return b }
        return b.dropFirst()
    }

    /// `0b[0-1_]+ | 0o?[0-7_]+ | 0 | [1-9][0-9_]* | 0x[0-9a-fA-F_]+ | [1-9][0-9_]*(:[0-5]?[0-9])+`, after a sign.
    static func isInt(_ text: Bytes) -> Bool {
        let r = unsigned(text)
        guard let first = r.first else { return false }
        let rest = r.dropFirst()
        if first == UInt8(ascii: "0") {
            if rest.isEmpty { return true }
            let second = rest.first!
            if second == UInt8(ascii: "b") { return rest.count > 1 && rest.dropFirst().allSatisfy { $0 == 0x30 || $0 == 0x31 || $0 == 0x5F } }
            if second == UInt8(ascii: "x") { return rest.count > 1 && rest.dropFirst().allSatisfy(isHex) }
            let octal = second == UInt8(ascii: "o") ? rest.dropFirst() : rest
            return !octal.isEmpty && octal.allSatisfy { ($0 >= 0x30 && $0 <= 0x37) || $0 == 0x5F }
        }
        guard first >= 0x31, first <= 0x39 else { return false }
        guard let colon = rest.firstIndex(of: UInt8(ascii: ":")) else { return rest.allSatisfy(isDigitOrUnderscore) }
        return rest[..<colon].allSatisfy(isDigitOrUnderscore) && sexagesimal(rest[colon...]) == rest.endIndex
    }

    /// `(:[0-5]?[0-9])+` from the start of `b`: where the groups end, nil without one.
    static func sexagesimal(_ b: Bytes) -> Int? {
        var i = b.startIndex
        var groups = 0
        while i < b.endIndex, b[i] == UInt8(ascii: ":") {
            var j = i + 1
            while j < b.endIndex, isDigit(b[j]) { j += 1 }
            let run = j - (i + 1)
            guard run == 1 || (run == 2 && b[i + 1] <= UInt8(ascii: "5")) else { return nil }
            groups += 1
            i = j
        }
        return groups > 0 ? i : nil
    }

    /// `[0-9][0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)? | \.[0-9_]+([eE][-+][0-9]+)? | [0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]* |
    /// \.(inf|Inf|INF)` after an optional sign; `\.(nan|NaN|NAN)` without one.
    static func isFloat(_ text: Bytes) -> Bool {
        if ["nan", "NaN", "NAN"].contains(where: { text.elementsEqual(".\($0)".utf8) }) { return true }
        let r = unsigned(text)
        if ["inf", "Inf", "INF"].contains(where: { r.elementsEqual(".\($0)".utf8) }) { return true }
        if text.first == UInt8(ascii: "."), isDotFraction(text) { return true }
        guard let first = r.first, isDigit(first) else { return false }
        var i = r.startIndex + 1
        while i < r.endIndex, isDigitOrUnderscore(r[i]) { i += 1 }
        // Base 60: groups, then a dot and a fraction.
        if i < r.endIndex, r[i] == UInt8(ascii: ":") {
            guard let end = sexagesimal(r[i...]), end < r.endIndex, r[end] == UInt8(ascii: ".") else { return false }
            return r[(end + 1)...].allSatisfy(isDigitOrUnderscore)
        }
        if i < r.endIndex, r[i] == UInt8(ascii: ".") {
            i += 1
            while i < r.endIndex, isDigitOrUnderscore(r[i]) { i += 1 }
        }
        if i < r.endIndex, r[i] | 0x20 == UInt8(ascii: "e") {
            i += 1
            if i < r.endIndex, r[i] == UInt8(ascii: "+") || r[i] == UInt8(ascii: "-") { i += 1 }
            let digits = i
            while i < r.endIndex, isDigit(r[i]) { i += 1 }
            guard i > digits else { return false }
        }
        return i == r.endIndex
    }

    /// `\.[0-9_]+([eE][-+][0-9]+)?` (no sign before it, and the exponent's sign is required).
    static func isDotFraction(_ b: Bytes) -> Bool {
        var i = b.startIndex + 1
        let digits = i
        while i < b.endIndex, isDigitOrUnderscore(b[i]) { i += 1 }
        guard i > digits else { return false }
        if i == b.endIndex { return true }
        guard b[i] | 0x20 == UInt8(ascii: "e"), i + 1 < b.endIndex, b[i + 1] == UInt8(ascii: "+") || b[i + 1] == UInt8(ascii: "-") else { return false }
        i += 2
        let exponent = i
        while i < b.endIndex, isDigit(b[i]) { i += 1 }
        return i > exponent && i == b.endIndex
    }
}
