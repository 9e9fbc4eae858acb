import TriageWire

/// How a client names the server in its ClientHello — the difference
/// between curl (SNI = the URL's host) and nginx without
/// `proxy_ssl_server_name on` (no SNI at all).
public enum SNIVariant: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The host name, as curl and browsers send it.
    case asClient
    /// No server_name extension: nginx's default towards an upstream.
    case none
    /// The address literal (some clients do this for IP URLs).
    case ip
    /// An explicit name, e.g. a `proxy_ssl_name`.
    case name(String)

    public init(_ text: String) {
        switch text {
        case "as-client": self = .asClient
        case "none": self = .none
        case "ip": self = .ip
        default: self = .name(text.hasPrefix("name:") ? String(text.dropFirst(5)) : text)
        }
    }

    public var description: String {
        switch self {
        case .asClient: "as-client"
        case .none: "none"
        case .ip: "ip"
        case .name(let n): "name:\(n)"
        }
    }

    /// The variant in a sentence, in the report's language (`as-client`, `none`… in English).
    public var label: Value {
        switch self {
        case .asClient: Message(.sniAsClient).value
        case .none: Message(.sniNone).value
        case .ip: Message(.sniIP).value
        case .name(let n): Message(.sniName, ["name": .string(n)]).value
        }
    }

    /// An absolute name without its root dot (`localhost.` → `localhost`): what server_name carries
    /// (RFC 6066 allows no trailing dot), what /etc/hosts is asked and the certificate's names are
    /// checked against, as curl does.
    public static func withoutRootDot(_ name: String) -> String {
        name.count > 1 && name.hasSuffix(".") ? String(name.dropLast()) : name
    }

    /// The server_name this variant puts in the ClientHello, or nil for none.
    /// `as-client` for an address URL is no SNI: RFC 6066 §3 keeps literal
    /// addresses out of server_name, and curl and browsers follow it.
    public func serverName(host: String, address: IPAddress) -> String? {
        switch self {
        case .asClient: IPAddress(host) == nil ? Self.withoutRootDot(host) : nil
        case .none: nil
        case .ip: address.description
        case .name(let n): n
        }
    }

    /// The variant a client's ClientHello really is for `host`: for an
    /// address literal, sending "as the client does" is sending none.
    public func normalised(host: String) -> SNIVariant {
        switch self {
        case .name(let n) where n == host: .asClient
        case .none where IPAddress(host) != nil: .asClient
        default: self
        }
    }

    public static func < (a: SNIVariant, b: SNIVariant) -> Bool { a.description < b.description }
}

extension SNIVariant: Codable {
    public init(from decoder: Decoder) throws { self.init(try decoder.singleValueContainer().decode(String.self)) }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
