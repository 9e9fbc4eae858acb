import Foundation
import Synchronization
import TriageProbes
import TriageWire
#if canImport(Glibc)
import Glibc
#endif

/// A tiny authoritative-looking DNS server on 127.0.0.1 for tests, over UDP
/// and TCP on the same port: answers from a table, counts the queries it
/// got, and can stay silent, answer garbage, or truncate its UDP answers
/// (TC bit) so the client must ask again over TCP.
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
    public let address: String
    public var server: String { "\(address):\(port)" }
    private let stopFlag = CancelFlag()
    private final class Log: Sendable { let list = Mutex<[String]>([]) }
    private let received = Log()

    /// `zones[name]` answers every question for `name`; names not listed get
    /// NXDOMAIN; `silent` names get no answer at all; `garbage` names get
    /// bytes that are not DNS; `truncated` names get an empty answer with
    /// the TC bit over UDP and the whole answer over TCP.
    public init(zones: [String: Zone], silent: Set<String> = [], garbage: Set<String> = [], truncated: Set<String> = [],
                address: String = "127.0.0.1", port: Int = 0) throws {
        // UDP and TCP on one port: an ephemeral UDP port may be taken for TCP by another test; try another.
        var pair: (udp: (fd: Int32, port: Int), tcp: (fd: Int32, port: Int))?
        for _ in 0..<50 where pair == nil {
            let udp = try SocketAddress.bind(address, port: port, type: Int32(Glibc.SOCK_DGRAM.rawValue)).get()
            switch SocketAddress.bind(address, port: udp.port) {
            case .success(let tcp): pair = (udp, tcp)
            case .failure(let error):
                close(udp.fd)
                if port != 0 { throw error }
            }
        }
        guard let (udp, tcp) = pair else { throw POSIXError(.EADDRINUSE) }
        self.address = address
        guard listen(tcp.fd, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        self.port = udp.port
        let (stop, received) = (stopFlag, received)
        @Sendable func answer(_ query: [UInt8], overTCP: Bool) -> [UInt8]? {
            guard let message = try? DNSMessage(bytes: query) else { return nil }
            let name = message.questionName.lowercased()
            received.list.withLock { $0.append("\(name) \(message.questionType)\(overTCP ? " tcp" : "")") }
            if silent.contains(name) { return nil }
            if garbage.contains(name) { return [0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x01] }
            let zone = zones[name] ?? Zone(rcode: 3)
            if truncated.contains(name), !overTCP {
                var reply = DNSMessage.response(to: query, rcode: zone.rcode, answers: [])
                reply[2] |= 0x02   // TC
                return reply
            }
            let answers = zone.records.filter { $0.type == message.questionType || $0.type == DNSMessage.RecordType.cname.rawValue }
            return DNSMessage.response(to: query, rcode: zone.rcode, answers: answers)
        }
        let (udpFD, tcpFD) = (udp.fd, tcp.fd)
        Thread {
            var buffer = [UInt8](repeating: 0, count: 1500)
            while !stop.isCancelled {
                var p = pollfd(fd: udpFD, events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, 100) > 0 else { continue }
                var peer = sockaddr_storage()
                var peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let n = withUnsafeMutablePointer(to: &peer) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(udpFD, &buffer, buffer.count, 0, $0, &peerLength) }
                }
                guard n > 0, let reply = answer(Array(buffer[0..<n]), overTCP: false) else { continue }
                _ = withUnsafePointer(to: &peer) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(udpFD, reply, reply.count, 0, $0, peerLength) }
                }
            }
            close(udpFD)
        }.start()
        Thread {
            while !stop.isCancelled {
                var p = pollfd(fd: tcpFD, events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, 100) > 0 else { continue }
                let client = accept(tcpFD, nil, nil)
                guard client >= 0 else { continue }
                var buffer = [UInt8](repeating: 0, count: 4096)
                let n = recv(client, &buffer, buffer.count, 0)
                if n > 2, let reply = answer(Array(buffer[2..<n]), overTCP: true) {
                    let framed = [UInt8(reply.count >> 8), UInt8(reply.count & 0xFF)] + reply
                    _ = send(client, framed, framed.count, Int32(MSG_NOSIGNAL))
                }
                close(client)
            }
            close(tcpFD)
        }.start()
    }

    deinit { stop() }

    public func stop() { stopFlag.cancel() }

    /// "name type" for every query received ("name type tcp" over TCP).
    public var queries: [String] { received.list.withLock { $0 } }
}
