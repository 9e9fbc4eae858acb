/// An input a step kind accepts under `with:`.
public struct InputDeclaration: Sendable {
    public enum Kind: Sendable, Hashable, CustomStringConvertible {
        case string, integer, boolean, duration, stringList, any
        /// A string or a list of strings (`sni: none` or `sni: [as-client, none]`).
        case stringOrList
        /// A typed value from another step's output (literals are checked when they run).
        case typed(ValueType)

        public var description: String {
            switch self {
            case .string: "string"
            case .integer: "integer"
            case .boolean: "boolean"
            case .duration: "duration"
            case .stringList: "list of strings"
            case .any: "any"
            case .stringOrList: "string or list of strings"
            case .typed(let t): t.description
            }
        }

        /// With its article, for a sentence: "an integer", "a string".
        public var withArticle: String { ("aeiou".contains(description.first ?? "x") ? "an " : "a ") + description }
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
        case (.any, _), (.typed, _): true
        case (.string, .string), (.string, .number), (.boolean, .bool): true
        case (.integer, .number(let n)): n.rounded() == n && abs(n) < 1e15
        case (.integer, .string(let s)): Int(s) != nil
        case (.duration, .string(let s)): (try? DurationParser.parse(s)) != nil
        case (.duration, .number(let n)): n >= 0 && n <= DurationParser.maximum.seconds
        case (.stringList, .list(let l)), (.stringOrList, .list(let l)):
            l.allSatisfy { if case .string = $0 { true } else if case .number = $0 { true } else { false } }
        case (.stringOrList, .string): true
        default: false
        }
    }
}

/// An output a step kind produces: `steps.ID.outputs.NAME`.
public struct OutputDeclaration: Sendable {
    public var name: String
    public var type: ValueType
    public var summary: String

    public init(_ name: String, _ type: ValueType, _ summary: String) {
        self.name = name
        self.type = type
        self.summary = summary
    }
}
