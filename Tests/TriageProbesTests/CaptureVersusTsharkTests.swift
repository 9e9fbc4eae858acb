import Foundation
import Testing
import TriageDemo
import TriageKit
import TriageProbes
import TriageTestSupport
import TriageWire

/// triage's reading of a capture equals tshark's reading of the same file:
/// alerts (level, description, sender), SNI, certificate dates.
@Suite struct CaptureVersusTsharkTests {
    typealias F = TLSFixtures

    /// Runs the default runbook against a fixture and returns its self-capture.
    func capture(_ configure: @escaping (inout TLSServer.Configuration) -> Void = { _ in },
                 leaf: ((CertificateMint.Identity) throws -> CertificateMint.Identity)? = nil) async throws -> (String, Int) {
        let root = try F.root()
        let cert = try leaf?(root) ?? F.leaf(issuer: root)
        let server = try F.server(chain: [cert], key: cert, configure: configure)
        defer { server.stop() }
        let run = try await DefaultRunbook.run(port: server.port, caFile: try F.file(root.certificatePEM))
        return (run.folder.appendingPathComponent("evidence/handshake/handshake.pcapng").path, server.port)
    }

    func tshark(_ file: String, port: Int, _ fields: [String], filter: String) async throws -> [String] {
        let r = try await Command.run(["tshark", "-r", file, "-d", "tcp.port==\(port),tls", "-Y", filter, "-T", "fields"]
                                      + fields.flatMap { ["-e", $0] } + ["-E", "separator=,"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stderr.lowercased().contains("malformed"), "\(r.stderr)")
        return r.stdout.split(separator: "\n").map(String.init)
    }

    func triage(_ file: String) throws -> CaptureAnalysis {
        var reader = try CaptureReader.open(path: file)
        return try CaptureAnalysis.run(&reader)
    }

    func compare(_ file: String, port: Int) async throws {
        let analysis = try triage(file)
        // The file opens in tshark without an error or a malformed packet.
        let listing = try await Command.run(["tshark", "-r", file, "-d", "tcp.port==\(port),tls"])
        #expect(listing.status == 0, "\(listing.stderr)")
        #expect(!listing.stdout.contains("Malformed") && !listing.stderr.contains("Malformed"), "\(listing.stdout)")
        // Alerts in clear: "source/level/description" (an encrypted alert has neither).
        let theirs = try await tshark(file, port: port, ["ip.src", "tls.alert_message.level", "tls.alert_message.desc"], filter: "tls.alert_message.desc")
        let ours = analysis.connections.flatMap { c in
            c.alerts.map { a in "\(CaptureViewForTests.address(a.sender == Peer.client ? c.client : c.server)),\(a.level),\(a.code)" }
        }
        #expect(ours.sorted() == theirs.sorted())
        // SNI of every ClientHello.
        let sni = try await tshark(file, port: port, ["tls.handshake.extensions_server_name"], filter: "tls.handshake.type == 1")
        // (tshark prints nothing for a ClientHello without SNI.)
        #expect(analysis.connections.compactMap { $0.clientSide.sni }.sorted() == sni.filter { !$0.isEmpty }.sorted())
        // Certificate dates sent in clear.
        let dates = try await tshark(file, port: port, ["x509af.utcTime"], filter: "tls.handshake.type == 11")
        let ourDates = analysis.connections.flatMap { $0.serverSide.certificates }.compactMap { try? Certificate(der: $0) }
            .map { "\(CaptureViewForTests.tsharkTime($0.notBefore)),\(CaptureViewForTests.tsharkTime($0.notAfter))" }
        // (One line per Certificate message: notBefore,notAfter of each certificate in turn.)
        let theirDates = dates.flatMap { line in
            let parts = line.split(separator: ",").map(String.init)
            return stride(from: 0, to: parts.count - 1, by: 2).map { parts[$0] + "," + parts[$0 + 1] }
        }
        #expect(ourDates.sorted() == theirDates.sorted())
    }

    @Test func alert80WithoutSNI() async throws {
        let (file, port) = try await capture { $0.sni = .abortWithoutSNI }
        let analysis = try triage(file)
        #expect(analysis.connections.count == 2)
        let noSNI = analysis.connections.first { $0.clientSide.sni == nil }
        #expect(noSNI?.alerts.first.map { "\($0.sender.rawValue) \($0.level) \($0.code)" } == "server 2 80")
        try await compare(file, port: port)
    }

    @Test func tls12CertificatesAndClientCertificateAlert() async throws {
        let (file, port) = try await capture({ $0.maxVersion = "TLSv1.2"; $0.clientCAPEM = try? F.root("client CA").certificatePEM },
                                             leaf: { root in try F.leaf(notBefore: F.midnight(-20), notAfter: F.midnight(-1), issuer: root) })
        let analysis = try triage(file)
        #expect(analysis.connections.allSatisfy { $0.serverSide.certificateRequest })
        #expect(analysis.connections.contains { $0.alerts.contains { $0.sender == Peer.server && $0.code == 40 } })
        try await compare(file, port: port)
    }

    @Test func tls10ServerAndTheClientsOwnAlert() async throws {
        let (file, port) = try await capture({ $0.minVersion = "TLSv1"; $0.maxVersion = "TLSv1"; $0.securityLevel = 0 },
                                             leaf: { root in try F.leaf(key: .rsa(bits: 2048), issuer: root) })
        let analysis = try triage(file)
        #expect(analysis.connections.contains { $0.alerts.contains { $0.sender == Peer.client && $0.code == 80 } })
        #expect(analysis.connections.allSatisfy { $0.serverSide.selectedVersion == 0x0301 })
        try await compare(file, port: port)
    }

    @Test func analyzeCommandReportsTheSameAsALiveRun() async throws {
        let (file, _) = try await capture { $0.sni = .abortWithoutSNI }
        let out = TestPaths.temporaryFolder("analyze")
        let r = try await Command.triage(["analyze", file, "--out", out.path])
        #expect(r.status == 1, "\(r.stderr)")
        let doc = try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json")))
        #expect(doc.rootCause?.cause == .alertWithoutSNI)
        #expect(doc.rootCause?.alert?.code == 80)
        #expect(doc.rootCause?.alert?.sender == .server)
        // A filter that matches nothing checked nothing: inconclusive, not "no problem found".
        let none = try await Command.triage(["analyze", file, "--port", "1", "--out", TestPaths.temporaryFolder("analyze").path])
        #expect(none.status == 3, "\(none.stdout)")
        #expect(none.stdout.contains("no TLS connection to port 1 in the capture"), "\(none.stdout)")
        let bad = try await Command.triage(["analyze", "/etc/hostname", "--out", TestPaths.temporaryFolder("analyze").path])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("byte 0: the file ends inside the file's magic number"))
    }

