import Foundation
import Testing
import TriageKit
import TriageTestSupport
import TriageWire

/// One fixed case — an upstream that aborts handshakes without SNI, whose
/// certificate also expired, as triage records it — rendered with the
/// bundled templates and compared with golden files. Set UPDATE_GOLDEN=1 to
/// rewrite them after a deliberate template change.
@Suite struct ReportTests {
    static let t0 = ISO8601.parse("2025-11-24T08:00:00Z")!
    static let server = Endpoint("127.0.0.1:8443")!
    static let notAfter = ISO8601.parse("2025-03-01T00:00:00Z")!

    static var record: CaseRecord { record(keeping: { _ in true }) }

    /// The case with only the steps `keeping` keeps (the diagnosis judges what is left).
    static func record(keeping: (String) -> Bool) -> CaseRecord {
        let alert = TLSAlert(code: 80, level: .fatal, sender: .server, variant: SNIVariant.none, server: server)
        let expired = Finding(.certExpired,
                              summary: Message(.findingCertExpired, ["host": "api.example.test", "date": .typed(.date(notAfter)), "days": 268, "when": Message(.whenRun).value]),
                              subject: "CN=api.example.test",
                              facts: [Fact(.notAfter, .typed(.date(notAfter))), Fact(.daysLeft, -268)],
                              remedyArgs: ["address": .typed(.endpoint(server)), "host": "api.example.test"], step: "dates").on(.chain([.asClient]))
        let withoutSNI = Finding(.alertWithoutSNI,
                                 summary: Message(.findingAlertWithoutSNI, ["code": 80, "alert_name": "internal_error", "name": "api.example.test"]),
                                 subject: "127.0.0.1:8443", facts: [Fact(.alert, .typed(.alert(alert))), Fact(.variant, "none")],
                                 remedy: Message(.remedySendSNI, ["name": "api.example.test", "address": .typed(.endpoint(server)), "alert": 80]),
                                 step: "handshake").on(.handshake(.none))
        let badGateway = Finding(.proxyError, summary: Message(.findingProxyErrorDirectFailed, ["status": 502, "reason": "Bad Gateway", "direct": 0]),
                                 subject: "http://127.0.0.1:8080/test", facts: [Fact(.status, 502)], step: "via").on(.http(.via))
        return CaseRecord(
            runbook: "tls-upstream", runbookTitle: "HTTPS upstream fails through the proxy", runbookSource: "bundled:tls-upstream",
            target: "https://api.example.test:8443/v1/health?token=s3cret", via: "http://127.0.0.1:8080/test",
            inputs: ["url": "https://api.example.test:8443/v1/health?token=s3cret"], host: "ci-host",
            startedAt: t0, finishedAt: t0.addingTimeInterval(0.5), plannedSteps: ["nginx", "handshake", "dates", "via", "reproduce"],
            steps: ([
                StepResult(id: "nginx", uses: "nginx.config", status: .ok, startedAt: t0.addingTimeInterval(0.005), durationMs: 1,
                           summary: Message(.nginxSummary, ["path": "/test", "proxy_pass": "https://backend/v1", "servers": ["127.0.0.1:8443"],
                                                            "sni": Message(.nginxSendsNoSNI).value]),
                           command: "nginx -T | grep -n -A20 'location /test'",
                           evidence: [.proxyConfig(ProxyConfig(
                               file: "/etc/nginx/nginx.conf", location: "/test", locationWhere: "/etc/nginx/conf.d/api.conf:12",
                               source: ProxyConfig.Source(file: "/etc/nginx/conf.d/api.conf", line: 12, proxyPassLine: 13,
                                                          text: ["    location /test {", "        proxy_pass https://backend/v1;",
                                                                 "        proxy_ssl_server_name off;", "        proxy_read_timeout 10;", "    }"]),
                               proxyPass: "https://backend/v1", scheme: "https", upstreamName: "backend",
                               servers: [ProxyConfig.Server(host: "127.0.0.1", port: 8443)], proxyHost: "backend",
                               settings: ["proxy_ssl_server_name": ["off"], "proxy_read_timeout": ["10"]], sslName: nil, hostHeader: nil))],
                           outputs: ["sni": "none", "verify": false]),
                StepResult(id: "handshake", uses: "tls.handshake", status: .problem, startedAt: t0.addingTimeInterval(0.01), durationMs: 40,
                           summary: Message(.attemptAlert, ["alert": .typed(.alert(alert))]),
                           command: "openssl s_client -connect 127.0.0.1:8443 -noservername",
                           facts: [Fact(.alert, .typed(.alert(alert))), Fact(.attempt, "a|b"), Fact(.attempt, "second attempt")],
                           artifacts: [Artifact(path: "evidence/handshake/handshake.pcapng", bytes: 2048, description: Message(.evidenceSelfCapture))],
                           evidence: [.declared(withoutSNI)], transcript: "<<< TLS 1.3 Handshake [ClientHello]\n>>> TLS 1.2 Alert [fatal internal_error]\n```",
                           observations: [
                               Observation(path: .handshake(.asClient), from: .client, to: .upstream, request: Message(.observeHelloSNI, ["name": "api.example.test"]),
                                           answer: Message(.attemptEstablished, ["version": "TLSv1.3", "cipher": "TLS_AES_128_GCM_SHA256", "verify_code": 10,
                                                                                 "verify_text": "certificate has expired"]), ok: false, server: "127.0.0.1:8443"),
                               Observation(path: .handshake(.none), from: .client, to: .upstream, request: Message(.observeHelloNoSNI),
                                           answer: Message(.attemptAlert, ["alert": .typed(.alert(alert))]), ok: false, server: "127.0.0.1:8443"),
                           ]),
                StepResult(id: "dates", uses: "x509.check-dates", status: .problem, startedAt: t0.addingTimeInterval(0.06), durationMs: 3,
                           summary: Message(.x509Summary, ["count": 1, "chains": 1, "leaf": "api.example.test",
                                                           "state": Message(.leafExpired, ["date": .typed(.date(notAfter))]).value]),
                           command: "openssl x509 -noout -dates -in evidence/handshake/chain.pem",
                           facts: [Fact(.notAfter, .typed(.date(notAfter)))], evidence: [.declared(expired)]),
                StepResult(id: "via", uses: "http.request", status: .problem, startedAt: t0.addingTimeInterval(0.065), durationMs: 2,
                           summary: Message(.httpSummary, ["url": "http://127.0.0.1:8080/test", "status": 502, "ms": "1.0"]),
                           command: "curl -v http://127.0.0.1:8080/test", facts: [Fact(.status, 502)], evidence: [.declared(badGateway)],
                           observations: [Observation(path: .http(.via), from: .client, to: .proxy, request: Message(.observeHTTPRequest, ["method": "GET", "path": "/test"]),
                                                      answer: Message(.observeHTTPStatus, ["status": 502, "reason": " Bad Gateway"]), ok: false, server: "127.0.0.1:8080")]),
                StepResult(id: "reproduce", uses: "http.request", status: .skipped, startedAt: t0.addingTimeInterval(0.07), durationMs: 0,
                           summary: Message(.stepSkippedCondition, ["condition": "${{ inputs.via }}"]), condition: "${{ inputs.via }}"),
            ] as [StepResult]).filter { keeping($0.id) })
    }

