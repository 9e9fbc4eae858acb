import Foundation
import Synchronization
internal import COpenSSL
internal import CTriageShims
#if canImport(Glibc)
import Glibc
#endif

/// An in-process TLS server on 127.0.0.1 that misbehaves in a chosen way:
/// the upstream of `triage demo` and of the TLS tests. Each connection gets
/// its own thread; `stop()` closes the listener.
public final class FixtureTLSServer: Sendable {
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

        public init(chainPEM: String, keyPEM: String) {
            self.chainPEM = chainPEM
            self.keyPEM = keyPEM
        }
    }

    public let port: Int
    public let address: String
    private let listener: Int32
    private let context: Context
    private let stopped = Mutex(false)

    /// Owns the SSL_CTX for the server's lifetime.
    private final class Context: @unchecked Sendable {
        let ctx: OpaquePointer
        init(_ ctx: OpaquePointer) { self.ctx = ctx }
        deinit { SSL_CTX_free(ctx) }
    }

    public init(_ configuration: Configuration, address: String = "127.0.0.1", port: Int = 0) throws {
        var defaultChain: String?, defaultKey: String?, mode: Int32 = 0
        switch configuration.sni {
        case .ignore: mode = 0
        case .abortWithoutSNI: mode = 1
        case .defaultCertificate(let chain, let key): mode = 2; defaultChain = chain; defaultKey = key
        case .onlyName(let name): mode = 3; defaultChain = name
        }
        guard let ctx = triage_server_ctx(configuration.chainPEM, configuration.keyPEM,
                                          TLSClientOptions.version(configuration.minVersion) ?? 0,
                                          TLSClientOptions.version(configuration.maxVersion) ?? 0,
                                          Int32(configuration.securityLevel), configuration.clientCAPEM, mode,
                                          defaultChain, defaultKey) else {
            throw OpenSSLError.capture("setting up the fixture TLS server")
        }
        context = Context(ctx)
        // OpenSSL writes with write(2); a client that hangs up must not kill the process.
        signal(SIGPIPE, SIG_IGN)
        (listener, self.port) = try Self.listen(on: address, port: port)
        self.address = address
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    deinit { stop() }

    public func stop() {
        let wasStopped = stopped.withLock { s in defer { s = true }; return s }
        if !wasStopped { shutdown(listener, Int32(SHUT_RDWR)); close(listener) }
    }

    private func acceptLoop() {
        while !stopped.withLock({ $0 }) {
            var p = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 100) > 0 else { continue }
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { continue }
            let context = self.context
            let worker = Thread {
                _ = triage_server_handle(context.ctx, fd, 5000)
                close(fd)
            }
            worker.start()
        }
    }

    /// A listening socket on `port` (0: an ephemeral one).
    static func listen(on address: String, port: Int) throws -> (Int32, Int) {
        switch SocketAddress.bind(address, port: port) {
        case .success(let bound):
            guard Glibc.listen(bound.fd, 64) == 0 else {
                close(bound.fd)
                throw OpenSSLError(operation: "listening on \(address)", queue: [String(cString: strerror(errno))])
            }
            return (bound.fd, bound.port)
        case .failure(let error):
            throw OpenSSLError(operation: "listening on \(address):\(port)", queue: ["\(error.code)"])
        }
    }
}
