/// A string from a runbook that may hold `${{ … }}` expressions.
///
/// A string that is exactly one expression keeps the expression's type (so
/// `for_each: ${{ steps.dns.outputs.addresses }}` is a list); otherwise each
/// expression's text is spliced into the string.
public struct Template: Sendable, Hashable {
    public enum Part: Sendable, Hashable {
        case text(String)
        /// `offset` is where the expression text starts inside the string.
        case expression(Expression, offset: Int)
    }

    public var parts: [Part]

    public init(parts: [Part]) { self.parts = parts }

    public var expressions: [(Expression, offset: Int)] {
        parts.compactMap { if case .expression(let e, let o) = $0 { (e, o) } else { nil } }
    }

    /// Parses `${{ … }}` occurrences; an error's offset counts Unicode scalars from the start of
    /// `source` (as YAML's marks count columns). Scalars, not Characters: splitting every string of a
    /// runbook into grapheme clusters was a third of reading one.
    public static func parse(_ source: String) throws(ExpressionError) -> Template {
        // Most strings of a runbook hold no expression.
        guard source.utf8.contains(UInt8(ascii: "$")) else { return Template(parts: [.text(source)]) }
        let chars = Array(source.unicodeScalars)
        var parts: [Part] = []
        var text = String.UnicodeScalarView()
        var i = 0
        while i < chars.count {
            if chars[i] == "$", i + 2 < chars.count, chars[i + 1] == "{", chars[i + 2] == "{" {
                let start = i + 3
                var j = start
                while j + 1 < chars.count, !(chars[j] == "}" && chars[j + 1] == "}") { j += 1 }
                guard j + 1 < chars.count else {
                    throw ExpressionError("unterminated expression: expected '}}' to close '${{'", at: i)
                }
                let inner = Array(chars[start..<j])
                guard !inner.allSatisfy(\.properties.isWhitespace) else {
                    throw ExpressionError("empty expression: expected something between '${{' and '}}'", at: i)
                }
                let expression: Expression
                do {
                    expression = try ExpressionParser.parse(scalars: inner)
                } catch {
                    throw ExpressionError(error.message, at: start + error.offset)
                }
                if !text.isEmpty { parts.append(.text(String(text))); text = String.UnicodeScalarView() }
                parts.append(.expression(expression, offset: start))
                i = j + 2
            } else {
                text.append(chars[i])
                i += 1
            }
        }
        if !text.isEmpty || parts.isEmpty { parts.append(.text(String(text))) }
        return Template(parts: parts)
    }

    public func evaluate(in scope: Scope) throws(ExpressionError) -> Value {
        if parts.count == 1, case .expression(let e, let offset) = parts[0] {
            do { return try e.evaluate(in: scope) } catch { throw ExpressionError(error.message, at: offset + error.offset) }
        }
        var out = ""
        for part in parts {
            switch part {
            case .text(let t): out += t
            case .expression(let e, let offset):
                do { out += try e.evaluate(in: scope).text } catch { throw ExpressionError(error.message, at: offset + error.offset) }
            }
        }
        return .string(out)
    }
}
