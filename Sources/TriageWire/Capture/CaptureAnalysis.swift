/// One TCP connection of a capture, as Wireshark's TLS view would show it.
public struct CapturedConnection: Sendable {
    public var client: TCPConversation.Endpoint
    public var server: TCPConversation.Endpoint
    public var firstMicroseconds: UInt64
    public var clientSide = TLSSideSummary()
    public var serverSide = TLSSideSummary()
    /// Bytes were lost (a hole in the sequence space) in either direction.
    public var gaps = false
    public var closed = false

    public var isTLS: Bool { clientSide.helloSeen || serverSide.helloSeen }

    /// Every clear alert with its sender, in the order seen.
    public var alerts: [(sender: Peer, level: UInt8, code: UInt8)] {
        (clientSide.alerts.map { (Peer.client, $0.level, $0.code, $0.microseconds) } + serverSide.alerts.map { (Peer.server, $0.level, $0.code, $0.microseconds) })
            .sorted { $0.3 < $1.3 }.map { ($0.0, $0.1, $0.2) }
    }
}

/// Reads a whole capture into per-connection TLS summaries. Memory is held
/// per open connection (its unparsed bytes); a connection's buffers are
/// dropped when it closes.
public struct CaptureAnalysis: Sendable {
    public var connections: [CapturedConnection] = []
    public var packets = 0
    public var bytes = 0
    public var notTCP = 0
    public var malformed = 0
    public var skippedBlocks = 0

    struct Key: Hashable { var a: TCPConversation.Endpoint; var b: TCPConversation.Endpoint }

    struct Live {
        var index: Int
        var toServer = TCPStream()
        var toClient = TCPStream()
        var clientParser = TLSStreamParser()
        var serverParser = TLSStreamParser()
    }

    /// Analyses every frame of `reader`; `port` keeps only connections with
    /// that server port.
    public static func run(_ reader: inout CaptureReader, port: UInt16? = nil) throws(CaptureError) -> CaptureAnalysis {
        var analysis = CaptureAnalysis()
        var decoder = PacketDecoder()
        var live: [Key: Live] = [:]
        while let packet = try reader.next() {
            analysis.packets += 1
            analysis.bytes += packet.data.count
            guard let segment = decoder.segment(packet) else { continue }
            if let port, segment.source.port != port, segment.destination.port != port { continue }
            let key = segment.source.port < segment.destination.port || segment.source.port == segment.destination.port
                && segment.source.address.lexicographicallyPrecedes(segment.destination.address)
                ? Key(a: segment.source, b: segment.destination) : Key(a: segment.destination, b: segment.source)
            var state: Live
            if let existing = live[key] {
                state = existing
            } else {
                // The client sent the SYN; without one, the side not on the lower (service) port.
                let fromClient = segment.syn && !segment.ack || (!segment.syn && (port.map { segment.destination.port == $0 }
                    ?? (segment.destination.port < segment.source.port)))
                let (client, server) = fromClient ? (segment.source, segment.destination) : (segment.destination, segment.source)
                analysis.connections.append(CapturedConnection(client: client, server: server, firstMicroseconds: packet.microseconds))
                state = Live(index: analysis.connections.count - 1)
            }
            var connection = analysis.connections[state.index]
            let toServer = segment.source == connection.server ? false : true
            if toServer {
                let data = state.toServer.add(sequence: segment.sequence, syn: segment.syn, payload: segment.payload)
                if !data.isEmpty { state.clientParser.feed(data, at: segment.microseconds) }
                connection.gaps = connection.gaps || state.toServer.skipped
            } else {
                let data = state.toClient.add(sequence: segment.sequence, syn: segment.syn, payload: segment.payload)
                if !data.isEmpty { state.serverParser.feed(data, at: segment.microseconds) }
                connection.gaps = connection.gaps || state.toClient.skipped
            }
            if state.serverParser.summary.selectedVersion == 0x0304 {
                state.clientParser.tls13 = true
                state.serverParser.tls13 = true
            }
            connection.clientSide = state.clientParser.summary
            connection.serverSide = state.serverParser.summary
            if segment.fin || segment.rst { connection.closed = true }
            analysis.connections[state.index] = connection
            if connection.closed && segment.rst { live[key] = nil } else { live[key] = state }
        }
        analysis.notTCP = decoder.notTCP
        analysis.malformed = decoder.malformed
        analysis.skippedBlocks = reader.skippedBlocks
        return analysis
    }
}
