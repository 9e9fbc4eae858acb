import Foundation
import Testing
import TriageDemo
import TriageKit
import TriageProbes
import TriageTestSupport

/// The seed incident through a real nginx (Debian nginx-light) on 127.0.0.1,
/// with the seed's configuration, in front of fixture upstreams.
@Suite(.serialized) struct NginxSeedTests {
    typealias F = TLSFixtures

    func triageRun(_ arguments: [String]) async throws -> (CommandResult, ReportDocument, String, URL) {
        let out = TestPaths.temporaryFolder("nginx-case")
        let r = try await Command.triage(["run"] + arguments + ["--out", out.path])
        let doc = try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json")))
        let md = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        return (r, doc, md, out)
    }

    @Test func nginxWithoutSNIGetsAlert80AndAnswers502() async throws {
        let root = try F.root()
        let leaf = try F.leaf(issuer: root)
        let upstream = try F.server(chain: [leaf], key: leaf) { $0.sni = .abortWithoutSNI }
        defer { upstream.stop() }
        let nginx = try NginxRunner(http: NginxRunner.seedConfiguration(upstream: "127.0.0.1:\(upstream.port)", host: F.host),
                                    prefix: TestPaths.temporaryFolder("nginx"))
        defer { nginx.stop() }
        let ca = try F.file(root.certificatePEM)
        let (r, doc, md, out) = try await triageRun([
            "https://\(F.host):\(upstream.port)/xxx/xxx", "--via", "http://127.0.0.1:\(nginx.port)/test",
            "--nginx-error-log", nginx.errorLog.path, "--nginx-conf", nginx.configuration.path,
            "--set", "addresses=127.0.0.1", "--ca-file", ca,
        ])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(doc.directCause?.cause == .proxyError)
        #expect(doc.directCause?.fact(.status) == 502)
        #expect(doc.directCause?.fact(.directStatus) == 200)
        #expect(doc.directCause?.summary == "the proxy answered 502 Bad Gateway, while the upstream answered 200 to a direct request")
        #expect(doc.rootCause?.cause == .alertWithoutSNI)
        #expect(doc.rootCause?.alert?.code == 80)
        #expect(doc.rootCause?.alert?.name == "internal_error")
        #expect(doc.rootCause?.alert?.sender == .server)
        #expect(doc.rootCause?.remedy.contains("proxy_ssl_server_name on;") == true)
        #expect(doc.rootCause?.remedy.contains("proxy_ssl_name \(F.host);") == true)
        // nginx's own word names the cause: its step is judged with the rest of the case.
        let logStep = doc.steps.first { $0.id == "nginx-log" }
        #expect(logStep?.status == .problem)
        #expect(logStep?.fact(.event) == "alert-80")
        #expect(logStep?.fact(.lastLine)?.stringValue?.contains("SSL alert number 80") == true)
        #expect(logStep?.fact(.lastLine)?.stringValue?.contains("while SSL handshaking to upstream") == true)
        #expect(md.contains("SSL alert number 80) while SSL handshaking to upstream"))
        let nginxStep = doc.steps.first { $0.id == "nginx" }
        #expect(nginxStep?.fact(.sniSent) == "none (proxy_ssl_server_name off)")
        // The live capture holds nginx's own upstream connection: no SNI, alert 80 from the server.
        let captured = doc.steps.first { $0.id == "capture-decode" }
        #expect(captured?.status == .problem)
        // nginx's connection is told from triage's own (their client ports).
        let groups = captured?.facts["group"]?.listValue?.compactMap(\.stringValue) ?? []
        #expect(groups.contains("1 × fatal alert 80 internal_error from the server, no SNI"), "\(groups)")
        #expect(groups.contains("2 × fatal alert 80 internal_error from the server, no SNI (triage's own)"), "\(groups)")
        let live = out.appendingPathComponent("evidence/capture-stop/capture.pcapng").path
        let listing = try await Command.run(["tshark", "-r", live, "-d", "tcp.port==\(upstream.port),tls"])
        #expect(listing.status == 0, "\(listing.stderr)")
        #expect(!listing.stdout.contains("Malformed"), "\(listing.stdout)")
        #expect(listing.stdout.contains("Alert (Level: Fatal, Description: Internal Error)"))
        #expect(nginxStep?.fact(.upstreamServers)?.texts == ["127.0.0.1:\(upstream.port)"])
        // nginx verifies nothing here (proxy_ssl_verify off): the replay's control with SNI shows the
        // run's own verify result, not the system store's or nginx's unchecked name's.
        #expect(md.contains("| with SNI | TLSv1.3 TLS_AES_256_GCM_SHA384, verify 0 (ok) |") || md.contains("| with SNI | TLSv1.2 ECDHE-ECDSA-AES256-GCM-SHA384, verify 0 (ok) |"),
                "\(md.split(separator: "\n").filter { $0.hasPrefix("| with SNI") })")
    }

    /// nginx trusts another CA than the one that signed the upstream (the run is given the right one):
    /// the proof verifies against nginx's proxy_ssl_trusted_certificate, so pasted it fails until nginx
    /// trusts the upstream's CA (against the run's --cacert it passed before any fix).
    @Test func theProofOfAnUntrustedIssuerUsesNginxsAnchors() async throws {
        let root = try F.root()
        let other = try F.root("other test root")
        let leaf = try F.leaf(issuer: root)
        let upstream = try F.server(chain: [leaf], key: leaf)
        defer { upstream.stop() }
        let ca = try F.file(root.certificatePEM), nginxCA = try F.file(other.certificatePEM)
        let nginx = try NginxCase.verifying(upstream: upstream.port, trusting: nginxCA)
        defer { nginx.stop() }
        let (r, doc, md, _) = try await triageRun(["--via", "http://127.0.0.1:\(nginx.port)/test", "--nginx-conf", nginx.configuration.path, "--cacert", ca])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(doc.rootCause?.cause == .untrustedIssuer, "\(doc.findings.map { "\($0.cause) \($0.summary)" })")
        let proof = try #require(md.split(separator: "\n").first { $0.contains("-verify_return_error") }, "\(md)")
        #expect(proof.contains("-CAfile \(nginxCA)"), "\(proof)")
        let pasted = try await Command.run(["/bin/sh", "-c", String(proof).trimmingCharacters(in: .whitespaces)])
        #expect(pasted.status != 0 && pasted.stderr.contains("unable to get local issuer certificate"), "\(proof): \(pasted.stderr)")
        // The diagram's proxy leg is the replay of nginx's handshake (verify 20 against its anchors), not the
        // client's own (verify 0 against --cacert).
        let diagram = try #require(MarkdownChecks.mermaidBlocks(md).first)
        let leg = diagram.filter { $0.contains("U-->>P") || $0.contains("U--xP") }
        #expect(leg.contains { $0.contains("verify 20") } && !leg.contains { $0.contains("verify 0") }, "\(diagram.joined(separator: "\n"))")
    }

    @Test func nginxVerifyingAnExpiredUpstream() async throws {
        let root = try F.root()
        let notAfter = F.midnight(-9)
        let leaf = try F.leaf(notBefore: F.midnight(-200), notAfter: notAfter, issuer: root)
        let upstream = try F.server(chain: [leaf], key: leaf)
        defer { upstream.stop() }
        let ca = try F.file(root.certificatePEM)
        let nginx = try NginxCase.verifying(upstream: upstream.port, trusting: ca)
        defer { nginx.stop() }
        let (r, doc, _, _) = try await triageRun([
            "--via", "http://127.0.0.1:\(nginx.port)/test", "--nginx-conf", nginx.configuration.path,
            "--nginx-error-log", nginx.errorLog.path,
        ])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(doc.target == "https://\(F.host):\(upstream.port)/xxx/xxx")
        #expect(doc.directCause?.cause == .proxyError)
        #expect(doc.rootCause?.cause == .certExpired)
        #expect(doc.rootCause?.date(.notAfter) == notAfter)
        let logStep = doc.steps.first { $0.id == "nginx-log" }
        #expect(logStep?.fact(.lastLine)?.stringValue?.contains("certificate has expired") == true)
        // Its command, pasted, finds the lines (nginx writes the upstream's URI after its address: the
        // pattern that ended at the quote matched none).
        let pasted = try await Command.run(["/bin/sh", "-c", try #require(logStep?.command)])
        #expect(pasted.stdout.contains("certificate has expired"), "\(logStep?.command ?? "") → \(pasted.stdout)\(pasted.stderr)")
        let nginxStep = doc.steps.first { $0.id == "nginx" }
        #expect(nginxStep?.fact(.sniSent) == .string(F.host))
        // The command to paste reads the nginx that was read, not the system's.
        #expect(nginxStep?.command == "nginx -T -c \(nginx.configuration.path) | grep -n -A20 'location /test'", "\(nginxStep?.command ?? "")")
        // Given relative to where triage ran, it is named absolutely (nginx reads a relative -c against its prefix).
        let folder = nginx.configuration.deletingLastPathComponent()
        let out = TestPaths.temporaryFolder("nginx-relative")
        _ = try await Command.triage(["run", "--via", "http://127.0.0.1:\(nginx.port)/test", "--nginx-conf", nginx.configuration.lastPathComponent,
                                      "--out", out.path], in: folder)
        let relative = try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json")))
        #expect(relative.steps.first { $0.id == "nginx" }?.command?.hasPrefix("nginx -T -c \(nginx.configuration.standardizedFileURL.path) |") == true,
                "\(String(describing: relative.steps.first { $0.id == "nginx" }?.command))")
    }

    /// nginx that sends SNI in front of an upstream that aborts without it:
    /// nothing the user meets is broken, so the abort is a warning (clients
    /// without SNI would fail), the verdict healthy, exit 0.
    @Test func nginxWithSNIInFrontOfAnAbortingUpstreamIsOnlyAWarning() async throws {
        let root = try F.root()
        let leaf = try F.leaf(issuer: root)
        let upstream = try F.server(chain: [leaf], key: leaf) { $0.sni = .abortWithoutSNI }
        defer { upstream.stop() }
        let nginx = try NginxRunner(http: NginxRunner.seedConfiguration(upstream: "127.0.0.1:\(upstream.port)", host: F.host, extra: """
                        proxy_ssl_server_name on;
                        proxy_ssl_name \(F.host);
            """), prefix: TestPaths.temporaryFolder("nginx"))
        defer { nginx.stop() }
        let (r, doc, md, _) = try await triageRun([
            "https://\(F.host):\(upstream.port)/xxx/xxx", "--via", "http://127.0.0.1:\(nginx.port)/test",
            "--nginx-conf", nginx.configuration.path, "--set", "addresses=127.0.0.1", "--ca-file", try F.file(root.certificatePEM),
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(doc.verdict == .healthy)
        #expect(doc.steps.first { $0.id == "via" }?.fact(.status) == 200)
        let warning = try #require(doc.findings.first { $0.cause == .alertWithoutSNI })
        #expect(warning.severity == .warning)
        #expect(doc.rootCause == nil)
        #expect(r.stdout.split(separator: "\n").last == "no problem found (1 warning(s) in the report)")
        #expect(md.contains("`alert-without-sni` upstream aborts TLS without SNI (warning)"))
        // The step that found it is a warning too, as the case judges it: the table agrees with "what held".
        #expect(doc.steps.first { $0.id == "handshake" }?.status == .warning)
        #expect(!md.contains("| ❌"), "\(md)")
        // The run went through the proxy: the advice does not ask for --via.
        #expect(md.contains("Nothing to fix on this path, through the proxy and directly"), "\(md)")
        #expect(!md.contains("or with --via"))
    }
}
