import Foundation
import TriageKit
import TriageWire

/// How the client names the server in its ClientHello.
public enum SNIVariant: Sendable, Hashable, CustomStringConvertible {
    /// The host name, as curl sends it.
    case asClient
    /// No SNI at all: what nginx sends upstream without `proxy_ssl_server_name on`.
    case none
    /// The address literal.
    case ip
    /// An explicit name (a `proxy_ssl_name`).
    case name(String)

    public init(_ text: String) {
        switch text {
        case "as-client": self = .asClient
        case "none": self = .none
        case "ip": self = .ip
        default: self = .name(text)
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

    func serverName(host: String, address: String) -> String? {
        switch self {
        case .asClient: host
        case .none: nil
        case .ip: address
        case .name(let n): n
        }
    }
}

/// One TLS connection attempt: an address, an SNI variant, and all it showed.
public struct HandshakeAttempt: Sendable {
    public enum Outcome: Sendable, Hashable {
        case established
        /// A fatal alert ended the handshake.
        case alert(TLSAlertEvent)
        case refused
        case timedOut(String)
        /// The peer answered with bytes that are not TLS.
        case notTLS(String)
        /// The handshake failed without an alert (closed, reset, local error).
        case failed(String)
    }

    public var address: String
    public var port: Int
    public var host: String
    public var variant: SNIVariant
    public var serverName: String?
    public var outcome: Outcome = .failed("not attempted")
    public var connectMs: Double?
    public var handshakeMs: Double?
    public var version: String?
    public var cipher: String?
    public var alpn: String?
    public var messages: [TLSMessageEvent] = []
    public var alerts: [TLSAlertEvent] = []
    public var verifyCode: Int?
    public var verifyText: String?
    /// The CA names the server listed in its CertificateRequest.
    public var acceptableCAs: [String] = []
    public var certificateRequested = false
    public var chain: [Certificate] = []
    public var errors: [String] = []
    public var keyLog: [String] = []
    public var conversation: TCPConversation?

    public var addressPort: String { address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)" }

    public var established: Bool { outcome == .established }

    /// The first fatal alert, if any.
    public var fatalAlert: TLSAlertEvent? { alerts.first { $0.isFatal } }

    /// The `openssl s_client` command that makes the same attempt.
    public var command: String {
        var parts = ["openssl", "s_client", "-connect", addressPort]
        if let serverName { parts += ["-servername", serverName] } else { parts.append("-noservername") }
        return parts.joined(separator: " ") + " </dev/null"
    }

    public var outcomeText: String {
        switch outcome {
        case .established:
            "\(version ?? "TLS") \(cipher ?? ""), verify \(verifyCode ?? 0) (\(verifyText ?? "ok"))"
        case .alert(let a):
            "fatal alert \(a.code) \(a.name) sent by the \(a.sender.rawValue)"
        case .refused: "connection refused"
        case .timedOut(let phase): "timed out \(phase)"
        case .notTLS(let preview): "not TLS: the server answered \(preview)"
        case .failed(let why): "failed: \(why)"
        }
    }

    public var asValue: Value {
        var v: [String: Value] = [
            "address": .string(address), "port": .int(port), "variant": .string(variant.description),
            "sni": serverName.map(Value.string) ?? .null, "outcome": .string(outcomeText),
            "established": .bool(established),
        ]
        if let connectMs { v["connect_ms"] = .number((connectMs * 100).rounded() / 100) }
        if let handshakeMs { v["handshake_ms"] = .number((handshakeMs * 100).rounded() / 100) }
        if let version { v["version"] = .string(version) }
        if let cipher { v["cipher"] = .string(cipher) }
        if let alpn { v["alpn"] = .string(alpn) }
        if let verifyCode { v["verify_code"] = .int(verifyCode); v["verify"] = .string(verifyText ?? "") }
        if let a = fatalAlert { v["alert"] = alertValue(a) }
        if !acceptableCAs.isEmpty { v["acceptable_cas"] = .list(acceptableCAs.map(Value.string)) }
        if let leaf = chain.first { v["leaf_sha256"] = .string(leaf.sha256) }
        return .object(v)
    }

    func alertValue(_ a: TLSAlertEvent) -> Value {
        ["code": .int(Int(a.code)), "name": .string(a.name), "sender": .string(a.sender.rawValue),
         "level": .string(a.isFatal ? "fatal" : "warning"), "variant": .string(variant.description),
         "address": .string(addressPort)]
    }
}
