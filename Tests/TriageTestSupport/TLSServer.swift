import Foundation
import TriageDemo
import TriageKit
import TriageProbes
internal import COpenSSL
internal import CTriageShims
internal import CTriageTestShims

/// An in-process TLS server on a loopback address that misbehaves in one
/// chosen way: the base of the test fixtures (test-only; the demo's upstream
/// is TriageDemo's DemoTLSServer). Each connection gets its own thread;
/// `stop()` closes the listener.
public final class TLSServer: Sendable {
    public enum SNIBehaviour: Sendable {
        /// Serve the certificate whatever the client sends.
        case ignore
        /// Without SNI, abort the handshake with fatal alert 80 internal_error.
        case abortWithoutSNI
        /// Without SNI, serve this other chain and key.
        case defaultCertificate(chainPEM: String, keyPEM: String)
        /// A server name other than this one gets fatal alert 112 unrecognized_name.
        case onlyName(String)
    }

    public struct Configuration: Sendable {
        /// Leaf first, then the intermediates to send.
        public var chainPEM: String
        public var keyPEM: String
        public var minVersion: String?
        public var maxVersion: String?
        /// 0 lets OpenSSL serve TLS 1.0 and RSA-1024; the default is OpenSSL's.
        public var securityLevel: Int = 1
        /// Require a client certificate issued by this CA.
        public var clientCAPEM: String?
        public var sni: SNIBehaviour = .ignore
        /// Wait this long after accepting a connection before the handshake (a slow upstream).
        public var handshakeDelay: Duration?
        /// Staple this OCSP response (DER) to handshakes that ask for one.
        public var ocspResponse: [UInt8]?
        /// ALPN as an HTTP/2-only server answers: h2 when offered; otherwise alert 120
        /// (`strict`) or the handshake goes on with no protocol (false).
        public var http2Only: Bool?
        /// The key-exchange groups the server accepts (OpenSSL's list: `P-256`, `X25519:P-384`); nil: OpenSSL's.
        public var groups: String?

        public init(chainPEM: String, keyPEM: String) {
            self.chainPEM = chainPEM
            self.keyPEM = keyPEM
        }
    }

    /// One accepted, handshaken connection, for servers that answer in their own way.
    public final class Connection: @unchecked Sendable {
        // Used only by the thread that accepted it.
        private let ssl: OpaquePointer
        public let fd: Int32

        fileprivate init(ssl: OpaquePointer, fd: Int32) {
            self.ssl = ssl
            self.fd = fd
        }

        /// Bytes of the request (nil: closed or failed).
        public func read(max: Int = 16_384) -> [UInt8]? {
            var buffer = [UInt8](repeating: 0, count: max)
            let n = triage_fixture_read(ssl, &buffer, Int32(max))
            return n > 0 ? Array(buffer[0..<Int(n)]) : nil
        }

        /// Reads until the end of the request headers (or `limit` bytes).
        public func readRequest(limit: Int = 65_536) -> String? {
            var text = ""
            while !text.contains("\r\n\r\n"), text.utf8.count < limit {
                guard let bytes = read() else { return text.isEmpty ? nil : text }
                text += String(decoding: bytes, as: UTF8.self)
            }
            return text
        }

        @discardableResult
        public func write(_ bytes: [UInt8]) -> Bool {
            bytes.isEmpty || triage_fixture_write(ssl, bytes, Int32(bytes.count)) == Int32(bytes.count)
        }

        @discardableResult
        public func write(_ text: String) -> Bool { write(Array(text.utf8)) }

        fileprivate func close() { triage_fixture_close(ssl) }
    }

    /// How a connection is served after the handshake.
    public typealias Handler = @Sendable (Connection, _ stopped: @Sendable () -> Bool) -> Void

    private let listener: LoopbackListener
    public var port: Int { listener.port }
    public var address: String { listener.address }

    /// Owns the SSL_CTX for the server's lifetime.
    private final class Context: @unchecked Sendable {
        let ctx: OpaquePointer
        init(_ ctx: OpaquePointer) { self.ctx = ctx }
        deinit { SSL_CTX_free(ctx) }
    }

