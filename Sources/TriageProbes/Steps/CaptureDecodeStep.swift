import Foundation
import TriageKit
import TriageWire

/// `capture.decode`: reads a capture (pcap or pcapng) the way Wireshark's
/// TLS view does — every TCP connection with its ClientHello (SNI or none,
/// versions, ALPN), ServerHello, alerts with their sender, and the
/// certificates sent in clear — and turns it into findings. Evidence:
/// `connections.txt`, one line per connection. Command: the matching
/// `tshark -r FILE -Y …` line. No deadline of its own: reading a file ends.
public struct CaptureDecodeStep: StepKind {
    public let name = "capture.decode"
    public let summary = "TLS in a pcap/pcapng capture: per connection SNI, versions, alerts with sender, certificates"
    public let inputs: [InputDeclaration] = [
        .init("file", .string, required: true, "the capture (pcap or pcapng)"),
        .init("port", .integer, "only connections to this server port"),
        .init("host", .string, "the name a certificate sent to a ClientHello without SNI must match (default: the name other clients asked that server for); with SNI, the SNI"),
        .init("name", .string, "the name every certificate must match, whatever each ClientHello asked for (analyze --host)"),
        .init("keylog", .string, "TLS secrets (NSS key log, as SSLKEYLOGFILE writes) that decrypt TLS 1.3 handshakes and alerts"),
        .init("ca_file", .string, "verify the certificates sent in clear against this PEM bundle instead of the system store"),
        .init("own_ports", .stringOrList, "client ports of triage's own connections in this run: the others are the proxy's (or any other client's)"),
    ]
    public let outputs: [OutputDeclaration] = [
        .init("connections", .list(.object), "the first 1000 TLS connections: client, server, sni, time, version, alerts, certificates"),
        .init("alerts", .list(.alert), "the first 1000 alerts in clear, with sender and server"),
        .init("count", .integer, "how many TLS connections"),
    ]
    public var defaultTimeout: Duration? { DurationParser.maximum }

    public init() {}

