import Foundation

/// Parses `timeout:` values: `10s`, `500ms`, `2m`, `1m30s`, `1h`, or a
/// number of seconds — at most 24 hours, so no arithmetic on it overflows.
public enum DurationParser {
    public static let maximum = Duration.seconds(86_400)

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case malformed
        case outOfRange
        /// Zero where a deadline is needed: nothing could run.
        case zero

        public var description: String {
            switch self {
            case .malformed: "expected a positive number with a unit, e.g. 500ms, 10s, 2m (a bare number is seconds)"
            case .outOfRange: "out of range (at most 24h)"
            case .zero: "a deadline must be more than zero, e.g. 500ms, 10s"
            }
        }
    }

    /// A deadline: a duration above zero (at least a millisecond), at most 24 hours.
    public static func deadline(_ text: String) throws(Failure) -> Duration {
        let d = try parse(text)
        guard d >= .milliseconds(1) else { throw .zero }
        return d
    }

    public static func parse(_ text: String) throws(Failure) -> Duration {
        let s = String(text.trimmed { $0.isWhitespace && !$0.isNewline })
        guard !s.isEmpty, s.count <= 64 else { throw s.isEmpty ? .malformed : .outOfRange }
        // A bare number is seconds, written in decimal (Double would also read 0x1F, inf and nan).
        if s.allSatisfy({ $0.isASCII && ($0.isNumber || ".-+eE".contains($0)) }), let n = Double(s) {
            guard n.isFinite, n >= 0 else { throw n.isNaN ? .malformed : .outOfRange }
            return try checked(n)
        }
        var total = 0.0
        var number = ""
        var chars = Substring(s)
        while let c = chars.first {
            if c.isASCII && (c.isNumber || c == ".") { number.append(c); chars = chars.dropFirst(); continue }
            var unit = ""
            while let u = chars.first, u.isLetter { unit.append(u); chars = chars.dropFirst() }
            guard let n = Double(number), n.isFinite else { throw .malformed }
            switch unit {
            case "ms": total += n / 1000
            case "s": total += n
            case "m": total += n * 60
            case "h": total += n * 3600
            default: throw .malformed
            }
            number = ""
        }
        guard number.isEmpty else { throw .malformed }
        return try checked(total)
    }

    static func checked(_ seconds: Double) throws(Failure) -> Duration {
        guard seconds.isFinite, seconds <= maximum.seconds else { throw .outOfRange }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }
}

extension Duration {
    /// Seconds as a Double, for arithmetic and display.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
