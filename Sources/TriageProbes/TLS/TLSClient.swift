import Foundation
import TriageWire
internal import COpenSSL
internal import CTriageShims

/// What every attempt of one `tls.handshake` step shares.
public struct TLSClientOptions: Sendable {
    public var caFile: String?
    public var clientCertificate: String?
    public var clientKey: String?
    public var minVersion: String?
    public var maxVersion: String?
    public var alpn: [String] = []
    /// Per connection: TCP connect plus handshake.
    public var timeout: Duration = .seconds(5)
    /// How long to wait after a TLS 1.3 handshake for the server's first
    /// message (a NewSessionTicket, or the alert a server sends when it
    /// rejects the client's certificate only after the client's Finished).
    public var postHandshakeWait: Duration = .milliseconds(300)

    public init() {}

    /// `TLSv1.2`, `1.2`, `tls1.2` → the OpenSSL constant.
    static func version(_ text: String?) -> Int32? {
        guard let text else { return nil }
        switch text.lowercased().replacingOccurrences(of: "tlsv", with: "").replacingOccurrences(of: "tls", with: "") {
        case "1", "1.0": return TLS1_VERSION
        case "1.1": return TLS1_1_VERSION
        case "1.2": return TLS1_2_VERSION
        case "1.3": return TLS1_3_VERSION
        default: return nil
        }
    }
}

/// An OpenSSL client context, shared by the attempts of one step (loading
/// the trust store once).
final class TLSClientContext: @unchecked Sendable {
    let ctx: OpaquePointer

    init(_ options: TLSClientOptions) throws {
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { throw OpenSSLError.capture("SSL_CTX_new") }
        self.ctx = ctx
        // Verify, but never abort: the chain and the verify result are the evidence.
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        let loaded = options.caFile.map { SSL_CTX_load_verify_locations(ctx, $0, nil) } ?? SSL_CTX_set_default_verify_paths(ctx)
        if loaded != 1 { throw OpenSSLError.capture("loading the trust store \(options.caFile ?? "(system)")") }
        if let v = TLSClientOptions.version(options.minVersion) { triage_ctx_set_min_version(ctx, v) }
        if let v = TLSClientOptions.version(options.maxVersion) { triage_ctx_set_max_version(ctx, v) }
        if let cert = options.clientCertificate {
            guard SSL_CTX_use_certificate_chain_file(ctx, cert) == 1 else { throw OpenSSLError.capture("loading client certificate \(cert)") }
            guard SSL_CTX_use_PrivateKey_file(ctx, options.clientKey ?? cert, SSL_FILETYPE_PEM) == 1 else {
                throw OpenSSLError.capture("loading client key \(options.clientKey ?? cert)")
            }
        }
        if !options.alpn.isEmpty {
            var wire: [UInt8] = []
            for p in options.alpn { wire.append(UInt8(p.utf8.count)); wire += Array(p.utf8) }
            SSL_CTX_set_alpn_protos(ctx, wire, UInt32(wire.count))
        }
        SSL_CTX_set_keylog_callback(ctx) { ssl, line in
            guard let ssl, let line, let raw = SSL_get_ex_data(ssl, 0) else { return }
            Unmanaged<AttemptRecorder>.fromOpaque(raw).takeUnretainedValue().keyLog(String(cString: line))
        }
    }

    deinit { SSL_CTX_free(ctx) }
}

/// Collects what the message and key-log callbacks report for one attempt.
final class AttemptRecorder {
    var attempt: HandshakeAttempt
    let start = ContinuousClock.now
    var sawServerMessageAfterHandshake = false
    var handshakeDone = false

    init(_ attempt: HandshakeAttempt) { self.attempt = attempt }

    var elapsedMs: Double { (ContinuousClock.now - start).seconds * 1000 }

    func keyLog(_ line: String) { attempt.keyLog.append(line) }

    func message(sent: Bool, contentType: Int32, bytes: UnsafeRawBufferPointer) {
        let sender: Peer = sent ? .client : .server
        guard let type = ContentType(rawValue: UInt8(truncatingIfNeeded: contentType)), contentType < 256, !bytes.isEmpty else { return }
        var text = type.name
        switch type {
        case .handshake:
            let name = HandshakeType.name(bytes[0])
            text += " \(name)"
            if bytes[0] == 13, !sent { attempt.certificateRequested = true }
            if handshakeDone, !sent { sawServerMessageAfterHandshake = true }
        case .alert where bytes.count >= 2:
            let alert = TLSAlertEvent(sender: sender, level: bytes[0], code: bytes[1])
            attempt.alerts.append(alert)
            text += " \(alert.isFatal ? "fatal" : "warning") \(alert.name) (\(alert.code))"
        default:
            break
        }
        attempt.messages.append(TLSMessageEvent(sender: sender, description: text, atMs: (elapsedMs * 100).rounded() / 100))
    }
}
