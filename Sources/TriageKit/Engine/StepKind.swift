import Foundation

/// A kind of step (`uses:`). Each kind declares its inputs so the loader can
/// refuse a runbook that misspells one, before anything runs.
public protocol StepKind: Sendable {
    /// The name used in `uses:`, e.g. `tls.handshake`.
    var name: String { get }
    /// One line for `triage runbooks` and the schema.
    var summary: String { get }
    var inputs: [InputDeclaration] { get }
    /// Runs the step. Throwing records the step as failed with the error's
    /// description; findings belong in the returned outcome.
    func run(_ context: StepContext) async throws -> StepOutcome
}

/// An input a step kind accepts under `with:`.
public struct InputDeclaration: Sendable {
    public enum Kind: String, Sendable {
        case string, integer, boolean, duration, stringList = "list of strings", any
        /// A string or a list of strings (`sni: none` or `sni: [as-client, none]`).
        case stringOrList = "string or list of strings"
    }

    public var name: String
    public var kind: Kind
    public var required: Bool
    public var summary: String

    public init(_ name: String, _ kind: Kind, required: Bool = false, _ summary: String) {
        self.name = name
        self.kind = kind
        self.required = required
        self.summary = summary
    }

    /// Whether a literal value fits; expressions are checked when they run.
    public func accepts(_ value: Value) -> Bool {
        switch (kind, value) {
        case (.any, _): true
        case (.string, .string), (.string, .number), (.boolean, .bool): true
        case (.integer, .number(let n)): n.rounded() == n
        case (.integer, .string(let s)): Int(s) != nil
        case (.duration, .string(let s)): DurationParser.parse(s) != nil
        case (.duration, .number(let n)): n >= 0
        case (.stringList, .list(let l)), (.stringOrList, .list(let l)):
            l.allSatisfy { if case .string = $0 { true } else if case .number = $0 { true } else { false } }
        case (.stringOrList, .string): true
        default: false
        }
    }
}

/// The set of step kinds a run may use.
public struct StepCatalog: Sendable {
    public private(set) var kinds: [String: any StepKind]

    public init(_ kinds: [any StepKind]) {
        self.kinds = Dictionary(kinds.map { ($0.name, $0) }, uniquingKeysWith: { $1 })
    }

    public subscript(name: String) -> (any StepKind)? { kinds[name] }

    public var names: [String] { kinds.keys.sorted() }
}

/// Parses `timeout:` values: `10s`, `500ms`, `2m`, `1m30s`, or a number of seconds.
public enum DurationParser {
    public static func parse(_ text: String) -> Duration? {
        let s = text.trimmingCharacters(in: .whitespaces)
        if let n = Double(s), n >= 0 { return .milliseconds(Int64(n * 1000)) }
        var total = 0.0
        var number = ""
        var chars = Array(s)[...]
        guard !chars.isEmpty else { return nil }
        while let c = chars.first {
            if c.isNumber || c == "." { number.append(c); chars = chars.dropFirst(); continue }
            var unit = ""
            while let u = chars.first, u.isLetter { unit.append(u); chars = chars.dropFirst() }
            guard let n = Double(number) else { return nil }
            switch unit {
            case "ms": total += n / 1000
            case "s": total += n
            case "m": total += n * 60
            case "h": total += n * 3600
            default: return nil
            }
            number = ""
        }
        guard number.isEmpty, total > 0 || s.hasPrefix("0") else { return nil }
        return .milliseconds(Int64(total * 1000))
    }
}

extension Duration {
    /// Seconds as a Double, for arithmetic and display.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
