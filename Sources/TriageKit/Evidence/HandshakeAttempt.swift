import Foundation
import TriageWire

/// One TLS connection attempt to one endpoint with one SNI variant, and
/// everything it showed: what the diagnosis judges and the report quotes.
public struct HandshakeAttempt: Sendable {
    public enum Phase: String, Sendable, Hashable {
        case connecting, handshake, afterHandshake = "after-handshake"
    }

    public enum Outcome: Sendable, Hashable {
        case established
        /// A fatal alert ended the handshake (from either side: see its sender).
        case alert(TLSAlert)
        /// The server answered the SYN with RST (ECONNREFUSED).
        case refused
        /// No route, no address on this host, network down: the errno.
        case unreachable(Int32)
        case timedOut(Phase)
        /// The peer answered with bytes that are not TLS (a preview of them).
        case notTLS(String)
        /// The peer closed (FIN) before the handshake completed.
        case closed
        /// The peer reset (RST) the connection during the handshake.
        case reset
        /// The server sent more than a client accepts, or the same thing endlessly.
        case flood(FloodLimit)
        /// OpenSSL failed without an alert (a local error; see `failure`).
        case failed
        /// Never tried: this machine had no descriptor left (EMFILE/ENFILE) as long as it could wait.
        /// Says nothing about the endpoint.
        case noDescriptor(Int32)
    }

    /// The bound an attempt hit.
    public enum FloodLimit: Sendable, Hashable {
        case bytes(Int)
        case messages(Int)
    }

    public var server: Endpoint
    public var host: String
    public var variant: SNIVariant
    public var serverName: String?
    public var outcome: Outcome = .failed
    /// The OpenSSL error that ended it, when OpenSSL said one.
    public var failure: TLSFailure?
    public var connectMs: Double?
    public var handshakeMs: Double?
    public var version: String?
    public var cipher: String?
    public var alpn: String?
    /// The first messages in both directions (at most `messageLimit` kept).
    public var messages: [TLSMessageEvent] = []
    public var messageCount = 0
    public var bytesReceived = 0
    public var alerts: [TLSAlert] = []
    public var verifyCode: Int?
    public var verifyError: X509VerifyError?
    public var verifyText: String?
    /// The CA names the server listed in its CertificateRequest.
    public var acceptableCAs: [String] = []
    public var certificateRequested = false
    public var clientCertificateSent = false
    public var chain: [Certificate] = []
    /// OpenSSL's answer (X509_check_host / X509_check_ip) to whether the leaf names the host the attempt verified.
    public var nameMatches: Bool?
    public var keyLog: [String] = []
    public var conversation: TCPConversation?
    /// The path OpenSSL verified during the handshake (leaf to anchor), when it verified.
    public var verifiedChain: [Certificate] = []
    /// The OCSP response the server stapled (status_request), as it came.
    public var stapledResponse: [UInt8]?
    /// That response read and verified.
    public var staple: OCSPStaple?

    public static let messageLimit = 200

    public init(server: Endpoint, host: String, variant: SNIVariant, serverName: String?) {
        self.server = server
        self.host = host
        self.variant = variant
        self.serverName = serverName
    }

    public var established: Bool { outcome == .established }
    /// The TCP connection was made (the server is reachable).
    public var connected: Bool {
        switch outcome {
        case .refused, .unreachable, .timedOut(.connecting): false
        default: true
        }
    }

    /// The first fatal alert, if any.
    public var fatalAlert: TLSAlert? { alerts.first { $0.isFatal } }

    /// The last handshake message the server sent, e.g. `Handshake ServerHello`.
    public var lastServerMessage: String? { messages.last { $0.sender == .server }?.description }

    /// The `openssl s_client` command that makes the same attempt.
    public var command: String { command(options: []) }

    /// `openssl s_client` for this attempt, with the options the step used
    /// (`-CAfile`, `-cert`/`-key`, a pinned version).
    public func command(options: [String]) -> String {
        var parts = ["openssl", "s_client", "-connect", server.description]
        if let serverName { parts += ["-servername", serverName] } else { parts.append("-noservername") }
        return (parts + options.map(ShellQuote.quote)).joined(separator: " ") + " </dev/null"
    }

