import Foundation
import Testing
import TriageDemo
import TriageKit
import TriageProbes
import TriageTestSupport
import TriageWire

/// A capture alone reaches the causes a live run reaches: each test captures
/// real `openssl s_client` runs against a broken fixture server with
/// libpcap, runs `triage analyze` on the file, checks the root cause and its
/// key fact against a live run of the same server where one is quick, and
/// checks what the cause rests on against tshark's reading of the same file.
@Suite(.serialized) struct CaptureParityTests {
    typealias F = TLSFixtures

    /// Captures one `openssl s_client` per argument list against `port`.
    func capture(port: Int, _ runs: [[String]], seconds: Int = 5) async throws -> String {
        let (file, frames) = try await ClientCapture.sClient(port: port, runs, seconds: seconds)
        #expect(frames > 0)
        return file
    }

    /// `triage analyze FILE` as a user runs it; a problem is exit 1.
    func analyze(_ file: String, caFile: String? = nil) async throws -> ReportDocument {
        let out = TestPaths.temporaryFolder("parity-analyze")
        let r = try await Command.triage(["analyze", file, "--out", out.path] + (caFile.map { ["--ca-file", $0] } ?? []))
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        return try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json")))
    }

    func tshark(_ file: String, port: Int, filter: String, _ fields: [String]) async throws -> [String] {
        let r = try await Command.run(["tshark", "-r", file, "-d", "tcp.port==\(port),tls", "-Y", filter, "-T", "fields"]
                                      + fields.flatMap { ["-e", $0] } + ["-E", "separator=,"])
        #expect(r.status == 0, "\(r.stderr)")
        return r.stdout.split(separator: "\n").map(String.init)
    }

    /// The analysis and the live run name the same root cause with the same key fact.
    func expectParity(_ capture: ReportDocument, _ live: DefaultRunbook.Run?, cause: Cause, _ key: FactKey, _ value: Value) {
        #expect(capture.rootCause?.cause == cause, "\(capture.findings.map { "\($0.cause) \($0.summary)" })")
        #expect(capture.rootCause?.fact(key) == value, "\(capture.rootCause?.facts ?? [:])")
        if let live {
            #expect(live.root?.cause == cause, "\(live.document.findings.map { "\($0.cause) \($0.summary)" })")
            #expect(live.root?.fact(key) == value)
        }
    }

    @Test func hostnameMismatchAgainstTheSNI() async throws {
        let root = try F.root()
        let leaf = try F.leaf("other.example.test", issuer: root)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let ca = try F.file(root.certificatePEM)
        let file = try await capture(port: server.port, [["-tls1_2", "-servername", F.host]])
        let live = try await DefaultRunbook.run(port: server.port, caFile: ca)
        expectParity(try await analyze(file, caFile: ca), live, cause: .hostnameMismatch, .host, .string(F.host))
        let names = try await tshark(file, port: server.port, filter: "tls.handshake.type == 11", ["x509sat.printableString", "x509sat.uTF8String"])
        #expect(names.joined().contains("other.example.test"))
        try await CaptureVersusTsharkTests().compare(file, port: server.port)
    }

    @Test func selfSignedLeaf() async throws {
        let selfSigned = try CertificateMint.mint(.init(commonName: F.host, subjectAltNames: [F.host], notBefore: F.midnight(-1), notAfter: F.midnight(90)))
        let server = try F.server(chain: [selfSigned], key: selfSigned)
        defer { server.stop() }
        let ca = try F.file(try F.root("unrelated root").certificatePEM)
        let file = try await capture(port: server.port, [["-tls1_2", "-servername", F.host]])
        let live = try await DefaultRunbook.run(port: server.port, caFile: ca)
        expectParity(try await analyze(file, caFile: ca), live, cause: .selfSigned, .issuer, "CN=api.example.test,O=triage fixture")
        try await CaptureVersusTsharkTests().compare(file, port: server.port)
    }

