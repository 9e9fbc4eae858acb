import Foundation
import Testing
import TriageDemo
import TriageKit
import TriageProbes
import TriageTestSupport

/// Servers that break the handshake itself: client certificates, versions,
/// SNI, not TLS at all, silence, nothing listening.
@Suite struct TLSHandshakeFailureTests {
    typealias F = TLSFixtures

    func clientCertificateServer(maxVersion: String) throws -> (TLSServer, String) {
        let root = try F.root()
        let clientCA = try F.root("client CA")
        let leaf = try F.leaf(issuer: root)
        let server = try F.server(chain: [leaf], key: leaf) {
            $0.clientCAPEM = clientCA.certificatePEM
            $0.maxVersion = maxVersion
        }
        return (server, try F.file(root.certificatePEM))
    }

    @Test func clientCertificateRequiredTLS12() async throws {
        let (server, ca) = try clientCertificateServer(maxVersion: "TLSv1.2")
        defer { server.stop() }
        let run = try await DefaultRunbook.run(port: server.port, caFile: ca)
        #expect(run.root?.cause == .clientCertRequired, "\(run.document.findings.map(\.summary))")
        #expect(run.root?.alert?.code == 40)
        #expect(run.root?.alert?.sender == .server)
        #expect(run.root?.fact(.acceptableCAs) == ["CN=client CA,O=triage fixture"])
        #expect(run.record.diagnosis.exitStatus == 1)
    }

    @Test func clientCertificateRequiredTLS13SendsAlert116AfterFinished() async throws {
        let (server, ca) = try clientCertificateServer(maxVersion: "TLSv1.3")
        defer { server.stop() }
        let run = try await DefaultRunbook.run(port: server.port, caFile: ca)
        #expect(run.root?.cause == .clientCertRequired, "\(run.document.findings.map(\.summary))")
        #expect(run.root?.alert?.code == 116)
        #expect(run.root?.alert?.name == "certificate_required")
        #expect(run.root?.alert?.sender == .server)
        #expect(run.step("alert")?.outputs["name"] == "certificate_required")
        // Alert 116 travels encrypted: tshark sees it in the self-capture only
        // with triage's key log, and then agrees on code, level and sender.
        let evidence = run.folder.appendingPathComponent("evidence/handshake")
        let tshark = try await Command.run([
            "tshark", "-r", evidence.appendingPathComponent("handshake.pcapng").path,
            "-o", "tls.keylog_file:" + evidence.appendingPathComponent("sslkeylog.txt").path,
            "-d", "tcp.port==\(server.port),tls", "-Y", "tls.alert_message", "-T", "fields",
            "-e", "tcp.srcport", "-e", "tls.alert_message.level", "-e", "tls.alert_message.desc", "-E", "separator=,",
        ])
        #expect(tshark.status == 0, "\(tshark.stderr)")
        #expect(tshark.stdout.split(separator: "\n").contains("\(server.port),2,116"), "\(tshark.stdout)")
    }

    @Test func presentingTheClientCertificateFixesIt() async throws {
        let root = try F.root()
        let clientCA = try F.root("client CA")
        let client = try F.leaf("client.example.test", issuer: clientCA)
        let leaf = try F.leaf(issuer: root)
        let server = try F.server(chain: [leaf], key: leaf) { $0.clientCAPEM = clientCA.certificatePEM }
        defer { server.stop() }
        let run = try await DefaultRunbook.run(port: server.port, caFile: try F.file(root.certificatePEM),
                                               extra: ["client_cert": try F.file(client.certificatePEM, named: "c.pem"),
                                                       "client_key": try F.file(client.keyPEM, named: "k.pem")])
        #expect(run.document.verdict == .healthy, "\(run.document.findings.map(\.summary))")
        // The HTTP reproduction presents it too, and gets the answer.
        #expect(run.step("direct-1")?.outputs["status"] == 200)
    }

