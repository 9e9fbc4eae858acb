import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A non-blocking TCP connection where every operation takes a deadline,
/// and a shared flag cancels it within a poll slice (100 ms).
final class TCPClient {
    enum Failure: Error, Equatable, CustomStringConvertible {
        case refused
        case timedOut(String)
        case cancelled
        case system(String, Int32)

        var description: String {
            switch self {
            case .refused: "connection refused"
            case .timedOut(let phase): "timed out \(phase)"
            case .cancelled: "cancelled"
            case .system(let call, let code): "\(call): \(String(cString: strerror(code)))"
            }
        }
    }

    let fd: Int32
    let local: (address: [UInt8], port: UInt16)
    let remote: (address: [UInt8], port: UInt16)

    private init(fd: Int32, local: (address: [UInt8], port: UInt16), remote: (address: [UInt8], port: UInt16)) {
        self.fd = fd
        self.local = local
        self.remote = remote
    }

    deinit { close(fd) }

    /// Connects to an IP literal.
    static func connect(to address: String, port: Int, deadline: ContinuousClock.Instant,
                        isCancelled: () -> Bool) throws(Failure) -> TCPClient {
        guard let target = SocketAddress(address, port: port) else { throw .system("inet_pton(\(address))", EINVAL) }
        let fd = socket(target.family, Int32(Glibc.SOCK_STREAM.rawValue) | Int32(Glibc.SOCK_NONBLOCK.rawValue) | Int32(Glibc.SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system("socket", errno) }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let rc = target.withSockaddr { Glibc.connect(fd, $0, $1) }
        if rc != 0 {
            guard errno == EINPROGRESS else {
                let code = errno
                close(fd)
                throw code == ECONNREFUSED ? .refused : .system("connect", code)
            }
            do {
                try wait(fd, for: Int16(POLLOUT), until: deadline, phase: "connecting", isCancelled: isCancelled)
            } catch {
                close(fd)
                throw error
            }
            var error: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size)
            if error != 0 {
                close(fd)
                throw error == ECONNREFUSED ? .refused : .system("connect", error)
            }
        }
        return TCPClient(fd: fd, local: endpoint(fd, getsockname), remote: endpoint(fd, getpeername))
    }

    func send(_ bytes: [UInt8], deadline: ContinuousClock.Instant, isCancelled: () -> Bool) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 { offset += n; continue }
            if n < 0, errno == EAGAIN || errno == EINTR {
                try Self.wait(fd, for: Int16(POLLOUT), until: deadline, phase: "sending", isCancelled: isCancelled)
                continue
            }
            throw .system("send", errno)
        }
    }

    /// Reads what is available; an empty result means the peer closed.
    func receive(deadline: ContinuousClock.Instant, phase: String, isCancelled: () -> Bool) throws(Failure) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n >= 0 { return Array(buffer[0..<n]) }
            if errno == EAGAIN || errno == EINTR {
                try Self.wait(fd, for: Int16(POLLIN), until: deadline, phase: phase, isCancelled: isCancelled)
                continue
            }
            if errno == ECONNRESET { throw .system("recv", ECONNRESET) }
            throw .system("recv", errno)
        }
    }

    func shutdownWrite() { Glibc.shutdown(fd, Int32(SHUT_WR)) }

    static func wait(_ fd: Int32, for events: Int16, until deadline: ContinuousClock.Instant, phase: String,
                     isCancelled: () -> Bool) throws(Failure) {
        while true {
            if isCancelled() { throw .cancelled }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { throw .timedOut(phase) }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let slice = min(100, max(1, Int32(left.seconds * 1000)))
            let rc = poll(&p, 1, slice)
            if rc > 0 { return }
            if rc < 0, errno != EINTR { throw .system("poll", errno) }
        }
    }

    private static func endpoint(_ fd: Int32, _ call: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32)
        -> (address: [UInt8], port: UInt16) {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call(fd, $0, &length) } }
        if storage.ss_family == sa_family_t(AF_INET6) {
            let sin6 = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in6.self) }
            return (withUnsafeBytes(of: sin6.sin6_addr) { Array($0) }, UInt16(bigEndian: sin6.sin6_port))
        }
        let sin = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in.self) }
        return (withUnsafeBytes(of: sin.sin_addr) { Array($0) }, UInt16(bigEndian: sin.sin_port))
    }
}
