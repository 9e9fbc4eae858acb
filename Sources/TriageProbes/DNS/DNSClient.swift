import Foundation
import TriageKit
import TriageWire
#if canImport(Glibc)
import Glibc
#endif

/// A stub resolver client: one question to one server over UDP, asked again
/// over TCP when the answer comes back truncated (RFC 7766), every wait
/// bounded by the deadline and checked against the cancellation flag.
struct DNSClient {
    var server: Endpoint
    var timeout: Duration

    /// `ADDR`, `ADDR:PORT`, `[V6]:PORT`.
    init?(server: String, timeout: Duration) {
        guard let endpoint = Endpoint(server, defaultPort: 53) else { return nil }
        self.server = endpoint
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

    /// Largest DNS message accepted over TCP.
    static let maximumMessage = 65_535

    func lookup(_ name: String, type: DNSMessage.RecordType, cancel: CancelFlag) -> DNSLookup {
        let deadline = ContinuousClock.now + timeout
        let id = UInt16.random(in: 1...UInt16.max)
        let query = DNSMessage.query(id: id, name: name, type: type)
        do {
            let message = try ask(query, id: id, udp: true, deadline: deadline, cancel: cancel)
            guard message.truncated else { return DNSLookup(type: type, result: .success(message)) }
            let overTCP = try ask(query, id: id, udp: false, deadline: deadline, cancel: cancel)
            return DNSLookup(type: type, result: .success(overTCP), retriedOverTCP: true)
        } catch {
            return DNSLookup(type: type, result: .failure(error))
        }
    }

    private func ask(_ query: [UInt8], id: UInt16, udp: Bool, deadline: ContinuousClock.Instant, cancel: CancelFlag) throws(DNSLookup.Failure) -> DNSMessage {
        guard let target = SocketAddress(server.address.description, port: Int(server.port)) else { throw .network("bad resolver address \(server)") }
        let type = udp ? Int32(Glibc.SOCK_DGRAM.rawValue) : Int32(Glibc.SOCK_STREAM.rawValue)
        let fd = socket(target.family, type | Int32(Glibc.SOCK_NONBLOCK.rawValue) | Int32(Glibc.SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .network("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let rc = target.withSockaddr { connect(fd, $0, $1) }
        if rc != 0, errno != EINPROGRESS { throw errno == ECONNREFUSED ? .refused : .network("connect \(server): \(String(cString: strerror(errno)))") }
        if !udp { try wait(fd, POLLOUT, deadline, cancel) }
        let packet = udp ? query : [UInt8(query.count >> 8), UInt8(query.count & 0xFF)] + query
        guard send(fd, packet, packet.count, Int32(MSG_NOSIGNAL)) == packet.count else {
            throw errno == ECONNREFUSED ? .refused : .network("send to \(server): \(String(cString: strerror(errno)))")
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            try wait(fd, POLLIN, deadline, cancel)
            let n = recv(fd, &buffer, buffer.count, 0)
            if n < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw errno == ECONNREFUSED ? .refused : .network("\(server): \(String(cString: strerror(errno)))")
            }
            if udp {
                guard let message = try? DNSMessage(bytes: Array(buffer[0..<n])) else {
                    throw .malformed("\(n) bytes that are not a DNS message")
                }
                guard message.id == id, message.isResponse else { continue }   // not ours: keep waiting
                return message
            }
            guard n > 0 else { throw .malformed("the TCP connection closed after \(received.count) bytes") }
            received += buffer[0..<n]
            guard received.count >= 2 else { continue }
            let length = Int(received[0]) << 8 | Int(received[1])
            guard received.count >= 2 + length else { continue }
            do {
                let message = try DNSMessage(bytes: Array(received[2..<(2 + length)]))
                guard message.id == id, message.isResponse else { throw DNSLookup.Failure.malformed("an answer to another question") }
                return message
            } catch let error as DNSLookup.Failure {
                throw error
            } catch {
                throw .malformed("\(error)")
            }
        }
    }

    private func wait(_ fd: Int32, _ events: Int32, _ deadline: ContinuousClock.Instant, _ cancel: CancelFlag) throws(DNSLookup.Failure) {
        while true {
            if cancel.isCancelled { throw .network("cancelled") }
            let left = deadline - .now
            guard left > .zero else { throw .timedOut }
            var p = pollfd(fd: fd, events: Int16(events), revents: 0)
            let rc = poll(&p, 1, min(100, max(1, Int32(left.seconds * 1000))))
            if rc > 0 { return }
            if rc < 0, errno != EINTR { throw .network("poll: \(String(cString: strerror(errno)))") }
        }
    }
}