    /// A client certificate the server does not accept — issued by another
    /// CA, or expired — is client-cert-rejected with the server's own alert
    /// (48 unknown_ca, 45 certificate_expired), from the handshake and from
    /// the HTTP reproduction that presents the same certificate.
    @Test(arguments: ["wrong-ca", "expired"]) func rejectedClientCertificate(kind: String) async throws {
        let root = try F.root()
        let clientCA = try F.root("client CA")
        let otherCA = try F.root("some other CA")
        let client = kind == "expired"
            ? try F.leaf("client.example.test", notBefore: F.midnight(-400), notAfter: F.midnight(-35), issuer: clientCA)
            : try F.leaf("client.example.test", issuer: otherCA)
        let leaf = try F.leaf(issuer: root)
        for version in ["TLSv1.2", "TLSv1.3"] {
            let server = try F.server(chain: [leaf], key: leaf) { $0.clientCAPEM = clientCA.certificatePEM; $0.maxVersion = version }
            defer { server.stop() }
            let run = try await DefaultRunbook.run(port: server.port, caFile: try F.file(root.certificatePEM),
                                                   extra: ["client_cert": try F.file(client.certificatePEM, named: "c.pem"),
                                                           "client_key": try F.file(client.keyPEM, named: "k.pem")])
            #expect(run.record.diagnosis.exitStatus == 1)
            #expect(run.root?.cause == .clientCertRejected, "\(kind) \(version): \(run.document.findings.map(\.summary))")
            #expect(run.root?.alert?.code == (kind == "expired" ? 45 : 48), "\(kind) \(version)")
            #expect(run.root?.alert?.sender == .server)
            // The server said which CAs it accepts; the report shows them.
            #expect(run.root?.fact(.acceptableCAs) == ["CN=client CA,O=triage fixture"], "\(kind) \(version)")
        }
    }