    public func run(_ context: StepContext) async throws -> StepOutcome {
        // `--at`: certificates judged as of that time, not when the capture saw them.
        let judged: Date? = context.judgedAt != context.runStartedAt ? context.judgedAt : nil
        guard let given = context.string("file") else { throw StepFailure(.inputEmpty, ["step": .string(name), "input": "file"]) }
        // A FIFO or a device would block the reader until a writer comes.
        guard (try? FileManager.default.attributesOfItem(atPath: given)[.type] as? FileAttributeType) == .typeRegular else {
            throw StepFailure(.captureUnreadable, ["file": .string(given), "error": "not a regular file (a directory, a pipe or a device)"])
        }
        var path = given
        // A gzip'd capture (Wireshark reads them): decompressed to a temporary file for the reader.
        var decompressed: URL?
        defer { if let decompressed { try? FileManager.default.removeItem(at: decompressed) } }
        if Gzip.isCompressed(given) {
            do { decompressed = try Gzip.decompress(given) } catch {
                throw StepFailure(.captureUnreadable, ["file": .string(given), "error": .string(error.description)])
            }
            path = decompressed!.path
        }
        let file = path
        let port = context.int("port").map { UInt16(clamping: $0) }
        let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        let keyLog = try context.string("keylog").map(Self.readKeyLog) ?? KeyLog()
        let ownPorts = Set(context.strings("own_ports", splitCommas: true).compactMap { UInt16($0) })
        let started = ContinuousClock.now
        let report = context.progress
        let evidence = context.evidence
        let decoded: Decoded = try await onPool { cancel -> Result<Decoded, StepFailure> in
            do throws(CaptureError) {
                var reader = try CaptureReader.open(path: file)
                var lastReport = started
                let sink = ConnectionSink(table: Result { try evidence.table("connections.csv") }, ownPorts: ownPorts)
                // Each connection as it closes: into the digest and one CSV row (on the sink's
                // thread, beside the decoding); none is kept. Cancelled (Ctrl-C), it returns what it decoded so far.
                let analysis = try CaptureAnalysis.run(&reader, port: port, keyLog: keyLog, crypto: OpenSSLTLS13Crypto(),
                                                       isCancelled: { cancel.isCancelled }, progress: { p in
                    let now = ContinuousClock.now
                    guard now - lastReport >= .milliseconds(250) else { return }
                    lastReport = now
                    let seconds = max((now - started).seconds, 0.001)
                    report(Message(.captureProgress, ["mb": .string(TextFormat.fixed(Double(p.bytes) / 1e6, 0)),
                                                      "total": .string(TextFormat.fixed(Double(size) / 1e6, 0)),
                                                      "connections": .int(p.connections),
                                                      "rate": .string(TextFormat.fixed(Double(p.bytes) / 1e6 / seconds, 0))]))
                }, onConnection: sink.add)
                let (collector, tableError) = sink.finish()
                return .success(Decoded(analysis: analysis, digest: collector.digest, counts: collector.counts, tableError: tableError))
            } catch {
                return .failure(StepFailure(.captureUnreadable, ["file": .string(given), "error": .string(error.description)]))
            }
        }.get()
        let analysis = decoded.analysis
        let digest = decoded.digest
        let host = context.string("host")
        let checks = Self.verify(digest, caFile: context.string("ca_file"), host: host, name: context.string("name"), judged: judged)
        let groups = digest.groups
        // Handed over as they closed; shown in the order they began.
        let connections = digest.examples.sorted { ($0.firstSeen, $0.client) < ($1.firstSeen, $1.client) }
        var facts = [Fact(.packets, .int(analysis.packets)), Fact(.bytes, .int(analysis.bytes)),
                     Fact(.tcpConnections, .int(analysis.connectionCount)), Fact(.tlsConnections, .int(digest.count))]
        if let cut = analysis.cut {
            // As Wireshark does: what came before the damage is analysed; say where and how much is lost.
            facts.append(Fact(.captureCut, Message(.captureCutAt, ["offset": .int(cut.offset), "error": .string(cut.message)])))
            facts.append(Fact(.bytesLost, .int(max(0, size - cut.offset))))
        }
        if analysis.cancelled {
            facts.append(Fact(.note, Message(.captureInterrupted, ["mb": .string(TextFormat.fixed(Double(analysis.bytes) / 1e6, 0)),
                                                                    "total": .string(TextFormat.fixed(Double(size) / 1e6, 0))])))
        }
        let decrypted = decoded.counts.decrypted
        let tls13 = decoded.counts.tls13
        if tls13 > decrypted {
            facts.append(Fact(.note, Message(.captureTLS13Hidden, ["count": .int(tls13 - decrypted)])))
        }
        if analysis.keyLogEntries > 0 || context.string("keylog") != nil {
            facts.append(Fact(.keyLogEntries, .int(analysis.keyLogEntries)))
            facts.append(Fact(.decryptedConnections, .int(decrypted)))
            let failed = decoded.counts.decryptionFailed
            if failed > 0 { facts.append(Fact(.note, Message(.captureDecryptFailed, ["count": .int(failed)]))) }
        }
        if let error = decoded.tableError {
            facts.append(Fact(.note, Message(.captureTableUnwritten, ["error": .string(error)])))
        }
        if analysis.skippedBlocks > 0 { facts.append(Fact(.blocksSkipped, .int(analysis.skippedBlocks))) }
        if analysis.malformed > 0 { facts.append(Fact(.malformedFrames, .int(analysis.malformed))) }
        for group in groups.prefix(20) { facts.append(Fact(.group, Message(.captureGroupCount, ["count": .int(group.count), "label": group.label.value]))) }
        let portFilter = port.map { " -d tcp.port==\($0),tls" } ?? ""
        // Connections that look ended by an alert nobody can read: this check is not complete.
        let undecided = decoded.counts.undecided
        var failure = undecided > 0 ? Message(.captureTLS13Undecided, ["count": .int(undecided)]) : nil
        if analysis.truncatedFrames > 0 {
            facts.append(Fact(.note, Message(.captureTruncated, ["count": .int(analysis.truncatedFrames)])))
            failure = failure ?? Message(.captureTruncated, ["count": .int(analysis.truncatedFrames)])
        }
        if context.string("keylog") != nil, tls13 > 0, decrypted == 0 {
            failure = failure ?? Message(.captureKeyLogMatchesNone, ["count": .int(tls13), "entries": .int(analysis.keyLogEntries)])
        }
        if ownPorts.isEmpty, digest.chains.isEmpty, tls13 > decrypted {
            // No certificate could be checked (every one inside encrypted TLS 1.3): not "no problem" where the
            // handshakes look fine (an incomplete chain hid there), and never when a name was asked to be
            // checked (`analyze --host`). Where a connection failed, that is the finding. (A run's own capture
            // beside its handshakes, which checked them, is not alone.)
            let failing = groups.contains { !$0.first.held }
            if let host {
                failure = failure ?? Message(.captureHostUnchecked, ["host": .string(host), "count": .int(tls13 - decrypted)])
            } else if !failing {
                failure = failure ?? Message(.captureCertificatesUnchecked, ["count": .int(tls13 - decrypted)])
            }
        }
        if digest.count > 0, decoded.counts.decided == 0 {
            // Every handshake stops before the server's answer (a file cut early, a filtered direction): nothing was checked.
            failure = failure ?? Message(.captureNoServerHello, ["count": .int(digest.count)])
        }
        if digest.count == 0, decoded.counts.midStream > 0 {
            // TLS records, but the handshakes happened before the capture began.
            failure = failure ?? Message(.captureMidStream, ["count": .int(decoded.counts.midStream)])
        }
        if digest.count == 0, analysis.connectionCount == 0, let (type, frames) = analysis.unreadLinkTypes.max(by: { $0.value < $1.value }) {
            // Frames of a link type not decoded here: say which, not "no TLS".
            failure = failure ?? Message(.captureLinkType, ["type": .int(Int(type)), "name": .string(PacketDecoder.linkTypeName(type)), "frames": .int(frames)])
        }
        if digest.count == 0, let cut = analysis.cut {
            // Cut before any TLS connection (a download or a gzip stopped early): that is the reason, not the port.
            failure = failure ?? Message(.captureCutAt, ["offset": .int(cut.offset), "error": .string(cut.message)])
        }
        if digest.count == 0 {
            // Nothing was checked (a filter that matches nothing, a capture of other traffic): not "no problem".
            failure = failure ?? port.map { Message(.captureNoTLSOnPort, ["port": .int(Int($0)), "tcp": .int(analysis.connectionCount)]) }
                ?? Message(.captureNoTLS, ["tcp": .int(analysis.connectionCount)])
        }
        // The first three groups by name, the rest counted: the sentence adds up to the connections it counts.
        let more = groups.dropFirst(3).reduce(0) { $0 + $1.count }
        let shown = groups.prefix(3).map { Message(.captureGroupCount, ["count": .int($0.count), "label": $0.label.value]).value }
            + (more > 0 ? [Message(.captureMoreConnections, ["count": .int(more)]).value] : [])
        return StepOutcome(
            // No group to name: no dangling separator.
            summary: Message(shown.isEmpty ? .captureDecodedNone : .captureDecoded, ["count": .int(digest.count), "packets": .int(analysis.packets), "groups": .list(shown)]),
            // The absolute path: the report is read from the case folder, not where triage ran.
            command: "tshark -r \(ShellQuote.quote(URL(fileURLWithPath: given).standardizedFileURL.path))\(portFilter) -Y 'tls.alert_message || tls.handshake.type == 1' -T fields -e ip.src -e tls.handshake.extensions_server_name -e tls.alert_message.level -e tls.alert_message.desc",
            facts: facts,
            outputs: ["connections": .list(connections.prefix(1000).map(Self.plain)), "count": .int(digest.count),
                      "alerts": .list(connections.flatMap(\.alerts).prefix(1000).map { .typed(.alert($0)) })],
            evidence: [.capture(CaptureReview(digest: digest, checks: checks, host: host, at: judged))],
            transcript: Self.table(Array(connections.prefix(40))),
            failure: failure,
            observations: groups.prefix(4).map { g in
                var o = Observation(path: .capture(sni: g.first.sni != nil, byProxy: g.first.origin == .other), from: .client, to: .upstream,
                                    request: g.first.sni.map { Message(.observeHelloSNI, ["name": .string($0)]) } ?? Message(.observeHelloNoSNI),
                                    answer: g.first.outcome, ok: g.first.held, server: g.first.server.description)
                o.endedByClient = g.first.fatalAlert?.sender == .client
                return o
            },
            events: groups.filter { $0.first.fatalAlert != nil }.prefix(5).map { g in
                TimelineEvent(at: g.first.firstSeen, Message(.eventCaptured, ["count": .int(g.count), "label": g.label.value]))
            })
    }

