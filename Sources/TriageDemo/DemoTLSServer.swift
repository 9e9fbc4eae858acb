import Foundation
import TriageProbes
internal import COpenSSL
internal import CTriageShims

/// The demo's upstream on a loopback address: it serves `chain` to clients
/// that send SNI and answers `200 OK`; a client without SNI gets the default
/// chain — or, once that has expired, fatal alert 80 internal_error, as
/// servers that refuse to present an expired certificate do.
public final class DemoTLSServer: Sendable {
    private let listener: LoopbackListener
    public var port: Int { listener.port }

    /// Owns the SSL_CTX for the server's lifetime.
    private final class Context: @unchecked Sendable {
        let ctx: OpaquePointer
        init(_ ctx: OpaquePointer) { self.ctx = ctx }
        deinit { triage_ssl_ctx_free(ctx) }
    }

    public init(chainPEM: String, keyPEM: String, defaultChainPEM: String, defaultKeyPEM: String, address: String = "127.0.0.1") throws {
        guard let ctx = triage_server_ctx(chainPEM, keyPEM, defaultChainPEM, defaultKeyPEM) else {
            throw ServerError(description: OpenSSLError.capture("setting up the TLS server").description)
        }
        let context = Context(ctx)
        listener = try LoopbackListener(address: address) { fd, _ in _ = triage_server_handle(context.ctx, fd, 5000) }
    }

    public func stop() { listener.stop() }
}