    @Test func tls10OnlyServerIsRefusedByAModernClient() async throws {
        let root = try F.root()
        let leaf = try F.leaf(key: .rsa(bits: 2048), issuer: root)
        let server = try F.server(chain: [leaf], key: leaf) {
            $0.minVersion = "TLSv1"
            $0.maxVersion = "TLSv1"
            $0.securityLevel = 0
        }
        defer { server.stop() }
        let run = try await DefaultRunbook.run(port: server.port, caFile: try F.file(root.certificatePEM))
        #expect(run.root?.cause == .protocolVersion, "\(run.document.findings.map(\.summary))")
        // OpenSSL 3 at its default security level refuses the TLS 1.0
        // server's signature algorithm and sends alert 80 itself: the
        // sender, and OpenSSL's reason, say whose side gave up.
        #expect(run.root?.alert?.code == 80)
        #expect(run.root?.alert?.sender == .client)
        #expect(run.root?.fact(.opensslError)?.stringValue?.contains("legacy sigalg disallowed or unsupported") == true,
                "\(String(describing: run.root?.fact(.opensslError)))")
        #expect(run.root?.summary.hasPrefix("the server offers only an old TLS version that this client refuses") == true)
        // The version matrix: what the server speaks, and what it answers to the others.
        #expect(run.root?.fact(.serverSpeaks) == ["TLSv1"])
        let probes = run.step("handshake")?.outputs["versions"]?.listValue ?? []
        #expect(probes.map { $0["version"] } == ["TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1"])
        #expect(probes.map { $0["accepted"] } == [false, false, false, true])
        let toTLS13 = TextTable.english.format(probes.first.map { $0["outcome"] } ?? .null)
        #expect(toTLS13.contains("alert 70 protocol_version"), "\(toTLS13)")
        // The accepted TLS 1.0 probe says it ran at security level 0: beside "this client refuses" it
        // does not read as a contradiction.
        let versionLines = run.root?.facts(.versionProbe).compactMap(\.stringValue) ?? []
        #expect(versionLines.count == 4, "\(versionLines)")
        #expect(versionLines.last?.hasPrefix("TLSv1 only, at security level 0 (below this client's default): TLSv1 ") == true, "\(versionLines)")
        #expect(versionLines.last?.hasSuffix(", verify 0 (ok)") == true, "\(versionLines)")
        // The title says whose alert it is: this 80 is triage's own client's, not the server's.
        #expect(run.markdown.hasPrefix("# \(F.host): no common TLS version (client's alert 80)\n"), "\(run.markdown.prefix(120))")
        // The diagram draws that alert from the client (`C-xU`), not as the upstream's answer (`U--xC`).
        let diagram = try #require(MarkdownChecks.mermaidBlocks(run.markdown).first).joined(separator: "\n")
        #expect(diagram.contains("    C-xU: fatal alert 80 internal_error from the client"), "\(diagram)")
        #expect(!diagram.contains("U--xC: fatal alert 80"), "\(diagram)")
        #expect(MarkdownChecks.sequenceDiagramProblems(MarkdownChecks.mermaidBlocks(run.markdown)[0]) == [])
    }

    @Test func noSNIGetsFatalAlert80() async throws {
        let root = try F.root()
        let leaf = try F.leaf(issuer: root)
        let server = try F.server(chain: [leaf], key: leaf) { $0.sni = .abortWithoutSNI }
        defer { server.stop() }
        let run = try await DefaultRunbook.run(port: server.port, caFile: try F.file(root.certificatePEM))
        #expect(run.root?.cause == .alertWithoutSNI)
        #expect(run.root?.alert?.code == 80)
        #expect(run.root?.alert?.sender == .server)
        #expect(run.root?.fact(.variant) == "none")
        #expect(run.root?.subject == "127.0.0.1:\(server.port)")
        // No proxy: both ways out, each said once (the proxy's own remedy appended to it repeated them).
        let remedy = run.root?.remedy ?? ""
        #expect(remedy.hasPrefix("Only clients that send no SNI fail"), "\(remedy)")
        #expect(remedy.components(separatedBy: "proxy_ssl_server_name on;").count == 2, "\(remedy)")
        #expect(run.step("alert")?.outputs["code"] == 80)
        #expect(run.step("alert")?.outputs["sender"] == "server")
        let pcap = run.folder.appendingPathComponent("evidence/handshake/handshake.pcapng").path
        let tshark = try await Command.run(["tshark", "-r", pcap, "-d", "tcp.port==\(server.port),tls",
                                            "-Y", "tls.alert_message.desc == 80", "-T", "fields", "-e", "ip.src", "-e", "tls.alert_message.desc"])
        #expect(tshark.status == 0, "\(tshark.stderr)")
        #expect(tshark.stdout == "127.0.0.1\t80\n")
    }

    @Test func noSNIGetsAnotherExpiredDefaultCertificate() async throws {
        let root = try F.root()
        let leaf = try F.leaf(issuer: root)
        let expiredOn = F.midnight(-40)
        let fallback = try F.leaf("default.invalid", notBefore: F.midnight(-400), notAfter: expiredOn, issuer: root)
        let server = try F.server(chain: [leaf], key: leaf) {
            $0.sni = .defaultCertificate(chainPEM: fallback.certificatePEM, keyPEM: fallback.keyPEM)
        }
        defer { server.stop() }
        let run = try await DefaultRunbook.run(port: server.port, caFile: try F.file(root.certificatePEM))
        #expect(run.root?.cause == .defaultCertWithoutSNI, "\(run.document.findings.map(\.summary))")
        #expect(run.root?.date(.notAfter) == expiredOn)
        #expect(run.root?.fact(.subject) == "CN=default.invalid,O=triage fixture")
        #expect(run.document.findings.count == 1, "\(run.document.findings.map(\.summary))")
    }

    @Test func plainHTTPOnTheTLSPort() async throws {
        let server = try PlainTCPServer(.http)
        defer { server.stop() }
        let run = try await DefaultRunbook.run(port: server.port, caFile: nil)
        #expect(run.root?.cause == .notTLS, "\(run.document.findings.map(\.summary))")
        #expect(run.root?.fact(.answer)?.stringValue?.hasPrefix("'HTTP/1.1 400 Bad Request") == true)
    }

    /// A binary answer keeps its bytes in the preview, `\xNN` each (they were dropped: `'P' (0x0)`).
    @Test func binaryAnswerOnTheTLSPortIsShownByteForByte() async throws {
        let server = try PlainTCPServer(.raw([0x00, 0xFF, 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x50]))
        defer { server.stop() }
        let run = try await DefaultRunbook.run(port: server.port, caFile: nil)
        #expect(run.root?.cause == .notTLS, "\(run.document.findings.map(\.summary))")
        #expect(run.root?.fact(.answer)?.stringValue == "'\\x00\\xFF\\x15\\x03\\x03\\x00\\x02\\x02P' (0x00)", "\(String(describing: run.root?.fact(.answer)))")
    }

    /// `http://` to a port whose answer has no HTTP status line: curl refuses it as HTTP/0.9
    /// (CURLE_UNSUPPORTED_PROTOCOL after connecting), which is the upstream breaking HTTP — a
    /// problem, not an inconclusive run.
    @Test func garbageOnAPlainHTTPPortIsAnHTTPProtocolError() async throws {
        let server = try PlainTCPServer(.raw(Array("\u{7}garbage that is no status line\r\n\r\n".utf8)))
        defer { server.stop() }
        let run = try await DefaultRunbook.run(port: server.port, caFile: nil, extra: ["url": "http://\(F.host):\(server.port)/"])
        #expect(run.root?.cause == .httpProtocolError, "\(run.document.findings.map(\.summary))")
        #expect(run.document.verdict == .problem)
    }

    /// A redirect to a scheme curl does not speak (an OAuth deep link) ends curl's transfer with the
    /// same code 1, but the server answered: the answer is the 302, and nothing is wrong.
    @Test func aRedirectToAnAppSchemeIsAnAnswer() async throws {
        let server = try PlainTCPServer(.raw(Array("HTTP/1.1 302 Found\r\nLocation: myapp://cb?x=1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)))
        defer { server.stop() }
        let run = try await DefaultRunbook.run(port: server.port, caFile: nil, extra: ["url": "http://\(F.host):\(server.port)/"])
        #expect(run.document.verdict == .healthy, "\(run.document.findings.map(\.summary))")
        #expect(run.document.steps.first { $0.id == "direct-1" }?.fact(.status) == 302)
    }

    @Test func silentServerTimesOutAndTheReportIsWritten() async throws {
        let server = try PlainTCPServer(.silent)
        defer { server.stop() }
        let run = try await DefaultRunbook.run(port: server.port, caFile: nil)
        #expect(run.root?.cause == .timeout)
        let handshake = run.document.findings.first { $0.cause == .timeout && $0.step == "handshake" }
        #expect(handshake?.fact(.phase) == "handshake")
        #expect(handshake?.fact(.bytesReceived) == 0)
        #expect(run.step("direct")?.status == .skipped) // no TLS to speak HTTP over
        #expect(run.step("handshake")?.status == .problem)
        #expect(run.document.finishedAt != nil)
        #expect(FileManager.default.fileExists(atPath: run.folder.appendingPathComponent("report.md").path))
    }

    @Test func closedPortIsRefused() async throws {
        let port = PlainTCPServer.closedPort()
        let run = try await DefaultRunbook.run(port: port, caFile: nil)
        #expect(run.root?.cause == .connectionRefused)
        #expect(run.root?.subject == "127.0.0.1:\(port)")
        #expect(run.step("dates")?.status == .skipped)
    }

    @Test func tls12CaptureShowsTheSameNotAfterAsTheReport() async throws {
        let root = try F.root()
        let notAfter = F.midnight(-3)
        let leaf = try F.leaf(notBefore: F.midnight(-90), notAfter: notAfter, issuer: root)
        let server = try F.server(chain: [leaf], key: leaf) { $0.maxVersion = "TLSv1.2" }
        defer { server.stop() }
        let run = try await DefaultRunbook.run(port: server.port, caFile: try F.file(root.certificatePEM))
        #expect(run.root?.date(.notAfter) == notAfter)
        let pcap = run.folder.appendingPathComponent("evidence/handshake/handshake.pcapng").path
        let tshark = try await Command.run(["tshark", "-r", pcap, "-d", "tcp.port==\(server.port),tls",
                                            "-Y", "tls.handshake.type == 11", "-T", "fields", "-e", "x509af.utcTime"])
        #expect(tshark.status == 0, "\(tshark.stderr)")
        let formatter = DateFormatter()
        formatter.timeZone = .gmt
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        let expected = "\(formatter.string(from: F.midnight(-90))) (UTC),\(formatter.string(from: notAfter)) (UTC)"
        #expect(tshark.stdout.split(separator: "\n").first.map(String.init) == expected)
        let keylog = try String(contentsOf: run.folder.appendingPathComponent("evidence/handshake/sslkeylog.txt"), encoding: .utf8)
        #expect(keylog.hasPrefix("CLIENT_RANDOM "))
    }

    @Test func addressesThatDisagreeAreMixedBackends() async throws {
        let root = try F.root()
        let good = try F.leaf(issuer: root)
        let expiredOn = F.midnight(-2)
        let stale = try F.leaf(notBefore: F.midnight(-100), notAfter: expiredOn, issuer: root)
        let first = try F.server(chain: [good], key: good)
        defer { first.stop() }
        let second = try F.server(chain: [stale], key: stale, address: "127.0.0.2", port: first.port)
        defer { second.stop() }
        let run = try await DefaultRunbook.run(port: first.port, caFile: try F.file(root.certificatePEM),
                                               extra: ["addresses": "127.0.0.1,127.0.0.2"])
        #expect(run.root?.cause == .mixedBackends, "\(run.document.findings.map(\.summary))")
        #expect(run.root?.subject == "127.0.0.2:\(first.port)")
        #expect(run.root?.summary == "the addresses of api.example.test disagree: 127.0.0.2:\(first.port): its certificate expired on \(ISO8601.string(expiredOn)), while 127.0.0.1:\(first.port) works")
        let expired = run.document.findings.first { $0.cause == .certExpired && $0.step == "dates" }
        #expect(expired?.date(.notAfter) == expiredOn)
    }
}