    /// What the pool hands back: the pass's totals and what the connections added up to.
    struct Decoded: Sendable {
        var analysis: CaptureAnalysis
        var digest: CaptureDigest
        var counts: Counts
        /// Why `connections.csv` could not be written (a full disk), if it could not.
        var tableError: String?
    }

    struct Counts: Sendable {
        var tls13 = 0
        var decrypted = 0
        var decryptionFailed = 0
        /// TLS 1.3 connections not decrypted that look cut short by an encrypted alert.
        var undecided = 0
        /// Connections that got as far as a ServerHello, an alert, or a TCP outcome.
        var decided = 0
        /// Connections whose first bytes were TLS records past the handshake: captured mid-stream.
        var midStream = 0
    }

    /// Turns each connection as it closes into what the diagnosis reads,
    /// parsing each distinct certificate once.
    struct Collector {
        var digest = CaptureDigest()
        /// triage's own client ports: their connections are marked as its own.
        var ownPorts: Set<UInt16> = []
        var counts = Counts()
        private var parsed: [BytesKey: Certificate?] = [:]

        /// The connection as the diagnosis sees it; nil when it is neither TLS nor a refused SYN.
        mutating func add(_ c: CapturedConnection) -> CapturedTLS? {
            if c.joinedMidStream, !c.isTLS { counts.midStream += 1 }
            guard c.isTLS || c.refused else { return nil }
            let tls = captured(c)
            if tls.selectedVersion == 0x0304 { counts.tls13 += 1 }
            if c.clientSide.decrypted || c.serverSide.decrypted { counts.decrypted += 1 }
            if c.clientSide.decryptionFailed || c.serverSide.decryptionFailed { counts.decryptionFailed += 1 }
            // An alert nobody can read: after the client's protected records began, the server sent
            // only records of an alert's size (19 bytes) — no ticket, no data; or the client's first
            // protected record was one and the client closed first. (A server that issues no tickets
            // answering a client's bare close_notify looks the same: that capture cannot be told
            // healthy without the keys, and is not.) Or records stopped authenticating.
            let clientFirst = c.finBy == .client || c.resetBy == .client
            // (A client that finishes the handshake and leaves with only a close_notify — one that
            // rejected the name after the handshake, or a health check, triage's own included —
            // is not told apart without the keys: it is not counted here.)
            let hidden = tls.selectedVersion == 0x0304 && !c.clientSide.decrypted && !c.serverSide.decrypted && c.serverSide.lateData == 0
                && (c.serverSide.lateShort > 0 || (c.clientSide.shortRecordFirst && clientFirst))
            // triage's own connections are known from its own steps: not undecided for want of keys.
            if hidden || c.clientSide.decryptionFailed || c.serverSide.decryptionFailed, !ownPorts.contains(c.client.port) { counts.undecided += 1 }
            // A connection that got as far as a verdict: a ServerHello, an alert, or what TCP showed.
            if tls.serverHello || tls.fatalAlert != nil || tls.tcp.refused || tls.tcp.unanswered || tls.tcp.notTLS != nil { counts.decided += 1 }
            digest.add(tls)
            return tls
        }

