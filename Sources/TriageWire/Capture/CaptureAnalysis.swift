#if canImport(Glibc)
import Glibc
#endif
/// One TCP connection of a capture, as Wireshark's TLS view would show it.
public struct CapturedConnection: Sendable {
    public var client: Endpoint
    public var server: Endpoint
    public var firstMicroseconds: UInt64
    public var clientSide = TLSSideSummary()
    public var serverSide = TLSSideSummary()
    /// Bytes were lost (a hole in the sequence space) in either direction.
    public var gaps = false
    public var closed = false
    /// The client's SYN, and the server's SYN-ACK.
    public var synSeen = false
    public var synAckSeen = false
    /// Who sent the first RST, and the first FIN.
    public var resetBy: Peer?
    public var finBy: Peer?
    public var lastMicroseconds: UInt64 = 0
    /// For a connection still open when the capture ended: the time of the capture's last packet; 0 otherwise.
    public var endOfCapture: UInt64 = 0
    /// Payload bytes each way.
    public var clientBytes = 0
    public var serverBytes = 0
    /// The server's first bytes when they are not TLS records.
    public var serverPreview: [UInt8] = []
    /// The first bytes either way are TLS records past the handshake (application data, an alert, a
    /// change of cipher spec) and no hello was seen: the capture began after the handshake.
    public var joinedMidStream = false

    public var isTLS: Bool { clientSide.helloSeen || serverSide.helloSeen }

    /// A SYN answered by RST: nothing listens on the port.
    public var refused: Bool { synSeen && !synAckSeen && resetBy == .server && serverBytes == 0 && clientBytes == 0 }

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
    /// Every connection, in the order they began; empty when they were handed to `onConnection`.
    public var connections: [CapturedConnection] = []
    /// TCP connections followed.
    public var connectionCount = 0
    public var packets = 0
    public var bytes = 0
    public var notTCP = 0
    public var malformed = 0
    /// Frames of a link type the decoder does not read, by type (DLT/LINKTYPE number).
    public var unreadLinkTypes: [UInt16: Int] = [:]
    public var skippedBlocks = 0
    /// The time of the last packet: how long a connection had been waiting when the capture stopped.
    public var lastMicroseconds: UInt64 = 0
    /// TLS 1.3 connections the key log (given, or in the capture) has secrets for.
    public var keyLogEntries = 0
    /// Frames cut by the capture's snap length (`tcpdump -s`): their TCP payload is incomplete.
    public var truncatedFrames = 0
    /// Where the capture stopped making sense (a file cut mid-packet, a
    /// damaged block): what came before it is analysed, as Wireshark does.
    public var cut: CaptureError?
    /// Decoding stopped early because it was cancelled (Ctrl-C).
    public var cancelled = false

    /// How far decoding got, for a progress line.
    public struct Progress: Sendable {
        public var packets: Int
        public var bytes: Int
        public var connections: Int
    }

    struct Key: Hashable { var a: Endpoint; var b: Endpoint }

    /// A connection being followed: its summary so far, both byte streams and their TLS parsers.
    struct Live {
        var connection: CapturedConnection
        var ordinal: Int
        var toServer = TCPStream()
        var toClient = TCPStream()
        var clientParser = TLSStreamParser()
        var serverParser = TLSStreamParser()
        var fins = 0
        /// The key log was consulted for this connection's client random.
        var keysLookedUp = false
        var certificatesPooled = false

        /// The connection as handed out: its summary with what both parsers saw.
        var finished: CapturedConnection {
            var c = connection
            c.clientSide = clientParser.summary
            c.serverSide = serverParser.summary
            return c
        }
    }

    /// What one pass keeps besides the connections: the key log (given,
    /// and from the capture), one copy of each certificate.
    struct Shared {
        var keyLog: KeyLog
        let crypto: (any TLS13Crypto)?
        /// Servers send the same certificates to every client: keep one copy.
        var certificatePool: [BytesKey: [UInt8]] = [:]
    }

