import Foundation
import TriageWire
#if canImport(Glibc)
import Glibc
#endif

/// A non-blocking TCP socket to an endpoint, for loops that poll many at
/// once: connect starts and returns, reads and writes never wait.
final class TCPSocket {
    enum ConnectStart {
        case connected
        case inProgress
        case failed(Int32)
    }

    enum ReadResult {
        case data(Int)
        case wouldBlock
        case closed
        case failed(Int32)
    }

    let fd: Int32
    let remote: Endpoint

    init(to remote: Endpoint) throws(POSIXError) {
        let family = remote.address.isV6 ? AF_INET6 : AF_INET
        let fd = socket(family, Int32(Glibc.SOCK_STREAM.rawValue) | Int32(Glibc.SOCK_NONBLOCK.rawValue) | Int32(Glibc.SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EMFILE) }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        self.fd = fd
        self.remote = remote
    }

    deinit { close(fd) }

    func connect() -> ConnectStart {
        guard let target = SocketAddress(remote.address.description, port: Int(remote.port)) else { return .failed(EINVAL) }
        let rc = target.withSockaddr { Glibc.connect(fd, $0, $1) }
        if rc == 0 { return .connected }
        return errno == EINPROGRESS ? .inProgress : .failed(errno)
    }

    /// SO_ERROR after a non-blocking connect signalled writable.
    var pendingError: Int32 {
        var error: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size)
        return error
    }

    /// Writes what it can; returns the bytes written (0 when it would block), or the errno.
    func write(_ bytes: ArraySlice<UInt8>) -> Result<Int, POSIXError> {
        guard !bytes.isEmpty else { return .success(0) }
        let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if n >= 0 { return .success(n) }
        if errno == EAGAIN || errno == EINTR { return .success(0) }
        return .failure(POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO))
    }

    func read(into buffer: inout [UInt8]) -> ReadResult {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 { return .data(n) }
        if n == 0 { return .closed }
        if errno == EAGAIN || errno == EINTR { return .wouldBlock }
        return .failed(errno)
    }

    func shutdownWrite() { Glibc.shutdown(fd, Int32(SHUT_WR)) }

    /// This end's endpoint (getsockname).
    var local: Endpoint? { Self.endpoint(fd, getsockname) }

    private static func endpoint(_ fd: Int32, _ call: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32) -> Endpoint? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        guard withUnsafeMutablePointer(to: &storage, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call(fd, $0, &length) } }) == 0 else { return nil }
        if storage.ss_family == sa_family_t(AF_INET6) {
            let sin6 = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in6.self) }
            return IPAddress(bytes: withUnsafeBytes(of: sin6.sin6_addr) { Array($0) }).map { Endpoint($0, port: UInt16(bigEndian: sin6.sin6_port)) }
        }
        let sin = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in.self) }
        return IPAddress(bytes: withUnsafeBytes(of: sin.sin_addr) { Array($0) }).map { Endpoint($0, port: UInt16(bigEndian: sin.sin_port)) }
    }
}
