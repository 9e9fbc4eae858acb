/// Turns expression text into an `Expression`, with the offset of the first
/// problem when the text is not an expression.
public struct ExpressionParser {
    enum Token: Equatable {
        case name(String), string(String), number(Double), symbol(String), end
    }

    private var tokens: [(token: Token, offset: Int)] = []
    private var position = 0
    private var depth = 0

    /// Parentheses and `!` nest at most this deep; an expression has at most
    /// this many tokens. Both bound the recursion of parsing and evaluating.
    static let depthLimit = 64
    static let tokenLimit = 10_000

    /// An error's offset counts Unicode scalars.
    public static func parse(_ text: String) throws(ExpressionError) -> Expression {
        try parse(scalars: Array(text.unicodeScalars))
    }

    static func parse(scalars: [Unicode.Scalar]) throws(ExpressionError) -> Expression {
        var parser = ExpressionParser()
        parser.tokens = try lex(scalars)
        guard parser.tokens.count <= tokenLimit else {
            throw ExpressionError("the expression has more than \(tokenLimit) tokens", at: parser.tokens[tokenLimit].offset)
        }
        let expression = try parser.parseOr()
        guard case .end = parser.current.token else {
            throw ExpressionError("unexpected \(describe(parser.current.token)) after the expression", at: parser.current.offset)
        }
        return expression
    }

    private var current: (token: Token, offset: Int) { tokens[position] }

    private mutating func advance() { position = min(position + 1, tokens.count - 1) }

    private mutating func take(_ symbol: String) -> Bool {
        if current.token == .symbol(symbol) { advance(); return true }
        return false
    }

    private mutating func parseOr() throws(ExpressionError) -> Expression {
        var left = try parseAnd()
        while take("||") { left = .or(left, try parseAnd()) }
        return left
    }

    private mutating func parseAnd() throws(ExpressionError) -> Expression {
        var left = try parseUnary()
        while take("&&") { left = .and(left, try parseUnary()) }
        return left
    }

    private mutating func parseUnary() throws(ExpressionError) -> Expression {
        let offset = current.offset
        if take("!") {
            try enter(at: offset)
            defer { depth -= 1 }
            return .not(try parseUnary())
        }
        return try parseComparison()
    }

    private mutating func enter(at offset: Int) throws(ExpressionError) {
        depth += 1
        guard depth <= Self.depthLimit else {
            throw ExpressionError("the expression nests deeper than \(Self.depthLimit) levels", at: offset)
        }
    }

    private mutating func parseComparison() throws(ExpressionError) -> Expression {
        let left = try parsePrimary()
        if case .symbol(let s) = current.token, let op = Expression.ComparisonOperator(rawValue: s) {
            let offset = current.offset
            advance()
            return .compare(op, left, try parsePrimary(), offset: offset)
        }
        return left
    }

    private mutating func parsePrimary() throws(ExpressionError) -> Expression {
        let (token, offset) = current
        switch token {
        case .string(let s): advance(); return .literal(.string(s))
        case .number(let n): advance(); return .literal(.number(n))
        case .name("true"): advance(); return .literal(.bool(true))
        case .name("false"): advance(); return .literal(.bool(false))
        case .name("null"): advance(); return .literal(.null)
        case .name(let root):
            advance()
            var path = Expression.Path(root: root, components: [], offset: offset)
            while true {
                if take(".") {
                    guard case .name(let key) = current.token else {
                        throw ExpressionError("expected a property name after '.', found \(Self.describe(current.token))", at: current.offset)
                    }
                    path.components.append(.key(key))
                    advance()
                } else if take("[") {
                    guard case .number(let n) = current.token, n >= 0, n.rounded() == n else {
                        throw ExpressionError("expected a list index (0, 1, …) after '['", at: current.offset)
                    }
                    guard n < 1_000_000 else {
                        throw ExpressionError("list index \(Value.format(n)) is out of range (at most 999999)", at: current.offset)
                    }
                    advance()
                    guard take("]") else { throw ExpressionError("expected ']'", at: current.offset) }
                    path.components.append(.index(Int(n)))
                } else {
                    return .path(path)
                }
            }
        case .symbol("("):
            advance()
            try enter(at: offset)
            defer { depth -= 1 }
            let inner = try parseOr()
            guard take(")") else {
                // Where the '(' is, counted from here: the position given is in the file, not in the expression.
                throw ExpressionError("expected ')' to close the '(' \(current.offset - offset) character(s) before", at: current.offset)
            }
            return inner
        default:
            throw ExpressionError("expected a value (a name such as inputs.url, a 'string', a number), found \(Self.describe(token))", at: offset)
        }
    }

