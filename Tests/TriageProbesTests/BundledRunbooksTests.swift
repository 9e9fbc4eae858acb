import Foundation
import Testing
import TriageDemo
import TriageKit
import TriageProbes
import TriageTestSupport

/// Every bundled runbook, against something healthy, runs clean: every step
/// ok or skipped, verdict healthy, exit 0 — no expression error, no step that
/// fails for want of a value an earlier step did not produce.
@Suite(.serialized) struct BundledRunbooksTests {
    typealias F = TLSFixtures

    static func allClean(_ steps: [ReportDocument.StepEntry]) -> Bool {
        steps.allSatisfy { $0.status == .ok || $0.status == .skipped }
    }

    @Test func everyBundledRunbookValidates() throws {
        let loader = RunbookLoader(catalog: .standard)
        for name in Bundled.runbookNames {
            let source = try Bundled.runbook(name)
            #expect(throws: Never.self) { _ = try loader.load(yaml: source.text, source: source.origin) }
        }
        #expect(Bundled.runbookNames == ["analyze", "nginx-error", "tls-upstream"])
    }

    @Test func tlsUpstreamThroughAHealthyNginxAndItsCapture() async throws {
        let root = try F.root()
        let leaf = try F.leaf(issuer: root)
        let upstream = try F.server(chain: [leaf], key: leaf)
        defer { upstream.stop() }
        let ca = try F.file(root.certificatePEM)
        // nginx as it should be: SNI on, verifying against the CA.
        let nginx = try NginxCase.verifying(upstream: upstream.port, trusting: ca)
        defer { nginx.stop() }
        let out = TestPaths.temporaryFolder("healthy")
        let r = try await Command.triage([
            "run", "https://\(F.host):\(upstream.port)/xxx/xxx", "--via", "http://127.0.0.1:\(nginx.port)/test",
            "--nginx-conf", nginx.configuration.path, "--nginx-error-log", nginx.errorLog.path,
            "--set", "addresses=127.0.0.1", "--ca-file", ca, "--set", "proxy_sni=\(F.host)", "--out", out.path,
        ])
        let doc = try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json")))
        #expect(r.status == 0, "\(r.stderr)")
        #expect(doc.verdict == .healthy, "\(doc.findings.map(\.summary))")
        #expect(Self.allClean(doc.steps), "\(doc.steps.map { "\($0.id) \($0.status.rawValue): \($0.summary)" })")
        #expect(doc.steps.first { $0.id == "via" }?.fact(.status) == 200)
        #expect(doc.steps.first { $0.id == "capture-decode" }?.status == .ok)
        // The capture it took, analysed on its own with the same CA, is healthy too;
        // without the CA its chains are verified against the system store, as curl would.
        let capture = out.appendingPathComponent("evidence/capture-stop/capture.pcapng").path
        let analyzed = TestPaths.temporaryFolder("analyze")
        let a = try await Command.triage(["analyze", capture, "--ca-file", ca, "--out", analyzed.path])
        let noCA = TestPaths.temporaryFolder("analyze")
        let b = try await Command.triage(["analyze", capture, "--out", noCA.path])
        #expect(b.status == 1)
        #expect(try ReportDocument.decode(Data(contentsOf: noCA.appendingPathComponent("report.json"))).rootCause?.cause == .untrustedIssuer)
        let report = try ReportDocument.decode(Data(contentsOf: analyzed.appendingPathComponent("report.json")))
        #expect(a.status == 0, "\(a.stderr)")
        #expect(Self.allClean(report.steps), "\(report.steps.map { "\($0.id) \($0.status.rawValue): \($0.summary)" })")
    }

    @Test func tlsUpstreamDirectlyWithoutAProxy() async throws {
        let root = try F.root()
        let leaf = try F.leaf(issuer: root)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let run = try await DefaultRunbook.run(port: server.port, caFile: try F.file(root.certificatePEM), extra: ["capture": "true"])
        #expect(run.document.verdict == .healthy, "\(run.document.findings.map(\.summary))")
        #expect(Self.allClean(run.document.steps), "\(run.document.steps.map { "\($0.id) \($0.status.rawValue): \($0.summary)" })")
    }

    @Test func nginxErrorExplainingAnAlertCode() async throws {
        let out = TestPaths.temporaryFolder("nginx-error")
        let r = try await Command.triage(["run", "--runbook", "nginx-error", "--set", "line=SSL alert number 0", "--out", out.path])
        let doc = try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json")))
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Self.allClean(doc.steps))
        #expect(doc.steps.first?.fact(.code) == 0)
    }

    /// A capture whose stop step never runs is stopped by the engine when the run ends.
    @Test func aCaptureIsStoppedOnEveryExitPath() async throws {
        let folder = TestPaths.temporaryFolder("capture-left")
        let yaml = """
            name: left
            steps:
              - id: start
                uses: capture.start
                with: { interface: lo, filter: "tcp port 9 and host 127.9.9.9" }
              - id: broken
                uses: exec
                continue_on_error: false
                with: { run: ["false"] }
              - id: stop
                uses: capture.stop
                with: { capture: "${{ steps.start.outputs.capture }}" }
            """
        let runbook = try RunbookLoader(catalog: .standard).load(yaml: yaml, source: "left.yaml")
        var options = Engine.Options()
        options.caseFolder = folder
        let record = await Engine(catalog: .standard, options: options).run(runbook, inputs: [:])
        #expect(record.steps.first?.status == .ok, "\(record.steps.first.map { $0.summary.english } ?? "")")
        #expect(record.steps.last?.status == .skipped)
        #expect(!LiveCapture.running.contains("tcp port 9 and host 127.9.9.9"))
    }
}
