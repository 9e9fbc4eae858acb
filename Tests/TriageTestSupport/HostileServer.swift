import Foundation
import Synchronization
import TriageDemo
import TriageKit
import TriageProbes
#if canImport(Glibc)
import Glibc
#endif

/// A server on 127.0.0.1 that breaks in one chosen way, for the rows of the
/// "what does triage say" table: below TLS (close, reset, garbage after the
/// ClientHello, floods) with raw bytes, above it (a TLS server whose HTTP
/// answer stalls, never ends, is huge or loops) with a real OpenSSL server.
public final class HostileServer: Sendable {
    public enum Mode: Sendable {
        /// Accept, then close at once.
        case closeAfterAccept
        /// Accept, then reset (RST) at once.
        case resetAfterAccept
        /// Read the ClientHello, then reset.
        case resetAfterClientHello
        /// Read the ClientHello, then write these bytes once and hold the connection.
        case reply([UInt8])
        /// Read the ClientHello, then write these bytes again and again.
        case flood([UInt8])
        /// A forward proxy that refuses: reads a request (curl's `CONNECT`) and answers 407 with
        /// it echoed, its `Proxy-Authorization` also in a response header of another name.
        case echoProxyRequest
        /// A real TLS server whose HTTP side misbehaves.
        case tls(HTTPBehaviour)
    }

    public enum HTTPBehaviour: Sendable, Hashable {
        /// Completes the handshake, reads the request, never answers.
        case silent
        /// Answers 200 with a body that never ends.
        case endlessBody
        /// Answers 200 with a body of this many bytes, its Content-Length declared (a large download).
        case largeBody(Int)
        /// Answers 200 and then one body byte per second.
        case slowBody
        /// Sends the response headers one byte every 200 ms.
        case dripHeaders
        /// Answers with this many bytes of headers.
        case hugeHeaders(Int)
        /// Redirects every request to a new path on itself.
        case redirectLoop
        /// Answers 200 with the request's headers as the body.
        case echoHeaders
        /// Answers 200 this many milliseconds after the request (an upstream slower than a proxy's read timeout).
        case delayedAnswer(milliseconds: Int)
        /// Answers with this status.
        case status(Int)
        /// Answers the status given for the request's path and query (`/broken?x=1`), 404 for any other.
        case statusByPath([String: Int])
        /// Answers with this status, these headers and this body (keep-alive, as upstreams behind nginx do).
        case answer(Int, headers: [String], body: String)
        /// Answers 200 with a `Set-Cookie` of this many bytes (a response header nginx's default buffer cannot hold).
        case bigCookie(Int)
        /// Declares a body of `declared` bytes, sends `sent`, closes.
        case shortBody(declared: Int, sent: Int)
        /// Speaks HTTP/2 only (ALPN h2, else none): answers an HTTP/2 request 200 (a gRPC one's
        /// content type when `grpc`), and anything else with a GOAWAY frame, as h2-only servers do.
        case http2Only(grpc: Bool)
        /// Answers a connection's first request 200 with `Keep-Alive: timeout=N`, and closes on its
        /// next one without answering: a kept-alive connection the upstream closed as the proxy reused it.
        case keepAliveThenClose(timeout: Int)
    }