    static func describe(_ token: Token) -> String {
        switch token {
        case .name(let n): "'\(n)'"
        case .string(let s): "the string '\(s)'"
        case .number(let n): "the number \(Value.format(n))"
        case .symbol(let s): "'\(s)'"
        case .end: "the end of the expression"
        }
    }

    private static let symbols = ["==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")", ".", "[", "]"]

    /// Scalars, classified as Swift classifies a Character by its first scalar (letters are Alphabetic,
    /// digits have a numeric type); a combining mark continues the name it follows, as it would stay in
    /// that name's Character.
    static func lex(_ chars: [Unicode.Scalar]) throws(ExpressionError) -> [(token: Token, offset: Int)] {
        func isNumber(_ c: Unicode.Scalar) -> Bool { c.isASCII ? ("0"..."9").contains(c) : c.properties.numericType != nil }
        func isLetter(_ c: Unicode.Scalar) -> Bool {
            c.isASCII ? ("a"..."z").contains(c) || ("A"..."Z").contains(c) : c.properties.isAlphabetic
        }
        // ASCII answered without the Unicode property tables (a lookup per character was most of the lexing).
        func isWhitespace(_ c: Unicode.Scalar) -> Bool { c.isASCII ? c == " " || (c.value >= 0x09 && c.value <= 0x0D) : c.properties.isWhitespace }
        func isExtend(_ c: Unicode.Scalar) -> Bool { !c.isASCII && c.properties.isGraphemeExtend }
        func text(_ range: Range<Int>) -> String { String(String.UnicodeScalarView(chars[range])) }
        var out: [(token: Token, offset: Int)] = []
        var i = 0
        scan: while i < chars.count, out.count <= tokenLimit {
            let c = chars[i]
            if isWhitespace(c) { i += 1; continue }
            let start = i
            if c == "'" || c == "\"" {
                var s = String.UnicodeScalarView()
                i += 1
                while true {
                    guard i < chars.count else {
                        throw ExpressionError("unterminated string: expected a closing \(c)", at: start)
                    }
                    // A quote is escaped by doubling it, as in GitHub Actions.
                    if chars[i] == c {
                        if i + 1 < chars.count, chars[i + 1] == c { s.append(c); i += 2; continue }
                        i += 1
                        break
                    }
                    s.append(chars[i])
                    i += 1
                }
                out.append((.string(String(s)), start))
                continue
            }
            if isNumber(c) || (c == "-" && i + 1 < chars.count && isNumber(chars[i + 1])) {
                i += 1
                while i < chars.count, isNumber(chars[i]) || chars[i] == "." || isExtend(chars[i]) { i += 1 }
                let number = text(start..<i)
                guard let n = Double(number) else { throw ExpressionError("'\(number)' is not a number", at: start) }
                out.append((.number(n), start))
                continue
            }
            if isLetter(c) || c == "_" {
                while i < chars.count, isLetter(chars[i]) || isNumber(chars[i]) || chars[i] == "_" || chars[i] == "-"
                    || isExtend(chars[i]) { i += 1 }
                out.append((.name(text(start..<i)), start))
                continue
            }
            for symbol in symbols where matches(symbol, chars, at: i) {
                out.append((.symbol(symbol), start))
                i += symbol.unicodeScalars.count
                continue scan
            }
            if c == "=" {
                throw ExpressionError("unexpected '=': use '==' to compare", at: start)
            }
            throw ExpressionError("unexpected character '\(c)'", at: start)
        }
        out.append((.end, chars.count))
        return out
    }

    private static func matches(_ symbol: String, _ chars: [Unicode.Scalar], at i: Int) -> Bool {
        var at = i
        for scalar in symbol.unicodeScalars {
            guard at < chars.count, chars[at] == scalar else { return false }
            at += 1
        }
        return true
    }
}