    /// The self-capture cut mid-block: triage decodes the frames before the
    /// cut — as many as tshark reads — says where it ends and how much is
    /// lost, and still finds the alert (exit 1, not a failed step).
    @Test func cutCaptureIsAnalysedUpToTheCut() async throws {
        let (file, port) = try await capture { $0.sni = .abortWithoutSNI }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        let cut = TestPaths.temporaryFolder("cut").appendingPathComponent("cut.pcapng")
        try bytes.prefix(bytes.count - 7).write(to: cut)
        let theirs = try await Command.run(["tshark", "-r", cut.path, "-d", "tcp.port==\(port),tls", "-T", "fields", "-e", "frame.number"])
        #expect(theirs.stderr.contains("cut short in the middle of a packet"), "\(theirs.stderr)")
        let frames = theirs.stdout.split(separator: "\n").count
        let out = TestPaths.temporaryFolder("analyze-cut")
        let r = try await Command.triage(["analyze", cut.path, "--out", out.path])
        #expect(r.status == 1, "\(r.stderr)")
        let doc = try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json")))
        let decode = try #require(doc.steps.first { $0.id == "decode" })
        #expect(decode.status == .problem)
        #expect(decode.fact(.packets) == .int(frames))
        #expect(decode.fact(.bytesLost)?.intValue ?? 0 > 0)
        #expect(TextTable.english.format(decode.fact(.captureCut) ?? .null).contains("the file ends inside a block of"))
        #expect(doc.rootCause?.cause == .alertWithoutSNI)
    }
}

/// Formatting shared by the comparisons.
enum CaptureViewForTests {
    static func address(_ e: Endpoint) -> String { e.address.description }

    /// tshark prints UTCTime as `2025-03-01 00:00:00 (UTC)`.
    static func tsharkTime(_ date: Date) -> String {
        ISO8601.string(date).replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: " (UTC)")
    }
}

/// Captures taken live with libpcap on loopback of real `openssl s_client`
/// handshakes against fixture servers: what triage reads equals what tshark
/// reads from the same file.
@Suite(.serialized) struct LiveCaptureVersusTsharkTests {
    typealias F = TLSFixtures

    /// Captures `openssl s_client` (with `clientArguments`) against `server`.
    func capture(_ server: TLSServer, _ clientArguments: [String]) async throws -> String {
        let (file, frames) = try await ClientCapture.sClient(port: server.port, [clientArguments])
        #expect(frames > 0)
        return file
    }

