import Foundation
import Yams

/// Reads a runbook and checks all of it — syntax, keys, step kinds, ids,
/// references, durations, value types — before a single step runs. Every
/// problem of the file is collected and thrown together as a `RunbookError`.
public struct RunbookLoader: Sendable {
    public var catalog: StepCatalog

    public init(catalog: StepCatalog) { self.catalog = catalog }

    public func load(contentsOf path: String) throws(RunbookError) -> Runbook {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RunbookError([Diagnostic(SourceLocation(file: path, line: 1, column: 1), "cannot read the file: no such file or not readable")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw RunbookError([Diagnostic(SourceLocation(file: path, line: 1, column: 1), "the file is not UTF-8 text")])
        }
        return try load(yaml: text, source: path)
    }

    public func load(yaml: String, source: String) throws(RunbookError) -> Runbook {
        let yaml = YAMLSyntax.withoutBOM(yaml)
        var checker = RunbookChecker(file: source, catalog: catalog)
        checker.lines = YAMLSyntax.lines(yaml)
        // Yams holds every node it composes (a few hundred bytes each) before any can be counted: a
        // cheap bound first. A node takes at least one of these bytes of its own (a comment's text
        // none), so a file padded with a long comment gains no room for aliases to multiply into;
        // a `,` or `?` can stand for a key and its empty value (`{a, b, c}`): two.
        let separators = yaml.utf8.reduce(0) { $0 + Self.separatorWeight($1) }
        guard separators <= Self.nodeLimit, yaml.utf8.count <= Bundled.runbookLimit else {
            throw RunbookError([Diagnostic(SourceLocation(file: source, line: 1, column: 1),
                                           yaml.utf8.count > Bundled.runbookLimit
                                               ? "the runbook is \(yaml.utf8.count) bytes: at most \(Bundled.runbookLimit >> 20) MiB"
                                               : "the document holds more than \(Self.nodeLimit) entries (commas, colons, dashes, lines): too many nodes for a runbook")])
        }
        let node: Node?
        do {
            // The basic resolver: scalars' types are the checker's to resolve (see `scalarType`).
            node = try Yams.compose(yaml: yaml, .basic)
        } catch {
            throw RunbookError([checker.syntaxDiagnostic(error)])
        }
        guard let node else {
            throw RunbookError([Diagnostic(SourceLocation(file: source, line: 1, column: 1),
                                           "the runbook is empty: expected a mapping with 'name' and 'steps'")])
        }
        // Aliases share their anchor's node, so a small file can stand for
        // billions of nodes (the "billion laughs"): count before walking it.
        var budget = Self.nodeLimit
        guard Self.fits(node, depth: 0, budget: &budget) else {
            throw RunbookError([Diagnostic(SourceLocation(file: source, line: 1, column: 1),
                                           "the document expands to more than \(Self.nodeLimit) nodes or nests deeper than \(Self.depthLimit) levels (YAML aliases that multiply?)")])
        }
        let runbook = checker.runbook(node)
        guard checker.diagnostics.isEmpty, let runbook else { throw RunbookError(checker.diagnostics) }
        return runbook
    }

    /// At most this many YAML nodes, aliases expanded (20,000 steps take about 200,000); at most this deep.
    static let nodeLimit = 500_000

    /// The nodes a byte can begin at most: a line, `- `, `key:`, flow collections, an alias one; a `,` or
    /// an explicit key's `?` two (a key and its implicit empty value).
    static func separatorWeight(_ byte: UInt8) -> Int {
        switch byte {
        case UInt8(ascii: "\n"), UInt8(ascii: ":"), UInt8(ascii: "-"), UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: "*"): 1
        case UInt8(ascii: ","), UInt8(ascii: "?"): 2
        default: 0
        }
    }
    static let depthLimit = 64

    /// Whether `node` stays within the limits; stops counting as soon as it does not.
    static func fits(_ node: Node, depth: Int, budget: inout Int) -> Bool {
        budget -= 1
        guard budget >= 0, depth <= depthLimit else { return false }
        switch node {
        case .scalar, .alias: return true
        case .sequence(let s):
            for child in s where !fits(child, depth: depth + 1, budget: &budget) { return false }
            return true
        case .mapping(let m):
            for (key, value) in m where !fits(key, depth: depth + 1, budget: &budget) || !fits(value, depth: depth + 1, budget: &budget) { return false }
            return true
        }
    }

    /// Merges the inputs given on the command line with the runbook's
    /// defaults; see the typed variant below for what is refused.
    public static func resolveInputs(_ runbook: Runbook, given: [String: String]) throws -> [String: Value] {
        try resolveInputs(runbook, values: given.mapValues(Value.string))
    }

    /// The same with typed values (a list of headers from repeated `-H`).
    /// Throws `InputError` for what was given (an input the runbook does not
    /// declare, a value that does not fit its type), `RunbookError` for a
    /// required input not given.
    public static func resolveInputs(_ runbook: Runbook, values given: [String: Value]) throws -> [String: Value] {
        var values: [String: Value] = [:]
        var problems: [Diagnostic] = []
        var wrong: [String] = []
        for name in given.keys.sorted() where runbook.input(name) == nil {
            let declared = runbook.inputs.map(\.name).joined(separator: ", ")
            wrong.append("input '\(name)' was given but runbook \(runbook.source) declares no such input (it declares: \(declared.isEmpty ? "none" : declared))")
        }
        for input in runbook.inputs {
            if let value = given[input.name] {
                if !input.type.fits(value) {
                    wrong.append("input '\(input.name)' is '\(Sink.echo(value.text, limit: 120))': expected \(input.type.expected)")
                }
                values[input.name] = value
            } else if let value = input.defaultValue {
                values[input.name] = value
            } else if input.required {
                let hint = input.name == "url" ? "pass the URL as the first argument or --set url=…" : "pass --set \(input.name)=…"
                problems.append(Diagnostic(input.location, "input '\(input.name)' is required and was not given: \(hint)"))
            } else {
                values[input.name] = .null
            }
        }
        guard wrong.isEmpty else { throw InputError(problems: wrong) }
        guard problems.isEmpty else { throw RunbookError(problems) }
        return values
    }
}

/// Suggests the closest known word for a misspelling ("stpes" → "steps").
enum Spelling {
    static func suggestion(for word: String, among candidates: [String]) -> String? {
        let best = candidates.map { ($0, distance(word.lowercased(), $0.lowercased())) }.min { $0.1 < $1.1 }
        guard let (candidate, d) = best, d <= (word.count <= 3 ? 1 : word.count < 9 ? 2 : 3) else { return nil }
        return candidate
    }

    static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a), y = Array(b)
        guard !x.isEmpty else { return y.count }
        guard !y.isEmpty else { return x.count }
        var previous = Array(0...y.count)
        var beforePrevious = previous
        for i in 1...x.count {
            var row = [i] + Array(repeating: 0, count: y.count)
            for j in 1...y.count {
                row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
                // A swapped pair ("stpes") counts as one edit.
                if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] {
                    row[j] = min(row[j], beforePrevious[j - 2] + 1)
                }
            }
            beforePrevious = previous
            previous = row
        }
        return previous[y.count]
    }

    static func didYouMean(_ word: String, _ candidates: [String]) -> String {
        suggestion(for: word, among: candidates).map { " (did you mean '\($0)'?)" } ?? ""
    }
}