    /// The outcome in one sentence of the text tables.
    public var outcomeMessage: Message {
        switch outcome {
        case .established:
            return Message(.attemptEstablished, ["version": .string(version ?? "TLS"), "cipher": .string(cipher ?? ""),
                                                 "verify_code": .int(verifyCode ?? 0), "verify_text": Self.verifyText(verifyCode ?? 0, openssl: verifyText)])
        case .alert(let a): return Message(.attemptAlert, ["alert": .typed(.alert(a))])
        case .refused: return Message(.attemptRefused)
        case .unreachable(let errno): return Message(.attemptUnreachable, ["errno": .string(ErrorNumber.name(errno))])
        case .timedOut(let phase): return Message(.attemptTimedOut, ["phase": Message(phase.messageKey).value])
        case .notTLS(let preview): return Message(.attemptNotTLS, ["preview": .string(preview)])
        case .closed: return Message(.attemptClosed, ["last": .string(lastServerMessage ?? "—")])
        case .reset: return Message(.attemptReset, ["last": .string(lastServerMessage ?? "—")])
        case .flood(.bytes(let n)): return Message(.attemptFloodBytes, ["bytes": .int(n)])
        case .flood(.messages(let n)): return Message(.attemptFloodMessages, ["count": .int(n)])
        case .failed: return Message(.attemptFailed, ["error": .string(failure.map { "\($0.code) \($0.text)" } ?? "—")])
        case .noDescriptor(let errno): return Message(.attemptNoDescriptor, ["errno": .string(ErrorNumber.name(errno))])
        }
    }

    /// A verify result in the report's language (`x509.N`), OpenSSL's own text for a number the tables do not name.
    static func verifyText(_ code: Int, openssl: String?) -> Value {
        X509VerifyError(rawValue: code).flatMap { $0.meaning }.map { _ in Message(raw: "x509.\(code)").value } ?? .string(openssl ?? "ok")
    }

    /// `steps.handshake.outputs.attempts[i]`.
    public var plain: Value {
        var v: [String: Value] = [
            "address": .typed(.endpoint(server)), "variant": .string(variant.description),
            "sni": serverName.map(Value.string) ?? .null, "outcome": .string(outcomeCode),
            "established": .bool(established), "messages": .int(messageCount), "bytes_received": .int(bytesReceived),
        ]
        if let connectMs { v["connect_ms"] = .number((connectMs * 100).rounded() / 100) }
        if let handshakeMs { v["handshake_ms"] = .number((handshakeMs * 100).rounded() / 100) }
        if let version { v["version"] = .string(version) }
        if let cipher { v["cipher"] = .string(cipher) }
        if let alpn { v["alpn"] = .string(alpn) }
        if let verifyCode { v["verify_code"] = .int(verifyCode); v["verify"] = .string(verifyText ?? "") }
        if let a = fatalAlert { v["alert"] = .typed(.alert(a)) }
        if let failure { v["openssl_error"] = .string(failure.code) }
        if !acceptableCAs.isEmpty { v["acceptable_cas"] = .list(acceptableCAs.map(Value.string)) }
        if let leaf = chain.first { v["leaf_sha256"] = .string(leaf.sha256) }
        return .object(v)
    }

    /// A stable word for the outcome, for JSON and scan output.
    public var outcomeCode: String {
        switch outcome {
        case .established: "established"
        case .alert: "alert"
        case .refused: "refused"
        case .unreachable: "unreachable"
        case .timedOut: "timed-out"
        case .notTLS: "not-tls"
        case .closed: "closed"
        case .reset: "reset"
        case .flood: "flood"
        case .failed: "failed"
        case .noDescriptor: "no-descriptor"
        }
    }
}

extension HandshakeAttempt.Phase {
    var messageKey: MessageKey {
        switch self {
        case .connecting: .phaseConnecting
        case .handshake: .phaseHandshake
        case .afterHandshake: .phaseAfterHandshake
        }
    }
}

/// errno names, so a report says `ECONNREFUSED` rather than a number.
public enum ErrorNumber {
    public static func name(_ code: Int32) -> String {
        names[code] ?? "errno \(code)"
    }

    static let names: [Int32: String] = [
        1: "EPERM", 2: "ENOENT", 4: "EINTR", 5: "EIO", 9: "EBADF", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES",
        22: "EINVAL", 24: "EMFILE", 32: "EPIPE", 97: "EAFNOSUPPORT", 98: "EADDRINUSE", 99: "EADDRNOTAVAIL",
        100: "ENETDOWN", 101: "ENETUNREACH", 103: "ECONNABORTED", 104: "ECONNRESET", 110: "ETIMEDOUT",
        111: "ECONNREFUSED", 112: "EHOSTDOWN", 113: "EHOSTUNREACH",
    ]
}

/// A stapled OCSP response, read and verified for the leaf it came with.
public struct OCSPStaple: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable { case good, revoked, unknown, unusable }
    public var status: Status
    public var thisUpdate: Date?
    public var nextUpdate: Date?
    public var revokedAt: Date?
    /// Its signature verifies (by the issuer, or a responder it delegated to, chaining to the anchors).
    public var verified: Bool

    public init(status: Status, thisUpdate: Date?, nextUpdate: Date?, revokedAt: Date?, verified: Bool) {
        self.status = status
        self.thisUpdate = thisUpdate
        self.nextUpdate = nextUpdate
        self.revokedAt = revokedAt
        self.verified = verified
    }
}