    /// `handler` nil: read the request and answer `200 OK`.
    public init(_ configuration: Configuration, address: String = "127.0.0.1", port: Int = 0, handler: Handler? = nil) throws {
        var defaultChain: String?, defaultKey: String?, onlyName: String?
        let mode: triage_sni_mode
        switch configuration.sni {
        case .ignore: mode = TRIAGE_SNI_ANY
        case .abortWithoutSNI: mode = TRIAGE_SNI_ABORT
        case .defaultCertificate(let chain, let key): mode = TRIAGE_SNI_DEFAULT_CERT; defaultChain = chain; defaultKey = key
        case .onlyName(let name): mode = TRIAGE_SNI_ONLY_NAME; onlyName = name
        }
        guard let ctx = triage_fixture_server_ctx(configuration.chainPEM, configuration.keyPEM,
                                                  Self.version(configuration.minVersion), Self.version(configuration.maxVersion),
                                                  Int32(configuration.securityLevel), configuration.clientCAPEM, Int32(mode.rawValue),
                                                  defaultChain, defaultKey, onlyName) else {
            throw ServerError(description: OpenSSLError.capture("setting up the fixture TLS server").description)
        }
        if let strict = configuration.http2Only { triage_fixture_h2_only(ctx, strict ? 1 : 0) }
        if let groups = configuration.groups, triage_fixture_groups(ctx, groups) != 1 {
            SSL_CTX_free(ctx)
            throw ServerError(description: "the fixture server takes no groups '\(groups)'")
        }
        if let staple = configuration.ocspResponse { _ = staple.withUnsafeBufferPointer { triage_fixture_staple(ctx, $0.baseAddress, $0.count) } }
        let context = Context(ctx)
        let delay = configuration.handshakeDelay
        listener = try LoopbackListener(address: address, port: port) { fd, stopped in
            if let delay {
                let end = ContinuousClock.now + delay
                while ContinuousClock.now < end, !stopped() { usleep(20_000) }
            }
            guard let handler else {
                _ = triage_server_handle(context.ctx, fd, 5000)
                return
            }
            guard let ssl = triage_fixture_accept(context.ctx, fd, 5000) else { return }
            let connection = Connection(ssl: ssl, fd: fd)
            handler(connection, stopped)
            connection.close()
        }
    }

    public var isStopped: Bool { listener.isStopped }

    public func stop() { listener.stop() }

    static func version(_ text: String?) -> Int32 {
        switch text?.lowercased().replacingOccurrences(of: "tlsv", with: "").replacingOccurrences(of: "tls", with: "") {
        case "1"?, "1.0"?: TLS1_VERSION
        case "1.1"?: TLS1_1_VERSION
        case "1.2"?: TLS1_2_VERSION
        case "1.3"?: TLS1_3_VERSION
        default: 0
        }
    }
}

extension CertificateMint.Identity {
    /// An OCSP response for this certificate, signed by `issuer`: good, revoked (at `revokedAt`) or unknown.
    public enum OCSPStatus: Int32 { case good = 0, revoked = 1, unknown = 2 }
    public func ocspResponse(_ status: OCSPStatus, thisUpdate: Date, nextUpdate: Date, revokedAt: Date? = nil,
                             issuer: CertificateMint.Identity) throws -> [UInt8] {
        var length = 0
        guard let der = triage_fixture_ocsp_response(certificatePEM, issuer.certificatePEM, issuer.keyPEM, status.rawValue,
                                                     Int64(thisUpdate.timeIntervalSince1970), Int64(nextUpdate.timeIntervalSince1970),
                                                     Int64((revokedAt ?? thisUpdate).timeIntervalSince1970), &length) else {
            throw ServerError(description: "minting the OCSP response failed")
        }
        defer { free(der) }
        return Array(UnsafeBufferPointer(start: der, count: length))
    }

    /// The key, encrypted with `passphrase` (PEM PKCS#8, AES-256-CBC).
    public func encryptedKeyPEM(passphrase: String) throws -> String {
        guard let pem = triage_fixture_encrypted_key(keyPEM, passphrase) else { throw ServerError(description: "encrypting the key failed") }
        defer { free(pem) }
        return String(cString: pem)
    }

    /// This certificate issued again by `issuer` (a cross-sign): same subject, key and extensions.
    public func crossSigned(by issuer: CertificateMint.Identity) throws -> CertificateMint.Identity {
        guard let pem = triage_fixture_cross_sign(certificatePEM, issuer.certificatePEM, issuer.keyPEM) else {
            throw ServerError(description: "cross-signing the certificate failed")
        }
        defer { free(pem) }
        return try CertificateMint.Identity(certificatePEM: String(cString: pem), keyPEM: keyPEM)
    }

    /// This certificate with an authorityInfoAccess caIssuers and/or OCSP URL (as public
    /// CAs set them) and/or another extendedKeyUsage, signed again by `issuer`
    /// (nil: self-signed).
    public func extended(caIssuersURL: String? = nil, ocspURL: String? = nil, extendedKeyUsage: String? = nil, mustStaple: Bool = false,
                         crlURL: String? = nil, issuer: CertificateMint.Identity?) throws -> CertificateMint.Identity {
        guard let pem = triage_fixture_extend(certificatePEM, issuer?.certificatePEM, (issuer ?? self).keyPEM,
                                              caIssuersURL, ocspURL, extendedKeyUsage, mustStaple ? 1 : 0, crlURL) else {
            throw ServerError(description: "extending the certificate failed")
        }
        defer { free(pem) }
        return try CertificateMint.Identity(certificatePEM: String(cString: pem), keyPEM: keyPEM)
    }
}
