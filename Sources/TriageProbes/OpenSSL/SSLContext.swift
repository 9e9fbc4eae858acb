import Foundation
import TriageKit
internal import COpenSSL
internal import CTriageShims

/// What a client context is made of: trust, versions, client certificate, ALPN.
public struct TLSClientOptions: Sendable, Hashable {
    public var caFile: String?
    public var clientCertificate: String?
    public var clientKey: String?
    public var minVersion: String?
    public var maxVersion: String?
    public var alpn: [String] = []
    /// OpenSSL's security level; 0 lets this client speak TLS 1.0/1.1 to
    /// learn what a legacy server offers (the version matrix).
    public var securityLevel: Int?
    /// The verify depth (nginx's proxy_ssl_verify_depth); nil: OpenSSL's.
    public var verifyDepth: Int?
    /// Verify as of this time (`--at`) instead of now.
    public var verifyTime: Date?
    /// How long a chain that verified is remembered for the same bytes and name (triage_verify_cache.c); 0: not.
    public var verifyMemory: Duration = .seconds(60)
    /// Hand the handshakes' secrets to the observer (SSLKEYLOGFILE lines, for the run's evidence); off
    /// where nothing keeps them (scan, exporter): libssl formats each line byte by byte.
    public var keyLog = true

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

    public static func isVersion(_ text: String) -> Bool { version(text) != nil }
}

/// A client certificate and key checked before anything runs: a key that is encrypted, missing or
/// not the certificate's is bad input (exit 2, the reason and the fix), not a handshake that fails
/// later with OpenSSL's error queue.
public enum ClientIdentity {
    /// Why a certificate and key cannot be used, and whether it lies in the key's file (else the certificate's).
    public struct Problem: Error, CustomStringConvertible {
        public var description: String
        public var inKey: Bool
    }

    /// The certificate (PEM) and key (PEM; nil: in the certificate's file) made stable (`StableInput`:
    /// a pipe read once) and checked together: the paths every reader then opens.
    public static func stable(certificate: String, key: String?) throws(Problem) -> (certificate: String, key: String) {
        let stableCertificate: String, stableKey: String?
        do { stableCertificate = try StableInput.path(certificate, what: "the client certificate") } catch {
            throw Problem(description: error.description, inKey: false)
        }
        do { stableKey = try key.map { path throws(StableInput.Problem) in try StableInput.path(path, what: "the client key") } } catch {
            throw Problem(description: error.description, inKey: true)
        }
        if let problem = check(certificate: stableCertificate, key: stableKey) { throw problem }
        return (stableCertificate, stableKey ?? stableCertificate)
    }

    /// Why `certificate` and `key` (nil: in the certificate's file) cannot be used, or nil.
    static func check(certificate: String, key: String?) -> Problem? {
        let keyPath = key ?? certificate
        var err: Int32 = 0
        switch triage_check_client_identity(certificate, keyPath, &err) {
        case 0: return nil
        case 1: return Problem(description: "cannot read the client key \(keyPath): \(String(cString: strerror(err)))", inKey: true)
        case 2: return Problem(description: "the client key \(keyPath) is encrypted, and triage asks for no passphrase: decrypt a copy (openssl pkey -in \(keyPath) -out client.key) and give that", inKey: true)
        case 3: return Problem(description: "no private key in \(keyPath): expected a PEM key (BEGIN PRIVATE KEY, BEGIN EC PRIVATE KEY or BEGIN RSA PRIVATE KEY)" + (key == nil ? "; give the key's file with --key" : ""), inKey: true)
        case 4: return Problem(description: err != 0 ? "cannot read the client certificate \(certificate): \(String(cString: strerror(err)))"
                                                     : "no certificate in \(certificate): expected a PEM certificate (BEGIN CERTIFICATE)", inKey: false)
        default: return Problem(description: "the client key \(keyPath) is not the key of the certificate \(certificate)", inKey: true)
        }
    }
}

/// An OpenSSL client `SSL_CTX`, shared by the connections of one step or
/// scan (the trust store is loaded once). It verifies but never aborts on a
/// bad certificate: the chain and the verify result are the evidence.
final class SSLContext: @unchecked Sendable {
    // SSL_CTX is safe to share between threads once configured (OpenSSL 3).
    fileprivate let ctx: OpaquePointer

