/// An address and a TCP or UDP port: `192.0.2.1:443`, `[2001:db8::1]:443`.
/// The one place an endpoint is written, so IPv6 always gets its brackets.
public struct Endpoint: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16

    public init(_ address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// `ADDR:PORT` or `[V6]:PORT`; a bare address takes `defaultPort`.
    public init?(_ text: String, defaultPort: UInt16? = nil) {
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            guard let address = IPAddress(String(text[text.index(after: text.startIndex)..<close])) else { return nil }
            let rest = text[text.index(after: close)...]
            if rest.isEmpty, let defaultPort {
                self.init(address, port: defaultPort)
                return
            }
            guard rest.hasPrefix(":"), let port = UInt16(rest.dropFirst()) else { return nil }
            self.init(address, port: port)
            return
        }
        if let address = IPAddress(text) {
            guard let defaultPort else { return nil }
            self.init(address, port: defaultPort)
            return
        }
        guard let colon = text.lastIndex(of: ":"), let address = IPAddress(String(text[..<colon])), !address.isV6,
              let port = UInt16(text[text.index(after: colon)...]) else { return nil }
        self.init(address, port: port)
    }

    public var description: String { address.isV6 ? "[\(address)]:\(port)" : "\(address):\(port)" }

    /// Appends `description` as UTF-8.
    public func write(into out: inout [UInt8]) {
        if address.isV6 { out.append(UInt8(ascii: "[")) }
        address.write(into: &out)
        if address.isV6 { out.append(UInt8(ascii: "]")) }
        out.append(UInt8(ascii: ":"))
        IPAddress.decimal(Int(port), into: &out)
    }

    public static func < (a: Endpoint, b: Endpoint) -> Bool { (a.address, a.port) < (b.address, b.port) }
}

extension Endpoint: Codable {
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let endpoint = Endpoint(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not ADDR:PORT: \(text)"))
        }
        self = endpoint
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