        /// An SNI as a host name: the letters, digits, `-`, `.`, `_` and `*` a name is made of; any
        /// other byte (a hostile ClientHello's `$(…)`, escapes, markup, newlines) written `\xNN`,
        /// so what a capture carries cannot run in a pasted command, a terminal or a spreadsheet.
        static func hostName(_ raw: String) -> String {
            let allowed: (UInt8) -> Bool = { b in
                (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) || b == 0x2D || b == 0x2E || b == 0x5F || b == 0x2A
            }
            let bytes = Array(raw.utf8.prefix(255))
            guard !bytes.allSatisfy(allowed) else { return String(decoding: bytes, as: UTF8.self) }
            let hex = Array("0123456789abcdef".utf8)
            var out: [UInt8] = []
            for b in bytes {
                if allowed(b) { out.append(b) } else { out += [0x5C, 0x78, hex[Int(b >> 4)], hex[Int(b & 0xF)]] }
            }
            return String(decoding: out, as: UTF8.self)
        }

        mutating func certificate(_ der: [UInt8]) -> Certificate? {
            let key = BytesKey(bytes: der)
            if let known = parsed[key] { return known }
            let c = try? Certificate(der: der)
            if parsed.count < 10_000 { parsed[key] = c }
            return c
        }

        mutating func captured(_ c: CapturedConnection) -> CapturedTLS {
            let sni = c.clientSide.sni.map(Self.hostName)
            var tcp = CapturedTLS.TCPStory(refused: c.refused, waitedMs: Int((c.lastMicroseconds &- c.firstMicroseconds) / 1000), serverBytes: c.serverBytes)
            if c.clientSide.helloSeen, c.serverBytes == 0 {
                // The client gave up (FIN or RST), or waited longer than a handshake deadline before the capture ended.
                let gaveUp = c.finBy == .client || c.resetBy == .client
                let waited = c.endOfCapture &- c.firstMicroseconds
                if gaveUp || (!c.closed && c.endOfCapture > 0 && waited >= 5_000_000) {
                    tcp.unanswered = true
                    if !gaveUp { tcp.waitedMs = Int(waited / 1000) }
                }
            }
            if c.serverSide.notTLS, !c.serverPreview.isEmpty { tcp.notTLS = HandshakeSession.notTLS(c.serverPreview) }
            let alerts = c.alerts.map { a in
                TLSAlert(code: a.code, level: a.level == 1 ? .warning : .fatal, sender: a.sender, server: c.server, serverName: sni)
            }
            return CapturedTLS(client: c.client, server: c.server, firstSeen: Date(timeIntervalSince1970: Double(c.firstMicroseconds) / 1_000_000),
                               sni: sni, offeredVersions: c.clientSide.offeredVersions, selectedVersion: c.serverSide.selectedVersion,
                               selectedCipher: c.serverSide.selectedCipher, serverHello: c.serverSide.helloSeen, alerts: alerts,
                               certificates: c.serverSide.certificates.compactMap { certificate($0) }, certificateRequest: c.serverSide.certificateRequest,
                               gaps: c.gaps, tcp: tcp, origin: ownPorts.contains(c.client.port) ? .triage : .other,
                               closedWithoutRequest: CaptureDecodeStep.closedWithoutRequest(c),
                               clientCertificateSent: !c.clientSide.certificates.isEmpty)
        }
    }

