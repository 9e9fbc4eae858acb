import Foundation
import Testing
import TriageDemo
import TriageKit
import TriageProbes
import TriageTestSupport

/// `triage scan` against a real nginx serving TLS on several ports — valid,
/// expired, wrong host, rejecting handshakes without SNI — and a silent
/// port: the JSON lines field by field, exit statuses, stdin and file forms,
/// bad target lines.
@Suite(.serialized) struct ScanTests {
    typealias F = TLSFixtures

    struct Fleet {
        let nginx: NginxRunner
        let silent: PlainTCPServer
        let ca: String
        var valid: Int { nginx.port }
        var expired: Int { nginx.ports[0] }
        var wrongHost: Int { nginx.ports[1] }
        var sniOnly: Int { nginx.ports[2] }
    }

    static func fleet() throws -> Fleet {
        let root = try F.root()
        let folder = TestPaths.temporaryFolder("fleet")
        func files(_ identity: CertificateMint.Identity, _ name: String) throws -> (String, String) {
            let cert = folder.appendingPathComponent("\(name).pem"), key = folder.appendingPathComponent("\(name).key")
            try identity.certificatePEM.write(to: cert, atomically: true, encoding: .utf8)
            try identity.keyPEM.write(to: key, atomically: true, encoding: .utf8)
            return (cert.path, key.path)
        }
        let valid = try files(try F.leaf("localhost", sans: ["localhost", "127.0.0.1"], key: .rsa(bits: 2048), issuer: root), "valid")
        let expired = try files(try F.leaf("localhost", sans: ["localhost", "127.0.0.1"], notBefore: F.midnight(-400), notAfter: F.midnight(-5),
                                           key: .rsa(bits: 2048), issuer: root), "expired")
        let wrong = try files(try F.leaf("other.example.test", key: .rsa(bits: 2048), issuer: root), "wrong")
        func server(_ listen: String, _ pair: (String, String), extra: String = "") -> String {
            "server { listen \(listen) ssl; server_name localhost; ssl_certificate \(pair.0); ssl_certificate_key \(pair.1); ssl_session_tickets off; ssl_protocols TLSv1.2 TLSv1.3; \(extra) location / { return 200 'ok'; } }\n"
        }
        let http = server("LISTEN", valid) + server("LISTEN_1", expired) + server("LISTEN_2", wrong)
            // Without SNI, the default server of this port refuses the handshake (alert 112); with SNI localhost, the valid certificate.
            + "server { listen LISTEN_3 ssl default_server; ssl_protocols TLSv1.2 TLSv1.3; ssl_reject_handshake on; }\n" + server("LISTEN_3", valid)
        let nginx = try NginxRunner(http: http, prefix: folder.appendingPathComponent("nginx"), extraPorts: 3)
        return Fleet(nginx: nginx, silent: try PlainTCPServer(.silent), ca: try F.file(root.certificatePEM))
    }