    /// The leaf alone, its intermediate in the client's CA file: the server omits it.
    @Test func missingIntermediate() async throws {
        let root = try F.root()
        let intermediate = try F.intermediate("triage intermediate", issuer: root)
        let leaf = try F.leaf(issuer: intermediate)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let ca = try F.file(root.certificatePEM + intermediate.certificatePEM)
        let file = try await capture(port: server.port, [["-tls1_2", "-servername", F.host]])
        let live = try await DefaultRunbook.run(port: server.port, caFile: ca)
        expectParity(try await analyze(file, caFile: ca), live, cause: .incompleteChain, .missingIssuer, "CN=triage intermediate,O=triage fixture")
        // tshark sees one certificate in the Certificate message.
        let lengths = try await tshark(file, port: server.port, filter: "tls.handshake.type == 11", ["tls.handshake.certificate_length"])
        #expect(lengths.map { $0.split(separator: ",").count } == [1])
    }

    /// The leaf from a root the client does not have: unknown issuer, not "add the intermediate".
    @Test func unknownRoot() async throws {
        let root = try F.root("corp root")
        let leaf = try F.leaf(issuer: root)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let file = try await capture(port: server.port, [["-tls1_2", "-servername", F.host]])
        let live = try await DefaultRunbook.run(port: server.port, caFile: nil)
        expectParity(try await analyze(file), live, cause: .untrustedIssuer, .issuer, "CN=corp root,O=triage fixture")
    }

    @Test func expiredIntermediate() async throws {
        let root = try F.root()
        let expiredOn = F.midnight(-5)
        let intermediate = try F.intermediate("old intermediate", notBefore: F.midnight(-900), notAfter: expiredOn, issuer: root)
        let leaf = try F.leaf(issuer: intermediate)
        let server = try F.server(chain: [leaf, intermediate], key: leaf)
        defer { server.stop() }
        let ca = try F.file(root.certificatePEM)
        let file = try await capture(port: server.port, [["-tls1_2", "-servername", F.host]])
        let live = try await DefaultRunbook.run(port: server.port, caFile: ca)
        let doc = try await analyze(file, caFile: ca)
        expectParity(doc, live, cause: .intermediateExpired, .notAfter, .typed(.date(expiredOn)))
        #expect(doc.rootCause?.subject == "CN=old intermediate,O=triage fixture")
        #expect(live.root?.subject == "CN=old intermediate,O=triage fixture")
        #expect(!doc.findings.contains { $0.cause == .certExpired })
        try await CaptureVersusTsharkTests().compare(file, port: server.port)
    }

    @Test func weakKey() async throws {
        let root = try F.root()
        let leaf = try F.leaf(key: .rsa(bits: 1024), issuer: root)
        let server = try F.server(chain: [leaf], key: leaf) { $0.securityLevel = 0 }
        defer { server.stop() }
        let ca = try F.file(root.certificatePEM)
        let file = try await capture(port: server.port, [["-tls1_2", "-servername", F.host, "-cipher", "'DEFAULT:@SECLEVEL=0'"]])
        let live = try await DefaultRunbook.run(port: server.port, caFile: ca)
        expectParity(try await analyze(file, caFile: ca), live, cause: .weakKey, .key, "RSA 1024")
        try await CaptureVersusTsharkTests().compare(file, port: server.port)
    }

    /// With SNI the right certificate, without it an expired default one.
    @Test func defaultCertificateWithoutSNI() async throws {
        let root = try F.root()
        let good = try F.leaf(issuer: root)
        let expiredOn = F.midnight(-3)
        let fallback = try F.leaf("default.example.test", notBefore: F.midnight(-400), notAfter: expiredOn, issuer: root)
        let server = try F.server(chain: [good], key: good) { $0.sni = .defaultCertificate(chainPEM: fallback.certificatePEM, keyPEM: fallback.keyPEM) }
        defer { server.stop() }
        let ca = try F.file(root.certificatePEM)
        let file = try await capture(port: server.port, [["-tls1_2", "-servername", F.host], ["-tls1_2", "-noservername"]])
        let live = try await DefaultRunbook.run(port: server.port, caFile: ca)
        let doc = try await analyze(file, caFile: ca)
        expectParity(doc, live, cause: .defaultCertWithoutSNI, .subject, "CN=default.example.test,O=triage fixture")
        #expect(doc.rootCause?.date(.notAfter) == expiredOn)
        try await CaptureVersusTsharkTests().compare(file, port: server.port)
    }

