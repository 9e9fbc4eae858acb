import Foundation
import Testing
import TriageKit
import TriageTestSupport

/// The built binary, as a user runs it: exit statuses and what lands on disk.
@Suite struct CLITests {
    func write(_ yaml: String, in folder: URL, as name: String = "rb.yaml") throws -> String {
        let url = folder.appendingPathComponent(name)
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// A runbook of one step that always holds: `echo` of the URL's host.
    func fineRunbook(in folder: URL) throws -> String {
        try write("""
            name: fine
            inputs: { url: { required: true } }
            steps:
              - id: check
                uses: exec
                with: { run: [echo, "${{ inputs.url.host }}"] }
            """, in: folder)
    }

    @Test func healthyRunExitsZero() async throws {
        let folder = TestPaths.temporaryFolder("cli")
        let rb = try fineRunbook(in: folder)
        let r = try await Command.triage(["run", "https://ok.test/", "--runbook", rb, "--out", folder.appendingPathComponent("case").path])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try Data(contentsOf: folder.appendingPathComponent("case/report.json"))
        let doc = try ReportDocument.decode(json)
        #expect(doc.verdict == .healthy)
        #expect(doc.steps.first?.fact(.exitStatus) == 0)
        let out = try String(contentsOf: folder.appendingPathComponent("case/evidence/check/stdout.txt"), encoding: .utf8)
        #expect(out == "ok.test\n")
        // stdout is the result, in this order; progress stays on stderr.
        #expect(r.stdout.split(separator: "\n").map(String.init) == ["report: \(folder.appendingPathComponent("case/report.md").path)", "no problem found"])
        #expect(r.stderr.contains("check"))
        #expect(!r.stderr.contains("no problem found"))
        // What to do after checks that were neither a handshake nor a capture: not capture advice.
        let markdown = try String(contentsOf: folder.appendingPathComponent("case/report.md"), encoding: .utf8)
        #expect(markdown.contains("**What to do:** Nothing to fix in what these checks saw."), "\(markdown.prefix(600))")
    }

    /// Run with standard descriptors closed (`>&- 2>&-`, as from cron or a daemon): the whole case is
    /// written and the status is the verdict's. (The signal pipe took numbers 1 and 2, a progress line
    /// read as a signal: exit 130, no report.)
    @Test(arguments: [">&- 2>&-", "<&- 2>&-", "<&- >&-"]) func closedStandardDescriptors(closed: String) async throws {
        let folder = TestPaths.temporaryFolder("cli-closed")
        let rb = try fineRunbook(in: folder)
        let out = folder.appendingPathComponent("case").path
        let r = try await Command.run(["/bin/sh", "-c", "\"$0\" run https://ok.test/ --runbook \"$1\" --out \"$2\" \(closed)",
                                       TestPaths.triageBinary.path, rb, out])
        #expect(r.status == 0, "\(closed): \(r.status)")
        let doc = try ReportDocument.decode(try Data(contentsOf: URL(fileURLWithPath: out).appendingPathComponent("report.json")))
        #expect(doc.verdict == .healthy)
        #expect(FileManager.default.fileExists(atPath: out + "/report.md"))
    }

    /// An earlier case whose sibling cannot be made says why (the system's reason), not that 998
    /// siblings hold earlier cases. (A 254-byte name: its `-2` sibling is past NAME_MAX, which even
    /// root cannot make; a parent the user may not write to fails the same way.)
    @Test func aSiblingThatCannotBeMadeSaysWhy() async throws {
        let folder = TestPaths.temporaryFolder("cli-sibling")
        let rb = try fineRunbook(in: folder)
        let out = folder.appendingPathComponent(String(repeating: "c", count: 254)).path
        let first = try await Command.triage(["run", "https://ok.test/", "--runbook", rb, "--out", out])
        #expect(first.status == 0, "\(first.stderr)")
        let second = try await Command.triage(["run", "https://ok.test/", "--runbook", rb, "--out", out])
        #expect(second.status == 2)
        #expect(second.stderr.contains("it holds an earlier case, and \(out)-2 beside it cannot be made: File name too long"), "\(second.stderr)")
    }

    @Test func diagnosedProblemExitsOne() async throws {
        let folder = TestPaths.temporaryFolder("cli")
        let r = try await Command.triage(["run", "--runbook", "nginx-error", "--out", folder.path, "--lang", "zh"])
        #expect(r.status == 1, "\(r.stderr)")
        let doc = try ReportDocument.decode(Data(contentsOf: folder.appendingPathComponent("report.json")))
        // The line names no more than the alert: reported as the alert itself, on the proxy's word.
        #expect(doc.rootCause?.cause == .tlsAlert)
        #expect(doc.rootCause?.subject == "10.20.30.40:443")
        #expect(doc.rootCause?.fact(.event) == "alert-80")
        #expect(doc.rootCause?.alert?.code == 80)
        let md = try String(contentsOf: folder.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(md.contains("**现象：**"))
        #expect(md.contains("**处理：**"))
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "报告：\(folder.path)/report.md", "\(r.stdout)")
        #expect(lines.last?.hasPrefix("根本原因：tls-alert — 代理的错误日志写明了原因") == true, "\(r.stdout)")
    }

    @Test func defaultCaseFolderIsUnderIncidents() async throws {
        let folder = TestPaths.temporaryFolder("cli")
        let rb = try write("name: t\ninputs: { url: }\nsteps:\n  - { id: a, uses: exec, with: { run: [true] } }\n", in: folder)
        let r = try await Command.triage(["run", "https://edge.example.test/x", "--runbook", rb], in: folder)
        #expect(r.status == 0, "\(r.stderr)")
        let cases = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("incidents").path)
        #expect(cases.count == 1)
        #expect(cases[0].wholeMatch(of: #/\d{8}-\d{6}-edge\.example\.test/#) != nil, "\(cases)")
    }

