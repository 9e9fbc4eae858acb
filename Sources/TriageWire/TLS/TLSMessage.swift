/// TLS record content types (RFC 8446 §5.1).
public enum ContentType: UInt8, Sendable {
    case changeCipherSpec = 20, alert = 21, handshake = 22, applicationData = 23

    public var name: String {
        switch self {
        case .changeCipherSpec: "ChangeCipherSpec"
        case .alert: "Alert"
        case .handshake: "Handshake"
        case .applicationData: "ApplicationData"
        }
    }
}

/// Handshake message types (RFC 8446 §4, RFC 5246 §7.4).
public enum HandshakeType {
    public static func name(_ type: UInt8) -> String {
        names[type] ?? "handshake type \(type)"
    }

    static let names: [UInt8: String] = [
        0: "HelloRequest", 1: "ClientHello", 2: "ServerHello", 4: "NewSessionTicket", 5: "EndOfEarlyData",
        8: "EncryptedExtensions", 11: "Certificate", 12: "ServerKeyExchange", 13: "CertificateRequest",
        14: "ServerHelloDone", 15: "CertificateVerify", 16: "ClientKeyExchange", 20: "Finished",
        22: "CertificateStatus", 24: "KeyUpdate", 254: "MessageHash",
    ]
}

/// Protocol version numbers as they appear on the wire.
public enum ProtocolVersion {
    public static func name(_ version: UInt16) -> String {
        switch version {
        case 0x0300: "SSLv3"
        case 0x0301: "TLSv1"
        case 0x0302: "TLSv1.1"
        case 0x0303: "TLSv1.2"
        case 0x0304: "TLSv1.3"
        default: "0x" + String(version, radix: 16)
        }
    }
}

/// A TLS message one side sent, as seen by the client.
public struct TLSMessageEvent: Sendable, Hashable, Codable {
    public var sender: Peer
    /// e.g. `Handshake ClientHello`, `Alert fatal internal_error (80)`.
    public var description: String
    /// Milliseconds since the connection attempt began.
    public var atMs: Double

    public init(sender: Peer, description: String, atMs: Double) {
        self.sender = sender
        self.description = description
        self.atMs = atMs
    }
}

/// An alert seen on a connection, with who sent it.
public struct TLSAlertEvent: Sendable, Hashable, Codable {
    public var sender: Peer
    public var level: UInt8
    public var code: UInt8

    public init(sender: Peer, level: UInt8, code: UInt8) {
        self.sender = sender
        self.level = level
        self.code = code
    }

    public var name: String { AlertDescription.named(code)?.name ?? "unknown(\(code))" }
    public var isFatal: Bool { level == AlertLevel.fatal.rawValue }
}
