import Foundation
import Testing
import TriageDemo
import TriageKit
import TriageProbes
import TriageTestSupport

/// One test per way a server can break that a first version of triage
/// called "no problem found" or blamed on the wrong cause: the exit status,
/// the cause code and its key facts. The handshake's own per-connection
/// deadline (2 s here) must end the attempt, not the engine's step deadline.
@Suite struct HostileServerTests {
    typealias F = TLSFixtures

    func run(_ server: HostileServer, extra: [String: String] = [:], stepTimeout: Duration? = nil) async throws -> DefaultRunbook.Run {
        try await DefaultRunbook.run(port: server.port, caFile: server.caFile, extra: extra, stepTimeout: stepTimeout)
    }

    func problems(_ run: DefaultRunbook.Run) -> String { "\(run.document.findings.map { "\($0.cause.code): \($0.summary)" })" }

    @Test func closesEveryConnection() async throws {
        let server = try HostileServer(.closeAfterAccept)
        defer { server.stop() }
        let run = try await run(server)
        #expect(run.record.diagnosis.exitStatus == 1)
        #expect(run.root?.cause == .connectionReset, "\(problems(run))")
        #expect(run.root?.fact(.bytesReceived) == 0)
    }

    @Test func resetsEveryConnection() async throws {
        for mode in [HostileServer.Mode.resetAfterAccept, .resetAfterClientHello] {
            let server = try HostileServer(mode)
            defer { server.stop() }
            let run = try await run(server)
            #expect(run.record.diagnosis.exitStatus == 1)
            #expect(run.root?.cause == .connectionReset, "\(problems(run))")
        }
    }

    // (Steps of 8 s: curl meets its own deadline a second before the step's, and the engine
    // waits 2 s more, then 1 s for the result to be handed in; 5 s steps once lost the curl
    // result on a CI machine whose cooperative threads were busy with the rest of the suite.)
    @Test func tlsWorksButHTTPNeverAnswers() async throws {
        let server = try HostileServer(.tls(.silent))
        defer { server.stop() }
        let run = try await run(server, stepTimeout: .seconds(8))
        #expect(run.record.diagnosis.exitStatus == 1)
        #expect(run.root?.cause == .httpTimeout, "\(problems(run))")
        #expect(run.root?.fact(.curlCode) == 28)
        #expect(run.step("direct-1")?.status == .problem)
    }

