import Foundation
import TriageWire
#if canImport(Glibc)
import Glibc
#endif

/// A stub resolver client: one UDP query to one server, with a deadline.
struct DNSClient {
    enum Failure: Error, CustomStringConvertible {
        case timedOut(String)
        case network(String)
        case malformed(String)

        var description: String {
            switch self {
            case .timedOut(let server): "no answer from \(server)"
            case .network(let why): why
            case .malformed(let why): "malformed answer: \(why)"
            }
        }
    }

    var address: String
    var port: Int
    var timeout: Duration

    var label: String { address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)" }

    /// `ADDR`, `ADDR:PORT`, `[V6]:PORT`.
    init?(server: String, timeout: Duration) {
        var host = server, port = 53
        if server.hasPrefix("["), let close = server.firstIndex(of: "]") {
            host = String(server[server.index(after: server.startIndex)..<close])
            if let p = Int(server[server.index(after: close)...].dropFirst()) { port = p }
        } else if server.filter({ $0 == ":" }).count == 1, let colon = server.firstIndex(of: ":") {
            host = String(server[..<colon])
            guard let p = Int(server[server.index(after: colon)...]) else { return nil }
            port = p
        }
        guard HostAddresses.isIPLiteral(host) else { return nil }
        address = host
        self.port = port
        self.timeout = timeout
    }

    /// The nameservers of /etc/resolv.conf.
    static func systemServers(path: String = "/etc/resolv.conf") -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(whereSeparator: \.isNewline).compactMap { line in
            let fields = line.split(whereSeparator: \.isWhitespace)
            return fields.count >= 2 && fields[0] == "nameserver" ? String(fields[1]) : nil
        }
    }

    func query(_ name: String, type: DNSMessage.RecordType, cancel: CancelFlag) throws(Failure) -> DNSMessage {
        guard let target = SocketAddress(address, port: port) else { throw .network("bad resolver address \(address)") }
        let fd = socket(target.family, Int32(Glibc.SOCK_DGRAM.rawValue) | Int32(Glibc.SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .network("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let connected = target.withSockaddr { connect(fd, $0, $1) }
        guard connected == 0 else { throw .network("connect \(label): \(String(cString: strerror(errno)))") }
        let id = UInt16.random(in: 1...UInt16.max)
        let packet = DNSMessage.query(id: id, name: name, type: type)
        guard send(fd, packet, packet.count, Int32(MSG_NOSIGNAL)) == packet.count else {
            throw .network("send to \(label): \(String(cString: strerror(errno)))")
        }
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            if cancel.isCancelled { throw .network("cancelled") }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { throw .timedOut(label) }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, min(100, max(1, Int32(left.seconds * 1000)))) > 0 else { continue }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n < 0 {
                // ECONNREFUSED: nothing listens on the server's port.
                throw .network("\(label): \(String(cString: strerror(errno)))")
            }
            let message: DNSMessage
            do { message = try DNSMessage(bytes: Array(buffer[0..<n])) } catch { throw .malformed(error.description) }
            guard message.id == id, message.isResponse else { continue } // not ours: keep waiting
            return message
        }
    }
}