    @Test func plainHTTPOnTheTLSPort() async throws {
        let server = try PlainTCPServer(.http)
        defer { server.stop() }
        let file = try await capture(port: server.port, [[]])
        let live = try await DefaultRunbook.run(port: server.port, caFile: nil)
        let doc = try await analyze(file)
        #expect(doc.rootCause?.cause == .notTLS)
        #expect(live.root?.cause == .notTLS)
        // The same preview of the answer as the live run.
        #expect(doc.rootCause?.fact(.answer) == live.root?.fact(.answer))
        #expect(doc.rootCause?.fact(.answer)?.stringValue?.hasPrefix("'HTTP/1.") == true)
        let payload = try await tshark(file, port: server.port, filter: "tcp.srcport == \(server.port) && tcp.len > 0", ["tcp.payload"])
        #expect(payload.first?.hasPrefix("485454502f312e") == true) // "HTTP/1."
    }

    /// The server accepts and never answers the ClientHello; the client gives up after 1 s.
    @Test func clientHelloNeverAnswered() async throws {
        let server = try PlainTCPServer(.silent)
        defer { server.stop() }
        let file = try await capture(port: server.port, [[]], seconds: 1)
        let doc = try await analyze(file)
        #expect(doc.rootCause?.cause == .timeout)
        #expect(doc.rootCause?.fact(.bytesReceived) == .int(0))
        let waited = try #require(doc.rootCause?.fact(.elapsedMs)?.numberValue)
        #expect(waited >= 900 && waited < 5_000)
        #expect(try await tshark(file, port: server.port, filter: "tls.handshake.type == 1", ["frame.number"]).count == 1)
        #expect(try await tshark(file, port: server.port, filter: "tcp.srcport == \(server.port) && tcp.len > 0", ["frame.number"]).isEmpty)
        #expect(try await tshark(file, port: server.port, filter: "tcp.dstport == \(server.port) && tcp.flags.fin == 1", ["frame.number"]).count == 1)
    }

