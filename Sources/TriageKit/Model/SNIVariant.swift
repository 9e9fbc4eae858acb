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

    /// The server_name this variant puts in the ClientHello, or nil for none.
    public func serverName(host: String, address: IPAddress) -> String? {
        switch self {
        case .asClient: host
        case .none: nil
        case .ip: address.description
        case .name(let n): n
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