    /// TLS records, for the raw modes.
    public enum Records {
        public static let fatalAlert90: [UInt8] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 90]
        public static let warningAlert: [UInt8] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 112]
        public static let changeCipherSpec: [UInt8] = [0x14, 0x03, 0x03, 0x00, 0x01, 0x01]
        public static let helloRequest: [UInt8] = [0x16, 0x03, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00]
        /// A ServerHello whose header announces 16 MB.
        public static let sixteenMegabyteMessage: [UInt8] = [0x16, 0x03, 0x03, 0x00, 0x04, 0x02, 0xFF, 0xFF, 0xFF]
    }

    public let port: Int
    private let listener: Int32
    private let stopFlag = CancelFlag()
    private let tlsServer: TLSServer?

    /// `names`: the TLS server's certificate names these instead of `TLSFixtures.host`.
    public init(_ mode: Mode, names: [String]? = nil) throws {
        if case .tls(let behaviour) = mode {
            let root = try TLSFixtures.root()
            let leaf = try names.map { try TLSFixtures.leaf($0[0], sans: $0, issuer: root) } ?? TLSFixtures.leaf(issuer: root)
            caFile = try TLSFixtures.file(root.certificatePEM)
            let server = try TLSFixtures.server(chain: [leaf], key: leaf) { configuration in
                configuration.maxVersion = "TLSv1.3"
                if case .http2Only = behaviour { configuration.http2Only = false }
            } handler: { connection, stopped in
                Self.serve(behaviour, connection, stopped)
            }
            tlsServer = server
            port = server.port
            listener = -1
            return
        }
        caFile = nil
        tlsServer = nil
        let bound = try SocketAddress.bind().get()
        guard listen(bound.fd, 64) == 0 else { throw POSIXError(.EADDRINUSE) }
        listener = bound.fd
        port = bound.port
        let (fd, stop) = (bound.fd, stopFlag)
        Thread {
            while !stop.isCancelled {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, 100) > 0 else { continue }
                let client = accept(fd, nil, nil)
                guard client >= 0 else { continue }
                Thread { Self.serveRaw(mode, client, stop) }.start()
            }
            close(fd)
        }.start()
    }

    /// The CA that signed a `.tls` server's certificate.
    public let caFile: String?

    deinit { stop() }

    public func stop() {
        stopFlag.cancel()
        tlsServer?.stop()
    }

    static func reset(_ fd: Int32) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(fd)
    }

    static func serveRaw(_ mode: Mode, _ fd: Int32, _ stop: CancelFlag) {
        @discardableResult func readSome() -> [UInt8] {
            var buffer = [UInt8](repeating: 0, count: 16_384)
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 2000) > 0 else { return [] }
            let n = recv(fd, &buffer, buffer.count, 0)
            return Array(buffer.prefix(max(0, n)))
        }
        switch mode {
        case .closeAfterAccept:
            close(fd)
        case .resetAfterAccept:
            reset(fd)
        case .resetAfterClientHello:
            readSome()
            reset(fd)
        case .reply(let bytes):
            readSome()
            _ = send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL))
            while !stop.isCancelled { usleep(50_000) }
            close(fd)
        case .flood(let bytes):
            readSome()
            let chunk = Array(repeating: bytes, count: max(1, 4096 / bytes.count)).flatMap { $0 }
            while !stop.isCancelled, send(fd, chunk, chunk.count, Int32(MSG_NOSIGNAL)) > 0 {}
            close(fd)
        case .echoProxyRequest:
            let request = String(decoding: readSome(), as: UTF8.self)
            let authorization = request.split(separator: "\r\n").first { $0.lowercased().hasPrefix("proxy-authorization:") }
                .map { "X-Echo-Proxy-Auth:" + $0.dropFirst("proxy-authorization:".count) + "\r\n" } ?? ""
            let answer = Array(("HTTP/1.1 407 Proxy Authentication Required\r\n\(authorization)Content-Length: \(request.utf8.count)\r\n"
                + "Connection: close\r\n\r\n\(request)").utf8)
            _ = send(fd, answer, answer.count, Int32(MSG_NOSIGNAL))
            close(fd)
        case .tls:
            close(fd)
        }
    }

    static func serve(_ behaviour: HTTPBehaviour, _ c: TLSServer.Connection, _ stopped: @Sendable () -> Bool) {
        guard let request = c.readRequest() else { return }
        func hold() { while !stopped() { usleep(50_000) } }
        switch behaviour {
        case .silent:
            hold()
        case .endlessBody:
            guard c.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n") else { return }
            let chunk = [UInt8](repeating: 0x61, count: 16_384)
            while !stopped(), c.write(chunk) {}
        case .largeBody(let size):
            guard c.write("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: \(size)\r\n\r\n") else { return }
            let chunk = [UInt8](repeating: 0x61, count: 65_536)
            var left = size
            while left > 0, !stopped(), c.write(Array(chunk.prefix(left))) { left -= min(left, chunk.count) }
        case .slowBody:
            guard c.write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n") else { return }
            while !stopped(), c.write("x") { sleep(1) }
        case .dripHeaders:
            for byte in Array("HTTP/1.1 200 OK\r\nX-Slow: ".utf8) + Array(repeating: UInt8(0x61), count: 10_000) {
                if stopped() || !c.write([byte]) { return }
                usleep(200_000)
            }
        case .hugeHeaders(let size):
            var text = "HTTP/1.1 200 OK\r\n"
            var n = 0
            while text.utf8.count < size { text += "X-Filler-\(n): \(String(repeating: "y", count: 200))\r\n"; n += 1 }
            _ = c.write(text + "Content-Length: 0\r\n\r\n")
            hold()
        case .redirectLoop:
            let path = request.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
            _ = c.write("HTTP/1.1 302 Found\r\nLocation: \(path)x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        case .echoHeaders:
            // As the request came, then as JSON (`"Authorization": "Basic …"`, httpbin's form), and its
            // Authorization again in a response header of another name.
            let lines = request.split(separator: "\r\n").dropFirst()
            let json = lines.compactMap { line -> String? in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return "  \"\(line[..<colon])\": \"\(line[line.index(after: colon)...].drop { $0 == " " })\""
            }
            let body = request + "{\n" + json.joined(separator: ",\n") + "\n}\n"
            let authorization = lines.first { $0.lowercased().hasPrefix("authorization:") }
                .map { "X-Echo-Auth:" + $0.dropFirst("authorization:".count) + "\r\n" } ?? ""
            _ = c.write("HTTP/1.1 200 OK\r\n\(authorization)Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
        case .delayedAnswer(let ms):
            let until = ContinuousClock.now + .milliseconds(ms)
            while ContinuousClock.now < until, !stopped() { usleep(20_000) }
            _ = c.write("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
        case .status(let status):
            _ = c.write("HTTP/1.1 \(status) Status\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        case .statusByPath(let statuses):
            let path = request.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
            _ = c.write("HTTP/1.1 \(statuses[path] ?? 404) Status\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        case .answer(let status, let headers, let body):
            var request: String? = request
            while request != nil {
                let head = (["HTTP/1.1 \(status) \(status >= 500 ? "Bad Gateway" : "OK")", "Content-Length: \(body.utf8.count)"] + headers)
                    .joined(separator: "\r\n")
                guard c.write(head + "\r\n\r\n" + body) else { return }
                request = c.readRequest()
            }
        case .bigCookie(let size):
            var request: String? = request
            while request != nil {
                let cookie = "session=" + String(repeating: "c", count: max(0, size - 8))
                guard c.write("HTTP/1.1 200 OK\r\nSet-Cookie: \(cookie)\r\nContent-Length: 3\r\n\r\nok\n") else { return }
                request = c.readRequest()
            }
        case .shortBody(let declared, let sent):
            _ = c.write("HTTP/1.1 200 OK\r\nContent-Length: \(declared)\r\n\r\n" + String(repeating: "b", count: sent))
        case .keepAliveThenClose(let timeout):
            guard c.write("HTTP/1.1 200 OK\r\nKeep-Alive: timeout=\(timeout)\r\nContent-Length: 3\r\n\r\nok\n") else { return }
            _ = c.readRequest()
        case .http2Only(let grpc):
            func frame(_ type: UInt8, flags: UInt8, stream: UInt32, _ payload: [UInt8]) -> [UInt8] {
                let n = payload.count
                return [UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF), type, flags,
                        UInt8(stream >> 24 & 0x7F), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF)] + payload
            }
            guard request.hasPrefix("PRI * HTTP/2.0") else {
                // GOAWAY, last stream 0, PROTOCOL_ERROR (1).
                _ = c.write(frame(0x4, flags: 0, stream: 0, []) + frame(0x7, flags: 0, stream: 0, [0, 0, 0, 0, 0, 0, 0, 1]))
                return
            }
            // HPACK: ":status: 200" is static entry 8; content-type (entry 31) as a literal without indexing.
            var block: [UInt8] = [0x88]
            if grpc { block += [0x0F, 0x10, UInt8("application/grpc".utf8.count)] + Array("application/grpc".utf8) }
            _ = c.write(frame(0x4, flags: 0, stream: 0, []) + frame(0x4, flags: 0x1, stream: 0, [])
                        + frame(0x1, flags: 0x5, stream: 1, block))
            usleep(200_000)
        }
    }
}