    @Test func synAnsweredByReset() async throws {
        let port = PlainTCPServer.closedPort()
        let file = try await capture(port: port, [[]])
        let live = try await DefaultRunbook.run(port: port, caFile: nil)
        expectParity(try await analyze(file), live, cause: .connectionRefused, .address, .typed(.endpoint(try #require(Endpoint("127.0.0.1:\(port)")))))
        #expect(try await tshark(file, port: port, filter: "tcp.srcport == \(port) && tcp.flags.reset == 1", ["frame.number"]).count == 1)
        #expect(try await tshark(file, port: port, filter: "tcp.flags.syn == 1 && tcp.flags.ack == 1", ["frame.number"]).isEmpty)
    }

    /// A TLS 1.1 handshake that completes: the version is the problem.
    @Test func tls11Negotiated() async throws {
        let root = try F.root()
        let leaf = try F.leaf(key: .rsa(bits: 2048), issuer: root)
        let server = try F.server(chain: [leaf], key: leaf) { $0.minVersion = "TLSv1.1"; $0.maxVersion = "TLSv1.1"; $0.securityLevel = 0 }
        defer { server.stop() }
        let ca = try F.file(root.certificatePEM)
        let file = try await capture(port: server.port, [["-tls1_1", "-servername", F.host, "-cipher", "'DEFAULT:@SECLEVEL=0'"]])
        let live = try await DefaultRunbook.run(port: server.port, caFile: ca)
        let doc = try await analyze(file, caFile: ca)
        #expect(doc.rootCause?.cause == .protocolVersion, "\(doc.findings.map(\.summary))")
        #expect(doc.rootCause?.fact(.version) == "TLSv1.1")
        #expect(live.root?.cause == .protocolVersion)
        #expect(try await tshark(file, port: server.port, filter: "tls.handshake.type == 2", ["tls.handshake.version"]) == ["0x0302"])
    }
}

/// TLS 1.3 hides the certificates and most alerts; with the client's key
/// log (or a pcapng that carries it) triage decrypts them, and agrees with
/// tshark given the same key log.
extension CaptureParityTests {
    /// A TLS 1.3 `openssl s_client` run with its key log: (capture, key log).
    func tls13Capture(port: Int, _ arguments: [String]) async throws -> (String, String) {
        let keys = TestPaths.temporaryFolder("keylog").appendingPathComponent("sslkeylog.txt").path
        let file = try await capture(port: port, [["-tls1_3", "-keylogfile", keys] + arguments])
        return (file, keys)
    }

    func tsharkDecrypted(_ file: String, keys: String, port: Int, filter: String, _ fields: [String]) async throws -> [String] {
        let r = try await Command.run(["tshark", "-r", file, "-o", "tls.keylog_file:\(keys)", "-d", "tcp.port==\(port),tls", "-Y", filter, "-T", "fields"]
                                      + fields.flatMap { ["-e", $0] } + ["-E", "separator=,"])
        #expect(r.status == 0, "\(r.stderr)")
        return r.stdout.split(separator: "\n").map(String.init)
    }

    @Test func tls13ClientCertificateRequiredDecryptedWithTheKeyLog() async throws {
        let root = try F.root()
        let notAfter = F.midnight(123)
        let leaf = try F.leaf(notAfter: notAfter, issuer: root)
        let server = try F.server(chain: [leaf], key: leaf) { $0.maxVersion = "TLSv1.3"; $0.clientCAPEM = try? F.root("client CA").certificatePEM }
        defer { server.stop() }
        let ca = try F.file(root.certificatePEM)
        let (file, keys) = try await tls13Capture(port: server.port, ["-servername", F.host])

        // Without the secrets the alert is hidden: the connection ended in a short encrypted
        // record right after the handshake, so the run is inconclusive (not "no problem"), and says how to see it.
        let hidden = TestPaths.temporaryFolder("tls13-hidden")
        let plain = try await Command.triage(["analyze", file, "--ca-file", ca, "--out", hidden.path])
        let plainDoc = try ReportDocument.decode(Data(contentsOf: hidden.appendingPathComponent("report.json")))
        #expect(plain.status == 3, "\(plain.stdout)\(plain.stderr)")
        #expect(plainDoc.verdict == .inconclusive)
        #expect(plainDoc.rootCause == nil)
        #expect(plain.stdout.contains("short encrypted record"), "\(plain.stdout)")
        let note: String = TextTable.english.format(plainDoc.steps.first?.fact(.note) ?? .null)
        #expect(note.contains("--keylog"), "\(note)")

        let out = TestPaths.temporaryFolder("tls13")
        let r = try await Command.triage(["analyze", file, "--keylog", keys, "--ca-file", ca, "--out", out.path])
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        let doc = try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json")))
        #expect(doc.rootCause?.cause == .clientCertRequired)
        #expect(doc.rootCause?.alert?.code == 116)
        #expect(doc.rootCause?.alert?.sender == .server)
        let decode = try #require(doc.steps.first { $0.id == "decode" })
        #expect(decode.fact(.decryptedConnections) == .int(1))
        #expect(decode.fact(.keyLogEntries) == .int(1))
        // The certificate, encrypted on the wire, read from the decrypted handshake.
        let csv = try String(contentsOf: out.appendingPathComponent("evidence/decode/connections.csv"), encoding: .utf8)
        #expect(csv.contains(ISO8601.string(notAfter)), "\(csv)")
        // The key log from a pipe (`--keylog <(…)`): read once, the same alert decrypted.
        let piped = TestPaths.temporaryFolder("tls13-piped")
        let p = try await Command.run(["/bin/bash", "-c", "exec \"$0\" analyze \"$1\" --keylog <(cat \"$2\") --ca-file \"$3\" --out \"$4\"",
                                       TestPaths.triageBinary.path, file, keys, ca, piped.path])
        #expect(p.status == 1, "\(p.stdout)\(p.stderr)")
        let pipedDoc = try ReportDocument.decode(Data(contentsOf: piped.appendingPathComponent("report.json")))
        #expect(pipedDoc.rootCause?.alert?.code == 116)

        // tshark with the same key log: the same alert, the same dates.
        let alerts = try await tsharkDecrypted(file, keys: keys, port: server.port, filter: "tls.alert_message.desc",
                                               ["tcp.srcport", "tls.alert_message.level", "tls.alert_message.desc"])
        let theirs = alerts.map { line in
            let f = line.split(separator: ",")
            return "\(f[1]):\(f[2]):\(f[0] == "\(server.port)" ? "server" : "client")"
        }
        #expect(theirs.contains("2:116:server"))
        // connections.csv's alerts column: level:code:sender. The same alerts as tshark's; their order across the
        // two directions is not compared: decrypted alerts are read per direction, and the client's close_notify
        // and the server's 116 leave within the same millisecond (one full-suite run in ten saw them swapped).
        let row = try #require(csv.split(separator: "\n").dropFirst().first)
        let ours = row.split(separator: ",", maxSplits: 8, omittingEmptySubsequences: false)[7].split(separator: " ").map(String.init)
        #expect(ours.map { $0.replacingOccurrences(of: "fatal", with: "2").replacingOccurrences(of: "warning", with: "1") }.sorted() == theirs.sorted())
        let dates = try await tsharkDecrypted(file, keys: keys, port: server.port, filter: "tls.handshake.type == 11", ["x509af.utcTime"])
        #expect(dates == ["\(CaptureViewForTests.tsharkTime(F.midnight(-30))),\(CaptureViewForTests.tsharkTime(notAfter))"])

        // The same secrets inside the pcapng (a Decryption Secrets Block, as editcap --inject-secrets writes): no --keylog needed.
        let injected = TestPaths.temporaryFolder("dsb").appendingPathComponent("with-secrets.pcapng").path
        let edit = try await Command.run(["editcap", "--inject-secrets", "tls,\(keys)", file, injected])
        #expect(edit.status == 0, "\(edit.stderr)")
        let dsb = TestPaths.temporaryFolder("tls13-dsb")
        let d = try await Command.triage(["analyze", injected, "--ca-file", ca, "--out", dsb.path])
        #expect(d.status == 1, "\(d.stdout)\(d.stderr)")
        let dsbDoc = try ReportDocument.decode(Data(contentsOf: dsb.appendingPathComponent("report.json")))
        #expect(dsbDoc.rootCause?.alert?.code == 116)
    }

    /// The client rejects the server's certificate before its Finished: the
    /// alert is protected with the client's handshake keys.
    @Test func tls13ClientRejectsTheIssuerDecrypted() async throws {
        let root = try F.root()
        let leaf = try F.leaf(issuer: root)
        let server = try F.server(chain: [leaf], key: leaf) { $0.maxVersion = "TLSv1.3" }
        defer { server.stop() }
        let other = try F.file(try F.root("other root").certificatePEM)
        let (file, keys) = try await tls13Capture(port: server.port, ["-servername", F.host, "-verify_return_error", "-CAfile", other])
        let out = TestPaths.temporaryFolder("tls13-48")
        let r = try await Command.triage(["analyze", file, "--keylog", keys, "--ca-file", other, "--out", out.path])
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        let doc = try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json")))
        // The user's bundle is the anchor set: an issuer neither in it nor sent is one the server must send (or the wrong bundle).
        #expect(doc.findings.contains { $0.cause == .incompleteChain && $0.typedFacts[.alert] == nil && $0.fact(.missingIssuer) == "CN=triage test root,O=triage fixture" },
                "\(doc.findings.map(\.summary))")
        // The client's alert 48 is what the chain's own finding explains: shown in the groups, not as a second cause.
        let groups = doc.steps.first { $0.id == "decode" }.map { $0.typedFacts.all(.group).map { TextTable.english.format($0) } } ?? []
        #expect(groups.contains { $0.contains("fatal alert 48 unknown_ca from the client") }, "\(groups)")
        #expect(!doc.findings.contains { $0.alert?.code == 48 })
        let alerts = try await tsharkDecrypted(file, keys: keys, port: server.port, filter: "tls.alert_message.desc", ["ip.src", "tls.alert_message.desc"])
        #expect(alerts == ["127.0.0.1,48"])
    }
}

/// Captures that are damaged, cut or misread, and options that would leave
/// nothing checked: never "no problem found"; and what a hostile ClientHello
/// carries cannot reach a pasted command.
extension CaptureParityTests {
    @Test func damagedCapturesAndUselessOptionsAreNotHealthy() async throws {
        let root = try F.root()
        let leaf = try F.leaf(notBefore: F.midnight(-60), notAfter: F.midnight(-2), issuer: root)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let ca = try F.file(root.certificatePEM)
        let file = try await capture(port: server.port, [["-tls1_2", "-servername", F.host, "-verify_return_error", "-CAfile", ca]])
        let folder = TestPaths.temporaryFolder("damaged")
        func analyzed(_ path: String, _ extra: [String] = []) async throws -> CommandResult {
            try await Command.triage(["analyze", path, "--out", TestPaths.temporaryFolder("damaged-case").path] + extra)
        }
        // The whole file: the expired certificate.
        #expect(try await analyzed(file, ["--ca-file", ca]).status == 1)
        // A snap length of 200 bytes: records cut, the client's alert with them.
        let snapped = folder.appendingPathComponent("snap.pcapng").path
        #expect(try await Command.run(["editcap", "-s", "200", file, snapped]).status == 0)
        let s = try await analyzed(snapped, ["--ca-file", ca])
        #expect(s.status == 3, "\(s.stdout)")
        #expect(s.stdout.contains("cut by the capture's snap length"), "\(s.stdout)")
        // Only the first frames, before the server's answer.
        let early = folder.appendingPathComponent("early.pcapng").path
        #expect(try await Command.run(["editcap", "-r", file, early, "1-4"]).status == 0)
        let e = try await analyzed(early, ["--ca-file", ca])
        #expect(e.status == 3, "\(e.stdout)")
        #expect(e.stdout.contains("got as far as the server's answer"), "\(e.stdout)")
        // A CA file with no certificate, a port that is not one: usage errors, nothing run.
        let noCert = try await analyzed(file, ["--ca-file", "/etc/hostname"])
        #expect(noCert.status == 2)
        #expect(noCert.stderr.contains("holds no PEM certificate"), "\(noCert.stderr)")
        #expect(try await analyzed(file, ["--port", "70000"]).status == 2)
    }

    @Test func aHostileServerNameIsWrittenAsBytesNotAsShell() async throws {
        let root = try F.root()
        let leaf = try F.leaf(notBefore: F.midnight(-60), notAfter: F.midnight(-2), issuer: root)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let file = try await capture(port: server.port, [["-tls1_2", "-servername", "'x$(touch /tmp/triage-pwned)y'"]])
        let out = TestPaths.temporaryFolder("hostile-sni")
        let r = try await Command.triage(["analyze", file, "--out", out.path])
        #expect(r.status == 1, "\(r.stdout)")
        let md = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        let csv = try String(contentsOf: out.appendingPathComponent("evidence/decode/connections.csv"), encoding: .utf8)
        #expect(md.contains("x\\x24\\x28touch\\x20\\x2ftmp\\x2ftriage-pwned\\x29y"), "\(md.prefix(600))")
        #expect(!md.contains("$(touch") && !csv.contains("$(touch") && !r.stdout.contains("$(touch"))
    }
}