    @Test func badRunbookExitsTwoAndRunsNothing() async throws {
        let folder = TestPaths.temporaryFolder("cli")
        let rb = try write("""
            name: bad
            steps:
              - id: a
                uses: exec
                with: { run: [touch, "\(folder.path)/ran"] }
              - id: a
                uses: exec
                timeout: forever
                with: { run: [true] }
            """, in: folder)
        let r = try await Command.triage(["run", "--runbook", rb, "--out", folder.appendingPathComponent("case").path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("\(rb):6:9: duplicate step id 'a': already used by the step at line 3"))
        #expect(r.stderr.contains("\(rb):8:14: timeout 'forever' is not a duration"))
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("ran").path))
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("case").path))
        let v = try await Command.triage(["validate", rb])
        #expect(v.status == 2)
        #expect(v.stderr.split(separator: "\n").count == 2)
    }

    @Test func usageErrorsExitTwo() async throws {
        #expect(try await Command.triage(["run", "--set", "novalue"]).status == 2)
        #expect(try await Command.triage(["run", "--format", "pdf"]).status == 2)
        #expect(try await Command.triage(["run", "--runbook", "no-such-runbook"]).status == 2)
        #expect(try await Command.triage(["frobnicate"]).status == 2)
        // The argument parser's errors start as triage's own do, with the help lines after them.
        let unknown = try await Command.triage(["run", "--bogus"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.hasPrefix("triage: Unknown option '--bogus'"), "\(unknown.stderr)")
        #expect(unknown.stderr.contains("Usage: triage run"))
        let badValue = try await Command.triage(["scan", "--concurrency", "x", "127.0.0.1:1"])
        #expect(badValue.status == 2)
        #expect(badValue.stderr.hasPrefix("triage: The value 'x' is invalid for '--concurrency"), "\(badValue.stderr)")
        // A second --targets is refused, not read in place of the first.
        let twice = try await Command.triage(["scan", "--targets", "/dev/null", "--targets", "/dev/null"])
        #expect(twice.status == 2)
        #expect(twice.stderr.hasPrefix("triage: --targets is given 2 times: give one file"), "\(twice.stderr)")
        let missing = try await Command.triage(["run", "--runbook", "nginx-error", "--set", "nope=1"])
        #expect(missing.status == 2)
        #expect(missing.stderr.hasPrefix("triage: input 'nope' was given but runbook bundled:nginx-error declares no such input"), "\(missing.stderr)")
        // A value that does not fit its input's type: refused before anything runs, no case folder made.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("triage-typed-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        for (setting, line) in [("port=8443x", "triage: input 'port' is '8443x': expected a port number, 1-65535"),
                                ("addresses=notanip", "triage: input 'addresses' is 'notanip': expected IP addresses, comma-separated (127.0.0.1,::1)"),
                                ("warn_days=abc", "triage: input 'warn_days' is 'abc': expected a whole number")] {
            let typed = try await Command.triage(["run", "https://app.test:8443/", "--set", setting, "--out", scratch.path])
            #expect(typed.status == 2, "\(setting)")
            #expect(typed.stderr == line + "\n", "\(typed.stderr)")
            #expect(!FileManager.default.fileExists(atPath: scratch.path), "\(setting) made a case folder")
        }
        #expect(try await Command.triage(["validate", "runbooks/nginx-error.yaml"], in: TestPaths.repository).status == 0)
        // Saved with a byte-order mark: valid; one step is "1 step".
        let bom = scratch.deletingLastPathComponent().appendingPathComponent("triage-bom-\(UUID().uuidString).yaml")
        defer { try? FileManager.default.removeItem(at: bom) }
        try Data([0xEF, 0xBB, 0xBF] + Array("name: x\nsteps:\n  - { id: a, uses: tls.decode-alert, with: { alert: 80 } }\n".utf8)).write(to: bom)
        let validated = try await Command.triage(["validate", bom.path])
        #expect(validated.status == 0)
        #expect(validated.stderr == "\(bom.path): ok (1 step)\n", "\(validated.stderr)")
    }

    @Test func explainExitStatuses() async throws {
        let ok = try await Command.triage(["explain", "SSL", "alert", "number", "116"])
        #expect(ok.status == 0)
        #expect(ok.stdout.hasPrefix("TLS alert 116 certificate_required (fatal)"))
        #expect(try await Command.triage(["explain", "gibberish"]).status == 2)
        // `--` ends the options: the text after it is explained, "--" is not part of it.
        let dashed = try await Command.triage(["explain", "--", "80"])
        #expect(dashed.status == 0, "\(dashed.stderr)")
        #expect(dashed.stdout.hasPrefix("TLS alert 80 internal_error (fatal)"), "\(dashed.stdout)")
        let negative = try await Command.triage(["explain", "--", "-1"])
        #expect(negative.stderr.contains("cannot tell what '-1' is"), "\(negative.stderr)")
        let chinese = try await Command.triage(["explain", "--lang", "zh", "--", "80"])
        #expect(chinese.status == 0, "\(chinese.stderr)")
        let help = try await Command.triage(["explain", "--", "--help"])
        #expect(help.status == 2 && help.stderr.contains("cannot tell what '--help' is"), "after --, --help is the text: \(help.stdout)\(help.stderr)")
    }

    @Test func sigintWritesAnInterruptedReport() async throws {
        let folder = TestPaths.temporaryFolder("cli")
        let rb = try write("""
            name: slow
            steps:
              - id: first
                uses: exec
                with: { run: [echo, started] }
              - id: wait
                uses: exec
                with: { run: [sleep, "30"] }
                timeout: 60s
              - id: never
                uses: exec
                with: { run: [true] }
            """, in: folder)
        let out = folder.appendingPathComponent("case")
        async let result = Command.triage(["run", "--runbook", rb, "--out", out.path])
        // The evidence of step 'first' is on disk when it ends; 'wait' is running then.
        while !FileManager.default.fileExists(atPath: out.appendingPathComponent("evidence/first/stdout.txt").path) {
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(300))
        _ = try await Command.run(["pkill", "-INT", "-f", "triage run --runbook \(rb)"])
        let r = try await result
        #expect(r.status == 130, "\(r.stderr)")
        let doc = try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json")))
        #expect(doc.verdict == .interrupted)
        #expect(doc.steps.map(\.id) == ["first", "wait"])
        #expect(doc.steps[1].status == .interrupted)
        #expect(doc.finishedAt != nil)
        let md = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(md.contains("**interrupted**"))
    }

    @Test func demoDiagnosesTheSeedIncident() async throws {
        let folder = TestPaths.temporaryFolder("demo")
        let r = try await Command.triage(["demo", "--out", folder.path])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stdout.contains("report: \(folder.path)/report.md"))
        let doc = try ReportDocument.decode(Data(contentsOf: folder.appendingPathComponent("report.json")))
        // With nginx in front (installed by make install-deps): nginx answers
        // 502 because the upstream aborts handshakes without SNI; curl, which
        // sends SNI, gets 200. The fix is nginx's, not a certificate renewal.
        #expect(doc.rootCause?.cause == .alertWithoutSNI)
        #expect(doc.rootCause?.alert?.code == 80)
        #expect(doc.rootCause?.alert?.sender == .server)
        #expect(doc.rootCause?.remedy.contains("proxy_ssl_server_name on;") == true)
        #expect(doc.directCause?.cause == .proxyError)
        #expect(doc.directCause?.fact(.status) == 502)
        #expect(doc.directCause?.fact(.directStatus) == 200)
        #expect(!doc.findings.contains { $0.cause == .certExpired })
        #expect(doc.steps.first { $0.id == "nginx-log" }?.fact(.lastLine)?.stringValue?.contains("SSL alert number 80") == true)
        for file in ["evidence/handshake/handshake.pcapng", "evidence/handshake/sslkeylog.txt", "report.md"] {
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path), "\(file)")
        }
        let md = try String(contentsOf: folder.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(md.contains("openssl s_client -connect 127.0.0.1:"))
        #expect(md.contains("-noservername"))
    }

    /// The demo's report as a ticket: its first screen (golden, with ports,
    /// ids and timings normalised) in both languages, at most 250 lines, a
    /// well-formed sequence diagram of the two paths, no English prose in zh.
    @Test(arguments: ["en", "zh"]) func demoReportFitsATicket(language: String) async throws {
        let folder = TestPaths.temporaryFolder("demo-\(language)")
        let r = try await Command.triage(["demo", "--out", folder.path, "--lang", language, "--format", "md,json,jira"])
        #expect(r.status == 1, "\(r.stderr)")
        let md = try String(contentsOf: folder.appendingPathComponent("report.md"), encoding: .utf8)
        // The same report in Jira wiki markup: headings, tables, code and panels, the request path as a sequence; no Markdown left.
        let jira = try String(contentsOf: folder.appendingPathComponent("report.jira"), encoding: .utf8)
        #expect(jira.hasPrefix("h1. ") && jira.prefix(80).contains("502"), "\(jira.prefix(200))")
        for markdown in ["```", "<details>", "</details>", "**", "<br>", "\n## ", "|---"] { #expect(!jira.contains(markdown), "report.jira holds \(markdown)") }
        // The closing line in Jira's italics, not Markdown's escaped.
        #expect(!jira.contains("\\_Generated") && !jira.contains("\\_由") && jira.contains("{{report.json}}"), "\(jira.suffix(200))")
        for wiki in ["\nh2. ", "\n||", "{code:bash}\nnginx -t -c ", "{noformat}\n--- ", "{panel:title=", "proxy_ssl_server_name on;"] {
            #expect(jira.contains(wiki), "report.jira lacks \(wiki)")
        }
        let path = jira.components(separatedBy: "\nh2. ").first { $0.hasPrefix(language == "zh" ? "请求路径" : "Request path") } ?? ""
        let sequence = path.split(separator: "\n").filter { $0.hasPrefix("# ") }
        #expect(sequence.first?.hasSuffix(": GET /test") == true, "\(sequence)")
        #expect(sequence.contains { $0.contains(" ✗ ") && $0.contains("80 internal\\_error") }, "\(sequence)")
        #expect(sequence.contains { $0.hasSuffix(": HTTP 502 Bad Gateway") }, "\(sequence)")
        #expect(sequence.last?.hasSuffix(": HTTP 200 OK") == true)
        let lines = md.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count <= 300, "report.md has \(lines.count) lines")
        let screen = MarkdownChecks.normalised(MarkdownChecks.firstScreen(md))
        let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/demo-first-screen.\(language).md")
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: golden.deletingLastPathComponent(), withIntermediateDirectories: true)
            try screen.write(to: golden, atomically: true, encoding: .utf8)
        }
        #expect(screen == (try String(contentsOf: golden, encoding: .utf8)))
        let diagrams = MarkdownChecks.mermaidBlocks(md)
        #expect(diagrams.count == 1)
        #expect(MarkdownChecks.sequenceDiagramProblems(diagrams[0]) == [])
        let arrows = MarkdownChecks.arrows(diagrams[0])
        // Through nginx: no SNI, alert 80, 502; direct: SNI, verified, 200.
        #expect(arrows.first == "C->P: GET /test")
        #expect(arrows.contains { $0.hasPrefix("U->P: ") && $0.contains("80 internal_error") })
        #expect(arrows.contains("P->C: HTTP 502 Bad Gateway"))
        #expect(arrows.last == "U->C: HTTP 200 OK")
        if language == "zh" { #expect(MarkdownChecks.englishProse(md) == []) }
        // The capture's sentence adds up: its named groups and "N more" make the connections it counts.
        let doc = try ReportDocument.decode(Data(contentsOf: folder.appendingPathComponent("report.json")))
        let decoded = try #require(doc.steps.first { $0.id == "capture-decode" }?.summary)
        let total = decoded.firstMatch(of: #/(\d+) (?:TLS connection|个 TLS)/#).flatMap { Int($0.1) } ?? -1
        let parts = decoded.matches(of: #/(\d+) (?:×|more)|另有 (\d+) 个/#).compactMap { m in (m.1 ?? m.2).flatMap { Int($0) } }
        #expect(parts.reduce(0, +) == total, "\(decoded)")
    }

    /// `triage run --help` lists the default runbook's inputs; with `--runbook NAME`, that runbook's.
    /// A runbook of one's own in $TRIAGE_HOME/runbooks: listed (with the first error of one that does not
    /// load), run by name, its --help shows its inputs, and its `finding:` is the root cause with its remedy.
    @Test func ownRunbookFindingIsTheRootCause() async throws {
        let home = TestPaths.temporaryFolder("home")
        let runbooks = home.appendingPathComponent("runbooks")
        try FileManager.default.createDirectory(at: runbooks, withIntermediateDirectories: true)
        try """
            name: disk-check
            title: Is the data volume full?
            inputs:
              volume: { default: /srv, description: the data volume }
            steps:
              - id: disk
                name: Free space on the data volume
                run: echo "97%"; if [ "$VOLUME" = /srv ]; then exit 1; fi
                env: { VOLUME: "${{ inputs.volume }}" }
                finding:
                  when: ${{ steps.disk.outputs.exit == 1 }}
                  cause: disk-nearly-full
                  summary: "the data volume is ${{ steps.disk.outputs.stdout }} full"
                  remedy: free space on the upstream's data volume
            """.write(to: runbooks.appendingPathComponent("disk.yaml"), atomically: true, encoding: .utf8)
        try "name: broken\nsteps:\n  - id: a\n    uses: nope\n".write(to: runbooks.appendingPathComponent("broken.yml"), atomically: true, encoding: .utf8)
        func triage(_ args: [String]) async throws -> CommandResult {
            try await Command.run(["env", "TRIAGE_HOME=\(home.path)", TestPaths.triageBinary.path] + args)
        }
        let list = try await triage(["runbooks"])
        #expect(list.stdout.contains("Your runbooks ($TRIAGE_HOME/runbooks):"))
        #expect(list.stdout.contains("  disk             Is the data volume full?"), "\(list.stdout.prefix(600))")
        #expect(list.stdout.contains("  broken           does not load: \(runbooks.path)/broken.yml:4:11: unknown step kind 'nope'"))
        let help = try await triage(["run", "--runbook", "disk", "--help"])
        #expect(help.stdout.contains("INPUTS of disk (--set KEY=VALUE):"), "\(help.stdout.suffix(300))")
        #expect(help.stdout.contains("  volume "))

        let folder = TestPaths.temporaryFolder("own")
        let run = try await triage(["run", "--runbook", "disk", "--out", folder.path, "--format", "md,json"])
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("root cause: disk-nearly-full — the data volume is 97% full"), "\(run.stdout)")
        let report = try String(contentsOf: folder.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(report.contains("**What failed:** the data volume is 97% full"), "\(report.prefix(500))")
        #expect(report.contains("**What to do:** free space on the upstream's data volume"))
        #expect(report.contains("| ❌ problem | Free space on the data volume · disk (exec) |"))
        let json = try ReportDocument.decode(Data(contentsOf: folder.appendingPathComponent("report.json")))
        #expect(json.rootCause?.cause.code == "disk-nearly-full")
        #expect(json.rootCause?.title == "disk-nearly-full")
        #expect(json.verdict == .problem)
        #expect(json.steps.first?.name == "Free space on the data volume")

        // The check holds: the exit status is not the finding's, the step is ok and the run healthy.
        let healthy = try await triage(["run", "--runbook", "disk", "--set", "volume=/data", "--out", TestPaths.temporaryFolder("own-ok").path])
        #expect(healthy.status == 0, "\(healthy.stdout)\(healthy.stderr)")
    }

    @Test func runHelpShowsTheInputsOfTheRunbookAskedFor() async throws {
        let plain = try await Command.triage(["run", "--help"])
        #expect(plain.status == 0)
        #expect(plain.stdout.contains("INPUTS of tls-upstream (--set KEY=VALUE):"), "\(plain.stdout.suffix(300))")
        #expect(plain.stdout.contains("  via "))
        let analyze = try await Command.triage(["run", "--runbook", "analyze", "--help"])
        #expect(analyze.status == 0)
        #expect(analyze.stdout.contains("INPUTS of analyze (--set KEY=VALUE):"))
        #expect(analyze.stdout.contains("  capture "), "\(analyze.stdout.suffix(400))")
        #expect(!analyze.stdout.contains("  via "))
        // `triage help run` is `triage run --help`; an input's type shows before its description.
        let help = try await Command.triage(["help", "run"])
        #expect(help.status == 0)
        #expect(help.stdout == plain.stdout)
        #expect(help.stdout.contains("  port             (port) the port to test instead of the URL's"), "\(help.stdout.suffix(2000))")
    }

    /// `--lang zh` anywhere explain can tell it from the text (first or last), and the terminal's
    /// statuses in Chinese too.
    @Test func chineseEverywhere() async throws {
        let last = try await Command.triage(["explain", "80", "--lang", "zh"])
        #expect(last.status == 0)
        #expect(last.stdout.hasPrefix("TLS 告警 80 internal_error（致命）"), "\(last.stdout.prefix(80))")
        // What curl's code, OpenSSL's reason and the verify result mean: Chinese too, not OpenSSL's English.
        #expect(last.stdout.contains("含义: 无法正常关闭 TLS 连接"), "\(last.stdout)")
        let reason = try await Command.triage(["explain", "--lang", "zh", "error:0A00010B:SSL routines::wrong version number"])
        #expect(reason.stdout.contains("含义: 版本号错误（对端返回的不是 TLS，例如明文 HTTP）"), "\(reason.stdout)")
        let verify = try await Command.triage(["explain", "--lang", "zh", "verify error:num=20:unable to get local issuer certificate"])
        #expect(verify.stdout.contains("X.509 校验错误 20：无法获取本地签发者证书"), "\(verify.stdout)")
        #expect(!verify.stdout.contains("unable to get local issuer certificate ("), "\(verify.stdout)")
        let out = TestPaths.temporaryFolder("zh-terminal")
        let run = try await Command.triage(["run", "https://nothing.invalid/", "--lang", "zh", "--out", out.path])
        #expect(run.stderr.contains("  问题        dns "), "\(run.stderr.prefix(400))")
        #expect(!run.stderr.contains("PROBLEM"))
    }

    /// `explain --help` is help (exit 0), `explain -` reads what was piped
    /// in, text it cannot read is a usage error (exit 2).
    @Test func explainHelpStdinAndErrors() async throws {
        let help = try await Command.triage(["explain", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("USAGE: triage explain"))
        let piped = try await Command.run(["/bin/sh", "-c", "printf '%s\\n' \"$1\" | \"$0\" explain -", TestPaths.triageBinary.path,
                                           "2026/03/28 15:11:25 [error] 7#7: *9 SSL_do_handshake() failed (SSL: error:0A000438:SSL routines::tlsv1 alert internal error:SSL alert number 80) while SSL handshaking to upstream, client: 10.0.0.9, server: _, request: \"GET /test HTTP/1.1\", upstream: \"https://10.20.30.40:443/x\""])
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(piped.stdout.contains("nginx error while talking to 10.20.30.40:443"))
        #expect(piped.stdout.contains("TLS alert 80 internal_error (fatal)"))
        let zh = try await Command.triage(["explain", "--lang", "zh", "remote error: tls: bad certificate"])
        #expect(zh.status == 0)
        #expect(zh.stdout.hasPrefix("Go：Go 收到了服务端发送的 TLS 告警"), "\(zh.stdout)")
        let nonsense = try await Command.triage(["explain", "no idea what this is"])
        #expect(nonsense.status == 2)
        #expect(nonsense.stderr.contains("cannot tell what 'no idea what this is' is"))
        let shown = try await Command.triage(["runbooks", "--show", "nope"])
        #expect(shown.status == 2)
        // A name, not a file to print.
        for path in ["/etc/passwd", "../../etc/passwd", "mine.yaml"] {
            let file = try await Command.triage(["runbooks", "--show", path])
            #expect(file.status == 2 && file.stdout.isEmpty, "\(path): \(file.stdout)")
            #expect(file.stderr.contains("--show takes a runbook's name (one of analyze, nginx-error, tls-upstream), not a file"), "\(file.stderr)")
        }
        // A bare name that is a file here is still no runbook to show.
        let here = try await Command.run(["/bin/sh", "-c", "cd /etc && exec \"$0\" runbooks --show passwd", TestPaths.triageBinary.path])
        #expect(here.status == 2 && here.stdout.isEmpty, "\(here.stdout)")
    }

    /// A file given on the command line that cannot be read says why, in the
    /// system's words, and nothing runs (exit 2): a capture, a key log, a CA
    /// file, a targets file that is missing or a directory.
    @Test func unreadableInputFilesSayWhy() async throws {
        let folder = TestPaths.temporaryFolder("unreadable-inputs")
        let missing = folder.appendingPathComponent("missing").path
        let capture = try await Command.triage(["analyze", missing, "--out", folder.appendingPathComponent("a").path])
        #expect(capture.status == 2)
        #expect(capture.stderr.contains("cannot read \(missing): No such file or directory"), "\(capture.stderr)")
        let pcap = folder.appendingPathComponent("empty.pcap")
        try Data().write(to: pcap)
        let keylog = try await Command.triage(["analyze", pcap.path, "--keylog", missing, "--out", folder.appendingPathComponent("b").path])
        #expect(keylog.status == 2)
        #expect(keylog.stderr.contains("cannot read the key log \(missing): No such file or directory"), "\(keylog.stderr)")
        // A file that holds no key log line is no key log (it read as "secrets from another session").
        let garbage = folder.appendingPathComponent("garbage.txt")
        try Data("not a key log\n\u{0}\u{1}".utf8).write(to: garbage)
        let notKeys = try await Command.triage(["analyze", pcap.path, "--keylog", garbage.path, "--out", folder.appendingPathComponent("b2").path])
        #expect(notKeys.status == 2)
        #expect(notKeys.stderr.contains("\(garbage.path) holds no NSS key log line"), "\(notKeys.stderr)")
        let ca = try await Command.triage(["analyze", pcap.path, "--ca-file", folder.path, "--out", folder.appendingPathComponent("c").path])
        #expect(ca.status == 2)
        #expect(ca.stderr.contains("cannot read the CA file \(folder.path): Is a directory"), "\(ca.stderr)")
        let targets = try await Command.triage(["scan", "--targets", folder.path])
        #expect(targets.status == 2)
        #expect(targets.stderr.contains("cannot read the targets file \(folder.path): Is a directory"), "\(targets.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("a").path))
        // stdin that is a directory: read(2) fails with EISDIR, which Foundation's readData trapped on.
        for (words, said) in [("scan --targets -", "cannot read stdin: Is a directory"), ("explain -", "cannot read stdin: Is a directory")] {
            let piped = try await Command.run(["/bin/sh", "-c", "exec \"$0\" \(words) < \"$1\"", TestPaths.triageBinary.path, folder.path])
            #expect(piped.status == 2, "\(words): \(piped.status) \(piped.stderr.prefix(300))")
            #expect(piped.stderr.contains(said), "\(words): \(piped.stderr.prefix(300))")
        }
    }

    /// A runbook that is not UTF-8 says where; a directory is not a runbook;
    /// an absurd --step-timeout is a usage error.
    @Test func unusableRunbookFilesAndFlags() async throws {
        let folder = TestPaths.temporaryFolder("bad-files")
        let latin1 = folder.appendingPathComponent("latin1.yaml")
        try Data("name: t\nsteps:\n  - { id: a, uses: exec, with: { run: [caf\u{E9}] } }\n".data(using: .isoLatin1)!).write(to: latin1)
        let r = try await Command.triage(["validate", latin1.path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("\(latin1.path): is not UTF-8 text: line 3, column 43 (byte 57) does not decode; save it as UTF-8"), "\(r.stderr)")
        let dir = try await Command.triage(["validate", folder.path + "/"])
        #expect(dir.status == 2)
        #expect(dir.stderr.contains("is a directory, not a runbook file"), "\(dir.stderr)")
        // A bare name that is no runbook but a folder or file here: that path, not "no runbook named".
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try "name: t\nsteps: [ {id: a, uses: exec} ]\n".write(to: folder.appendingPathComponent("mybook"), atomically: true, encoding: .utf8)
        let bare = try await Command.run(["/bin/sh", "-c", "cd \"$1\" && \"$0\" validate sub; \"$0\" validate mybook", TestPaths.triageBinary.path, folder.path])
        #expect(bare.stderr.contains("./sub: is a directory, not a runbook file"), "\(bare.stderr)")
        #expect(bare.stderr.contains("./mybook:2:10: step 'a': exec needs input 'run'"), "the file was read as a runbook: \(bare.stderr)")
        // A runbook from a pipe is read (FileManager could not); /dev/zero is refused at 64 MiB, not read forever.
        let piped = try await Command.run(["/bin/bash", "-c", "exec \"$0\" validate <(cat \"$1\")", TestPaths.triageBinary.path,
                                           folder.appendingPathComponent("mybook").path])
        #expect(piped.status == 2)
        #expect(piped.stderr.contains(":2:10: step 'a': exec needs input 'run'"), "\(piped.stderr)")
        let zero = try await Command.triage(["validate", "/dev/zero"])
        #expect(zero.status == 2)
        #expect(zero.stderr.contains("/dev/zero: is larger than 2 MiB: not a runbook"), "\(zero.stderr)")
        let flag = try await Command.triage(["run", "127.0.0.1:9", "--step-timeout", "99999999999999999999s"])
        #expect(flag.status == 2)
        #expect(flag.stderr.contains("--step-timeout '99999999999999999999s' is out of range (at most 24h)"))
        // A negative value is refused for what it is, not as an option missing its value.
        for (args, said) in [(["run", "127.0.0.1:9", "--max-time", "-1s"], "--max-time '-1s' is not a duration"),
                             (["run", "127.0.0.1:9", "--warn-days", "-5"], "--warn-days -5 is not a number of days between 0 and 3650"),
                             (["scan", "127.0.0.1:9", "--warn-days", "-5"], "--warn-days -5 is not a number of days between 0 and 3650"),
                             (["scan", "127.0.0.1:9", "--concurrency", "-3"], "--concurrency must be between 1 and 10000")] {
            let r = try await Command.triage(args)
            #expect(r.status == 2 && r.stderr.contains(said), "\(args): \(r.stderr)")
        }
    }
}
