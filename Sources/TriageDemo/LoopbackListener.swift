import Foundation
import Synchronization
import TriageProbes
#if canImport(Glibc)
import Glibc
#endif

/// A listening socket on a loopback address whose connections are each
/// served on their own thread, then closed: the demo's upstream, and the
/// base of the test fixtures' servers. `stop()` stops the listening.
public final class LoopbackListener: Sendable {
    public let port: Int
    public let address: String
    private let listener: Int32
    private let stopped = Mutex(false)

    /// `serve` gets each accepted descriptor (closed when it returns) and a
    /// way to ask whether the listener has been stopped.
    public init(address: String = "127.0.0.1", port: Int = 0,
                serve: @escaping @Sendable (_ fd: Int32, _ stopped: @escaping @Sendable () -> Bool) -> Void) throws {
        // A TLS server writes with write(2); a client that hangs up must not kill the process.
        signal(SIGPIPE, SIG_IGN)
        switch SocketAddress.bind(address, port: port) {
        case .success(let bound):
            guard Glibc.listen(bound.fd, 512) == 0 else {
                close(bound.fd)
                throw ServerError(description: "listening on \(address): \(String(cString: strerror(errno)))")
            }
            (listener, self.port) = (bound.fd, bound.port)
        case .failure(let error):
            throw ServerError(description: "listening on \(address):\(port): \(error.code)")
        }
        self.address = address
        Thread { [self] in acceptLoop(serve) }.start()
    }

    deinit { stop() }

    public var isStopped: Bool { stopped.withLock { $0 } }

    /// Refuses new connections at once. The listener is shut down here and closed by the accept loop as
    /// it leaves: the loop may be in `poll` or `accept` on the descriptor, and a number closed here could
    /// be handed at once to another socket of the process — another server's listener, whose connections
    /// this loop would then accept and serve as its own (a test saw another fixture's certificate, verify
    /// 20, on its server's port).
    public func stop() {
        let wasStopped = stopped.withLock { s in defer { s = true }; return s }
        if !wasStopped { shutdown(listener, Int32(SHUT_RDWR)) }
    }

    private func acceptLoop(_ serve: @escaping @Sendable (Int32, @escaping @Sendable () -> Bool) -> Void) {
        defer { close(listener) }
        while !isStopped {
            var p = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 100) > 0 else { continue }
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { continue }
            Thread { [self] in
                defer { close(fd) }
                serve(fd) { [self] in self.isStopped }
            }.start()
        }
    }
}

/// A fixture or demo server that could not start.
public struct ServerError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(description: String) { self.description = description }
}