    /// TLS 1.2: the client's ChangeCipherSpec and the server's, no fatal alert, no application
    /// data from the client, and the client closed first. (TLS 1.3 hides this without the keys.)
    static func closedWithoutRequest(_ c: CapturedConnection) -> Bool {
        let client = c.clientSide, server = c.serverSide
        guard server.selectedVersion.map({ $0 < 0x0304 }) == true, client.changeCipherSpec, server.changeCipherSpec else { return false }
        let fatal = c.alerts.contains { $0.level == 2 }
        return !fatal && client.applicationData == 0 && (c.finBy == .client || c.resetBy == .client)
    }

    /// The key log file: a regular file of at most 64 MiB.
    static func readKeyLog(_ path: String) throws -> KeyLog {
        // Bounded before it is read whole; a pipe (`--keylog <(…)`) within its own time bound.
        do { return KeyLog(text: [UInt8](try Readable.contents(path, limit: 64 << 20))) } catch {
            throw StepFailure(.captureUnreadable, ["file": .string(path),
                                                   "error": .string(error.tooLarge ? "the key log is larger than 64 MiB" : "cannot read the key log: \(error)")])
        }
    }

    /// Each distinct chain sent in clear, verified as a client would at the
    /// time it was seen, by leaf fingerprint.
    /// The name each is checked against is `name` (`analyze --host`: the name every certificate must match),
    /// else the one its client asked for (the SNI), else `host`, else (for a ClientHello without SNI) the
    /// name other clients asked that server for. (In a run the SNI comes first: nginx's own connection
    /// with its `proxy_ssl_name` is checked against the name it asked for, not the URL's host.)
    static func verify(_ digest: CaptureDigest, caFile: String?, host: String?, name given: String? = nil, judged: Date? = nil) -> [String: ChainCheck] {
        // (The digest's first connection of each distinct chain: a handful, whatever the capture's size.)
        var checks: [String: ChainCheck] = [:]
        for c in digest.chains {
            let key = CaptureDigest.chainKey(c.certificates)
            guard !c.certificates.isEmpty, checks[key] == nil else { continue }
            let name = given ?? c.sni ?? host ?? digest.sniName(for: c.server)
            checks[key] = ChainVerifier.check(CertificateChain(certificates: c.certificates, servers: [c.server], serverName: c.sni),
                                              caFile: caFile, at: judged ?? c.firstSeen, name: name)
        }
        return checks
    }

