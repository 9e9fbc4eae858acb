/// An expression from inside `${{ … }}`.
///
/// The grammar is deliberately small — the subset of GitHub Actions
/// expressions a diagnostic runbook needs:
///
///     or      := and ( "||" and )*
///     and     := unary ( "&&" unary )*
///     unary   := "!" unary | compare
///     compare := primary ( ("==" | "!=" | "<" | "<=" | ">" | ">=") primary )?
///     primary := literal | path | "(" or ")"
///     path    := name ( "." name | "[" integer "]" )*
///     literal := 'string' | "string" | number | true | false | null
///
/// `&&` and `||` yield one of their operands (so `inputs.sni || 'as-client'`
/// picks a default); `!` and comparisons yield booleans.
public indirect enum Expression: Sendable, Hashable {
    case literal(Value)
    case path(Path)
    case not(Expression)
    case and(Expression, Expression)
    case or(Expression, Expression)
    case compare(ComparisonOperator, Expression, Expression, offset: Int)

    /// A reference such as `steps.dns.outputs.addresses[0]`; `offset` is
    /// where it starts in the expression text, for error columns.
    public struct Path: Sendable, Hashable {
        public var root: String
        public var components: [Component]
        public var offset: Int

        public enum Component: Sendable, Hashable {
            case key(String)
            case index(Int)
        }

        public var text: String {
            components.reduce(root) { text, c in
                switch c {
                case .key(let k): "\(text).\(k)"
                case .index(let i): "\(text)[\(i)]"
                }
            }
        }
    }

    public enum ComparisonOperator: String, Sendable, Hashable {
        case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<="
        case greater = ">", greaterOrEqual = ">="
    }

    /// Every path the expression reads, for the loader's reference checks.
    public var paths: [Path] {
        switch self {
        case .literal: []
        case .path(let p): [p]
        case .not(let e): e.paths
        case .and(let a, let b), .or(let a, let b), .compare(_, let a, let b, _): a.paths + b.paths
        }
    }
}

/// A problem in an expression's text or evaluation; `offset` counts
/// characters from the start of the expression text.
public struct ExpressionError: Error, Sendable, Hashable {
    public var message: String
    public var offset: Int

    public init(_ message: String, at offset: Int) {
        self.message = message
        self.offset = offset
    }
}
