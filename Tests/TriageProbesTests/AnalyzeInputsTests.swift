import Foundation
import Testing
import TriageKit
import TriageProbes
import TriageTestSupport
import TriageWire

/// `triage analyze` reads what Wireshark reads: a gzip'd capture as the plain
/// one; a link type it does not decode is named (not "no TLS"); a capture
/// that began after the handshake says so (exit 3).
@Suite struct AnalyzeInputsTests {
    typealias F = TLSFixtures

    func analyze(_ file: String) async throws -> (CommandResult, ReportDocument) {
        let out = TestPaths.temporaryFolder("analyze-inputs")
        let r = try await Command.triage(["analyze", file, "--out", out.path])
        return (r, try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json"))))
    }

    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let url = TestPaths.temporaryFolder("captures").appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    @Test func aGzippedCaptureIsReadAsThePlainOne() async throws {
        let root = try F.root()
        let leaf = try F.leaf(notBefore: F.midnight(-100), notAfter: F.midnight(-4), issuer: root)
        // TLS 1.2: the certificates travel in clear, as a capture taken elsewhere shows them.
        let server = try F.server(chain: [leaf], key: leaf) { $0.maxVersion = "TLSv1.2" }
        defer { server.stop() }
        let run = try await DefaultRunbook.run(port: server.port, caFile: try F.file(root.certificatePEM))
        let capture = run.folder.appendingPathComponent("evidence/handshake/handshake.pcapng").path
        let gz = TestPaths.temporaryFolder("gz").appendingPathComponent("handshake.pcapng.gz").path
        let zipped = try await Command.run(["/bin/sh", "-c", "gzip -c \"$0\" > \"$1\"", capture, gz])
        #expect(zipped.status == 0)
        let (plain, plainDoc) = try await analyze(capture)
        let (compressed, compressedDoc) = try await analyze(gz)
        #expect(plain.status == 1 && compressed.status == 1, "\(compressed.stderr)")
        #expect(plainDoc.rootCause?.cause == .certExpired)
        // The days are counted to the moment the capture saw the chain, and said so (not "this run").
        #expect(plainDoc.rootCause?.summary.hasPrefix("the certificate for api.example.test expired on \(ISO8601.string(F.midnight(-4))), 4 day(s) before the capture") == true,
                "\(plainDoc.rootCause?.summary ?? "")")
        #expect(compressedDoc.rootCause?.cause == plainDoc.rootCause?.cause)
        #expect(compressedDoc.rootCause?.summary == plainDoc.rootCause?.summary)
    }

    /// `--host` is the name the certificates must match, whatever the ClientHellos asked for: a
    /// chain for api.example.test, asked for by that SNI, does not match another name given (it was
    /// checked against the SNI: "no problem found", exit 0, while the finding's text said the host).
    @Test func theHostGivenIsTheNameTheCertificatesMustMatch() async throws {
        let root = try F.root()
        let leaf = try F.leaf(issuer: root)
        let server = try F.server(chain: [leaf], key: leaf) { $0.maxVersion = "TLSv1.2" }
        defer { server.stop() }
        let ca = try F.file(root.certificatePEM)
        let run = try await DefaultRunbook.run(port: server.port, caFile: ca)
        let capture = run.folder.appendingPathComponent("evidence/handshake/handshake.pcapng").path
        for (host, status) in [("other.example", Int32(1)), (F.host, 0)] {
            let out = TestPaths.temporaryFolder("analyze-host-name")
            let r = try await Command.triage(["analyze", capture, "--ca-file", ca, "--host", host, "--out", out.path])
            #expect(r.status == status, "\(host): \(r.stdout) \(r.stderr)")
            let doc = try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json")))
            if status == 1 {
                #expect(doc.rootCause?.cause == .hostnameMismatch, "\(String(describing: doc.rootCause))")
                #expect(doc.rootCause?.summary.contains("other.example") == true, "\(doc.rootCause?.summary ?? "")")
            } else {
                #expect(doc.verdict == .healthy)
            }
        }
    }