    // (Steps of 8 s here: when the whole suite starts at once, minting its keys on the two cooperative
    // threads, a step's result can wait seconds for a thread to hand it in; the verdict is then an
    // honest "inconclusive", but not what this test is about.)
    @Test func bodyNeverEndsOrCrawls() async throws {
        for behaviour in [HostileServer.HTTPBehaviour.endlessBody, .slowBody, .dripHeaders] {
            let server = try HostileServer(.tls(behaviour))
            defer { server.stop() }
            let run = try await run(server, stepTimeout: .seconds(8))
            #expect(run.record.diagnosis.exitStatus == 1, "\(behaviour): \(run.record.steps.map { "\($0.id) \($0.status): \($0.summary.english)" })")
            #expect(run.root?.cause == .httpTimeout, "\(behaviour): \(problems(run))")
            #expect((run.root?.fact(.bytesReceived)?.intValue ?? 0) > 0, "\(behaviour)")
            #expect(run.root?.summary.contains(behaviour == .endlessBody ? "does not end" : "had not finished when the request timed out") == true, "\(behaviour): \(run.root?.summary ?? "")")
            if behaviour != .endlessBody {
                // The bytes the server sent, counted from the TLS records' plaintext: an unfinished
                // status line too (curl's own counters see no header until its line ends).
                let bytes = (run.root?.summary).flatMap { $0.firstMatch(of: #/: (\d+) bytes received/#) }.map { Int($0.1) ?? 0 } ?? 0
                #expect(bytes > 0, "\(behaviour): \(run.root?.summary ?? "")")
                if behaviour == .slowBody { #expect(bytes >= 42, "the 41 header bytes and at least one of the body") }
            }
        }
    }

    /// An upstream's own error answer: its status, Server header and the first bytes of its body are
    /// facts of the finding (the report's remedy points at them).
    @Test func anErrorAnswerShowsWhatTheServerSaid() async throws {
        let server = try HostileServer(.tls(.answer(503, headers: ["Server: upstream-app/1.2"], body: "maintenance until 14:00\n")))
        defer { server.stop() }
        let run = try await run(server)
        #expect(run.root?.cause == .httpError, "\(problems(run))")
        #expect(run.root?.fact(.status) == 503)
        #expect(run.root?.fact(.serverHeader) == "upstream-app/1.2")
        #expect(run.root?.fact(.bodyStart) == "maintenance until 14:00")
        #expect(run.markdown.contains("maintenance until 14:00"))
        // "Prove it" is curl --fail: it exits 22 while the 503 is there (0 without --fail).
        let proof = try #require(Fix(run.record.diagnosis, record: run.record)?.proof.first)
        #expect(proof.hasPrefix("curl --fail "), "\(proof)")
        #expect(try await Command.run(["/bin/sh", "-c", proof]).status == 22, "\(proof)")
    }

    /// A redirect from https:// to http:// is not followed (curl -L would send the request's headers,
    /// an -H secret among them, in clear): the answer is the 302, and the trace says why. The http://
    /// target is a closed port: had curl followed, it would have ended refused (code 7).
    @Test func aRedirectThatLeavesTLSIsNotFollowed() async throws {
        let closed = PlainTCPServer.closedPort()
        let server = try HostileServer(.tls(.answer(302, headers: ["Location: http://127.0.0.1:\(closed)/landing"], body: "")))
        defer { server.stop() }
        let run = try await run(server)
        let direct = try #require(run.record.steps.first { $0.id == "direct-1" })
        #expect(direct.fact(.curlCode) == 0, "\(direct.summary.english)")
        #expect(direct.fact(.status) == 302)
        let trace = try String(contentsOf: run.folder.appendingPathComponent("evidence/direct-1/trace.txt"), encoding: .utf8)
        #expect(trace.contains("the redirect was not followed: its Location (http://127.0.0.1:\(closed)/landing) leaves https://"),
                "\(trace.suffix(400))")
        // The curl command to paste does the same.
        #expect(direct.command?.contains("-L --max-redirs 10 --proto-redir =https ") == true, "\(direct.command ?? "")")
    }

    /// A large download (256 MiB, its length declared) is not pulled to its end: the request stops past
    /// 16 MiB and its answer is the 200 it is (the whole body came over the wire before, and a slow
    /// link made it an http-timeout). A body of unknown length is still read on (above: it never ends).
    @Test func aLargeDownloadIsNotReadToItsEnd() async throws {
        let server = try HostileServer(.tls(.largeBody(256 << 20)))
        defer { server.stop() }
        let run = try await run(server)
        #expect(run.record.diagnosis.exitStatus == 0, "\(problems(run))")
        let direct = try #require(run.record.steps.first { $0.id == "direct-1" })
        #expect(direct.status == .ok, "\(direct.summary.english)")
        let trace = try String(contentsOf: run.folder.appendingPathComponent("evidence/direct-1/trace.txt"), encoding: .utf8)
        #expect(trace.contains("the body was not read past 16 MiB"), "\(trace.suffix(300))")
    }

    /// A URL typed `http://` for a port that speaks TLS: the scheme is the root cause (before the certificate),
    /// the fix and its proof ask with https://. The same URL to a port that speaks plain HTTP is healthy:
    /// no handshake finding about a port the URL never asked for TLS.
    @Test func anHTTPURLForATLSPortAndForAPlainOne() async throws {
        let server = try HostileServer(.tls(.answer(200, headers: [], body: "ok\n")))
        defer { server.stop() }
        let out = TestPaths.temporaryFolder("http-url")
        let r = try await Command.triage(["run", "http://127.0.0.1:\(server.port)/x", "--out", out.path])
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        let doc = try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json")))
        let root = try #require(doc.rootCause, "\(r.stdout)")
        #expect(root.cause == .plainHTTPToTLSPort, "\(r.stdout)")
        #expect(root.fact(.version) == "TLSv1.3")
        #expect(root.remedy.contains("`https://127.0.0.1:\(server.port)/x`"), "\(root.remedy)")
        let markdown = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(markdown.contains("--max-time 15.0 https://127.0.0.1:\(server.port)/x\n"), "\(markdown)")
        // Unverified (no --cacert) the certificate is still found, after the scheme.
        #expect(doc.findings.contains { $0.cause == .untrustedIssuer || $0.cause == .selfSigned }, "\(doc.findings.map(\.cause))")

        let plain = try PlainTCPServer(.ok)
        defer { plain.stop() }
        let out2 = TestPaths.temporaryFolder("http-url")
        let healthy = try await Command.triage(["run", "http://127.0.0.1:\(plain.port)/", "--out", out2.path])
        #expect(healthy.status == 0, "\(healthy.stdout)")
        let doc2 = try ReportDocument.decode(Data(contentsOf: out2.appendingPathComponent("report.json")))
        #expect(doc2.findings.isEmpty, "\(doc2.findings.map(\.cause))")
        #expect((healthy.stdout + healthy.stderr).contains("HTTP 200"), "\(healthy.stderr)")
        // The request path draws what the client does: no handshake it never makes.
        let md2 = try String(contentsOf: out2.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(!md2.contains("ClientHello") && md2.contains("C->>U: GET /"), "\(md2)")
        // With a capture, the capture sees the same ClientHellos answered in plain text: no finding
        // either (it was not-tls, exit 1, about triage's own probes).
        let out3 = TestPaths.temporaryFolder("http-url")
        let captured = try await Command.triage(["run", "http://127.0.0.1:\(plain.port)/", "--set", "capture=true", "--out", out3.path])
        #expect(captured.status == 0, "\(captured.stdout)\(captured.stderr)")
        let doc3 = try ReportDocument.decode(Data(contentsOf: out3.appendingPathComponent("report.json")))
        #expect(doc3.steps.first { $0.id == "capture-decode" }?.status == .ok, "\(doc3.steps.map { "\($0.id) \($0.status)" })")
        #expect(doc3.findings.isEmpty, "\(doc3.findings.map(\.cause))")
    }

    @Test func proxyAcceptsAndNeverAnswers() async throws {
        let root = try F.root()
        let leaf = try F.leaf(issuer: root)
        let upstream = try F.server(chain: [leaf], key: leaf)
        defer { upstream.stop() }
        let proxy = try PlainTCPServer(.silent)
        defer { proxy.stop() }
        let run = try await DefaultRunbook.run(port: upstream.port, caFile: try F.file(root.certificatePEM),
                                               extra: ["via": "http://127.0.0.1:\(proxy.port)/test"], stepTimeout: .seconds(8))
        #expect(run.record.diagnosis.exitStatus == 1)
        #expect(run.root?.cause == .proxyTimeout, "\(problems(run))")
        #expect(run.root?.summary.contains("(direct to the upstream: 200)") == true, "\(run.root?.summary ?? "")")
    }

    @Test func megabyteOfHeaders() async throws {
        let server = try HostileServer(.tls(.hugeHeaders(1 << 20)))
        defer { server.stop() }
        let run = try await run(server, stepTimeout: .seconds(5))
        #expect(run.record.diagnosis.exitStatus == 1)
        #expect(run.root?.cause == .httpProtocolError, "\(problems(run))")
    }

    @Test func endlessRedirects() async throws {
        let server = try HostileServer(.tls(.redirectLoop))
        defer { server.stop() }
        let run = try await run(server)
        #expect(run.record.diagnosis.exitStatus == 1)
        #expect(run.root?.cause == .redirectLoop, "\(problems(run))")
        #expect(run.root?.fact(.redirects) == 10)
    }

    @Test func chainOfAMegabyte() async throws {
        let root = try F.root()
        let leaf = try F.leaf(issuer: root)
        let padding = try F.leaf("padding.example.test", issuer: root)
        let server = try F.server(chain: [leaf] + Array(repeating: padding, count: 1500), key: leaf)
        defer { server.stop() }
        let run = try await DefaultRunbook.run(port: server.port, caFile: try F.file(root.certificatePEM))
        #expect(run.record.diagnosis.exitStatus == 1)
        #expect(run.root?.cause == .handshakeTooLarge, "\(problems(run))")
        #expect(run.root?.fact(.opensslError)?.stringValue?.contains("excessive message size") == true)
    }

    @Test func leafWithTenThousandNames() async throws {
        let root = try F.root()
        let names = [F.host] + (0..<10_000).map { "n\($0).example.test" }
        let leaf = try F.leaf(sans: names, issuer: root)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let run = try await DefaultRunbook.run(port: server.port, caFile: try F.file(root.certificatePEM))
        #expect(run.record.diagnosis.exitStatus == 1)
        #expect(run.root?.cause == .handshakeTooLarge, "\(problems(run))")
    }

    @Test func recordAnnouncingSixteenMegabytes() async throws {
        let server = try HostileServer(.reply(HostileServer.Records.sixteenMegabyteMessage))
        defer { server.stop() }
        let run = try await run(server)
        #expect(run.record.diagnosis.exitStatus == 1)
        #expect(run.root?.cause == .tlsProtocolError, "\(problems(run))")
    }

    @Test func fatalAlert90IsReportedAsTheAlert() async throws {
        let server = try HostileServer(.reply(HostileServer.Records.fatalAlert90))
        defer { server.stop() }
        let run = try await run(server)
        #expect(run.record.diagnosis.exitStatus == 1)
        #expect(run.root?.cause == .tlsAlert, "\(problems(run))")
        #expect(run.root?.alert?.code == 90)
        #expect(run.root?.alert?.sender == .server)
    }

    @Test func floodsEndAtTheirBound() async throws {
        for record in [HostileServer.Records.warningAlert, HostileServer.Records.changeCipherSpec, HostileServer.Records.helloRequest] {
            let server = try HostileServer(.flood(record))
            defer { server.stop() }
            let run = try await run(server)
            #expect(run.record.diagnosis.exitStatus == 1, "\(record)")
            #expect(run.root?.cause == .tlsProtocolError, "\(record): \(problems(run))")
            // The attempt ended itself (a bound or OpenSSL), not the engine's step deadline.
            #expect(run.step("handshake")?.status == .problem)
        }
    }

    @Test func healthyControlExitsZero() async throws {
        let server = try HostileServer(.tls(.status(200)))
        defer { server.stop() }
        let run = try await run(server)
        #expect(run.record.diagnosis.exitStatus == 0, "\(problems(run))")
        #expect(run.document.verdict == .healthy)
    }

    @Test func aFailedCheckWithoutAFindingIsInconclusive() async throws {
        let folder = TestPaths.temporaryFolder("inconclusive")
        let runbook = folder.appendingPathComponent("rb.yaml")
        try """
            name: probe
            steps:
              - id: ok
                uses: exec
                with: { run: ["true"] }
              - id: check
                uses: exec
                with: { run: ["sh", "-c", "exit 3"] }
            """.write(to: runbook, atomically: true, encoding: .utf8)
        let out = folder.appendingPathComponent("case")
        let r = try await Command.triage(["run", "--runbook", runbook.path, "--out", out.path])
        #expect(r.status == 3, "\(r.stderr)")
        let doc = try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json")))
        #expect(doc.verdict == .inconclusive)
        #expect(doc.incomplete.map(\.step) == ["check"])
        #expect(doc.incomplete.first?.error == "`sh` exited with status 3, expected 0")
        #expect(r.stdout.contains("inconclusive: 1 check(s) could not be completed: check"))
        let md = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(md.contains("check"))
    }
}