    static func table(_ connections: [CapturedTLS]) -> String {
        connections.map { c in
            var line = "\(ISO8601.string(c.firstSeen)) \(c.client) → \(c.server) sni=\(c.sni ?? "none")"
            line += " offered=\(c.offeredVersions.map(ProtocolVersion.name).joined(separator: ","))"
            if let v = c.selectedVersion { line += " selected=\(ProtocolVersion.name(v))" }
            if let cipher = c.selectedCipher { line += " cipher=0x\(String(cipher, radix: 16))" }
            for a in c.alerts { line += " alert=\(a.level.name):\(a.code)(\(a.sender.rawValue))" }
            for cert in c.certificates { line += " cert=[\(cert.subject) notAfter=\(ISO8601.string(cert.notAfter))]" }
            if c.certificateRequest { line += " certificate-request" }
            if c.gaps { line += " (packets lost)" }
            return line
        }.joined(separator: "\n")
    }

    static let csvHeader = Array("first_seen,client,server,sni,offered,selected,cipher,alerts,certificates,not_after,gaps\n".utf8)

    /// The second half of the work on each connection — what the diagnosis
    /// reads, and its CSV row — on a serial queue of its own, so it runs on
    /// the other core beside the decoding; fed in batches, at most 16 in
    /// flight. `batch` is touched only by the decoding thread, the rest only
    /// on `queue`: hence unchecked.
    final class ConnectionSink: @unchecked Sendable {
        private let queue = DispatchQueue(label: "triage.capture-decode.sink")
        private let inFlight = DispatchSemaphore(value: 0)
        private var batch: [CapturedConnection] = []
        private var collector = Collector()
        private var csv = CSVWriter()
        private let table: EvidenceTable?
        private var tableError: String?

        init(table: Result<EvidenceTable, any Error>, ownPorts: Set<UInt16> = []) {
            collector.ownPorts = ownPorts
            switch table {
            case .success(let t): self.table = t
            case .failure(let error): self.table = nil; tableError = error.localizedDescription
            }
            write { try $0.append(CaptureDecodeStep.csvHeader) }
            batch.reserveCapacity(256)
            // Raised from 0: a semaphore that dies below its initial value traps.
            for _ in 0..<16 { inFlight.signal() }
        }

        func add(_ connection: CapturedConnection) {
            batch.append(connection)
            if batch.count >= 256 { send() }
        }

        private func send() {
            guard !batch.isEmpty else { return }
            let connections = batch
            batch.removeAll(keepingCapacity: true)
            inFlight.wait()
            queue.async {
                defer { self.inFlight.signal() }
                for c in connections {
                    guard let tls = self.collector.add(c) else { continue }
                    self.write { table in try table.append { self.csv.row(tls, into: &$0) } }
                }
            }
        }

