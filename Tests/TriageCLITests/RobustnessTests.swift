import Foundation
import Testing
import TriageKit
import TriageProbes
import TriageTestSupport

/// Faults and hostile input on the built binary: signals at any moment, a
/// closed pipe, kill -9, runbook bombs, reflected secrets, stray DNS.
@Suite struct RobustnessTests {
    typealias F = TLSFixtures

    /// Starts triage, sends `signal` after `delayMs`, and says how it ended:
    /// `exit N` or `signal N` (a death by signal, which 130 must never be).
    static let signaller = """
        import os, signal, subprocess, sys, time
        delay, sig, wait_for, argv = float(sys.argv[1]) / 1000, int(sys.argv[2]), sys.argv[3], sys.argv[4:]
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        start = time.time()
        if wait_for.startswith("read:"):
            # Wait until triage has read a fifth of this file (its descriptor's offset, /proc/PID/fdinfo).
            path = os.path.realpath(wait_for[5:])
            size, pos = os.path.getsize(path), 0
            while pos < size // 5 and p.poll() is None and time.time() - start < 20:
                try:
                    for fd in os.listdir(f"/proc/{p.pid}/fd"):
                        try:
                            if os.readlink(f"/proc/{p.pid}/fd/{fd}") == path:
                                with open(f"/proc/{p.pid}/fdinfo/{fd}") as info:
                                    pos = max(pos, int(info.readline().split()[1]))
                        except (OSError, ValueError, IndexError):
                            pass
                except OSError:
                    pass
                time.sleep(0.002)
        else:
            # Optionally first wait for a file (the first report) to appear.
            while wait_for != "-" and not os.path.exists(wait_for) and time.time() - start < 20:
                time.sleep(0.005)
        time.sleep(delay)
        p.send_signal(sig)
        try:
            code = p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill(); print("hung"); sys.exit(0)
        print(f"signal {-code}" if code < 0 else f"exit {code}")
        """