    /// The follow-up action item is the exporter alert for the root cause: the cause label for what a
    /// probe sees, the days left for a date (two weeks ahead), none for what only the proxy shows.
    @Test func followUpIsTheAlertThatWouldHaveCaughtIt() throws {
        func firstScreen(_ record: CaseRecord) throws -> String {
            let template = try Bundled.template(language: "en")
            return MarkdownChecks.firstScreen(try ReportRenderer(templateText: template.text, name: template.origin, table: TextTable.named("en")).render(record))
        }
        let sni = try firstScreen(Self.record)
        #expect(sni.contains("**Follow-up:** have it caught before users are: `triage exporter` probing `api.example.test:8443`, a Prometheus alert on `triage_probe_cause{instance=\"api.example.test:8443\",cause=\"alert-without-sni\"} == 1`"), "\(sni)")
        let expired = try firstScreen(Self.record { $0 == "dates" })
        #expect(expired.contains("a Prometheus alert on `triage_probe_days_left{instance=\"api.example.test:8443\"} < 14`"), "\(expired)")
        let proxyOnly = try firstScreen(Self.record { $0 == "via" })
        #expect(proxyOnly.contains("**What to do:**"))
        #expect(!proxyOnly.contains("Follow-up"), "\(proxyOnly)")
    }