        /// The first write error ends the table; the step says why.
        private func write(_ body: (EvidenceTable) throws -> Void) {
            guard let table, tableError == nil else { return }
            do { try body(table) } catch { tableError = error.localizedDescription }
        }

        /// Waits for the last batch; the digest, and why the table is missing if it is.
        func finish() -> (Collector, String?) {
            send()
            return queue.sync {
                write { _ = try $0.finish(description: Message(.evidenceConnections)) }
                return (collector, tableError)
            }
        }
    }

    /// Rows of `connections.csv`. Fields most connections share (versions,
    /// cipher, the certificates) are rendered once per distinct value.
    struct CSVWriter {
        struct TLSKey: Hashable { var offered: [UInt16]; var selected: UInt16?; var cipher: UInt16? }
        private var tlsFields: [TLSKey: [UInt8]] = [:]
        private var certificateFields: [String: [UInt8]] = [:]

        /// A CSV field: `Sink.csv`, with a quick path for the plain ASCII most fields are
        /// (addresses, dates, names) — which Sink.csv would leave as they are.
        static func field(_ s: String, into out: inout [UInt8]) {
            let plain = s.utf8.allSatisfy { b in b >= 0x20 && b < 0x7F && b != UInt8(ascii: ",") && b != UInt8(ascii: "\"") }
                && !(s.utf8.first.map { [UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@")].contains($0) } ?? false)
            if plain { out += s.utf8 } else { out += Sink.csv(s).utf8 }
        }

        /// One row per TLS connection, for a spreadsheet or `grep`, appended as bytes.
        mutating func row(_ c: CapturedTLS, into out: inout [UInt8]) {
            let comma = UInt8(ascii: ",")
            TextFormat.iso8601(c.firstSeen, into: &out); out.append(comma)
            c.client.write(into: &out); out.append(comma)
            c.server.write(into: &out); out.append(comma)
            Self.field(c.sni ?? "", into: &out); out.append(comma)
            let key = TLSKey(offered: c.offeredVersions, selected: c.selectedVersion, cipher: c.selectedCipher)
            if let known = tlsFields[key] { out += known } else {
                var f: [UInt8] = []
                Self.field(c.offeredVersions.map(ProtocolVersion.name).joined(separator: " "), into: &f); f.append(comma)
                Self.field(c.selectedVersion.map(ProtocolVersion.name) ?? "", into: &f); f.append(comma)
                Self.field(c.selectedCipher.map { "0x" + String($0, radix: 16) } ?? "", into: &f)
                if tlsFields.count < 1_000 { tlsFields[key] = f }
                out += f
            }
            out.append(comma)
            if !c.alerts.isEmpty { Self.field(c.alerts.map { "\($0.level.name):\($0.code):\($0.sender.rawValue)" }.joined(separator: " "), into: &out) }
            out.append(comma)
            if let leaf = c.certificates.first {
                let key = leaf.sha256 + "/\(c.certificates.count)"
                if let known = certificateFields[key] { out += known } else {
                    var f: [UInt8] = []
                    Self.field(c.certificates.map(\.subject).joined(separator: " | "), into: &f); f.append(comma)
                    TextFormat.iso8601(leaf.notAfter, into: &f)
                    if certificateFields.count < 10_000 { certificateFields[key] = f }
                    out += f
                }
            } else {
                out.append(comma)
            }
            out.append(comma)
            if c.gaps { out += "yes".utf8 }
            out.append(UInt8(ascii: "\n"))
        }
    }

    static func plain(_ c: CapturedTLS) -> Value {
        [
            "client": .typed(.endpoint(c.client)), "server": .typed(.endpoint(c.server)),
            "sni": c.sni.map(Value.string) ?? .null, "time": .typed(.date(c.firstSeen)),
            "version": c.selectedVersion.map { .string(ProtocolVersion.name($0)) } ?? .null,
            "alerts": .list(c.alerts.map { .typed(.alert($0)) }),
            "certificates": .list(c.certificates.map { .typed(.certificate($0)) }),
        ]
    }
}