    /// `wrapper`: words before triage's path (`nice -n -15`).
    /// `waitingFor`: a file to appear first; `reading`: a file triage must have read a fifth of first.
    func signalled(after ms: Int, _ signal: Int32, waitingFor file: URL? = nil, reading: URL? = nil, wrapper: [String] = [],
                   _ arguments: [String]) async throws -> String {
        let wait = reading.map { "read:\($0.path)" } ?? file?.path ?? "-"
        let r = try await Command.run(["python3", "-c", Self.signaller, "\(ms)", "\(signal)", wait] + wrapper
                                      + [TestPaths.triageBinary.path] + arguments)
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// None of `secrets` in any file of the case folder, on stdout or on stderr (`what` names the case in a
    /// failure); the files' texts, for what a test looks for in them.
    @discardableResult
    func expectNoTrace(of secrets: [String], in folder: URL, _ r: CommandResult, _ what: String = "") -> [String] {
        let files = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? []
        var texts: [String] = []
        for file in files {
            guard let data = try? Data(contentsOf: file) else { continue }
            let text = String(decoding: data, as: UTF8.self)
            texts.append(text)
            for secret in secrets { #expect(!text.contains(secret), "\(what)\(secret) in \(file.lastPathComponent)") }
        }
        for secret in secrets {
            #expect(!r.stdout.contains(secret), "\(what)\(secret) on stdout")
            #expect(!r.stderr.contains(secret), "\(what)\(secret) on stderr")
        }
        return texts
    }

    /// SIGINT from 0 to 200 ms after start, while a handshake waits on a
    /// silent server: always exit 130, never a signal death; when a report
    /// exists it is whole and says interrupted (or, killed before the first
    /// step, there is none to speak of).
    @Test(arguments: [0, 5, 10, 20, 30, 40, 60, 80, 120, 160, 200]) func sigintAtAnyMoment(ms: Int) async throws {
        let server = try PlainTCPServer(.silent)
        defer { server.stop() }
        let folder = TestPaths.temporaryFolder("sigint-\(ms)")
        let how = try await signalled(after: ms, SIGINT, ["run", "https://\(F.host):\(server.port)/", "--resolve", "\(F.host):\(server.port):127.0.0.1",
                                                           "--out", folder.path])
        let json = folder.appendingPathComponent("report.json")
        if how == "signal 2" {
            // The one window no program can close: the dynamic loader mapping
            // the libraries, before the executable's first instruction (its
            // preinit array installs the handler; ~9 ms in a debug build, more
            // under load). Then nothing of triage's has run: the case folder is empty.
            let written = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            #expect(written.isEmpty, "SIGINT after \(ms) ms killed triage after it wrote \(written)")
            return
        }
        #expect(how == "exit 130", "SIGINT after \(ms) ms: \(how)")
        if FileManager.default.fileExists(atPath: json.path) {
            let doc = try ReportDocument.decode(Data(contentsOf: json))
            #expect(doc.verdict == .interrupted || doc.verdict == .incomplete, "after \(ms) ms: \(doc.verdict)")
            #expect(doc.verdict != .healthy)
        }
    }

    /// The steps that end just before a long one are in report.json while it runs: killed (-9) as
    /// the request waits on a silent server, the case holds the handshake's verdict beside its
    /// evidence. (They were written only when the next step ended: the report said "0 of 14 steps
    /// done" for the request's whole wait.)
    @Test func stepsBeforeALongOneAreInTheReportWhileItRuns() async throws {
        let server = try HostileServer(.tls(.silent))
        defer { server.stop() }
        let folder = TestPaths.temporaryFolder("long-step")
        let json = folder.appendingPathComponent("report.json")
        let script = """
            import json, os, signal, subprocess, sys, time
            p = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            seen = "not seen"
            end = time.time() + 8
            while time.time() < end and p.poll() is None:
                try:
                    steps = [s["id"] for s in json.load(open(sys.argv[1]))["steps"]]
                except (OSError, ValueError, KeyError):
                    steps = []
                if "handshake" in steps and p.poll() is None:
                    seen = "seen while running"
                    break
                time.sleep(0.05)
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
            print(seen)
            """
        let r = try await Command.run(["python3", "-c", script, json.path, TestPaths.triageBinary.path, "run", "https://\(F.host):\(server.port)/",
                                       "--resolve", "\(F.host):\(server.port):127.0.0.1", "--cacert", try #require(server.caFile), "--out", folder.path])
        #expect(r.stdout == "seen while running\n", "\(r.stdout) \(r.stderr)")
        let doc = try ReportDocument.decode(Data(contentsOf: json))
        #expect(doc.verdict == .incomplete)
        #expect(doc.steps.first { $0.id == "handshake" }?.status == .ok, "\(doc.steps.map { "\($0.id) \($0.status)" })")
        #expect(doc.steps.first { $0.id == "dns" }?.status == .ok)
    }

    @Test func sigtermEndsLikeSigint() async throws {
        let server = try PlainTCPServer(.silent)
        defer { server.stop() }
        let folder = TestPaths.temporaryFolder("sigterm")
        let how = try await signalled(after: 200, SIGTERM, waitingFor: folder.appendingPathComponent("report.json"), ["run", "https://\(F.host):\(server.port)/", "--resolve", "\(F.host):\(server.port):127.0.0.1",
                                                             "--out", folder.path])
        #expect(how == "exit 130")
        let doc = try ReportDocument.decode(Data(contentsOf: folder.appendingPathComponent("report.json")))
        #expect(doc.verdict == .interrupted)
    }

    /// kill -9 during a slow step: the first report (written before any
    /// step) is what remains, and it says the run did not finish.
    @Test func killDashNineLeavesAnIncompleteReport() async throws {
        let server = try PlainTCPServer(.silent)
        defer { server.stop() }
        let folder = TestPaths.temporaryFolder("kill9")
        let how = try await signalled(after: 200, SIGKILL, waitingFor: folder.appendingPathComponent("report.json"), ["run", "https://\(F.host):\(server.port)/", "--resolve", "\(F.host):\(server.port):127.0.0.1",
                                                             "--out", folder.path])
        #expect(how == "signal 9")
        let doc = try ReportDocument.decode(Data(contentsOf: folder.appendingPathComponent("report.json")))
        #expect(doc.verdict == .incomplete)
        #expect(doc.finishedAt == nil)
        #expect(doc.plannedSteps.contains("handshake"))
        let md = try String(contentsOf: folder.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(md.contains("This run has not finished"))
        #expect(!md.contains("no problem found"))
    }

    /// `triage demo 2>&1 | head -1`: the pipe closes after one line; triage
    /// goes on quietly, writes its case and removes its temp folder.
    @Test func closedPipeEndsQuietlyAndKeepsTheCase() async throws {
        let folder = TestPaths.temporaryFolder("pipe")
        let r = try await Command.run(["/bin/bash", "-c", "\"$0\" demo --out \"$1\" 2>&1 | head -1; echo \"status ${PIPESTATUS[0]}\"",
                                       TestPaths.triageBinary.path, folder.path])
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 2, "\(r.stdout)")
        #expect(lines.last == "status 1", "a diagnosed problem, not a death by SIGPIPE: \(r.stdout)")
        let doc = try ReportDocument.decode(Data(contentsOf: folder.appendingPathComponent("report.json")))
        #expect(doc.rootCause?.cause == .alertWithoutSNI)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.hasPrefix("triage-demo-") }
        let mine = leftovers.filter { name in doc.steps.contains { $0.command?.contains(name) == true } }
        #expect(mine.isEmpty, "the demo's temp folder is removed: \(mine)")
    }

    /// `demo --serve` waits for Ctrl-C; stopped by it, it exits 130 as every command does (it was 0).
    @Test func demoServeEndsWith130OnCtrlC() async throws {
        let out = TestPaths.temporaryFolder("serve").appendingPathComponent("facts.txt")
        let script = "\"$0\" demo --serve > \"$1\" & pid=$!; for i in $(seq 1 600); do grep -q '^ca_file=' \"$1\" && break; sleep 0.05; done; kill -INT $pid; wait $pid; echo \"status $?\""
        let r = try await Command.run(["/bin/bash", "-c", script, TestPaths.triageBinary.path, out.path])
        #expect(r.stdout.hasSuffix("status 130\n"), "\(r.stdout) \(r.stderr)")
        #expect(try String(contentsOf: out, encoding: .utf8).hasPrefix("url=https://"))
    }

    /// stdout on a full device (/dev/full): the lost result is said on stderr, once, and the exit
    /// status is 74 whatever the answer (explain's 0, scan's 1), as curl's 23: a script must not take
    /// a verdict nobody could read for one given. A closed pipe stays quiet and keeps the verdict.
    @Test func aFullStdoutIsSaidNotSilent() async throws {
        let full = try await Command.run(["/bin/sh", "-c", "exec \"$0\" explain 80 > /dev/full", TestPaths.triageBinary.path])
        #expect(full.status == 74, "\(full.stderr)")
        #expect(full.stderr == "triage: cannot write to stdout: No space left on device\n", "\(full.stderr)")
        let dead = PlainTCPServer.closedPort()
        let scan = try await Command.run(["/bin/sh", "-c", "exec \"$0\" scan 127.0.0.1:\"$1\" > /dev/full", TestPaths.triageBinary.path, "\(dead)"])
        #expect(scan.status == 74, "\(scan.stderr)")
        #expect(scan.stderr.contains("cannot write to stdout: No space left on device"), "\(scan.stderr)")
        let piped = try await Command.run(["/bin/bash", "-c", "\"$0\" explain 80 | head -c 1 >/dev/null; echo \"status ${PIPESTATUS[0]}\"",
                                           TestPaths.triageBinary.path])
        #expect(piped.stderr.isEmpty, "\(piped.stderr)")
        #expect(piped.stdout == "status 0\n", "\(piped.stdout)")
        // What goes through stdio (the schema, a runbook shown) too: 74 on a full device, the verdict on a closed pipe.
        let schema = try await Command.run(["/bin/sh", "-c", "exec \"$0\" runbooks --schema > /dev/full", TestPaths.triageBinary.path])
        #expect(schema.status == 74, "\(schema.stderr)")
        let schemaPiped = try await Command.run(["/bin/bash", "-c", "\"$0\" runbooks --schema | head -c 1 >/dev/null; echo \"status ${PIPESTATUS[0]}\"",
                                                 TestPaths.triageBinary.path])
        #expect(schemaPiped.stdout == "status 0\n", "\(schemaPiped.stdout)")
    }

    /// An upstream that echoes the request back: the Authorization and
    /// Cookie triage sent, the password in the URL and the token in its
    /// query come back in the body; none of them may reach any file of the
    /// case, stdout or stderr (with -v streaming the evidence).
    @Test func reflectedSecretsLeaveNoTrace() async throws {
        let server = try HostileServer(.tls(.echoHeaders))
        defer { server.stop() }
        let folder = TestPaths.temporaryFolder("echo")
        let secrets = ["b3arer-\(UUID().uuidString.prefix(8))", "c00kie-\(UUID().uuidString.prefix(8))",
                       "passw0rd-\(UUID().uuidString.prefix(8))", "t0ken-\(UUID().uuidString.prefix(8))"]
        let r = try await Command.triage([
            "run", "https://user:\(secrets[2])@\(F.host):\(server.port)/echo?access_token=\(secrets[3])&page=1",
            "--resolve", "\(F.host):\(server.port):127.0.0.1", "-k", "-v",
            "-H", "Authorization: Bearer \(secrets[0])", "-H", "Cookie: sid=\(secrets[1])", "--out", folder.path,
        ])
        let body = try String(contentsOf: folder.appendingPathComponent("evidence/direct-1/body.txt"), encoding: .utf8)
        #expect(body.contains("Authorization: [REDACTED]"), "the echo came back, redacted: \(body)")
        #expect(expectNoTrace(of: secrets, in: folder, r).count > 5)
        let md = try String(contentsOf: folder.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(md.contains("sslkeylog.txt"))
        #expect(md.contains("--no-keylog"))
    }

    /// A URL's user and password go out as curl's `Authorization: Basic base64(user:password)`,
    /// percent-decoded; a token given as the user name as `TOKEN:`. A server that echoes that header
    /// (as JSON, httpbin's form, and in a response header of another name) must not bring the
    /// password, its decoded form or the base64 text back into any file, stdout or stderr.
    @Test func basicCredentialsMadeFromTheURLLeaveNoTrace() async throws {
        let server = try HostileServer(.tls(.echoHeaders))
        defer { server.stop() }
        let tag = UUID().uuidString.prefix(8)
        let token = "ghp_\(UUID().uuidString.replacingOccurrences(of: "-", with: ""))"
        let cases: [(userinfo: String, forbidden: [String])] = [
            ("alice:w0nder%21land-\(tag)", ["w0nder%21land-\(tag)", "w0nder!land-\(tag)", Data("alice:w0nder!land-\(tag)".utf8).base64EncodedString()]),
            (token, [token, Data("\(token):".utf8).base64EncodedString()]),
        ]
        for (n, c) in cases.enumerated() {
            let folder = TestPaths.temporaryFolder("basic-\(n)")
            let r = try await Command.triage([
                "run", "https://\(c.userinfo)@\(F.host):\(server.port)/echo", "--resolve", "\(F.host):\(server.port):127.0.0.1", "-k", "-v",
                "--format", "md,json,jira", "--out", folder.path,
            ])
            let headers = try String(contentsOf: folder.appendingPathComponent("evidence/direct-1/headers.txt"), encoding: .utf8)
            #expect(headers.contains("X-Echo-Auth: Basic [REDACTED]"), "the echo came back, redacted: \(headers)")
            let body = try String(contentsOf: folder.appendingPathComponent("evidence/direct-1/body.txt"), encoding: .utf8)
            #expect(body.contains("\"Authorization\": \"Basic [REDACTED]\""), "\(body)")
            #expect(expectNoTrace(of: c.forbidden, in: folder, r).count > 5)
        }
    }

    /// A proxy from the environment, as curl takes it (`HTTPS_PROXY`, `all_proxy`; with and without
    /// a scheme): it refuses with 407 and echoes the CONNECT, its `Proxy-Authorization: Basic …` also
    /// in a header of another name. The password, decoded and as that base64 text, reaches no file,
    /// stdout or stderr; the echo shows the request went through the proxy.
    @Test func credentialsOfAProxyFromTheEnvironmentLeaveNoTrace() async throws {
        let proxy = try HostileServer(.echoProxyRequest)
        defer { proxy.stop() }
        // Healthy when reached directly (the handshake step does not go through the proxy): the request step then runs.
        let upstream = try HostileServer(.tls(.status(200)))
        defer { upstream.stop() }
        let tag = UUID().uuidString.prefix(8)
        let forbidden = ["pr0xy%40pass-\(tag)", "pr0xy@pass-\(tag)", Data("alice:pr0xy@pass-\(tag)".utf8).base64EncodedString()]
        for (n, variable) in [("HTTPS_PROXY", "http://"), ("all_proxy", "")].enumerated() {
            let folder = TestPaths.temporaryFolder("env-proxy-\(n)")
            let r = try await Command.run([
                "/usr/bin/env", "\(variable.0)=\(variable.1)alice:pr0xy%40pass-\(tag)@127.0.0.1:\(proxy.port)", TestPaths.triageBinary.path,
                "run", "https://\(F.host):\(upstream.port)/", "--resolve", "\(F.host):\(upstream.port):127.0.0.1", "-k", "-v", "--format", "md,json,jira", "--out", folder.path,
            ])
            let texts = expectNoTrace(of: forbidden, in: folder, r, "\(variable.0): ")
            #expect(texts.contains { $0.contains("X-Echo-Proxy-Auth: Basic [REDACTED]") }, "\(variable.0): the proxy's echo is in no file")
        }
    }

    /// A proxy that refuses, given scheme-less with a password (`-x user:pw@host:port`, as curl takes
    /// it): the verdict line names the proxy with its password masked, as the report does.
    @Test func theVerdictLineMasksAProxysPassword() async throws {
        let upstream = try HostileServer(.tls(.status(200)))
        defer { upstream.stop() }
        let dead = PlainTCPServer.closedPort()
        let folder = TestPaths.temporaryFolder("verdict-proxy")
        let r = try await Command.run([TestPaths.triageBinary.path, "run", "https://\(F.host):\(upstream.port)/", "--resolve", "\(F.host):\(upstream.port):127.0.0.1",
                                       "--cacert", upstream.caFile ?? "", "-x", "suser:N0schemePW3@127.0.0.1:\(dead)", "--out", folder.path])
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("suser:[REDACTED]@127.0.0.1:\(dead)"), "\(r.stdout)")
        _ = expectNoTrace(of: ["N0schemePW3"], in: folder, r)
    }

    /// With --dns-server, nothing asks the system's resolver: a second DNS
    /// fixture, the only nameserver of a private resolv.conf, counts the
    /// questions it gets — none, although the chosen resolver says NXDOMAIN.
    /// Without --dns-server (the control) it is asked.
    @Test func noQueryLeavesForAResolverTheUserDidNotChoose() async throws {
        let chosen = try DNSFixture(zones: [:])
        defer { chosen.stop() }
        let system = try DNSFixture(zones: [:], address: "127.0.0.53", port: 53)
        defer { system.stop() }
        let folder = TestPaths.temporaryFolder("stray-dns")
        let resolv = folder.appendingPathComponent("resolv.conf")
        try "nameserver 127.0.0.53\n".write(to: resolv, atomically: true, encoding: .utf8)
        func run(_ extra: [String]) async throws -> CommandResult {
            try await Command.run(["unshare", "--mount", "/bin/sh", "-c", "mount --bind \"$0\" /etc/resolv.conf && exec \"$@\"", resolv.path,
                                   TestPaths.triageBinary.path, "run", "https://nx.example.com/", "--out",
                                   folder.appendingPathComponent("case-\(extra.count)").path] + extra)
        }
        let r = try await run(["--dns-server", chosen.server])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(chosen.queries.contains("nx.example.com 1"), "\(chosen.queries)")
        #expect(system.queries.isEmpty, "the system resolver was asked: \(system.queries)")
        let doc = try ReportDocument.decode(Data(contentsOf: folder.appendingPathComponent("case-2/report.json")))
        #expect(doc.rootCause?.cause == .dnsFailure)
        // No address, no handshake: skipped on its condition (it said "ok … nothing to connect to").
        #expect(doc.steps.first { $0.id == "handshake" }?.status == .skipped)
        #expect(doc.steps.first { $0.id == "handshake" }?.condition == "${{ steps.dns.outputs.addresses }}")
        // The control: without --dns-server the system resolver is the one asked.
        _ = try await run([])
        #expect(system.queries.contains("nx.example.com 1"), "\(system.queries)")
    }

    /// `explain -` waiting for its input ends on Ctrl-C with 130 at once: the
    /// commands that leave nothing behind start no thread to read signals, and
    /// a signal nobody reads exits.
    @Test func sigintEndsAnExplainWaitingForItsInput() async throws {
        let script = """
            import signal, subprocess, sys, time
            p = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # Once its handler is installed (SigCgt has SIGINT's bit): before that, the dynamic loader
            # is still mapping the libraries, a window no program can close.
            start = time.time()
            while time.time() - start < 20:
                with open(f"/proc/{p.pid}/status") as f:
                    caught = next(int(l.split()[1], 16) for l in f if l.startswith("SigCgt:"))
                if caught & (1 << (signal.SIGINT - 1)):
                    break
                time.sleep(0.005)
            time.sleep(0.2)
            p.send_signal(signal.SIGINT)
            try:
                code = p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill(); print("hung"); sys.exit(0)
            print(f"signal {-code}" if code < 0 else f"exit {code}")
            """
        let r = try await Command.run(["python3", "-c", script, TestPaths.triageBinary.path, "explain", "-"])
        #expect(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "exit 130", "\(r.stdout) \(r.stderr)")
    }

    /// Ctrl-C during a long decode keeps what was decoded: the step is
    /// interrupted but its facts are there, and it says how far it got. (Ctrl-C
    /// comes once triage has read a fifth of the 60 MB capture, by its file offset: a
    /// fixed 0.8 s found nothing decoded yet on a loaded machine.)
    @Test func interruptedDecodeKeepsWhatItDecoded() async throws {
        let folder = TestPaths.temporaryFolder("big-capture")
        let capture = folder.appendingPathComponent("big.pcapng")
        let bench = TestPaths.triageBinary.deletingLastPathComponent().appendingPathComponent("capture-bench")
        let made = try await Command.run([bench.path, capture.path, "20000"])
        #expect(made.status == 0, "\(made.stderr)")
        let out = folder.appendingPathComponent("case")
        // At a higher priority than the rest of the suite: on two cores shared with ~40 suites the step
        // once took more than the second a cancelled step has to hand in what it decoded (alone: 0.1-0.25 s).
        let how = try await signalled(after: 0, SIGINT, reading: capture, wrapper: ["nice", "-n", "-15"],
                                      ["analyze", capture.path, "--out", out.path])
        #expect(how == "exit 130")
        let doc = try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json")))
        #expect(doc.verdict == .interrupted)
        let decode = try #require(doc.steps.first { $0.id == "decode" })
        #expect(decode.status == .interrupted)
        let packets = decode.fact(.packets)?.intValue ?? 0
        #expect(packets > 0 && packets < 20_000 * 13, "\(packets) packets")
        #expect(TextTable.english.format(decode.fact(.note) ?? .null).hasPrefix("interrupted after"), "\(decode.facts)")
    }
}

extension RobustnessTests {
    /// A disk that fills while connections.csv is written (a 1 MiB tmpfs in
    /// a private mount namespace): the findings and the report stand, the
    /// step says the table is missing, and no half-written file is left.
    @Test func fullDiskLosesOnlyTheConnectionTable() async throws {
        let folder = TestPaths.temporaryFolder("full-disk")
        let capture = folder.appendingPathComponent("big.pcapng")
        let bench = TestPaths.triageBinary.deletingLastPathComponent().appendingPathComponent("capture-bench")
        #expect(try await Command.run([bench.path, capture.path, "20000"]).status == 0)
        let small = folder.appendingPathComponent("small")
        try FileManager.default.createDirectory(at: small, withIntermediateDirectories: true)
        let script = "mount -t tmpfs -o size=1m tmpfs \(small.path) && \(TestPaths.triageBinary.path) analyze \(capture.path) --out \(small.path)/case -q; "
            + "echo \"exit=$?\"; ls -a \(small.path)/case/evidence/decode; cat \(small.path)/case/report.json"
        let r = try await Command.run(["unshare", "-m", "sh", "-c", script])
        #expect(r.stdout.contains("exit=1"), "\(r.stdout.prefix(400))\(r.stderr)")
        #expect(!r.stdout.contains(".connections.csv."), "a temporary file was left: \(r.stdout.prefix(400))")
        #expect(r.stdout.contains("connections.csv could not be written"), "\(r.stdout.prefix(2000))")
        #expect(r.stdout.contains("\"verdict\" : \"problem\""), "\(r.stdout.prefix(400))")
    }
}
