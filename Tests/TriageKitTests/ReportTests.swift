import Foundation
import Testing
import TriageKit
import TriageTestSupport

/// One fixed case — the seed incident as triage records it — rendered with
/// the bundled templates and compared with golden files. Set UPDATE_GOLDEN=1
/// to rewrite them after a deliberate template change.
@Suite struct ReportTests {
    static let t0 = ISO8601.parse("2025-11-24T08:00:00Z")!

    static var record: CaseRecord {
        let expired = Finding(.certExpired, summary: "the certificate for api.example.test expired on 2025-03-01T00:00:00Z, 268 days before this run",
                              subject: "CN=api.example.test", facts: [Fact("notAfter", "2025-03-01T00:00:00Z"), Fact("daysLeft", -268)],
                              step: "dates")
        let alert = Finding(.alertWithoutSNI, summary: "without SNI the server sends fatal alert 80 internal_error; with SNI the handshake completes",
                            subject: "127.0.0.1:8443", facts: [Fact("alert", 80), Fact("sender", "server"), Fact("variant", "none")],
                            step: "handshake")
        return CaseRecord(
            runbook: "tls-upstream", runbookTitle: "HTTPS upstream fails through the proxy", runbookSource: "bundled:tls-upstream",
            target: "https://api.example.test:8443/v1/health?token=s3cret", via: "http://127.0.0.1:8080/test",
            inputs: ["url": "https://api.example.test:8443/v1/health?token=s3cret"], host: "ci-host",
            startedAt: t0, finishedAt: t0.addingTimeInterval(0.5),
            steps: [
                StepResult(id: "handshake", uses: "tls.handshake", status: .problem, startedAt: t0.addingTimeInterval(0.01), durationMs: 40,
                           summary: "as-client: TLSv1.3 ok | none: fatal alert 80 from the server",
                           command: "openssl s_client -connect 127.0.0.1:8443 -noservername",
                           facts: [Fact("alert", "80 internal_error (server)"), Fact("pipe", "a|b")],
                           artifacts: [Artifact(path: "evidence/handshake/handshake.pcapng", bytes: 2048, description: "self-capture")],
                           findings: [alert], transcript: "<<< TLS 1.3 Handshake [ClientHello]\n>>> TLS 1.2 Alert [fatal internal_error]\n```"),
                StepResult(id: "dates", uses: "x509.check-dates", status: .problem, startedAt: t0.addingTimeInterval(0.06), durationMs: 3,
                           summary: "1 certificate, expired", command: "openssl x509 -noout -dates -in evidence/handshake/chain.pem",
                           facts: [Fact("notAfter", "2025-03-01T00:00:00Z")], findings: [expired]),
                StepResult(id: "reproduce", uses: "http.request", status: .skipped, startedAt: t0.addingTimeInterval(0.07), durationMs: 0,
                           summary: "skipped: `${{ inputs.via }}` is false", condition: "${{ inputs.via }}"),
            ])
    }

    func compare(_ language: String) throws {
        let template = try Bundled.template(language: language)
        let markdown = try ReportRenderer(templateText: template.text, name: template.origin, language: language).render(Self.record)
        let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/report.\(language).md")
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try markdown.write(to: golden, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: golden, encoding: .utf8)
        #expect(markdown == expected)
        #expect(!markdown.contains("s3cret"))
    }

    @Test func englishReportMatchesGolden() throws { try compare("en") }
    @Test func chineseReportMatchesGolden() throws { try compare("zh") }