    /// The proxy's leg in the diagram is its own captured connection, not triage's replay of it in the
    /// same capture (both without SNI): nginx's request-carrying handshake, not "closed without a request".
    @Test func theProxysLegIsItsOwnCapturedConnection() throws {
        var record = Self.record
        let hello = Message(.observeHelloNoSNI)
        record.steps.append(StepResult(id: "capture-decode", uses: "capture.decode", status: .ok, startedAt: record.startedAt, durationMs: 3,
                                       summary: Message(.captureDecodedNone, ["count": 2, "packets": 20]),
                                       observations: [
                                           Observation(path: .capture(sni: false, byProxy: false), from: .client, to: .upstream, request: hello,
                                                       answer: Message(.captureOutcomeClosedQuietly), ok: true, server: "127.0.0.1:8443"),
                                           Observation(path: .capture(sni: false, byProxy: true), from: .client, to: .upstream, request: hello,
                                                       answer: Message(.captureOutcomeHandshake, ["version": "TLSv1.2"]), ok: true, server: "127.0.0.1:8443"),
                                       ]))
        let template = try Bundled.template(language: "en")
        let md = try ReportRenderer(templateText: template.text, name: template.origin, table: TextTable.named("en")).render(record)
        let diagram = try #require(MarkdownChecks.mermaidBlocks(md).first).joined(separator: "\n")
        #expect(diagram.contains("P->>U: ClientHello without SNI (captured)\n    U-->>P: handshake TLSv1.2"), "\(diagram)")
    }

    func render(_ language: String) throws -> String {
        let template = try Bundled.template(language: language)
        return try ReportRenderer(templateText: template.text, name: template.origin, table: TextTable.named(language)).render(Self.record)
    }