    /// `--host` asks for a name check: on TLS 1.3 without a key log no certificate can be checked,
    /// so the run cannot say "no problem" (it did, exit 0): it is inconclusive and says why. So is a
    /// capture of completed handshakes whose certificates were all encrypted, without --host.
    @Test func aHostThatCouldNotBeCheckedIsInconclusive() async throws {
        let root = try F.root()
        let leaf = try F.leaf(issuer: root)
        let server = try F.server(chain: [leaf], key: leaf)   // TLS 1.3: certificates encrypted on the wire
        defer { server.stop() }
        let ca = try F.file(root.certificatePEM)
        let run = try await DefaultRunbook.run(port: server.port, caFile: ca)
        let capture = run.folder.appendingPathComponent("evidence/handshake/handshake.pcapng").path
        let out = TestPaths.temporaryFolder("analyze-host")
        let r = try await Command.triage(["analyze", capture, "--host", "evil.example", "--out", out.path])
        #expect(r.status == 3, "\(r.stdout) \(r.stderr)")
        let doc = try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json")))
        #expect(doc.incomplete.first?.error.contains("the name evil.example could not be checked") == true, "\(doc.incomplete.map(\.error))")
        // Without --host, the handshakes completed but no certificate could be checked: inconclusive too
        // (a missing intermediate hid there), and it says to pass the key log.
        let unchecked = TestPaths.temporaryFolder("analyze-unchecked")
        let u = try await Command.triage(["analyze", capture, "--out", unchecked.path])
        #expect(u.status == 3, "\(u.stdout) \(u.stderr)")
        let uDoc = try ReportDocument.decode(Data(contentsOf: unchecked.appendingPathComponent("report.json")))
        #expect(uDoc.incomplete.first?.error == "no certificate could be checked: none was seen in clear, and 2 TLS 1.3 connection(s) are encrypted — pass the client's key log with --keylog FILE",
                "\(uDoc.incomplete.map(\.error))")
        // With the run's key log the certificates are read: nothing wrong in what the capture shows, and the
        // advice is about captures (analyze has no --via).
        let keylog = run.folder.appendingPathComponent("evidence/handshake/sslkeylog.txt").path
        let healthy = TestPaths.temporaryFolder("analyze-healthy")
        let h = try await Command.triage(["analyze", capture, "--keylog", keylog, "--ca-file", ca, "--out", healthy.path])
        #expect(h.status == 0, "\(h.stdout) \(h.stderr)")
        let md = try String(contentsOf: healthy.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(md.contains("Nothing to fix in what this capture shows"), "\(md)")
        #expect(!md.contains("--via"))
        // A capture named relative to where triage ran: the report's command names it absolutely.
        let relative = TestPaths.temporaryFolder("analyze-relative")
        let rel = try await Command.run(["/bin/sh", "-c", "cd \"$1\" && exec \"$0\" analyze handshake.pcapng --keylog sslkeylog.txt --ca-file \"$3\" --out \"$2\"",
                                         TestPaths.triageBinary.path, (capture as NSString).deletingLastPathComponent, relative.path, ca])
        #expect(rel.status == 0, "\(rel.stderr)")
        let relDoc = try ReportDocument.decode(Data(contentsOf: relative.appendingPathComponent("report.json")))
        #expect(relDoc.steps.first { $0.id == "decode" }?.command?.hasPrefix("tshark -r \(capture)") == true,
                "\(String(describing: relDoc.steps.first { $0.id == "decode" }?.command))")
    }

    @Test func anUnreadLinkTypeIsNamed() async throws {
        var writer = PcapWriter(linkType: 127)
        writer.append(frame: Array(repeating: 0xAB, count: 80), microseconds: 1_764_000_000_000_000)
        let (r, doc) = try await analyze(try write(writer.bytes, "radiotap.pcap"))
        #expect(r.status == 3, "\(r.stdout) \(r.stderr)")
        #expect(doc.incomplete.first?.error.contains("link type 127 (IEEE802_11_RADIOTAP (Wi-Fi with radiotap))") == true,
                "\(doc.incomplete.map(\.error))")
        // No group to name: the summary ends with the count, no dangling "; ".
        #expect(doc.steps.first { $0.id == "decode" }?.summary == "0 TLS connection(s) in 1 packets", "\(doc.steps.map(\.summary))")
    }

    /// A capture cut before any TLS connection (a download or a gzip stopped early) says where it is
    /// cut, not "is TLS on a port the capture filtered out?".
    @Test func aCaptureCutBeforeAnyTLSSaysWhere() async throws {
        let client = Endpoint(IPAddress(bytes: [10, 0, 0, 1])!, port: 50_123), server = Endpoint(IPAddress(bytes: [10, 0, 0, 2])!, port: 443)
        var writer = PcapWriter()
        writer.append(frame: TCPConversation.frame(src: client, dst: server, seq: 1000, ack: 0, flags: 0x02, payload: []), microseconds: 1_764_000_000_000_000)
        writer.append(frame: TCPConversation.frame(src: server, dst: client, seq: 2000, ack: 1001, flags: 0x12, payload: []), microseconds: 1_764_000_000_001_000)
        let (r, doc) = try await analyze(try write(Array(writer.bytes.dropLast(20)), "cut.pcap"))
        #expect(r.status == 3, "\(r.stdout) \(r.stderr)")
        #expect(doc.incomplete.first?.error.hasPrefix("the capture ends in damage at byte") == true, "\(doc.incomplete.map(\.error))")
    }

    @Test func aCaptureThatBeganAfterTheHandshakeSaysSo() async throws {
        let client = Endpoint(IPAddress(bytes: [10, 0, 0, 1])!, port: 50_123), server = Endpoint(IPAddress(bytes: [10, 0, 0, 2])!, port: 443)
        let record: [UInt8] = [0x17, 0x03, 0x03, 0x00, 0x08] + Array(repeating: 0x42, count: 8)
        var writer = PcapWriter()
        writer.append(frame: TCPConversation.frame(src: client, dst: server, seq: 1000, ack: 2000, flags: 0x18, payload: record), microseconds: 1_764_000_000_000_000)
        writer.append(frame: TCPConversation.frame(src: server, dst: client, seq: 2000, ack: 1013, flags: 0x18, payload: record), microseconds: 1_764_000_000_001_000)
        let (r, doc) = try await analyze(try write(writer.bytes, "midstream.pcap"))
        #expect(r.status == 3, "\(r.stdout) \(r.stderr)")
        #expect(doc.incomplete.first?.error.hasPrefix("the capture began after the handshake: 1 connection(s) carry TLS records but no ClientHello") == true,
                "\(doc.incomplete.map(\.error))")
    }

    /// Without the capability to capture (CAP_NET_RAW and CAP_NET_ADMIN dropped from the bounding set),
    /// capture-start is a warning that says how to grant it, and the run still ends healthy.
    @Test func captureWithoutPrivilegeIsAWarningWithTheFix() async throws {
        let root = try F.root()
        let leaf = try F.leaf(sans: [F.host, "127.0.0.1"], issuer: root)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let out = TestPaths.temporaryFolder("no-capture")
        let r = try await Command.run(["setpriv", "--bounding-set=-net_raw,-net_admin", "--inh-caps=-net_raw,-net_admin",
                                       TestPaths.triageBinary.path, "run", "https://\(F.host):\(server.port)/", "--resolve", "\(F.host):\(server.port):127.0.0.1",
                                       "--cacert", try F.file(root.certificatePEM), "--set", "capture=true", "--out", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json")))
        let step = try #require(doc.steps.first { $0.id == "capture-start" })
        #expect(step.status == .warning)
        #expect(step.summary.contains("sudo setcap cap_net_raw,cap_net_admin+eip"), "\(step.summary)")
    }
}