    func alerts(_ file: String) throws -> [String] {
        var reader = try CaptureReader.open(path: file)
        return try CaptureAnalysis.run(&reader).connections.flatMap { c in c.alerts.map { "\($0.sender) \($0.level) \($0.code)" } }
    }

    func compareWithTshark(_ file: String, port: Int) async throws {
        try await CaptureVersusTsharkTests().compare(file, port: port)
    }

    @Test func clientRejectsAnExpiredCertificateWithAlert45() async throws {
        let root = try F.root()
        let leaf = try F.leaf(notBefore: F.midnight(-60), notAfter: F.midnight(-2), issuer: root)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let file = try await capture(server, ["-tls1_2", "-servername", F.host, "-verify_return_error", "-CAfile", try F.file(root.certificatePEM)])
        #expect(try alerts(file) == ["client 2 45"])
        try await compareWithTshark(file, port: server.port)
    }

    @Test func clientRejectsAnUnknownCAWithAlert48() async throws {
        let root = try F.root()
        let leaf = try F.leaf(issuer: root)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let file = try await capture(server, ["-tls1_2", "-servername", F.host, "-verify_return_error", "-CAfile", try F.file(try F.root("other root").certificatePEM)])
        #expect(try alerts(file) == ["client 2 48"])
        try await compareWithTshark(file, port: server.port)
    }

    @Test func noSharedCipherGetsAlert40FromTheServer() async throws {
        let root = try F.root()
        let leaf = try F.leaf(issuer: root) // an EC key: RSA-only suites cannot be served
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let file = try await capture(server, ["-tls1_2", "-cipher", "AES128-SHA"])
        #expect(try alerts(file) == ["server 2 40"])
        try await compareWithTshark(file, port: server.port)
    }

    @Test func serverAbortsWithoutSNIWithAlert80() async throws {
        let root = try F.root()
        let leaf = try F.leaf(issuer: root)
        let server = try F.server(chain: [leaf], key: leaf) { $0.sni = .abortWithoutSNI }
        defer { server.stop() }
        let file = try await capture(server, ["-noservername"])
        #expect(try alerts(file) == ["server 2 80"])
        try await compareWithTshark(file, port: server.port)
    }
}

extension LiveCaptureVersusTsharkTests {
    @Test func unknownServerNameGetsAlert112() async throws {
        let root = try F.root()
        let leaf = try F.leaf(issuer: root)
        let server = try F.server(chain: [leaf], key: leaf) { $0.sni = .onlyName(F.host) }
        defer { server.stop() }
        let file = try await capture(server, ["-servername", "wrong.example.test"])
        #expect(try alerts(file) == ["server 2 112"])
        try await compareWithTshark(file, port: server.port)
    }
}

extension LiveCaptureVersusTsharkTests {
    @Test func clientRejectsANotYetValidCertificateWithAlert42() async throws {
        // OpenSSL's client answers a certificate that is not yet valid with bad_certificate.
        let root = try F.root()
        let leaf = try F.leaf(notBefore: F.midnight(5), notAfter: F.midnight(400), issuer: root)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let file = try await capture(server, ["-tls1_2", "-servername", F.host, "-verify_return_error", "-CAfile", try F.file(root.certificatePEM)])
        #expect(try alerts(file) == ["client 2 42"])
        try await compareWithTshark(file, port: server.port)
    }
}

extension LiveCaptureVersusTsharkTests {
    /// stop() right after a burst still keeps every packet the receiver got
    /// (each one passed the capture tap on its way in): the capture thread,
    /// however far behind, drains the kernel's ring before it closes.
    @Test func stopKeepsEveryPacketAlreadyReceived() throws {
        let count = 1_000
        let (receiver, port) = try SocketAddress.bind(type: Int32(SOCK_DGRAM.rawValue)).get()
        let sender = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(receiver); close(sender) }
        var buffer: Int32 = 16 << 20, wait = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(receiver, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(receiver, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        let live = try LiveCapture(device: "lo", filter: "udp dst port \(port)")
        let target = try #require(SocketAddress("127.0.0.1", port: port))
        let payload = [UInt8](repeating: 0x5A, count: 512)
        for _ in 0..<count {
            _ = target.withSockaddr { sendto(sender, payload, payload.count, 0, $0, $1) }
        }
        var received = 0, scratch = [UInt8](repeating: 0, count: 2048)
        while received < count, recv(receiver, &scratch, scratch.count, 0) > 0 { received += 1 }
        #expect(received == count)
        let (bytes, frames, dropped, kernelDropped) = live.stop()
        #expect(dropped == 0)
        #expect(kernelDropped == 0)
        #expect(frames == count)
        var reader = try CaptureReader(bytes: bytes)
        var read = 0
        while try reader.next() != nil { read += 1 }
        #expect(read == count)
    }
}