    /// Analyses every frame of `reader`; `port` keeps only connections with
    /// that server port. With `onConnection`, each connection is handed over
    /// as it closes (the rest at the end, in the order they began) and not
    /// kept: memory is what the open connections hold, whatever the file's
    /// size. Without it, `connections` has them all in the order they began.
    public static func run(_ reader: inout CaptureReader, port: UInt16? = nil,
                           keyLog: KeyLog = KeyLog(), crypto: (any TLS13Crypto)? = nil,
                           isCancelled: () -> Bool = { false },
                           progress: (Progress) -> Void = { _ in },
                           onConnection: ((CapturedConnection) -> Void)? = nil) throws(CaptureError) -> CaptureAnalysis {
        var analysis = CaptureAnalysis()
        var decoder = PacketDecoder()
        // Open connections live in slots (updated in place), found by their endpoints.
        var slotOf: [Key: Int] = [:]
        var slots: [Live] = []
        var free: [Int] = []
        var shared = Shared(keyLog: keyLog, crypto: crypto)
        var collected: [(Int, CapturedConnection)] = []
        var ordinal = 0
        func hand(_ live: Live) {
            if let onConnection { onConnection(live.finished) } else { collected.append((live.ordinal, live.finished)) }
        }
        // A big file is read a batch ahead on another thread.
        let feed = PacketFeed(reader, threaded: (reader.sizeHint ?? .max) > 8 << 20)
        reading: while true {
            let batch = feed.next()
            if !batch.secrets.isEmpty { shared.keyLog.add(batch.secrets) }
            for packet in batch.packets {
            analysis.packets += 1
            if analysis.packets & 0x3FFF == 0 {
                if isCancelled() { analysis.cancelled = true; break reading }
                progress(Progress(packets: analysis.packets, bytes: analysis.bytes, connections: ordinal))
            }
            analysis.bytes += packet.data.count
            analysis.lastMicroseconds = max(analysis.lastMicroseconds, packet.microseconds)
            guard let segment = decoder.segment(packet) else { continue }
            if let port, segment.source.port != port, segment.destination.port != port { continue }
            let key = segment.source.port < segment.destination.port || segment.source.port == segment.destination.port
                && segment.source.address < segment.destination.address
                ? Key(a: segment.source, b: segment.destination) : Key(a: segment.destination, b: segment.source)
            let slot: Int
            if let existing = slotOf[key] {
                slot = existing
            } else {
                // The last ACK of a closed connection, or a bare ACK of one the
                // capture never saw: nothing to follow.
                guard segment.syn || !segment.payload.isEmpty else { continue }
                // The client sent the SYN; without one, the side not on the lower (service) port.
                let fromClient = segment.syn && !segment.ack || (!segment.syn && (port.map { segment.destination.port == $0 }
                    ?? (segment.destination.port < segment.source.port)))
                let (client, server) = fromClient ? (segment.source, segment.destination) : (segment.destination, segment.source)
                let live = Live(connection: CapturedConnection(client: client, server: server, firstMicroseconds: packet.microseconds), ordinal: ordinal)
                ordinal += 1
                if let reused = free.popLast() { slots[reused] = live; slot = reused } else { slots.append(live); slot = slots.count - 1 }
                slotOf[key] = slot
            }
            let closed = Self.follow(segment, at: packet.microseconds, &slots[slot], &shared)
            if closed {
                // A closed connection's buffers go; its summary is handed over.
                hand(slots[slot])
                slots[slot] = Live(connection: slots[slot].connection, ordinal: -1)
                slotOf[key] = nil
                free.append(slot)
            }
            }
            if let error = batch.error {
                // Nothing read yet: this is not a capture. Later: analyse what came before the cut.
                guard analysis.packets > 0 else { reader = feed.finish(); throw error }
                analysis.cut = error
            }
            if batch.end { break }
        }
        reader = feed.finish()
        // Still open at the end (or at the cut): in the order they began.
        for slot in slotOf.values.sorted(by: { slots[$0].ordinal < slots[$1].ordinal }) {
            slots[slot].connection.endOfCapture = analysis.lastMicroseconds
            hand(slots[slot])
        }
        analysis.connections = collected.sorted { $0.0 < $1.0 }.map(\.1)
        analysis.connectionCount = ordinal
        analysis.notTCP = decoder.notTCP
        analysis.malformed = decoder.malformed
        analysis.unreadLinkTypes = decoder.unreadLinkTypes
        analysis.skippedBlocks = reader.skippedBlocks
        analysis.keyLogEntries = shared.keyLog.count
        analysis.truncatedFrames = reader.truncatedFrames
        return analysis
    }