    init(_ options: TLSClientOptions) throws(OpenSSLError) {
        _ = triage_openssl_builtin_keys()   // OpenSSL 3.0's faster key route, before the trust store's keys (triage_keys.c)
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { throw OpenSSLError.capture("SSL_CTX_new") }
        self.ctx = ctx
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        let loaded = options.caFile.map { SSL_CTX_load_verify_locations(ctx, $0, nil) } ?? SSL_CTX_set_default_verify_paths(ctx)
        if loaded != 1 { throw OpenSSLError.capture("loading the trust store \(options.caFile ?? "(system)")") }
        if let level = options.securityLevel {
            SSL_CTX_set_security_level(ctx, Int32(level))
            if level == 0 { SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0") }
        }
        if let depth = options.verifyDepth { SSL_CTX_set_verify_depth(ctx, Int32(clamping: depth)) }
        if let at = options.verifyTime { X509_VERIFY_PARAM_set_time(SSL_CTX_get0_param(ctx), time_t(at.timeIntervalSince1970)) }
        if let v = TLSClientOptions.version(options.minVersion) { triage_ctx_set_min_version(ctx, v) }
        if let v = TLSClientOptions.version(options.maxVersion) { triage_ctx_set_max_version(ctx, v) }
        if let cert = options.clientCertificate {
            guard SSL_CTX_use_certificate_chain_file(ctx, cert) == 1 else { throw OpenSSLError.capture("loading the client certificate \(cert)") }
            // Read by triage_private_key_file, not OpenSSL's own file loader: a key usable by the
            // built-in methods OpenSSL 3.0 runs with here (triage_keys.c).
            let key = triage_private_key_file(options.clientKey ?? cert)
            defer { EVP_PKEY_free(key) }
            guard key != nil, SSL_CTX_use_PrivateKey(ctx, key) == 1 else {
                throw OpenSSLError.capture("loading the client key \(options.clientKey ?? cert)")
            }
        }
        if !options.alpn.isEmpty {
            var wire: [UInt8] = []
            for p in options.alpn { wire.append(UInt8(clamping: p.utf8.count)); wire += Array(p.utf8.prefix(255)) }
            SSL_CTX_set_alpn_protos(ctx, wire, UInt32(wire.count))
        }
        // A chain this context verified is not verified again for a minute when the same bytes come back
        // for the same name (triage_verify_cache.c: a tenth of a probe's CPU).
        _ = triage_verify_cache_install(ctx, Int32(clamping: options.verifyMemory.components.seconds))
        if options.keyLog {
            SSL_CTX_set_keylog_callback(ctx) { ssl, line in
                guard let ssl, let line, let raw = SSL_get_ex_data(ssl, 0) else { return }
                Unmanaged<SSLConnection.Observer>.fromOpaque(raw).takeUnretainedValue().keyLog(String(cString: line))
            }
        }
    }

    deinit { SSL_CTX_free(ctx) }

    /// How many chain verifications were answered from the context's memory, and how many OpenSSL ran.
    var verifications: (remembered: Int, verified: Int) {
        var hits: UInt = 0, misses: UInt = 0
        triage_verify_cache_counts(ctx, &hits, &misses)
        return (Int(hits), Int(misses))
    }

    fileprivate func withPointer<T>(_ body: (OpaquePointer) -> T) -> T { body(ctx) }
}

/// One client `SSL` over memory BIOs: OpenSSL never touches a socket, the
/// caller moves the bytes (so every wait has a deadline and every byte can
/// be recorded). Its message and key-log callbacks report to an `Observer`.
final class SSLConnection {
    /// Receives what OpenSSL's callbacks see; lives as long as the connection.
    class Observer {
        /// A TLS message (after decryption) in either direction.
        func message(sent: Bool, contentType: UInt8, bytes: UnsafeRawBufferPointer, tls13: Bool) {}
        func keyLog(_ line: String) {}
    }

    enum Progress {
        case done
        case wantRead
        case failed([OpenSSLError.Entry])
    }

    enum ReadResult {
        case data(Int)
        case wantRead
        /// close_notify or a fatal alert.
        case closed([OpenSSLError.Entry])
    }

    private let ssl: OpaquePointer
    private let rbio: OpaquePointer
    private let wbio: OpaquePointer
    /// Not owned: the observer (a handshake session) owns this connection,
    /// and a strong reference back made every session, its socket and its
    /// SSL live forever (2,000 probes held 2,019 descriptors and 274 MB).
    /// OpenSSL calls back only while the connection lives, so while the observer does.
    private unowned let observer: Observer