    func compare(_ language: String) throws {
        let markdown = try render(language)
        let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/report.\(language).md")
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try markdown.write(to: golden, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: golden, encoding: .utf8)
        #expect(markdown == expected)
        #expect(!markdown.contains("s3cret"))
        let diagrams = MarkdownChecks.mermaidBlocks(markdown)
        #expect(diagrams.count == 1)
        for d in diagrams { #expect(MarkdownChecks.sequenceDiagramProblems(d) == []) }
        if language != "en" { #expect(MarkdownChecks.englishProse(markdown) == []) }
    }

    /// The first screen names the symptom and its cause, says why the
    /// proxy's path meets it, and gives the nginx change as a diff.
    @Test func firstScreenOfTheFixedCase() throws {
        let screen = MarkdownChecks.firstScreen(try render("en"))
        let lines = screen.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first == "# 502 from nginx /test: upstream aborts TLS without SNI (alert 80)")
        #expect(screen.contains("nginx connects to the upstream with no SNI (as its configuration says)"))
        // An existing `proxy_ssl_server_name off;` is changed where it is, the missing name added after proxy_pass.
        #expect(screen.contains("""
            @@ -12,5 +12,6 @@
                 location /test {
                     proxy_pass https://backend/v1;
            +        proxy_ssl_name api.example.test;
            -        proxy_ssl_server_name off;
            +        proxy_ssl_server_name on;
                     proxy_read_timeout 10;
                 }
            """))
        #expect(screen.contains("curl -sS -o /dev/null -w '%{http_code}\\n' http://127.0.0.1:8080/test"))
        let arrows = MarkdownChecks.arrows(MarkdownChecks.mermaidBlocks(screen)[0])
        #expect(arrows == [
            "C->P: GET /test",
            "P->U: ClientHello without SNI (replayed by triage)",
            "U->P: fatal alert 80 internal_error from the server",
            "P->C: HTTP 502 Bad Gateway",
            "C->U: ClientHello, SNI api.example.test",
            "U->C: TLSv1.3 TLS_AES_128_GCM_SHA256, verify 10 (certificate has expired)",
        ])
        // Skipped steps: one line, at the end.
        #expect(try render("en").split(separator: "\n").filter { $0.contains("reproduce") }.count == 1)
    }

    /// Every variable a template sees is documented, and every documented one is there (or absent only
    /// where it says it may be); `{{verdict}}` and `{{summary}}` render.
    @Test func templateVariablesAreTheDocumentedOnes() throws {
        let record = Self.record
        let renderer = try ReportRenderer(templateText: "", name: "empty", table: .english)
        let document = ReportDocument(record)
        let seen = renderer.variables(document, record: record)
        let documented = Set(ReportRenderer.documentedVariables)
        #expect(seen.subtracting(documented).isEmpty, "undocumented: \(seen.subtracting(documented).sorted())")
        let mayBeAbsent: Set<String> = ["banner", "judged", "impact", "why", "fix", "diagram", "skipped", "commands", "commandsFence", "held"]
        #expect(documented.subtracting(seen).subtracting(mayBeAbsent).isEmpty, "missing: \(documented.subtracting(seen).sorted())")
        let custom = try ReportRenderer(templateText: "{{verdict}}|{{summary}}|{{host}}", name: "custom", table: .english)
        #expect(custom.render(record) == "problem|\(Markdown.text(document.summary))|api.example.test")
    }

    /// A `--template` whose sections would crash the renderer (5,000 levels overflowed its recursion)
    /// or not finish (a list's section inside itself, 12 deep) is refused before the run, with the line.
    @Test func templatesThatCannotRenderSafelyAreRefused() throws {
        func why(_ text: String) -> String? {
            do { _ = try ReportRenderer(templateText: text, name: "t.mustache", table: .english); return nil } catch { return "\(error)" }
        }
        #expect(why(String(repeating: "{{#verdict}}", count: 5000) + "x" + String(repeating: "{{/verdict}}", count: 5000))
                == "cannot parse the report template t.mustache: line 1: section 'verdict' inside a section of the same name (it would render its whole list again for each of its rows)")
        let deep = (1...9).map { "{{#s\($0)}}" }.joined() + "x" + (1...9).reversed().map { "{{/s\($0)}}" }.joined()
        #expect(why("title\n" + deep) == "cannot parse the report template t.mustache: line 2: sections nested more than 8 deep")
        #expect(why("{{#checked}}\n{{^checked}}x{{/checked}}{{/checked}}")?.contains("line 2: section 'checked' inside a section of the same name") == true)
        // Other delimiters are followed; eight levels, and the same section one after another, are fine.
        #expect(why("{{=<% %>=}}<%#checked%><%#checked%>x<%/checked%><%/checked%>")?.contains("section 'checked' inside") == true)
        #expect(why((1...8).map { "{{#s\($0)}}" }.joined() + (1...8).reversed().map { "{{/s\($0)}}" }.joined()) == nil)
        #expect(why("{{#checked}}a{{/checked}}{{#checked}}b{{/checked}}{{{summary}}}") == nil)
        // swift-mustache's own parse errors say where and what, not a Swift dump.
        #expect(why("# title\n{{#checked}}x{{/others}}\n") == "cannot parse the report template t.mustache: line 2, column 17: a section is closed with another name than it was opened with",
                "\(why("# title\n{{#checked}}x{{/others}}\n") ?? "")")
        #expect(why("# title\n{{ summary \n")?.hasSuffix("a tag is not closed before the end of the text (expected the closing delimiter, }} by default)") == true,
                "\(why("# title\n{{ summary \n") ?? "")")
    }

    @Test func englishReportMatchesGolden() throws { try compare("en") }
    @Test func chineseReportMatchesGolden() throws { try compare("zh") }

    @Test func reportJSONFieldByField() throws {
        let data = try ReportDocument(Self.record).json()
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["schemaVersion"] as? Int == 2)
        #expect(json["target"] as? String == "https://api.example.test:8443/v1/health?token=[REDACTED]")
        #expect(json["via"] as? String == "http://127.0.0.1:8080/test")
        #expect(json["startedAt"] as? String == "2025-11-24T08:00:00Z")
        #expect(json["verdict"] as? String == "problem")
        // nginx (assumed: --via without its config) sends no SNI and does not verify:
        // the abort without SNI explains its 502; the expired certificate hits curl.
        let root = try #require(json["rootCause"] as? [String: Any])
        #expect(root["cause"] as? String == "alert-without-sni")
        #expect(root["subject"] as? String == "127.0.0.1:8443")
        #expect(((root["facts"] as? [String: Any])?["alert"] as? [String: Any])?["code"] as? Int == 80)
        #expect((root["remedy"] as? String)?.contains("proxy_ssl_server_name on;") == true)
        #expect(root["summary"] as? String == "without SNI the server aborts the handshake with fatal alert 80 internal_error; with SNI (api.example.test) it succeeds")
        let direct = try #require(json["directCause"] as? [String: Any])
        #expect(direct["cause"] as? String == "proxy-error")
        #expect((direct["facts"] as? [String: Any])?["status"] as? Int == 502)
        #expect((json["findings"] as? [[String: Any]])?.map { $0["cause"] as? String } == ["alert-without-sni", "proxy-error", "cert-expired"])
        let expired = try #require((json["findings"] as? [[String: Any]])?.last)
        #expect((expired["facts"] as? [String: Any])?["not_after"] as? String == "2025-03-01T00:00:00Z")
        #expect((expired["facts"] as? [String: Any])?["days_left"] as? Int == -268)
        #expect((expired["remedy"] as? String)?.hasPrefix("Renew the certificate") == true)
        let steps = try #require(json["steps"] as? [[String: Any]])
        #expect(steps.map { $0["id"] as? String } == ["nginx", "handshake", "dates", "via", "reproduce"])
        #expect(steps[1]["status"] as? String == "problem")
        #expect(steps[1]["durationMs"] as? Int == 40)
        // A fact key that repeats is a list, in order.
        #expect((steps[1]["facts"] as? [String: Any])?["attempt"] as? [String] == ["a|b", "second attempt"])
        #expect((steps[1]["artifacts"] as? [[String: Any]])?.first?["path"] as? String == "evidence/handshake/handshake.pcapng")
        #expect(steps[4]["status"] as? String == "skipped")
        #expect(steps[4]["condition"] as? String == "${{ inputs.via }}")
    }

    /// report.json decodes back into the typed model: dates, alerts and repeated facts.
    @Test func reportJSONRoundTripsIntoTypedFacts() throws {
        let decoded = try ReportDocument.decode(try ReportDocument(Self.record).json())
        #expect(decoded.rootCause?.cause == .alertWithoutSNI)
        #expect(decoded.rootCause?.alert == TLSAlert(code: 80, level: .fatal, sender: .server, variant: SNIVariant.none, server: Self.server))
        let expired = decoded.findings.first { $0.cause == .certExpired }
        #expect(expired?.date(.notAfter) == Self.notAfter)
        #expect(expired?.fact(.daysLeft) == -268)
        #expect(decoded.steps[1].typedFacts.all(.attempt) == ["a|b", "second attempt"])
        #expect(decoded.steps.count == 5)
        #expect(decoded.plannedSteps == ["nginx", "handshake", "dates", "via", "reproduce"])
    }

    @Test func diagnosisVerdicts() {
        let d = Self.record.diagnosis
        #expect(d.rootCause?.cause == .alertWithoutSNI)
        #expect(d.directCause?.cause == .proxyError)
        #expect(d.impacts.map(\.role) == [.root, .symptom, .otherPath])
        #expect(d.impacts.last?.affects == [.user])
        #expect(d.exitStatus == 1)
        #expect(Diagnosis(findings: []).exitStatus == 0)
        #expect(Diagnosis(findings: [], interrupted: true).exitStatus == 130)
        let warning = Finding(.certExpired, severity: .warning, summary: Message(.errorText, ["text": "expires in 5 days"]), subject: "x")
        #expect(Diagnosis(findings: [warning]).verdict == .healthy)
        let failed = StepResult(id: "check", uses: "exec", status: .failed, startedAt: Self.t0, durationMs: 1, summary: Message(.stepOK))
        #expect(Diagnosis(findings: [], steps: [failed]).verdict == .inconclusive)
        #expect(Diagnosis(findings: [], steps: [failed]).exitStatus == 3)
        #expect(Diagnosis(findings: [], finished: false).verdict == .incomplete)
        #expect(Cause(rawValue: "default-cert-without-sni") == .defaultCertWithoutSNI)
    }

    @Test func bundledFilesMatchTheRepository() throws {
        for (name, text) in Bundled.embeddedRunbooks {
            let file = TestPaths.repository.appendingPathComponent("runbooks/\(name)")
            #expect(try String(contentsOf: file, encoding: .utf8) == text, "runbooks/\(name) differs: run make embed")
        }
        for (name, text) in Bundled.embeddedTemplates.merging(Bundled.embeddedData, uniquingKeysWith: { a, _ in a }) {
            let file = TestPaths.repository.appendingPathComponent("templates/\(name)")
            #expect(try String(contentsOf: file, encoding: .utf8) == text, "templates/\(name) differs: run make embed")
        }
        // The text tables are read when triage is built (scripts/embed.py); the Swift reader, which a
        // table under $TRIAGE_HOME goes through, reads each file to the same entries.
        for language in Bundled.languages {
            let bundled = try #require(TextTable.bundled(language))
            let entries = bundled.entries
            let file = TestPaths.repository.appendingPathComponent("templates/text.\(language).txt")
            let read = try TextTable(language: language, text: String(contentsOf: file, encoding: .utf8), file: file.path)
            #expect(read.entries.count > 500, "text.\(language).txt")
            #expect(read.entries == entries, "templates/text.\(language).txt differs: run make embed")
            // Every key found by the binary search, and nothing else.
            #expect(read.entries.filter { bundled[$0.key] != $0.value }.map(\.key) == [])
            #expect(bundled["no.such.key"] == nil && bundled[""] == nil && bundled["zzzz"] == nil)
        }
        let onDisk = try FileManager.default.contentsOfDirectory(atPath: TestPaths.repository.appendingPathComponent("runbooks").path)
        #expect(Set(onDisk.filter { $0.hasSuffix(".yaml") }) == Set(Bundled.embeddedRunbooks.keys))
    }
}

/// A server's text in a table cell stays text: no markup, no broken row.
@Suite struct MarkdownCellTests {
    @Test func serverTextIsEscapedOutsideCodeSpans() {
        #expect(Markdown.cell("CN=</details><script>x</script> & co|ltd\nnext") == "CN=&lt;/details&gt;&lt;script&gt;x&lt;/script&gt; &amp; co\\|ltd<br>next")
        // Inside a code span the text is shown as is (entities would print literally there).
        #expect(Markdown.cell(Markdown.code("openssl s_client </dev/null")) == "`openssl s_client </dev/null`")
    }

    /// Jira wiki markup from triage's Markdown: a server's text stays text (no macro, link, effect or cell
    /// break), escaped pipes and code spans keep their characters, a code block cannot be closed from inside.
    @Test func jiraMarkupKeepsServerTextInert() {
        let md = """
            # Title {color:red}

            > **banner** [x|http://evil.test] *not bold*<br>
            | | Step | What |
            |---|---|---|
            | ✅ ok | a \\| b | `x\\|y` and -struck- !img.png! &lt;b&gt; |

            <details><summary>Raw | evidence=1}</summary>

            ```text
            {noformat} still text
            ```

            </details>

            ```mermaid
            sequenceDiagram
                participant C as client
                participant U as upstream 127.0.0.1#59;443
                C->>U: ClientHello #35;lt#59;
                U--xC: alert 80
                C-xU: alert 80 from the client
            ```
            """
        let jira = JiraMarkup.convert(md)
        #expect(jira == """
            h1. Title \\{color:red\\}

            bq. *banner* \\[x\\|http://evil.test\\] \\*not bold\\*
            || ||Step||What||
            |✅ ok|a \\| b|{{x\\|y}} and \\-struck- \\!img.png\\! <b>|

            {panel:title=Raw   evidence 1 }

            {noformat}
            { noformat} still text
            {noformat}

            {panel}

            # client → upstream 127.0.0.1;443: ClientHello #lt;
            # client ✗ upstream 127.0.0.1;443: alert 80
            # client ✗→ upstream 127.0.0.1;443: alert 80 from the client
            """)
    }
}
