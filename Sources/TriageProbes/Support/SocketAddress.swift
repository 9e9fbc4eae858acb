import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 socket address from text, and the few socket chores the
/// probes, fixtures and tests all need — in one place.
public struct SocketAddress {
    public var storage: sockaddr_storage
    public var length: socklen_t
    public var family: Int32

    /// `nil` unless `address` is an IP literal.
    public init?(_ address: String, port: Int) {
        var storage = sockaddr_storage()
        if address.contains(":") {
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET6, address, &sin6.sin6_addr) == 1 else { return nil }
            withUnsafeBytes(of: sin6) { src in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) } }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            family = AF_INET6
        } else {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = in_port_t(UInt16(port).bigEndian)
            guard inet_pton(AF_INET, address, &sin.sin_addr) == 1 else { return nil }
            withUnsafeBytes(of: sin) { src in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) } }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            family = AF_INET
        }
        self.storage = storage
    }

    /// Calls `body` with the address as a `sockaddr` pointer (connect, bind, sendto).
    public func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        var copy = storage
        return withUnsafePointer(to: &copy) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) } }
    }

    /// A socket of `type` bound to `address` (port 0: the kernel picks one);
    /// returns the descriptor and the port, or the errno.
    public static func bind(_ address: String = "127.0.0.1", port: Int = 0, type: Int32 = Int32(Glibc.SOCK_STREAM.rawValue))
        -> Result<(fd: Int32, port: Int), POSIXError> {
        guard let target = SocketAddress(address, port: port) else { return .failure(POSIXError(.EINVAL)) }
        let fd = socket(target.family, type | Int32(Glibc.SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failure(POSIXError(POSIXErrorCode(rawValue: errno) ?? .EINVAL)) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard target.withSockaddr({ Glibc.bind(fd, $0, $1) }) == 0 else {
            let code = errno
            close(fd)
            return .failure(POSIXError(POSIXErrorCode(rawValue: code) ?? .EINVAL))
        }
        return .success((fd, localPort(fd)))
    }

    /// The local port a socket is bound to.
    public static func localPort(_ fd: Int32) -> Int {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return withUnsafeBytes(of: storage) { raw in
            storage.ss_family == sa_family_t(AF_INET6)
                ? Int(UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port))
                : Int(UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port))
        }
    }

    /// A TCP port on 127.0.0.1 that nothing listens on (bound, then closed).
    public static func freePort() -> Int {
        guard case .success(let bound) = bind() else { return 0 }
        close(bound.fd)
        return bound.port
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    public static func accepts(_ port: Int) -> Bool {
        guard let target = SocketAddress("127.0.0.1", port: port) else { return false }
        let fd = socket(AF_INET, Int32(Glibc.SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        return target.withSockaddr { connect(fd, $0, $1) } == 0
    }
}