    init(context: SSLContext, serverName: String?, verifyName: String, addressAsName: Bool = false, verifyTime: Date? = nil,
         observer: Observer) throws(OpenSSLError) {
        guard let ssl = context.withPointer({ SSL_new($0) }) else { throw OpenSSLError.capture("SSL_new") }
        guard let rbio = BIO_new(BIO_s_mem()), let wbio = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw OpenSSLError.capture("BIO_new")
        }
        self.ssl = ssl
        self.rbio = rbio
        self.wbio = wbio
        self.observer = observer
        SSL_set_bio(ssl, rbio, wbio)   // the SSL owns both BIOs from here
        SSL_set_ex_data(ssl, 0, Unmanaged.passUnretained(observer).toOpaque())
        SSL_set_msg_callback(ssl) { writeP, _, contentType, buffer, length, ssl, _ in
            guard let ssl, let buffer, let raw = SSL_get_ex_data(ssl, 0), contentType > 0, contentType < 256 else { return }
            Unmanaged<Observer>.fromOpaque(raw).takeUnretainedValue()
                .message(sent: writeP == 1, contentType: UInt8(contentType), bytes: UnsafeRawBufferPointer(start: buffer, count: length),
                         tls13: SSL_version(ssl) == TLS1_3_VERSION)
        }
        if let serverName { triage_ssl_set_sni(ssl, serverName) }
        // Ask for a stapled OCSP response (status_request): revocation and must-staple are judged from it.
        triage_ssl_request_status(ssl)
        let bare = ChainVerifier.bare(verifyName)
        if HostAddresses.isIPLiteral(bare), !addressAsName {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), bare)
        } else {
            SSL_set1_host(ssl, bare)
        }
        if let verifyTime { X509_VERIFY_PARAM_set_time(SSL_get0_param(ssl), time_t(verifyTime.timeIntervalSince1970)) }
        SSL_set_connect_state(ssl)
    }

    deinit { SSL_free(ssl) }

    func handshake() -> Progress {
        OpenSSLError.clear()
        let rc = SSL_do_handshake(ssl)
        if rc == 1 { return .done }
        switch SSL_get_error(ssl, rc) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .wantRead
        default: return .failed(OpenSSLError.drain())
        }
    }

    /// Reads application data (discarded); what matters is what OpenSSL sees on the way.
    func read() -> ReadResult {
        OpenSSLError.clear()
        var buffer = [UInt8](repeating: 0, count: 4096)
        let rc = SSL_read(ssl, &buffer, Int32(buffer.count))
        if rc > 0 { return .data(Int(rc)) }
        switch SSL_get_error(ssl, rc) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .wantRead
        default: return .closed(OpenSSLError.drain())
        }
    }

    /// Hands bytes received from the server to OpenSSL.
    func feed(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        _ = BIO_write(rbio, bytes.baseAddress, Int32(bytes.count))
    }

    /// The bytes OpenSSL wants sent to the server.
    func takeOutput() -> [UInt8] {
        let pending = triage_bio_pending(wbio)
        guard pending > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: pending)
        let n = BIO_read(wbio, &bytes, Int32(pending))
        return n > 0 ? Array(bytes.prefix(Int(n))) : []
    }

    func shutdown() {
        OpenSSLError.clear()
        SSL_shutdown(ssl)
        OpenSSLError.clear()
    }

    var isTLS13: Bool { SSL_version(ssl) == TLS1_3_VERSION }
    var isFinished: Bool { SSL_is_init_finished(ssl) == 1 }
    var version: String? { SSL_get_version(ssl).map { String(cString: $0) } }
    var cipher: String? { SSL_get_current_cipher(ssl).map { String(cString: SSL_CIPHER_get_name($0)) } }

    /// The OCSP response the server stapled, if any.
    var stapledResponse: [UInt8]? {
        var p: UnsafePointer<UInt8>?
        let n = triage_ssl_status_response(ssl, &p)
        guard n > 0, let p else { return nil }
        return Array(UnsafeBufferPointer(start: p, count: n))
    }

    var alpn: String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// The verify result: OpenSSL's number, its name, its text.
    var verifyResult: (code: Int, error: X509VerifyError, text: String) {
        let code = Int(SSL_get_verify_result(ssl))
        return (code, ChainVerifier.name(code), ChainVerifier.text(code))
    }

    var peerChain: [Certificate] { X509Certificate.certificates(of: SSL_get_peer_cert_chain(ssl)) }
    /// The path OpenSSL built and verified during the handshake.
    var verifiedChain: [Certificate] { X509Certificate.certificates(of: SSL_get0_verified_chain(ssl)) }

    /// Whether the server's leaf names `name`, by OpenSSL (X509_check_ip_asc for an address, X509_check_host
    /// otherwise, with the SAN rules of RFC 6125: a NUL or a control byte in a name matches nothing).
    func peerMatches(_ name: String, addressAsName: Bool = false) -> Bool? {
        guard let leaf = SSL_get0_peer_certificate(ssl) else { return nil }
        let bare = ChainVerifier.bare(name)
        if HostAddresses.isIPLiteral(bare), !addressAsName { return X509_check_ip_asc(leaf, bare, 0) == 1 }
        return X509_check_host(leaf, bare, bare.utf8.count, 0, nil) == 1
    }

    /// The CA names of the server's CertificateRequest.
    var acceptableCAs: [String] {
        guard let names = SSL_get_client_CA_list(ssl) else { return [] }
        return (0..<triage_sk_x509_name_num(names)).compactMap { i in
            triage_sk_x509_name_value(names, i).flatMap { takeString(triage_x509_name($0)) }
        }
    }
}