    /// One segment of a connection: its bytes put in order and parsed, the
    /// TCP story updated. Returns whether the connection is over (RST, both FINs).
    static func follow(_ segment: TCPSegment, at microseconds: UInt64, _ state: inout Live, _ shared: inout Shared) -> Bool {
        let toServer = segment.source != state.connection.server
        let data = toServer ? state.toServer.add(sequence: segment.sequence, syn: segment.syn, payload: segment.payload)
            : state.toClient.add(sequence: segment.sequence, syn: segment.syn, payload: segment.payload)
        if !data.isEmpty {
            if !toServer, !state.keysLookedUp, let crypto = shared.crypto, !shared.keyLog.isEmpty, let random = state.clientParser.clientRandom {
                // Before the ServerHello is parsed: the records right behind it in this segment are protected.
                state.keysLookedUp = true
                if let secrets = shared.keyLog[random] {
                    state.serverParser.crypto = crypto
                    state.serverParser.secrets = (secrets.serverHandshake, secrets.serverApplication)
                    state.clientParser.crypto = crypto
                    state.clientParser.secrets = (secrets.clientHandshake, secrets.clientApplication)
                }
            }
            if toServer {
                state.clientParser.peerProtected = state.serverParser.protectedRecords > 0
                state.clientParser.peerShortRecords = state.serverParser.shortRecords
                state.clientParser.feed(data, at: segment.microseconds)
            } else {
                state.serverParser.peerProtected = state.clientParser.protectedRecords > 0
                state.serverParser.peerShortRecords = state.clientParser.shortRecords
                state.serverParser.feed(data, at: segment.microseconds)
            }
            if state.serverParser.summary.selectedVersion == 0x0304 {
                state.clientParser.tls13 = true
                state.serverParser.tls13 = true
                if let suite = state.serverParser.summary.selectedCipher { state.clientParser.startDecryption(suite: suite) }
            }
            if !state.certificatesPooled, !state.serverParser.summary.certificates.isEmpty {
                state.certificatesPooled = true
                state.serverParser.summary.certificates = state.serverParser.summary.certificates.map { der in
                    let key = BytesKey(bytes: der)
                    if let known = shared.certificatePool[key] { return known }
                    if shared.certificatePool.count < 10_000 { shared.certificatePool[key] = der }
                    return der
                }
            }
            // The first bytes either way a TLS record of a later phase: the capture missed the handshake.
            if !state.connection.isTLS, (toServer ? state.connection.clientBytes : state.connection.serverBytes) == 0, data.count >= 5,
               [20, 21, 23].contains(data[data.startIndex]), data[data.startIndex + 1] == 3, data[data.startIndex + 2] <= 4 {
                state.connection.joinedMidStream = true
            }
            // Only the server's very first bytes: after a hole the parser may resume mid-record.
            if !toServer, state.serverParser.summary.notTLS, state.connection.serverPreview.isEmpty,
               state.connection.serverBytes == 0, !state.toClient.skipped {
                state.connection.serverPreview = Array(data.prefix(40))
            }
        }
        Self.account(segment, toServer: toServer, at: microseconds, &state.connection)
        if state.toServer.skipped || state.toClient.skipped { state.connection.gaps = true }
        if segment.fin { state.fins += 1 }
        return segment.rst || state.fins >= 2
    }

    /// The TCP story of a connection: handshake, payload each way, who closed or reset it.
    static func account(_ segment: TCPSegment, toServer: Bool, at microseconds: UInt64, _ c: inout CapturedConnection) {
        let sender: Peer = toServer ? .client : .server
        if segment.syn { if segment.ack { c.synAckSeen = true } else { c.synSeen = true } }
        if toServer { c.clientBytes += segment.payload.count } else { c.serverBytes += segment.payload.count }
        if segment.rst, c.resetBy == nil { c.resetBy = sender }
        if segment.fin, c.finBy == nil { c.finBy = sender }
        if segment.fin || segment.rst { c.closed = true }
        c.lastMicroseconds = microseconds
    }
}

/// A byte string as a dictionary key, hashed in bulk: `[UInt8]`'s own
/// Hashable feeds the hasher one byte at a time, which dominated decoding.
public struct BytesKey: Hashable, Sendable {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// The length, the head (serial number, issuer) and the tail (signature)
    /// tell certificates apart; equality still compares every byte.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(bytes.count)
        bytes.withUnsafeBytes { raw in
            hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: raw.prefix(160)))
            hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: raw.suffix(32)))
        }
    }

    /// Compared in bulk (memcmp), not one element at a time.
    public static func == (lhs: BytesKey, rhs: BytesKey) -> Bool {
        guard lhs.bytes.count == rhs.bytes.count else { return false }
        if lhs.bytes.isEmpty { return true }
        return lhs.bytes.withUnsafeBytes { a in rhs.bytes.withUnsafeBytes { b in a.baseAddress == b.baseAddress || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 } }
    }
}
