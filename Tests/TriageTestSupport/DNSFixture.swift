import Foundation
import Synchronization
import TriageProbes
import TriageWire
#if canImport(Glibc)
import Glibc
#endif

/// A tiny authoritative-looking DNS server on 127.0.0.1 for tests: answers
/// from a table, counts the queries it got, and can stay silent.
public final class DNSFixture: Sendable {
    public struct Zone: Sendable {
        public var rcode: UInt8 = 0
        public var records: [DNSMessage.Record] = []
        public init(rcode: UInt8 = 0, records: [DNSMessage.Record] = []) {
            self.rcode = rcode
            self.records = records
        }
    }

    public let port: Int
    public var server: String { "127.0.0.1:\(port)" }
    private let fd: Int32
    private let stopFlag = CancelFlag()
    private final class Log: Sendable { let list = Mutex<[String]>([]) }
    private let received = Log()

    /// `zones[name]` answers every question for `name`; names not listed get
    /// NXDOMAIN; `silent` names get no answer at all.
    public init(zones: [String: Zone], silent: Set<String> = []) throws {
        let bound = try SocketAddress.bind(type: Int32(Glibc.SOCK_DGRAM.rawValue)).get()
        let socketFD = bound.fd
        fd = socketFD
        port = bound.port
        let (fd, stop, received) = (socketFD, stopFlag, received)
        Thread {
            var buffer = [UInt8](repeating: 0, count: 1500)
            while !stop.isCancelled {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, 100) > 0 else { continue }
                var peer = sockaddr_storage()
                var peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let n = withUnsafeMutablePointer(to: &peer) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buffer, buffer.count, 0, $0, &peerLength) }
                }
                guard n > 0, let query = try? DNSMessage(bytes: Array(buffer[0..<n])) else { continue }
                let name = query.questionName.lowercased()
                received.list.withLock { $0.append("\(name) \(query.questionType)") }
                if silent.contains(name) { continue }
                let zone = zones[name] ?? Zone(rcode: 3)
                let answers = zone.records.filter { $0.type == query.questionType || $0.type == DNSMessage.RecordType.cname.rawValue }
                let reply = DNSMessage.response(to: Array(buffer[0..<n]), rcode: zone.rcode, answers: answers)
                _ = withUnsafePointer(to: &peer) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, reply, reply.count, 0, $0, peerLength) }
                }
            }
            close(fd)
        }.start()
    }

    deinit { stop() }

    public func stop() { stopFlag.cancel() }

    /// "name type" for every query received.
    public var queries: [String] { received.list.withLock { $0 } }
}
