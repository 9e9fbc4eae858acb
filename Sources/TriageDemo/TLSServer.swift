import Foundation
import Synchronization
import TriageKit
import TriageProbes
internal import COpenSSL
internal import CTriageShims
#if canImport(Glibc)
import Glibc
#endif

/// An in-process TLS server on a loopback address that behaves in a chosen
/// way: the upstream of `triage demo`, and the base of the test fixtures.
/// Each connection gets its own thread; `stop()` closes the listener.
public final class TLSServer: Sendable {
    public enum SNIBehaviour: Sendable {
        /// Serve the certificate whatever the client sends.
        case ignore
        /// Without SNI, abort the handshake with fatal alert 80 internal_error.
        case abortWithoutSNI
        /// Without SNI, serve this other chain and key.
        case defaultCertificate(chainPEM: String, keyPEM: String)
        /// Without SNI, serve this chain — or, once it has expired, abort with
        /// alert 80, as servers that refuse to present an expired certificate do.
        case defaultCertificateUnlessExpired(chainPEM: String, keyPEM: String)
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
            let n = triage_server_read(ssl, &buffer, Int32(max))
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
            bytes.isEmpty || triage_server_write(ssl, bytes, Int32(bytes.count)) == Int32(bytes.count)
        }

        @discardableResult
        public func write(_ text: String) -> Bool { write(Array(text.utf8)) }

        fileprivate func close() { triage_server_close(ssl) }
    }

    /// How a connection is served after the handshake.
    public typealias Handler = @Sendable (Connection, _ stopped: @Sendable () -> Bool) -> Void

    public let port: Int
    public let address: String
    private let listener: Int32
    private let context: Context
    private let stopped = Mutex(false)
    private let handler: Handler?

    /// Owns the SSL_CTX for the server's lifetime.
    private final class Context: @unchecked Sendable {
        let ctx: OpaquePointer
        init(_ ctx: OpaquePointer) { self.ctx = ctx }
        deinit { triage_ssl_ctx_free(ctx) }
    }

    /// `handler` nil: read the request and answer `200 OK`.
    public init(_ configuration: Configuration, address: String = "127.0.0.1", port: Int = 0, handler: Handler? = nil) throws {
        var defaultChain: String?, defaultKey: String?, mode: Int32 = 0
        switch configuration.sni {
        case .ignore: mode = 0
        case .abortWithoutSNI: mode = 1
        case .defaultCertificate(let chain, let key): mode = 2; defaultChain = chain; defaultKey = key
        case .defaultCertificateUnlessExpired(let chain, let key): mode = 4; defaultChain = chain; defaultKey = key
        case .onlyName(let name): mode = 3; defaultChain = name
        }
        guard let ctx = triage_server_ctx(configuration.chainPEM, configuration.keyPEM,
                                          Self.version(configuration.minVersion), Self.version(configuration.maxVersion),
                                          Int32(configuration.securityLevel), configuration.clientCAPEM, mode,
                                          defaultChain, defaultKey) else {
            throw ServerError(description: "cannot set up the TLS server: \(Self.drainErrors())")
        }
        context = Context(ctx)
        self.handler = handler
        // OpenSSL writes with write(2); a client that hangs up must not kill the process.
        signal(SIGPIPE, SIG_IGN)
        (listener, self.port) = try Self.listen(on: address, port: port)
        self.address = address
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    deinit { stop() }

    public var isStopped: Bool { stopped.withLock { $0 } }

    public func stop() {
        let wasStopped = stopped.withLock { s in defer { s = true }; return s }
        if !wasStopped { shutdown(listener, Int32(SHUT_RDWR)); close(listener) }
    }

    private func acceptLoop() {
        while !isStopped {
            var p = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 100) > 0 else { continue }
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { continue }
            let context = self.context
            let handler = self.handler
            let worker = Thread { [self] in
                defer { close(fd) }
                guard let handler else {
                    _ = triage_server_handle(context.ctx, fd, 5000)
                    return
                }
                guard let ssl = triage_server_accept(context.ctx, fd, 5000) else { return }
                let connection = Connection(ssl: ssl, fd: fd)
                handler(connection) { [self] in self.isStopped }
                connection.close()
            }
            worker.start()
        }
    }

    static func version(_ text: String?) -> Int32 {
        switch text?.lowercased().replacingOccurrences(of: "tlsv", with: "").replacingOccurrences(of: "tls", with: "") {
        case "1"?, "1.0"?: TLS1_VERSION
        case "1.1"?: TLS1_1_VERSION
        case "1.2"?: TLS1_2_VERSION
        case "1.3"?: TLS1_3_VERSION
        default: 0
        }
    }

    static func drainErrors() -> String {
        var out: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            out.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return out.joined(separator: "; ")
    }

    /// A listening socket on `port` (0: an ephemeral one).
    static func listen(on address: String, port: Int) throws -> (Int32, Int) {
        switch SocketAddress.bind(address, port: port) {
        case .success(let bound):
            guard Glibc.listen(bound.fd, 512) == 0 else {
                close(bound.fd)
                throw ServerError(description: "listening on \(address): \(String(cString: strerror(errno)))")
            }
            return (bound.fd, bound.port)
        case .failure(let error):
            throw ServerError(description: "listening on \(address):\(port): \(error.code)")
        }
    }
}

/// A fixture or demo server that could not start.
public struct ServerError: Error, CustomStringConvertible, Sendable {
    public var description: String
}