    @Test func reportJSONFieldByField() throws {
        let data = try ReportDocument(Self.record).json()
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["schemaVersion"] as? Int == 1)
        #expect(json["target"] as? String == "https://api.example.test:8443/v1/health?token=[REDACTED]")
        #expect(json["via"] as? String == "http://127.0.0.1:8080/test")
        #expect(json["startedAt"] as? String == "2025-11-24T08:00:00Z")
        #expect(json["finishedAt"] as? String == "2025-11-24T08:00:00Z")
        #expect(json["verdict"] as? String == "problem")
        let root = try #require(json["rootCause"] as? [String: Any])
        #expect(root["cause"] as? String == "cert-expired")
        #expect(root["subject"] as? String == "CN=api.example.test")
        #expect((root["facts"] as? [String: Any])?["notAfter"] as? String == "2025-03-01T00:00:00Z")
        #expect((root["facts"] as? [String: Any])?["daysLeft"] as? Int == -268)
        #expect((root["remedy"] as? String)?.hasPrefix("Renew the certificate") == true)
        #expect(root["summary"] as? String == "the certificate for api.example.test expired on 2025-03-01T00:00:00Z, 268 days before this run")
        let direct = try #require(json["directCause"] as? [String: Any])
        #expect(direct["cause"] as? String == "alert-without-sni")
        #expect((direct["facts"] as? [String: Any])?["alert"] as? Int == 80)
        #expect((json["findings"] as? [[String: Any]])?.map { $0["cause"] as? String } == ["cert-expired", "alert-without-sni"])
        let steps = try #require(json["steps"] as? [[String: Any]])
        #expect(steps.map { $0["id"] as? String } == ["handshake", "dates", "reproduce"])
        #expect(steps[0]["uses"] as? String == "tls.handshake")
        #expect(steps[0]["status"] as? String == "problem")
        #expect(steps[0]["startedAt"] as? String == "2025-11-24T08:00:00Z")
        #expect(steps[0]["durationMs"] as? Int == 40)
        #expect(steps[0]["command"] as? String == "openssl s_client -connect 127.0.0.1:8443 -noservername")
        #expect((steps[0]["facts"] as? [String: Any])?["alert"] as? String == "80 internal_error (server)")
        #expect((steps[0]["artifacts"] as? [[String: Any]])?.first?["path"] as? String == "evidence/handshake/handshake.pcapng")
        #expect(steps[2]["status"] as? String == "skipped")
        #expect(steps[2]["condition"] as? String == "${{ inputs.via }}")
        // And it decodes back into the same model.
        let decoded = try ReportDocument.decode(data)
        #expect(decoded.rootCause?.cause == .certExpired)
        #expect(decoded.steps.count == 3)
    }

    @Test func diagnosisSeparatesDirectAndRootCause() {
        let d = Self.record.diagnosis
        #expect(d.rootCause?.cause == .certExpired)
        #expect(d.directCause?.cause == .alertWithoutSNI)
        #expect(d.exitStatus == 1)
        #expect(Diagnosis(findings: [], interrupted: false).exitStatus == 0)
        #expect(Diagnosis(findings: [], interrupted: true).exitStatus == 130)
        let warning = Finding(.certExpired, severity: .warning, summary: "expires in 5 days", subject: "x")
        #expect(Diagnosis(findings: [warning], interrupted: false).verdict == .healthy)
        #expect(Cause.allCases.map(\.code).count == 20)
        #expect(Cause(rawValue: "default-cert-without-sni") == .defaultCertWithoutSNI)
    }

    @Test func bundledFilesMatchTheRepository() throws {
        for (name, text) in Bundled.embeddedRunbooks {
            let file = TestPaths.repository.appendingPathComponent("runbooks/\(name)")
            #expect(try String(contentsOf: file, encoding: .utf8) == text, "runbooks/\(name) differs: run make embed")
        }
        for (name, text) in Bundled.embeddedTemplates {
            let file = TestPaths.repository.appendingPathComponent("templates/\(name)")
            #expect(try String(contentsOf: file, encoding: .utf8) == text, "templates/\(name) differs: run make embed")
        }
        let onDisk = try FileManager.default.contentsOfDirectory(atPath: TestPaths.repository.appendingPathComponent("runbooks").path)
        #expect(Set(onDisk.filter { $0.hasSuffix(".yaml") }) == Set(Bundled.embeddedRunbooks.keys))
    }
}
