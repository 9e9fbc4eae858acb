import Foundation

/// What an expression can see while a run is in progress.
public struct Scope: Sendable {
    public var inputs: [String: Value]
    /// `steps.<id>` → `{ status, outputs }` of the steps that have run.
    public var steps: [String: Value]
    public var item: Value?
    public var env: [String: String]

    public init(inputs: [String: Value] = [:], steps: [String: Value] = [:],
                item: Value? = nil, env: [String: String] = [:]) {
        self.inputs = inputs
        self.steps = steps
        self.item = item
        self.env = env
    }
}

extension Expression {
    /// Evaluates against a scope. A missing key yields `null` (so
    /// `if: ${{ steps.x.outputs.alert }}` is simply false); asking a number
    /// or a boolean for a property, or ordering non-numbers, is an error.
    public func evaluate(in scope: Scope) throws(ExpressionError) -> Value {
        switch self {
        case .literal(let v):
            return v
        case .path(let path):
            return try path.resolve(in: scope)
        case .not(let e):
            return .bool(!(try e.evaluate(in: scope).isTruthy))
        case .and(let a, let b):
            let left = try a.evaluate(in: scope)
            return left.isTruthy ? try b.evaluate(in: scope) : left
        case .or(let a, let b):
            let left = try a.evaluate(in: scope)
            return left.isTruthy ? left : try b.evaluate(in: scope)
        case .compare(let op, let a, let b, let offset):
            return .bool(try Self.compare(op, try a.evaluate(in: scope), try b.evaluate(in: scope), offset: offset))
        }
    }

    static func compare(_ op: ComparisonOperator, _ a: Value, _ b: Value, offset: Int) throws(ExpressionError) -> Bool {
        switch op {
        case .equal: return looselyEqual(a, b)
        case .notEqual: return !looselyEqual(a, b)
        default:
            // A missing value is null, and null compares as false: `steps.x.outputs.frames > 0`
            // is simply false when the step did not run.
            if a == .null || b == .null { return false }
            guard let x = orderable(a), let y = orderable(b) else {
                throw ExpressionError("'\(op.rawValue)' compares numbers; got \(a.typeName) \(describe(a)) and \(b.typeName) \(describe(b))", at: offset)
            }
            switch op {
            case .less: return x < y
            case .lessOrEqual: return x <= y
            case .greater: return x > y
            default: return x >= y
            }
        }
    }

    private static func describe(_ v: Value) -> String {
        switch v {
        case .string(let s): "'\(s)'"
        case .list, .object: ""
        default: v.text
        }
    }

    private static func orderable(_ v: Value) -> Double? {
        switch v {
        case .number(let n): n
        case .string(let s): Double(s)
        case .typed(.date(let d)): d.timeIntervalSince1970
        default: nil
        }
    }

    /// Strict equality, except that a number equals its decimal text: a port
    /// taken from a URL (`"443"`) equals `443`. Strings compare case-sensitively.
    static func looselyEqual(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.number(let x), .string(let s)), (.string(let s), .number(let x)):
            return Double(s) == x
        case (.typed(let t), .string(let s)), (.string(let s), .typed(let t)):
            return t.text == s
        default:
            return a == b
        }
    }
}

extension Expression.Path {
    func resolve(in scope: Scope) throws(ExpressionError) -> Value {
        var value: Value
        switch root {
        case "inputs": value = .object(scope.inputs)
        case "steps": value = .object(scope.steps)
        case "item": value = scope.item ?? .null
        case "env": value = .object(scope.env.mapValues { .string($0) })
        default:
            throw ExpressionError("unknown name '\(root)': expected inputs, steps, item or env", at: offset)
        }
        var walked = root
        for component in components {
            switch (value, component) {
            case (.null, _):
                return .null
            case (.object(let o), .key(let k)):
                value = o[k] ?? .null
            case (.typed(let t), .key(let k)) where t.property(k) != nil:
                value = t.property(k)!
            case (.list(let l), .index(let i)):
                value = i < l.count ? l[i] : .null
            case (.string(let s), .key(let k)) where URLPart(rawValue: k) != nil:
                value = URLPart(rawValue: k)!.extract(from: s)
            case (_, .key(let k)):
                throw ExpressionError("\(walked) is a \(value.typeName) and has no property '\(k)'", at: offset)
            case (_, .index(let i)):
                throw ExpressionError("\(walked) is a \(value.typeName), not a list; cannot take [\(i)]", at: offset)
            }
            switch component {
            case .key(let k): walked += ".\(k)"
            case .index(let i): walked += "[\(i)]"
            }
        }
        return value
    }
}

/// The parts of a URL string an expression can ask for: `inputs.url.host`.
public enum URLPart: String, Sendable, CaseIterable {
    case scheme, host, port, path, query

    /// The scheme's well-known port, used when the URL names none.
    public static func defaultPort(for scheme: String) -> Int? {
        ["http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21, "ldaps": 636, "smtps": 465, "imaps": 993][scheme.lowercased()]
    }

    public func extract(from string: String) -> Value {
        guard let url = URLComponents(string: string), url.scheme != nil else { return .null }
        switch self {
        case .scheme: return url.scheme.map { .string($0.lowercased()) } ?? .null
        case .host:
            // URL keeps an IDNA host as written (xn--…); URLComponents.host would decode it to Unicode.
            guard var host = URL(string: string)?.host(percentEncoded: true) ?? url.host, !host.isEmpty else { return .null }
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            return .string(host)
        case .port:
            if let port = url.port { return .int(port) }
            return url.scheme.flatMap(URLPart.defaultPort(for:)).map(Value.int) ?? .null
        case .path: return .string(url.percentEncodedPath.isEmpty ? "/" : url.percentEncodedPath)
        case .query: return url.percentEncodedQuery.map(Value.string) ?? .null
        }
    }
}
