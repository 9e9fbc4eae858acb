/// An IPv4 or IPv6 address, held inline (no heap allocation: a capture
/// decodes one per packet) and written in one place: dotted quad for IPv4,
/// RFC 5952 for IPv6 (lowercase, the longest run of zero groups as `::`).
public struct IPAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
    public enum Family: String, Sendable, Codable { case ipv4 = "IPv4", ipv6 = "IPv6" }

    /// The 128 bits of the address; an IPv4 address sits in the low 32 bits.
    public let high: UInt64
    public let low: UInt64
    public let family: Family

    public init(v4 a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        high = 0
        low = UInt64(a) << 24 | UInt64(b) << 16 | UInt64(c) << 8 | UInt64(d)
        family = .ipv4
    }

    /// 4 bytes for IPv4, 16 for IPv6; nil for any other length.
    public init?<C: Collection>(bytes: C) where C.Element == UInt8 {
        switch bytes.count {
        case 4:
            low = bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            high = 0
            family = .ipv4
        case 16:
            let first = bytes.prefix(8), second = bytes.dropFirst(8)
            high = first.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            low = second.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            family = .ipv6
        default:
            return nil
        }
    }

    /// Parses `192.0.2.1`, `2001:db8::1`, `::ffff:192.0.2.1`; a zone
    /// (`fe80::1%eth0`) or brackets are not part of an address.
    public init?(_ text: String) {
        if let v4 = Self.parseV4(Substring(text)) {
            self.init(bytes: v4)
        } else if let v6 = Self.parseV6(text) {
            self.init(bytes: v6)
        } else {
            return nil
        }
    }

    public var isV6: Bool { family == .ipv6 }

    public var bytes: [UInt8] {
        switch family {
        case .ipv4: (0..<4).map { UInt8(truncatingIfNeeded: low >> (24 - 8 * UInt64($0))) }
        case .ipv6: (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64($0))) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64($0))) }
        }
    }

    /// 127.0.0.0/8 or ::1.
    public var isLoopback: Bool {
        switch family {
        case .ipv4: low >> 24 == 127
        case .ipv6: high == 0 && low == 1
        }
    }

    /// Appends the text form as UTF-8 (dotted quad without building strings: tables of a million rows).
    public func write(into out: inout [UInt8]) {
        guard family == .ipv4 else { out += description.utf8; return }
        for i in 0..<4 {
            if i > 0 { out.append(UInt8(ascii: ".")) }
            Self.decimal(Int(truncatingIfNeeded: (low >> (24 - 8 * UInt64(i))) & 0xFF), into: &out)
        }
    }

    /// A non-negative integer in decimal, appended.
    public static func decimal(_ value: Int, into out: inout [UInt8]) {
        if value >= 10 { decimal(value / 10, into: &out) }
        out.append(UInt8(ascii: "0") + UInt8(value % 10))
    }

    public var description: String {
        switch family {
        case .ipv4:
            var out: [UInt8] = []
            out.reserveCapacity(15)
            write(into: &out)
            return String(decoding: out, as: UTF8.self)
        case .ipv6:
            let b = bytes
            let groups = stride(from: 0, to: 16, by: 2).map { Int(b[$0]) << 8 | Int(b[$0 + 1]) }
            // An IPv4-mapped address keeps its dotted tail (RFC 5952 §5).
            if groups[0..<5].allSatisfy({ $0 == 0 }), groups[5] == 0xFFFF {
                return "::ffff:" + b[12..<16].map(String.init).joined(separator: ".")
            }
            var best = (start: -1, length: 0), run = (start: -1, length: 0)
            for (i, g) in groups.enumerated() {
                if g == 0 { run = run.start < 0 ? (i, 1) : (run.start, run.length + 1) } else { run = (-1, 0) }
                if run.length > best.length { best = run }
            }
            let hex = groups.map { String($0, radix: 16) }
            guard best.length > 1 else { return hex.joined(separator: ":") }
            return hex[..<best.start].joined(separator: ":") + "::" + hex[(best.start + best.length)...].joined(separator: ":")
        }
    }

    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        (a.family == .ipv6 ? 1 : 0, a.high, a.low) < (b.family == .ipv6 ? 1 : 0, b.high, b.low)
    }

    static func parseV4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for p in parts {
            // Leading zeros are refused, as inet_pton does (no octal surprises).
            guard !p.isEmpty, p.count <= 3, p.allSatisfy(\.isASCII), p.allSatisfy(\.isNumber),
                  p.count == 1 || p.first != "0", let v = UInt8(p) else { return nil }
            out.append(v)
        }
        return out
    }

    static func parseV6(_ text: String) -> [UInt8]? {
        guard text.contains(":"), text.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return nil }
        var head = Substring(text), tail: Substring? = nil
        if let range = text.firstRange(of: "::") {
            head = text[..<range.lowerBound]
            tail = text[range.upperBound...]
            guard tail!.firstRange(of: "::") == nil else { return nil }
        }
        func groups(_ s: Substring, allowV4: Bool) -> [UInt16]? {
            guard !s.isEmpty else { return [] }
            var out: [UInt16] = []
            let parts = s.split(separator: ":", omittingEmptySubsequences: false)
            for (i, p) in parts.enumerated() {
                if i == parts.count - 1, allowV4, p.contains("."), let v4 = parseV4(p) {
                    out += [UInt16(v4[0]) << 8 | UInt16(v4[1]), UInt16(v4[2]) << 8 | UInt16(v4[3])]
                    continue
                }
                guard !p.isEmpty, p.count <= 4, let v = UInt16(p, radix: 16) else { return nil }
                out.append(v)
            }
            return out
        }
        guard let first = groups(head, allowV4: tail == nil), let second = groups(tail ?? "", allowV4: true) else { return nil }
        let all: [UInt16]
        if tail != nil {
            guard first.count + second.count < 8 else { return nil }
            all = first + Array(repeating: 0, count: 8 - first.count - second.count) + second
        } else {
            guard first.count == 8 else { return nil }
            all = first
        }
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }
}

extension IPAddress: Codable {
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let address = IPAddress(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an IP address: \(text)"))
        }
        self = address
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
