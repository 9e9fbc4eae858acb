import Foundation

/// The value of the edges: runbook inputs, `with:` arguments after
/// interpolation, expression results, JSON and templates. Domain values
/// (an alert, a chain, an address) ride inside as `.typed` and keep their
/// type; everything else mirrors JSON.
public enum Value: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case list([Value])
    case object([String: Value])
    case typed(TypedValue)

    public static func int(_ n: Int) -> Value { .number(Double(n)) }

    /// The name used in type errors ("expected a list, got a string").
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .list: "list"
        case .object: "object"
        case .typed(let t): t.type.description
        }
    }

    /// Truthiness as in GitHub Actions expressions: null, false, 0, "" and an
    /// empty list are false; everything else is true.
    public var isTruthy: Bool {
        switch self {
        case .null: false
        case .bool(let b): b
        case .number(let n): n != 0 && !n.isNaN
        case .string(let s): !s.isEmpty
        case .list(let l): !l.isEmpty
        case .object, .typed: true
        }
    }

    /// The text a value becomes when interpolated into a string.
    public var text: String {
        switch self {
        case .null: ""
        case .bool(let b): b ? "true" : "false"
        case .number(let n): Value.format(n)
        case .string(let s): s
        case .list(let l): l.map(\.text).joined(separator: ",")
        case .object:
            (try? String(decoding: JSONEncoder.sorted.encode(self), as: UTF8.self)) ?? ""
        case .typed(let t): t.text
        }
    }

    static func format(_ n: Double) -> String {
        if n.rounded() == n, abs(n) < 1e15 { return String(Int64(n)) }
        return String(n)
    }

    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var typedValue: TypedValue? { if case .typed(let t) = self { t } else { nil } }

    /// The value with every typed part replaced by its plain projection: what JSON holds.
    public var plain: Value {
        switch self {
        case .typed(let t): t.plain.plain
        case .list(let l): .list(l.map(\.plain))
        case .object(let o): .object(o.mapValues(\.plain))
        default: self
        }
    }
    public var listValue: [Value]? { if case .list(let l) = self { l } else { nil } }
    public var objectValue: [String: Value]? { if case .object(let o) = self { o } else { nil } }
    public var numberValue: Double? {
        switch self {
        case .number(let n): n
        case .string(let s): Double(s)
        default: nil
        }
    }
    /// A whole number that fits an Int (`1e30` is none: converting it trapped).
    public var intValue: Int? { numberValue.flatMap { Int(exactly: $0) } }
    public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var isNull: Bool { self == .null }

    public subscript(key: String) -> Value {
        if case .typed(let t) = self { return t.property(key) ?? .null }
        return objectValue?[key] ?? .null
    }
}

extension Value: Codable {
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let l = try? c.decode([Value].self) { self = .list(l) }
        else { self = .object(try c.decode([String: Value].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n):
            if n.rounded() == n, abs(n) < 1e15 { try c.encode(Int64(n)) } else { try c.encode(n) }
        case .string(let s): try c.encode(s)
        case .list(let l): try c.encode(l)
        case .object(let o): try c.encode(o)
        case .typed(let t): try c.encode(t.plain)
        }
    }
}

extension Value: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral,
                 ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral,
                 ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(arrayLiteral elements: Value...) { self = .list(elements) }
    public init(dictionaryLiteral elements: (String, Value)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { $1 }))
    }
    public init(nilLiteral: ()) { self = .null }
}

extension JSONEncoder {
    /// Sorted keys and ISO 8601 dates: the stable JSON every output of triage uses.
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(ISO8601.string(date))
        }
        return e
    }
}

/// ISO 8601 UTC with seconds, the one date format of facts and reports.
public enum ISO8601 {
    public static func string(_ date: Date) -> String { TextFormat.iso8601(date) }
    public static func parse(_ s: String) -> Date? {
        (try? Date.ISO8601FormatStyle(timeZone: .gmt).parse(s))
            ?? (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt).parse(s))
    }
}