    func lines(_ stdout: String) throws -> [String: [String: Any]] {
        var out: [String: [String: Any]] = [:]
        for line in stdout.split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            out[object["target"] as! String] = object
        }
        return out
    }

    /// One TLS server with a valid certificate for localhost and 127.0.0.1, and its CA's file.
    static func validServer() throws -> (TLSServer, String) {
        let root = try F.root()
        let leaf = try F.leaf("localhost", sans: ["localhost", "127.0.0.1"], issuer: root)
        let ca = try F.file(root.certificatePEM)
        return (try F.server(chain: [leaf], key: leaf), ca)
    }

    /// Out of descriptors (a hard limit of 64, 300 endpoints 300 at a time): EMFILE is back-pressure —
    /// attempts wait for a descriptor and are tried — never an endpoint's verdict.
    @Test func runningOutOfDescriptorsIsBackPressure() async throws {
        let (server, ca) = try Self.validServer()
        defer { server.stop() }
        let targets = Array(repeating: "127.0.0.1:\(server.port)", count: 300)
        let r = try await Command.run(["prlimit", "--nofile=64:64", TestPaths.triageBinary.path, "scan"] + targets
                                      + ["--cacert", ca, "--concurrency", "300", "--timeout", "20s", "--format", "jsonl"])
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 300, "\(r.stderr.suffix(400))")
        let notOK = lines.filter { !$0.contains("\"ok\":true") }
        #expect(notOK.isEmpty, "\(notOK.prefix(3))")
        #expect(!r.stdout.contains("EMFILE") && !r.stdout.contains("unreachable"))
        #expect(r.status == 0, "\(r.stderr.suffix(400))")
    }

    /// Many more attempts than descriptors, for longer than an attempt may wait for one (8,000 targets
    /// 1,024 at a time under a limit of 64, a 1 s timeout: an attempt gives up after 10 s without a
    /// descriptor): attempts take freed descriptors first come, first served, so none waits its limit
    /// out. (New attempts took every freed descriptor before the waiting ones, and a scan of 20,000
    /// like this left 680 endpoints "not tried".)
    @Test func waitingForADescriptorIsFirstComeFirstServed() async throws {
        let (server, ca) = try Self.validServer()
        defer { server.stop() }
        let folder = TestPaths.temporaryFolder("fifo")
        let list = folder.appendingPathComponent("targets.txt"), out = folder.appendingPathComponent("out.jsonl")
        try String(repeating: "127.0.0.1:\(server.port)\n", count: 8000).write(to: list, atomically: true, encoding: .utf8)
        // The 2.7 MB of JSON lines go to a file (a test's pipe keeps the first megabyte).
        let r = try await Command.run(["/bin/sh", "-c", "exec \"$@\" > \"$0\"", out.path, "prlimit", "--nofile=64:64", TestPaths.triageBinary.path,
                                       "scan", "--targets", list.path, "--cacert", ca, "--concurrency", "1024", "--timeout", "1s", "--format", "jsonl"])
        let lines = try String(contentsOf: out, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 8000, "\(r.stderr.suffix(400))")
        let untried = lines.filter { $0.contains("EMFILE") }
        #expect(untried.isEmpty, "\(untried.count) not tried: \(untried.prefix(1))")
        #expect(!r.stderr.contains("not tried"), "\(r.stderr.suffix(400))")
    }

    /// Too few descriptors to scan at all (50 held open by the parent, a limit of 64): a clear error
    /// and exit 2 at once, not 300 deadlines waited out for sockets that never come.
    @Test func tooFewDescriptorsIsAClearErrorAtOnce() async throws {
        let r = try await Command.run(["/bin/bash", "-c", "i=10; while [ $i -lt 60 ]; do eval \"exec $i</dev/null\"; i=$((i+1)); done; exec \"$@\"", "sh",
                                       "prlimit", "--nofile=64:64", TestPaths.triageBinary.path, "scan", "127.0.0.1:9", "--format", "jsonl"])
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains("file descriptor(s) are free (limit 64, 5"), "\(r.stderr)")
        #expect(r.stderr.contains("a scan needs at least 32"), "\(r.stderr)")
    }

    @Test func jsonLinesFieldByField() async throws {
        let fleet = try Self.fleet()
        defer { fleet.nginx.stop(); fleet.silent.stop() }
        let targets = ["localhost:\(fleet.valid)", "localhost:\(fleet.expired)", "localhost:\(fleet.wrongHost)",
                       "https://localhost:\(fleet.sniOnly)/", "127.0.0.1:\(fleet.silent.port)"]
        let r = try await Command.triage(["scan"] + targets + ["--cacert", fleet.ca, "--sni-variants", "--timeout", "2s", "--format", "jsonl"])
        #expect(r.status == 1, "\(r.stderr)")
        let byTarget = try lines(r.stdout)
        #expect(byTarget.count == 5, "\(r.stdout)")
        let valid = try #require(byTarget["https://localhost:\(fleet.valid)/"])
        #expect(valid["ok"] as? Bool == true)
        #expect(valid["cause"] is NSNull)
        #expect(valid["address"] as? String == "127.0.0.1")
        #expect(valid["port"] as? Int == fleet.valid)
        #expect(valid["days_left"] as? Int == 334)
        #expect(valid["not_after"] as? String == ISO8601.string(F.midnight(335)))
        #expect(valid["subject"] as? String == "CN=localhost,O=triage fixture")
        #expect(valid["issuer"] as? String == "CN=triage test root,O=triage fixture")
        #expect(valid["version"] as? String == "TLSv1.3")
        #expect(valid["error"] is NSNull)
        let expired = try #require(byTarget["https://localhost:\(fleet.expired)/"])
        #expect(expired["ok"] as? Bool == false)
        #expect(expired["cause"] as? String == "cert-expired")
        #expect(expired["days_left"] as? Int == -5)
        let wrong = try #require(byTarget["https://localhost:\(fleet.wrongHost)/"])
        #expect(wrong["cause"] as? String == "hostname-mismatch")
        // With SNI the handshake works; without, nginx rejects it (alert 112): a curl-like client is fine,
        // clients without SNI are not — their own field, and a warning.
        let sniOnly = try #require(byTarget["https://localhost:\(fleet.sniOnly)/"])
        #expect(sniOnly["ok"] as? Bool == true, "\(sniOnly)")
        #expect(sniOnly["cause"] is NSNull, "\(sniOnly)")
        #expect(sniOnly["without_sni"] as? Bool == false)
        #expect((sniOnly["causes"] as? [String])?.contains("alert-without-sni") == true)
        #expect((sniOnly["alert"] as? [String: Any])?["code"] as? Int == 112)
        #expect(sniOnly["version"] as? String == "TLSv1.3")
        #expect(valid["without_sni"] as? Bool == true)
        let silent = try #require(byTarget["https://127.0.0.1:\(fleet.silent.port)/"])
        #expect(silent["cause"] as? String == "timeout")
        #expect(silent["ok"] as? Bool == false)
        #expect((silent["duration_ms"] as? Double ?? 0) >= 1900)
        #expect(r.stderr.contains("scanned 5 endpoint(s)"))
        #expect(r.stderr.contains("3 with a problem"), "\(r.stderr)")
    }

    @Test func healthyFleetExitsZeroAndTheFileAndStdinForms() async throws {
        let fleet = try Self.fleet()
        defer { fleet.nginx.stop(); fleet.silent.stop() }
        let file = TestPaths.temporaryFolder("targets").appendingPathComponent("targets.txt")
        try "# upstreams\nlocalhost:\(fleet.valid)   # the good one\n\nhttps://localhost:\(fleet.sniOnly)/\nlocalhost:\(fleet.valid)\n"
            .write(to: file, atomically: true, encoding: .utf8)
        let fromFile = try await Command.triage(["scan", "--targets", file.path, "--cacert", fleet.ca, "--format", "jsonl"])
        #expect(fromFile.status == 0, "\(fromFile.stderr)")
        #expect(try lines(fromFile.stdout).count == 2)
        // Each row says where its target was given: the list's duplicate (lines 2 and 5) is told apart.
        let inputs = try fromFile.stdout.split(separator: "\n").compactMap { row in
            (try JSONSerialization.jsonObject(with: Data(row.utf8)) as? [String: Any])?["input"] as? String
        }.sorted()
        #expect(inputs == ["\(file.path):2", "\(file.path):4", "\(file.path):5"], "\(inputs)")
        let piped = try await Command.run(["/bin/sh", "-c", "printf 'localhost:%s\\n' \"$1\" | \"$0\" scan --targets - --cacert \"$2\" --format csv",
                                           TestPaths.triageBinary.path, "\(fleet.valid)", fleet.ca])
        #expect(piped.status == 0, "\(piped.stderr)")
        let rows = piped.stdout.split(separator: "\n")
        #expect(rows.first == "target,address,port,ok,cause,causes,not_after,days_left,issuer,subject,version,cipher,alert,without_sni,duration_ms,error,input")
        #expect(rows.count == 2)
        #expect(rows.last?.hasSuffix(",stdin:1") == true, "\(rows)")
        #expect(rows.last?.hasPrefix("https://localhost:\(fleet.valid)/,127.0.0.1,\(fleet.valid),true,,") == true, "\(rows)")
    }

    /// Files given as pipes (`<(…)`, bash's process substitution) are read once: the targets as
    /// they come, the CA bundle copied before the first of its readers. Both once failed: the
    /// targets were read twice (the check, then the scan) and the list was empty.
    @Test func targetsAndCABundleFromPipes() async throws {
        let (server, ca) = try Self.validServer()
        defer { server.stop() }
        let r = try await Command.run(["/bin/bash", "-c", "exec \"$0\" scan --targets <(printf 'localhost:%s\\nnot a target\\n' \"$1\") --cacert <(cat \"$2\") --format jsonl",
                                       TestPaths.triageBinary.path, "\(server.port)", ca])
        // The bad line is said and skipped (as from stdin), so the exit is 2; the good one was probed, and trusted.
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains(":2: "), "\(r.stderr)")
        let results = try lines(r.stdout)
        #expect(results.count == 1)
        #expect(results["https://localhost:\(server.port)/"]?["ok"] as? Bool == true, "\(r.stdout)")
    }

    /// A password or token in a target never reaches scan's output, in any format.
    @Test func secretsInTargetsAreRedacted() async throws {
        let port = PlainTCPServer.closedPort()
        for format in ["jsonl", "table", "csv"] {
            let r = try await Command.triage(["scan", "https://alice:hunter2@127.0.0.1:\(port)/?token=SECRET123", "--timeout", "2s", "--format", format])
            #expect(r.status == 1, "\(format): \(r.stderr)")
            #expect(!(r.stdout + r.stderr).contains("hunter2") && !(r.stdout + r.stderr).contains("SECRET123"), "\(format): \(r.stdout)")
            #expect(r.stdout.contains("[REDACTED]"), "\(format): \(r.stdout)")
        }
    }

    /// An empty list checked nothing: a clear error and exit 2, not "healthy".
    @Test func anEmptyTargetListIsAnError() async throws {
        let file = TestPaths.temporaryFolder("scan").appendingPathComponent("empty.txt")
        try "\n# nothing here\n".write(to: file, atomically: true, encoding: .utf8)
        let r = try await Command.triage(["scan", "--targets", file.path, "--format", "csv"])
        #expect(r.status == 2, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("no target to scan"), "\(r.stderr)")
        // Only that: no summary of 0 endpoints before it.
        #expect(!r.stderr.contains("scanned"), "\(r.stderr)")
    }

    @Test func badTargetLinesAreRefusedWithTheirLineNumbers() async throws {
        let file = TestPaths.temporaryFolder("targets").appendingPathComponent("bad.txt")
        try "localhost:443\n\nftp://files.example.test/\nnot a target\nhttp://plain.example.test:8080/\n".write(to: file, atomically: true, encoding: .utf8)
        let r = try await Command.triage(["scan", "--targets", file.path])
        #expect(r.status == 2)
        // An http:// URL is not probed with TLS under a label that says http.
        #expect(r.stderr.contains("\(file.path):5: 'http://plain.example.test:8080/' is plain HTTP: scan and the exporter probe TLS (give https:// or HOST:PORT)"),
                "\(r.stderr)")
        #expect(r.stderr.contains("\(file.path):3: 'ftp://files.example.test/' is not a URL or HOST[:PORT]: the scheme 'ftp' is not http or https"))
        #expect(r.stderr.contains("\(file.path):4: 'not a target' is not a URL or HOST[:PORT]: it holds spaces"))
        #expect(r.stdout.isEmpty, "nothing scanned")
    }

    /// A bad target is echoed with its secrets masked, as a good one is in every output: the password
    /// and the token of a URL that fails to parse, or that is plain HTTP, never reach stderr.
    @Test func aBadTargetsSecretsAreMasked() async throws {
        let r = try await Command.triage(["scan", "https://deploy:S3cretPassw0rd@bad_host!/?token=tok-SECRET-123",
                                          "http://ops:An0therPass@plain.example.test/?access_token=tok-OTHER-456"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("'https://deploy:[REDACTED]@bad_host!/?token=[REDACTED]' is not a URL or HOST[:PORT]"), "\(r.stderr)")
        #expect(r.stderr.contains("'http://ops:[REDACTED]@plain.example.test/?access_token=[REDACTED]' is plain HTTP"), "\(r.stderr)")
        for secret in ["S3cretPassw0rd", "tok-SECRET-123", "An0therPass", "tok-OTHER-456"] { #expect(!r.stderr.contains(secret)) }
    }

    @Test func tableIsSortedByUrgency() async throws {
        let fleet = try Self.fleet()
        defer { fleet.nginx.stop(); fleet.silent.stop() }
        let r = try await Command.triage(["scan", "localhost:\(fleet.valid)", "localhost:\(fleet.expired)", "--cacert", fleet.ca, "--format", "table"])
        let rows = r.stdout.split(separator: "\n").map(String.init)
        #expect(rows.count == 3)
        #expect(rows[0].hasPrefix("STATUS"))
        #expect(rows[1].hasPrefix("PROBLEM  -5    https://localhost:\(fleet.expired)/ 127.0.0.1:\(fleet.expired)"), "\(rows)")
        #expect(rows[2].hasPrefix("ok       334"), "\(rows)")
    }
}
