import Foundation
import Testing
import TriageDemo
@testable import TriageFleet
import Synchronization
import TriageKit
import TriageProbes
import TriageTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `triage exporter`: the metrics of one probe per scrape, its own metrics,
/// bad requests and configs; and a real Prometheus (Debian `prometheus`)
/// scraping it, read back through Prometheus' HTTP API.
@Suite(.serialized) struct ExporterTests {
    typealias F = TLSFixtures

    /// The exporter as a child process on a free port, stopped by `stop()`.
    final class Running: Sendable {
        let port: Int
        let process: BackgroundProcess
        private init(port: Int, process: BackgroundProcess) {
            self.port = port
            self.process = process
        }

        /// Started and accepting (polled without blocking a cooperative thread).
        static func start(_ arguments: [String]) async throws -> Running {
            let port = SocketAddress.freePort()
            let log = TestPaths.temporaryFolder("exporter").appendingPathComponent("stderr.log").path
            let process = try BackgroundProcess([TestPaths.triageBinary.path, "exporter", "--listen", "127.0.0.1:\(port)"] + arguments, output: log)
            // A loaded machine (the whole suite at once) can take a while to start it: wait for it, or say why not.
            let deadline = ContinuousClock.now + .seconds(60)
            while !SocketAddress.accepts(port), !process.hasExited, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            guard SocketAddress.accepts(port) else {
                process.stop()
                let said = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                throw ServerError(description: "the exporter did not listen on 127.0.0.1:\(port): \(said)")
            }
            return Running(port: port, process: process)
        }
        func stop() { process.stop() }
    }

    struct Targets {
        let valid: TLSServer, expired: TLSServer, sniOnly: TLSServer
        let ca: String
        func stop() { valid.stop(); expired.stop(); sniOnly.stop() }
    }

    static func targets() throws -> Targets {
        let root = try F.root()
        let good = try F.leaf("localhost", sans: ["localhost"], issuer: root)
        let old = try F.leaf("localhost", sans: ["localhost"], notBefore: F.midnight(-90), notAfter: F.midnight(-3), issuer: root)
        return Targets(valid: try F.server(chain: [good], key: good), expired: try F.server(chain: [old], key: old),
                       sniOnly: try F.server(chain: [good], key: good) { $0.sni = .abortWithoutSNI }, ca: try F.file(root.certificatePEM))
    }

    func get(_ url: String, headers: [String] = []) async throws -> (Int, String) {
        let r = try await Command.run(["curl", "-s", "-w", "\n%{http_code}"] + headers.flatMap { ["-H", $0] } + [url])
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    /// `name{labels} value` lines of an exposition, by series.
    func samples(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " ") else { continue }
            out[String(line[..<space])] = String(line[line.index(after: space)...])
        }
        return out
    }

    /// After a burst the exporter gives malloc's free memory back, at each of its delays, but never
    /// while a probe request is under way, and only for the latest quiet spell.
    @Test func freeMemoryGoesBackAfterABurstAndNeverDuringOne() async throws {
        final class Count: Sendable { let value = Mutex(0) }
        let releases = Count()
        var limits = ExporterServer.Limits()
        limits.releaseDelays = [.milliseconds(20), .milliseconds(60)]
        let server = ExporterServer(probes: [:], limits: limits) { releases.value.withLock { $0 += 1 } }
        func released(_ n: Int) async throws {
            let deadline = ContinuousClock.now + .seconds(30)
            while releases.value.withLock({ $0 }) < n, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        }

        server.began(); server.began(); server.answered()
        try await Task.sleep(for: .milliseconds(300))
        #expect(releases.value.withLock { $0 } == 0, "released while a probe request was under way")
        server.answered()
        try await released(2)
        #expect(releases.value.withLock { $0 } == 2)

        // A quiet spell cut short by a request: its releases are skipped; the next spell's come.
        server.began(); server.answered(); server.began()
        try await Task.sleep(for: .milliseconds(300))
        #expect(releases.value.withLock { $0 } == 2)
        server.answered()
        try await released(4)
        try await Task.sleep(for: .milliseconds(300))
        #expect(releases.value.withLock { $0 } == 4, "one release per delay of the last spell, none of the one cut short")
    }

    @Test func probeMetricsSayTheCause() async throws {
        let t = try Self.targets()
        defer { t.stop() }
        let exporter = try await Running.start(["--cacert", t.ca])
        defer { exporter.stop() }
        let base = "http://127.0.0.1:\(exporter.port)"
        let (okStatus, ok) = try await get("\(base)/probe?target=localhost:\(t.valid.port)")
        #expect(okStatus == 200)
        let good = samples(ok)
        #expect(good["probe_success"] == "1", "\(ok)")
        #expect(good["probe_tls_version_info{version=\"TLS 1.3\"}"] == "1")
        #expect(good["probe_ssl_earliest_cert_expiry"] == String(Int(F.midnight(335).timeIntervalSince1970)))
        #expect(good["triage_probe_sni_variant_success{variant=\"as-client\"}"] == "1")
        #expect(good["triage_probe_address_success{address=\"127.0.0.1\"}"] == "1")
        #expect(!good.keys.contains { $0.hasPrefix("triage_probe_cause") })
        let expired = samples(try await get("\(base)/probe?target=localhost:\(t.expired.port)").1)
        #expect(expired["probe_success"] == "0")
        #expect(expired["triage_probe_cause{cause=\"cert-expired\",severity=\"problem\"}"] == "1")
        #expect(expired["triage_probe_days_left"] == "-4" || expired["triage_probe_days_left"] == "-3")
        // A server that refuses clients without SNI: the default module makes one handshake per address,
        // as curl does, and that succeeds; a module with sni_variants shows the SNI-less result on its own.
        let sniOnly = samples(try await get("\(base)/probe?target=localhost:\(t.sniOnly.port)").1)
        #expect(sniOnly["probe_success"] == "1")
        #expect(sniOnly["triage_probe_sni_variant_success{variant=\"none\"}"] == nil)
        #expect(sniOnly["triage_probe_sni_variant_success{variant=\"as-client\"}"] == "1")
        // Bad requests say why; the exporter's own metrics count the probes.
        let (missing, why) = try await get("\(base)/probe")
        #expect(missing == 400)
        #expect(why.contains("the target parameter is missing"))
        let (badModule, moduleWhy) = try await get("\(base)/probe?target=localhost:1&module=nope")
        #expect(badModule == 400)
        #expect(moduleWhy.contains("unknown module 'nope': one of default"))
        let own = samples(try await get("\(base)/metrics").1)
        #expect(own["triage_exporter_probes_total{result=\"success\"}"] == "2")
        #expect(own["triage_exporter_probes_total{result=\"failure\"}"] == "1")
    }

    /// A silent target costs the scrape's timeout (Prometheus' header), not the module's 5 s,
    /// and a slow target does not hold up another scrape.
    @Test func scrapeTimeoutHeaderBoundsTheProbe() async throws {
        let t = try Self.targets()
        defer { t.stop() }
        let silent = try PlainTCPServer(.silent)
        defer { silent.stop() }
        let exporter = try await Running.start(["--cacert", t.ca])
        defer { exporter.stop() }
        let base = "http://127.0.0.1:\(exporter.port)"
        async let slow = get("\(base)/probe?target=127.0.0.1:\(silent.port)", headers: ["X-Prometheus-Scrape-Timeout-Seconds: 1.5"])
        let fast = samples(try await get("\(base)/probe?target=localhost:\(t.valid.port)").1)
        #expect(fast["probe_success"] == "1")
        let timedOut = samples(try await slow.1)
        #expect(timedOut["probe_success"] == "0")
        #expect(timedOut["triage_probe_cause{cause=\"timeout\",severity=\"problem\"}"] == "1")
        #expect(Double(timedOut["probe_duration_seconds"] ?? "9") ?? 9 < 1.5)
    }

    /// A module with `sni_variants: true` adds a handshake without SNI: its result is its own
    /// metric and a warning; probe_success stays what a curl-like client gets.
    @Test func sniVariantsAreTheirOwnMetric() async throws {
        let t = try Self.targets()
        defer { t.stop() }
        let file = TestPaths.temporaryFolder("exporter-config").appendingPathComponent("modules.yaml")
        try "modules:\n  default: {}\n  both:\n    sni_variants: true\n".write(to: file, atomically: true, encoding: .utf8)
        let exporter = try await Running.start(["--cacert", t.ca, "--config", file.path])
        defer { exporter.stop() }
        let both = samples(try await get("http://127.0.0.1:\(exporter.port)/probe?target=localhost:\(t.sniOnly.port)&module=both").1)
        #expect(both["probe_success"] == "1")
        #expect(both["triage_probe_sni_variant_success{variant=\"none\"}"] == "0")
        #expect(both["triage_probe_sni_variant_success{variant=\"as-client\"}"] == "1")
        #expect(both["triage_probe_cause{cause=\"alert-without-sni\",severity=\"warning\"}"] == "1")
    }

    /// Any text may come in Prometheus' timeout header: none stops the exporter.
    @Test func hostileScrapeTimeoutHeadersAreIgnored() async throws {
        let t = try Self.targets()
        defer { t.stop() }
        let exporter = try await Running.start(["--cacert", t.ca])
        defer { exporter.stop() }
        let base = "http://127.0.0.1:\(exporter.port)"
        for value in ["inf", "-inf", "1e19", "nan", "-1", "0", "99999999999999999999999", "1.5e308"] {
            let (status, body) = try await get("\(base)/probe?target=localhost:\(t.valid.port)", headers: ["X-Prometheus-Scrape-Timeout-Seconds: \(value)"])
            #expect(status == 200, "header \(value)")
            #expect(samples(body)["probe_success"] == "1", "header \(value): \(body)")
        }
    }

    /// Prometheus' timeout header as it writes it (`10`, `2.5`, spaces around): the probe gets half a
    /// second less than it, up to the module's own timeout (not the module's minus half a second);
    /// another number form (`0x10`, `1e1`) is no timeout at all.
    @Test func theScrapeTimeoutHeaderIsReadAsPrometheusWritesIt() {
        func timeout(_ header: String?) -> Duration? {
            guard case .probe(_, _, let timeout, _) = ExporterRoute.parse(method: "GET", uri: "/probe?target=127.0.0.1:443", scrapeTimeout: header,
                                                                       modules: ["default": .seconds(5)]) else { return nil }
            return timeout
        }
        #expect(timeout(nil) == .seconds(5))
        #expect(timeout("10") == .seconds(5))
        #expect(timeout("2") == .milliseconds(1500))
        #expect(timeout(" 2.5 ") == .seconds(2))
        #expect(timeout("0.55") == .milliseconds(100))
        for ignored in ["0x10", "1e1", "2s", "", "1.2.3", "-1", "+3"] { #expect(timeout(ignored) == .seconds(5), "\(ignored)") }
        // How long the request may wait and probe in all: what the scrape waits, else twice the module's
        // timeout (a request that waited for a slot still probes for the module's whole timeout).
        func patience(_ header: String?) -> Duration? {
            guard case .probe(_, _, _, let patience) = ExporterRoute.parse(method: "GET", uri: "/probe?target=127.0.0.1:443", scrapeTimeout: header,
                                                                           modules: ["default": .seconds(5)]) else { return nil }
            return patience
        }
        #expect(patience("30") == .milliseconds(29_500))
        #expect(patience("2") == .milliseconds(1500))
        #expect(patience(nil) == .seconds(10))
    }

    /// The exporter's router answers what ExporterRoute.parse answers, and remembers only probe routes:
    /// the same request again is the same route; another scrape timeout or module is another route; a
    /// refusal (a bad target, an unknown module) is read again each time, never kept.
    @Test func theRouterRemembersProbeRoutesOnly() {
        let modules: [String: Duration] = ["default": .seconds(5), "tls": .seconds(3)]
        let router = ExporterRouter(modules: modules)
        let requests: [(String, String?)] = [
            ("/probe?target=api.test:8443&module=tls", "10"), ("/probe?target=api.test:8443&module=tls", "10"),
            ("/probe?target=api.test:8443&module=tls", "2"), ("/probe?target=api.test:8443", nil),
            ("/probe?target=a%20b", nil), ("/probe?target=api.test&module=nope", nil), ("/metrics", nil),
        ]
        for (uri, header) in requests + requests {
            let routed = router.route(method: "GET", uri: uri, scrapeTimeout: header)
            #expect(routed == ExporterRoute.parse(method: "GET", uri: uri, scrapeTimeout: header, modules: modules), "\(uri)")
        }
        guard case .probe(let target, "tls", .milliseconds(1500), .milliseconds(1500)) = router.route(method: "GET", uri: requests[2].0, scrapeTimeout: "2") else {
            Issue.record("not the tls module's route with a 1.5 s timeout")
            return
        }
        #expect(target.url == "https://api.test:8443/")
        #expect(router.remembered == 3)
        // A request of implausible size is answered, not kept.
        _ = router.route(method: "GET", uri: "/probe?target=api.test&pad=" + String(repeating: "x", count: 2000), scrapeTimeout: nil)
        #expect(router.remembered == 3)
        // A `+` in the query is a space, as Prometheus (Go's url.Values) writes it; `%2B` is a `+`.
        let spaced = ExporterRouter(modules: ["a b": .seconds(5), "a+b": .seconds(4)])
        guard case .probe(_, "a b", _, _) = spaced.route(method: "GET", uri: "/probe?target=api.test&module=a+b", scrapeTimeout: nil),
              case .probe(_, "a+b", _, _) = spaced.route(method: "GET", uri: "/probe?target=api.test&module=a%2Bb", scrapeTimeout: nil) else {
            Issue.record("module=a+b is not the module 'a b', or a%2Bb not 'a+b'")
            return
        }
    }

    /// HEAD is GET without the body (a health checker's `curl -I /metrics` was refused with 405);
    /// another method still is.
    @Test func headIsGetWithoutTheBody() async throws {
        let exporter = try await Running.start([])
        defer { exporter.stop() }
        let head = try await Command.run(["curl", "-s", "-I", "http://127.0.0.1:\(exporter.port)/metrics"])
        #expect(head.stdout.hasPrefix("HTTP/1.1 200 OK"), "\(head.stdout)")
        let length = head.stdout.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
        let get = try await Command.run(["curl", "-s", "http://127.0.0.1:\(exporter.port)/metrics"])
        #expect(length.map { Int($0.split(separator: " ").last ?? "") } == get.stdout.utf8.count, "\(head.stdout)")
        guard case .refused(let status, _) = ExporterRoute.parse(method: "POST", uri: "/metrics", scrapeTimeout: nil, modules: ["default": .seconds(5)]) else {
            Issue.record("POST was answered")
            return
        }
        #expect(status == 405)
        let post = try await Command.run(["curl", "-s", "-i", "-X", "POST", "http://127.0.0.1:\(exporter.port)/metrics"])
        #expect(post.stdout.hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n"), "\(post.stdout)")
        #expect(post.stdout.contains("\r\nallow: GET, HEAD\r\n") || post.stdout.contains("\r\nAllow: GET, HEAD\r\n"), "\(post.stdout)")
    }

    /// SIGTERM (systemd stopping it): no new connection, the probe under way is answered, exit 0 —
    /// as blackbox_exporter. (It left at once with 130, and the scrapes in flight got no answer.)
    @Test func sigtermAnswersTheProbesUnderWayAndExitsZero() async throws {
        let silent = try PlainTCPServer(.silent)
        defer { silent.stop() }
        let exporter = try await Running.start([])
        defer { exporter.stop() }
        async let slow = get("http://127.0.0.1:\(exporter.port)/probe?target=127.0.0.1:\(silent.port)", headers: ["X-Prometheus-Scrape-Timeout-Seconds: 2"])
        // Until the probe is under way (on the exporter's own gauge, not a clock).
        var inFlight = 0
        for _ in 0..<200 where inFlight < 1 {
            inFlight = try await metric("http://127.0.0.1:\(exporter.port)", "triage_exporter_probes_in_flight") ?? 0
            if inFlight < 1 { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(inFlight == 1)
        kill(exporter.process.pid, SIGTERM)
        let answer = try await slow
        #expect(answer.0 == 200, "\(answer.1)")
        #expect(samples(answer.1)["probe_success"] == "0")
        #expect(exporter.process.exitStatus(within: .seconds(10)) == 0)
        #expect(!SocketAddress.accepts(exporter.port))
    }

    /// A second signal during the drain leaves at once with 130 (the drain ran on the thread that
    /// reads signals: the second was read only when it ended, and the exit was 0).
    @Test func aSecondSignalLeavesAtOnce() async throws {
        let silent = try PlainTCPServer(.silent)
        defer { silent.stop() }
        let exporter = try await Running.start([])
        defer { exporter.stop() }
        let base = "http://127.0.0.1:\(exporter.port)"
        async let slow = Command.run(["curl", "-s", "-m", "20", "-H", "X-Prometheus-Scrape-Timeout-Seconds: 20", "\(base)/probe?target=127.0.0.1:\(silent.port)"])
        var inFlight = 0
        for _ in 0..<200 where inFlight < 1 {
            inFlight = try await metric(base, "triage_exporter_probes_in_flight") ?? 0
            if inFlight < 1 { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(inFlight == 1)
        kill(exporter.process.pid, SIGTERM)
        // The first signal taken (the listener closes), then the second.
        for _ in 0..<500 where SocketAddress.accepts(exporter.port) { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!SocketAddress.accepts(exporter.port))
        kill(exporter.process.pid, SIGINT)
        // 130, not the drain's 0: the second signal was read while the probe was still under way.
        #expect(exporter.process.exitStatus(within: .seconds(30)) == 130)
        _ = try await slow
    }

    /// Probes of one silent target queued behind each other (one slot): the first has its whole
    /// budget; the next waited for the slot and had only what was left of the scrape's deadline. Both
    /// say the target did not answer (a dead target stays probe_success 0 under load, for its alerts),
    /// and each says how long it waited and the time it had.
    @Test func aQueuedProbeSaysHowLongItWaitedAndTheTimeItHad() async throws {
        let silent = try PlainTCPServer(.silent)
        defer { silent.stop() }
        let file = TestPaths.temporaryFolder("exporter-queue").appendingPathComponent("modules.yaml")
        try "modules:\n  default:\n    timeout: 1s\n".write(to: file, atomically: true, encoding: .utf8)
        let exporter = try await Running.start(["--config", file.path, "--concurrency", "1"])
        defer { exporter.stop() }
        let url = "http://127.0.0.1:\(exporter.port)/probe?target=127.0.0.1:\(silent.port)"
        async let first = get(url, headers: ["X-Prometheus-Scrape-Timeout-Seconds: 2.1"])
        // The second is sent once the first holds the slot (the exporter's own gauge, not a clock).
        var inFlight = 0
        for _ in 0..<200 where inFlight < 1 {
            inFlight = try await metric("http://127.0.0.1:\(exporter.port)", "triage_exporter_probes_in_flight") ?? 0
            if inFlight < 1 { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(inFlight == 1)
        async let second = get(url, headers: ["X-Prometheus-Scrape-Timeout-Seconds: 2.1"])
        let (a, b) = try await (first, second)
        #expect(a.0 == 200 && b.0 == 200, "\(b.1)")
        for answer in [a.1, b.1] {
            #expect(samples(answer)["probe_success"] == "0")
            #expect(answer.contains("triage_probe_cause{cause=\"timeout\",severity=\"problem\"} 1"), "\(answer)")
        }
        #expect(Double(samples(a.1)["triage_probe_queue_wait_seconds"] ?? "") ?? 9 < 0.5, "\(a.1)")
        #expect(Double(samples(a.1)["triage_probe_timeout_seconds"] ?? "") == 1, "\(a.1)")
        // The second waited for the first's second, and had the 0.6 s left of its 1.6 s.
        #expect(Double(samples(b.1)["triage_probe_queue_wait_seconds"] ?? "") ?? 0 > 0.7, "\(b.1)")
        #expect(Double(samples(b.1)["triage_probe_timeout_seconds"] ?? "") ?? 9 < 0.95, "\(b.1)")
        #expect(try await metric("http://127.0.0.1:\(exporter.port)", "triage_exporter_probes_total{result=\"failure\"}") == 2)
    }

    /// An address this machine does not have: the system's reason, not NIO's call signature.
    @Test func aListenAddressThatCannotBeBoundSaysWhy() async throws {
        let r = try await Command.triage(["exporter", "--listen", "10.9.9.9:9307"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("triage: cannot listen on 10.9.9.9:9307: Cannot assign requested address\n"), "\(r.stderr)")
    }

    @Test func limitsOutOfRangeAreRefused() async throws {
        for (flag, value, said) in [("--concurrency", "0", "--concurrency must be between 1 and 10000"),
                                    // A negative number is a value to refuse, not a missing one.
                                    ("--concurrency", "-5", "--concurrency must be between 1 and 10000"),
                                    ("--max-connections", "-1", "--max-connections must be between 2 and 1000000"),
                                    ("--concurrency", "20000", "--concurrency must be between 1 and 10000"),
                                    ("--max-connections", "1", "--max-connections must be between 2 and 1000000"),
                                    // A negative duration is a value to refuse with its reason (it was "Missing value").
                                    ("--idle-timeout", "-1s", "--idle-timeout '-1s': expected a positive number"),
                                    ("--header-timeout", "0", "--header-timeout '0': a deadline must be more than zero")] {
            let r = try await Command.triage(["exporter", "--listen", "127.0.0.1:0", flag, value])
            #expect(r.status == 2, "\(flag) \(value)")
            #expect(r.stderr.contains(said), "\(r.stderr)")
        }
    }

    /// More connections than half the descriptors would leave probes none (with 300 idle clients under
    /// `ulimit -n 200` every probe after was a 503, for good): refused at start with the bound.
    @Test func moreConnectionsThanDescriptorsAllowIsRefused() async throws {
        let r = try await Command.run(["/bin/sh", "-c", "ulimit -n 200 && exec \"$0\" exporter --listen 127.0.0.1:0 --max-connections 5000",
                                       TestPaths.triageBinary.path])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("--max-connections 5000 is more than this process's descriptors allow (ulimit -n 200): at most 100"), "\(r.stderr)")
    }

    @Test func badConfigIsRefusedWithItsPosition() async throws {
        let file = TestPaths.temporaryFolder("exporter-config").appendingPathComponent("modules.yaml")
        try "modules:\n  fast:\n    timeout: forever\n    sni_variant: true\n".write(to: file, atomically: true, encoding: .utf8)
        let r = try await Command.triage(["exporter", "--config", file.path, "--listen", "127.0.0.1:0"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("\(file.path):3:14: timeout: "), "\(r.stderr)")
        #expect(r.stderr.contains("\(file.path):4:5: module 'fast': unknown key 'sni_variant'"), "\(r.stderr)")
    }

    /// A key that counts only beside another is said, not ignored: a client key without a client
    /// certificate, an HTTP path without `http: true`.
    @Test func keysThatNeedAnotherAreSaid() throws {
        let yaml = "modules:\n  a:\n    client_key: /etc/k.pem\n    path: /healthz\n  b:\n    http: true\n    path: /healthz\n"
        do {
            _ = try ExporterConfig.load(yaml: yaml, source: "m.yaml", caFile: nil)
            Issue.record("loaded")
        } catch {
            #expect(error.diagnostics.map(\.description) == [
                "m.yaml:3:17: module 'a': client_key without client_cert: the key goes with a client certificate",
                "m.yaml:4:11: module 'a': path is the HTTP request's: it needs http: true",
            ])
        }
    }

    /// A module whose client key is encrypted is a bad config, said at start (exit 2), not a probe failing later.
    @Test func aModulesUnusableClientKeyIsRefusedAtStart() async throws {
        let client = try TLSFixtures.leaf("client.example.test", issuer: TLSFixtures.root())
        let cert = try TLSFixtures.file(client.certificatePEM, named: "client.pem")
        let key = try TLSFixtures.file(try client.encryptedKeyPEM(passphrase: "secret"), named: "client.key")
        let file = TestPaths.temporaryFolder("exporter-config").appendingPathComponent("modules.yaml")
        try "modules:\n  mtls:\n    client_cert: \(cert)\n    client_key: \(key)\n".write(to: file, atomically: true, encoding: .utf8)
        let r = try await Command.triage(["exporter", "--config", file.path, "--listen", "127.0.0.1:0"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("\(file.path):4:17: module 'mtls': the client key \(key) is encrypted"), "\(r.stderr)")
    }

    /// Every unusable file of every module is said at its line, all at once (a bad trust store
    /// beside a bad CA file); a YAML syntax error and a duplicated module are said where they are.
    @Test func everyUnusableFileAndSyntaxErrorAtItsPosition() async throws {
        let folder = TestPaths.temporaryFolder("exporter-config")
        let file = folder.appendingPathComponent("modules.yaml")
        try "modules:\n  a:\n    ca_file: /nonexistent/ca.pem\n  b:\n    trust_stores:\n      java: /nonexistent/cacerts\n      empty: /dev/null\n"
            .write(to: file, atomically: true, encoding: .utf8)
        let r = try await Command.triage(["exporter", "--config", file.path, "--listen", "127.0.0.1:0"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("\(file.path):3:14: module 'a': ca_file: cannot read the CA file /nonexistent/ca.pem: No such file or directory"), "\(r.stderr)")
        #expect(r.stderr.contains("\(file.path):6:13: module 'b': trust_stores: cannot read the trust store /nonexistent/cacerts: No such file or directory"), "\(r.stderr)")
        // /dev/null is read through a copy of triage's own: the problem names the file as written.
        #expect(r.stderr.contains("\(file.path):7:14: module 'b': trust_stores: /dev/null is neither a PEM bundle nor a PKCS#12 file this password opens"), "\(r.stderr)")
        let syntax = folder.appendingPathComponent("syntax.yaml")
        try "modules:\n  a:\n    http: true\n   bad: [\n".write(to: syntax, atomically: true, encoding: .utf8)
        let s = try await Command.triage(["exporter", "--config", syntax.path, "--listen", "127.0.0.1:0"])
        #expect(s.status == 2)
        #expect(s.stderr.hasPrefix("\(syntax.path):4:"), "\(s.stderr)")
        #expect(s.stderr.split(separator: "\n").count == 1, "one line: \(s.stderr)")
        let twice = folder.appendingPathComponent("twice.yaml")
        try "modules:\n  a:\n    http: true\n  a:\n    http: false\n".write(to: twice, atomically: true, encoding: .utf8)
        let t = try await Command.triage(["exporter", "--config", twice.path, "--listen", "127.0.0.1:0"])
        #expect(t.status == 2)
        #expect(t.stderr.contains("\(twice.path):4:3: duplicate key 'a' in this mapping"), "\(t.stderr)")
        // A field's mistake and a module's unusable file: both at once (the file was said only once the rest was fixed).
        let both = folder.appendingPathComponent("both.yaml")
        try "modules:\n  a:\n    timeout: soon\n  b:\n    ca_file: /nonexistent/ca.pem\n".write(to: both, atomically: true, encoding: .utf8)
        let b = try await Command.triage(["exporter", "--config", both.path, "--listen", "127.0.0.1:0"])
        #expect(b.status == 2)
        let lines = b.stderr.split(separator: "\n").map(String.init)
        #expect(lines.count == 2, "\(b.stderr)")
        #expect(lines.first?.hasPrefix("\(both.path):3:") == true, "\(b.stderr)")
        #expect(lines.last == "\(both.path):5:14: module 'b': ca_file: cannot read the CA file /nonexistent/ca.pem: No such file or directory", "\(b.stderr)")
    }

    /// Prometheus scrapes the exporter for three targets (blackbox-style
    /// relabelling); probe_success and triage_probe_cause come back through
    /// its query API.
    @Test func prometheusScrapesTheExporter() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/prometheus") else {
            Issue.record("Prometheus is not installed (make install-deps installs the Debian package)")
            return
        }
        let t = try Self.targets()
        defer { t.stop() }
        let exporter = try await Running.start(["--cacert", t.ca])
        defer { exporter.stop() }
        let folder = TestPaths.temporaryFolder("prometheus")
        let promPort = SocketAddress.freePort()
        let targets = [t.valid.port, t.expired.port, t.sniOnly.port].map { "\"localhost:\($0)\"" }.joined(separator: ", ")
        try """
            global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s }
            scrape_configs:
              - job_name: triage
                metrics_path: /probe
                static_configs: [{ targets: [\(targets)] }]
                relabel_configs:
                  - { source_labels: [__address__], target_label: __param_target }
                  - { source_labels: [__param_target], target_label: instance }
                  - { target_label: __address__, replacement: "127.0.0.1:\(exporter.port)" }
            """.write(to: folder.appendingPathComponent("prometheus.yml"), atomically: true, encoding: .utf8)
        let prometheus = try BackgroundProcess(["/usr/bin/prometheus", "--config.file=\(folder.path)/prometheus.yml",
                                                "--storage.tsdb.path=\(folder.path)/data", "--web.listen-address=127.0.0.1:\(promPort)"],
                                               output: folder.appendingPathComponent("prometheus.log").path)
        defer { prometheus.stop() }
        func query(_ q: String) async throws -> [String: String] {
            let (_, body) = try await get("http://127.0.0.1:\(promPort)/api/v1/query?query=\(q.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? q)")
            guard let json = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
                  let result = (json["data"] as? [String: Any])?["result"] as? [[String: Any]] else { return [:] }
            var out: [String: String] = [:]
            for series in result {
                let instance = (series["metric"] as? [String: String])?["instance"] ?? "?"
                out[instance] = ((series["value"] as? [Any])?.last as? String) ?? "?"
            }
            return out
        }
        var success: [String: String] = [:]
        let deadline = ContinuousClock.now + .seconds(40)
        while success.count < 3, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(500))
            success = (try? await query("probe_success")) ?? [:]
        }
        // The SNI-only target works for a curl-like client: the default module makes one handshake per address.
        #expect(success == ["localhost:\(t.valid.port)": "1", "localhost:\(t.expired.port)": "0", "localhost:\(t.sniOnly.port)": "1"],
                "\(success) — \((try? String(contentsOf: folder.appendingPathComponent("prometheus.log"), encoding: .utf8).suffix(800)) ?? "")")
        let expired = try await query("triage_probe_cause{cause=\"cert-expired\",severity=\"problem\"}")
        #expect(expired == ["localhost:\(t.expired.port)": "1"])
        // The README's alert rule fires on problems only.
        let problems = try await query("count by (instance) (triage_probe_cause{severity=\"problem\"})")
        #expect(problems == ["localhost:\(t.expired.port)": "1"])
    }

    // MARK: - Under load

    /// A raw client connection to the exporter: bytes written as given, never read.
    final class RawClient {
        let fd: Int32
        init?(port: Int, send text: String = "") {
            guard let target = SocketAddress("127.0.0.1", port: port) else { return nil }
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0, target.withSockaddr({ connect(fd, $0, $1) }) == 0 else { if fd >= 0 { close(fd) }; return nil }
            if !text.isEmpty { _ = text.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) } }
        }
        /// Whether the server closes the connection within `limit` (a read returns end of file).
        func closedByServer(within limit: Duration) -> Bool {
            let end = ContinuousClock.now + limit
            var buffer = [UInt8](repeating: 0, count: 4096)
            while ContinuousClock.now < end {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, 100) > 0 else { continue }
                let n = recv(fd, &buffer, buffer.count, 0)
                if n <= 0 { return true }
            }
            return false
        }
        /// What the server sends until it closes the connection (or `limit` passes).
        func readToEnd(within limit: Duration) -> String {
            let end = ContinuousClock.now + limit
            var buffer = [UInt8](repeating: 0, count: 4096), received: [UInt8] = []
            while ContinuousClock.now < end {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, 100) > 0 else { continue }
                let n = recv(fd, &buffer, buffer.count, 0)
                if n <= 0 { break }
                received += buffer[0..<n]
            }
            return String(decoding: received, as: UTF8.self)
        }
        /// Shuts the client's side (`nc -N` after its request).
        func shutdownWrite() { _ = shutdown(fd, Int32(SHUT_WR)) }
        deinit { close(fd) }
    }

    /// A client that shuts its side right after its request (`nc -N`, `socat`) is answered: `/metrics`
    /// and `/` in full; a probe (of a silent target, under a 20 s scrape timeout) is dropped at once and
    /// counted so, as when a client that gave up closes (a FIN either way: Go's server does the same).
    @Test func aClientThatShutsItsSideIsAnswered() async throws {
        let silent = try PlainTCPServer(.silent)
        defer { silent.stop() }
        let exporter = try await Running.start([])
        defer { exporter.stop() }
        for (request, expected) in [("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", "triage_exporter_probes_total"),
                                    ("GET / HTTP/1.0\r\n\r\n", "/probe?target=HOST:PORT")] {
            let client = try #require(RawClient(port: exporter.port, send: request))
            client.shutdownWrite()
            let answer = client.readToEnd(within: .seconds(20))
            #expect(answer.hasPrefix("HTTP/1."), "\(request.debugDescription): \(answer)")
            #expect(answer.contains(expected), "\(answer)")
        }
        let before = try await metric("http://127.0.0.1:\(exporter.port)", "triage_exporter_probes_total{result=\"dropped\"}") ?? -1
        let client = try #require(RawClient(port: exporter.port, send: "GET /probe?target=127.0.0.1:\(silent.port) HTTP/1.1\r\nHost: x\r\n"
                                                                       + "X-Prometheus-Scrape-Timeout-Seconds: 20\r\n\r\n"))
        client.shutdownWrite()
        let answer = client.readToEnd(within: .seconds(15))
        #expect(answer.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"), "\(answer)")
        #expect(answer.contains("probe dropped"), "\(answer)")
        #expect(try await metric("http://127.0.0.1:\(exporter.port)", "triage_exporter_probes_total{result=\"dropped\"}") == before + 1)
    }

    /// Review findings on the connection's life: 20,000 pipelined Host-less requests after a `/metrics`
    /// are one 400 that closes the connection (written in the loop's next turn: written at once, each
    /// 400's flush delivered the next request one stack frame deeper, and the exporter overflowed its
    /// stack); a request the client cuts short by shutting its side is no connection error; the idle
    /// timer does not run during a pipelined probe that follows a quick answer.
    @Test func pipelinedEdgesOfAConnection() async throws {
        let silent = try PlainTCPServer(.silent)
        defer { silent.stop() }
        let exporter = try await Running.start(["--idle-timeout", "1s"])
        defer { exporter.stop() }
        let base = "http://127.0.0.1:\(exporter.port)"
        let flood = try #require(RawClient(port: exporter.port, send: "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
                                                                      + String(repeating: "GET / HTTP/1.1\r\n\r\n", count: 20_000)))
        flood.shutdownWrite()
        let answers = flood.readToEnd(within: .seconds(20))
        #expect(answers.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(answers.prefix(200))")
        #expect(answers.components(separatedBy: "HTTP/1.1 400 Bad Request\r\n").count == 2, "one 400: \(answers.prefix(400))")
        #expect(try await get("\(base)/metrics").0 == 200, "the exporter is still up")

        let errors = try await metric(base, "triage_exporter_connection_errors_total")
        let cut = try #require(RawClient(port: exporter.port, send: "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"))
        cut.shutdownWrite()
        _ = cut.readToEnd(within: .seconds(10))
        #expect(try await metric(base, "triage_exporter_connection_errors_total") == errors)
        #expect(errors == 0)

        // A quick answer, then on the same connection a probe of a silent target that takes about 2 s: the
        // 1 s idle timeout must not close the connection under it.
        let pipelined = try #require(RawClient(port: exporter.port, send: "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
            + "GET /probe?target=127.0.0.1:\(silent.port) HTTP/1.1\r\nHost: x\r\nX-Prometheus-Scrape-Timeout-Seconds: 2.5\r\nConnection: close\r\n\r\n"))
        let both = pipelined.readToEnd(within: .seconds(20))
        #expect(both.components(separatedBy: "HTTP/1.1 200 OK\r\n").count == 3, "both answered: \(both.suffix(300))")
        #expect(both.contains("probe_success 0"), "\(both.suffix(300))")
        #expect(try await metric(base, "triage_exporter_connections_closed_total{reason=\"idle\"}") == 0)
    }

    /// Two HTTP/1.0 requests in one write: the first asks to close the connection, so it is the only
    /// one answered (SwiftNIO's parser calls the second an error, and a 400 followed the 200).
    @Test func nothingIsAnsweredAfterARequestThatAskedToClose() async throws {
        let exporter = try await Running.start([])
        defer { exporter.stop() }
        let client = try #require(RawClient(port: exporter.port, send: "GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n"))
        let answer = client.readToEnd(within: .seconds(20))
        #expect(answer.hasPrefix("HTTP/1.0 200 OK\r\n"), "\(answer)")
        #expect(answer.components(separatedBy: "HTTP/1.").count == 2, "one answer only: \(answer)")
        #expect(answer.lowercased().contains("connection: close"))
    }

    /// HTTP/1.1 names its Host exactly once: without one, or with two, the request is refused (400), as
    /// Go's server and nginx refuse it; HTTP/1.0 needs none. An HTTP/1.0 client that asked to keep the
    /// connection is told it is kept (else it assumes the close), and its next request is answered.
    @Test func hostAndHTTP10KeepAliveAreAsHTTPSays() async throws {
        let exporter = try await Running.start([])
        defer { exporter.stop() }
        for (request, status) in [("GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"),
                                  ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"),
                                  ("GET / HTTP/1.0\r\n\r\n", "HTTP/1.0 200 OK\r\n")] {
            let client = try #require(RawClient(port: exporter.port, send: request + "GET / HTTP/1.0\r\n\r\n"))
            let answer = client.readToEnd(within: .seconds(20))
            #expect(answer.hasPrefix(status), "\(request.debugDescription): \(answer)")
        }
        let client = try #require(RawClient(port: exporter.port, send: "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /metrics HTTP/1.0\r\n\r\n"))
        let answer = client.readToEnd(within: .seconds(20))
        let answers = answer.components(separatedBy: "HTTP/1.0 200 OK\r\n").dropFirst()
        #expect(answers.count == 2, "both answered: \(answer)")
        #expect(answers.first?.lowercased().contains("connection: keep-alive") == true, "\(answer)")
        #expect(answers.last?.contains("triage_exporter_probes_total") == true, "\(answer)")
    }

    func metric(_ base: String, _ series: String) async throws -> Int? {
        let (_, text) = try await get("\(base)/metrics")
        return samples(text)[series].flatMap { Int($0) }
    }

    /// 500 probes of a silent target wait or run; a healthy target's probe under a 3 s scrape
    /// timeout still succeeds (the silent one holds at most its share of the 16 slots). When the
    /// 500 clients hang up, their probes are dropped, and counted so.
    @Test func aSilentTargetCannotHoldUpAHealthyOne() async throws {
        let t = try Self.targets()
        defer { t.stop() }
        let silent = try PlainTCPServer(.silent)
        defer { silent.stop() }
        let exporter = try await Running.start(["--cacert", t.ca, "--concurrency", "16"])
        defer { exporter.stop() }
        let base = "http://127.0.0.1:\(exporter.port)"
        let request = "GET /probe?target=127.0.0.1:\(silent.port) HTTP/1.1\r\nHost: x\r\nX-Prometheus-Scrape-Timeout-Seconds: 30\r\n\r\n"
        var clients: [RawClient] = []
        for _ in 0..<500 { if let c = RawClient(port: exporter.port, send: request) { clients.append(c) } }
        #expect(clients.count == 500)
        // Wait until the silent probes are queued (not on a clock: on the exporter's own gauge).
        var waiting = 0
        for _ in 0..<200 where waiting < 400 {
            waiting = try await metric(base, "triage_exporter_probes_waiting") ?? 0
            if waiting < 400 { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(waiting >= 400, "\(waiting) waiting")
        let (status, healthy) = try await get("\(base)/probe?target=localhost:\(t.valid.port)", headers: ["X-Prometheus-Scrape-Timeout-Seconds: 3"])
        #expect(status == 200)
        #expect(samples(healthy)["probe_success"] == "1", "\(healthy.prefix(300))")
        clients.removeAll()
        var dropped = 0
        for _ in 0..<400 where dropped < 400 {
            dropped = try await metric(base, "triage_exporter_probes_total{result=\"dropped\"}") ?? 0
            if dropped < 400 { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(dropped >= 400, "\(dropped) dropped")
        #expect(try await metric(base, "triage_exporter_probes_total{result=\"success\"}") == 1)
    }

    /// A request the exporter cannot read one way only is refused with 400 and the reason: a target or
    /// module given twice (blackbox_exporter takes the first), an http:// target (TLS probes only), a
    /// value whose percent-encoding is not UTF-8 (it was "missing").
    @Test func ambiguousOrPlainHTTPRequestsAreRefused() async throws {
        let modules: [String: Duration] = ["default": .seconds(5)]
        for (uri, reason) in [("/probe?target=a.test:443&target=b.test:443", "the target parameter is given twice"),
                              ("/probe?target=a.test:443&module=default&module=default", "the module parameter is given twice"),
                              ("/probe?target=http://a.test:8080/", "'http://a.test:8080/' is plain HTTP"),
                              ("/probe?target=%ff", "the target parameter is not percent-encoded UTF-8: '%ff'"),
                              ("/probe?target=a.test:443&module=%c3%28", "the module parameter is not percent-encoded UTF-8: '%c3%28'")] {
            guard case .refused(let status, let body) = ExporterRoute.parse(method: "GET", uri: uri, scrapeTimeout: nil, modules: modules) else {
                Issue.record("\(uri) was not refused")
                continue
            }
            #expect(status == 400)
            #expect(body.hasPrefix(reason), "\(body)")
        }
    }

    /// 200 *different* silent targets at once (one silent server, 200 paths: 200 queues) under the
    /// default concurrency: each holds a slot, and there are slots left, so a healthy target's probe
    /// under a 3 s scrape still succeeds. (With the old default of 64 it waited for the first silent
    /// probe's 5 s and was answered 503: a helper's 300 silent targets did that.)
    @Test func manyDifferentSilentTargetsLeaveRoomUnderTheDefault() async throws {
        let t = try Self.targets()
        defer { t.stop() }
        let silent = try PlainTCPServer(.silent)
        defer { silent.stop() }
        let exporter = try await Running.start(["--cacert", t.ca])
        defer { exporter.stop() }
        let base = "http://127.0.0.1:\(exporter.port)"
        var clients: [RawClient] = []
        for i in 0..<200 {
            let request = "GET /probe?target=127.0.0.1:\(silent.port)/s\(i) HTTP/1.1\r\nHost: x\r\nX-Prometheus-Scrape-Timeout-Seconds: 30\r\n\r\n"
            if let c = RawClient(port: exporter.port, send: request) { clients.append(c) }
        }
        #expect(clients.count == 200)
        var running = 0
        for _ in 0..<200 where running < 200 {
            running = try await metric(base, "triage_exporter_probes_in_flight") ?? 0
            if running < 200 { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(running == 200, "\(running) in flight")
        let (status, healthy) = try await get("\(base)/probe?target=localhost:\(t.valid.port)", headers: ["X-Prometheus-Scrape-Timeout-Seconds: 3"])
        #expect(status == 200)
        #expect(samples(healthy)["probe_success"] == "1", "\(healthy.prefix(300))")
        clients.removeAll()
    }

    /// A half-sent request is closed after the header timeout; an idle connection after the idle timeout;
    /// past the connection cap the oldest idle one is closed and a real scrape is answered.
    /// A request that announces a body and never sends it is closed at the header timeout, as a slow
    /// head is (it used to hold its connection for good); at the cap, connections waiting on their
    /// clients give way, so a real scrape is answered and the cap holds.
    @Test func unfinishedRequestsAreClosedAndGiveWayAtTheCap() async throws {
        let exporter = try await Running.start(["--header-timeout", "1s", "--idle-timeout", "60s"])
        defer { exporter.stop() }
        let base = "http://127.0.0.1:\(exporter.port)"
        let announced = try #require(RawClient(port: exporter.port, send: "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"))
        let chunked = try #require(RawClient(port: exporter.port, send: "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"))
        #expect(announced.closedByServer(within: .seconds(20)))
        #expect(chunked.closedByServer(within: .seconds(20)))
        #expect(try await metric(base, "triage_exporter_connections_closed_total{reason=\"header-timeout\"}") ?? 0 >= 2)
        // Counted once, under its reason: the decoder's "incomplete request" on the way out is no error of its own.
        #expect(try await metric(base, "triage_exporter_connection_errors_total") == 0)

        let capped = try await Running.start(["--header-timeout", "60s", "--idle-timeout", "60s", "--max-connections", "4"])
        defer { capped.stop() }
        let waiting = (0..<6).compactMap { _ in RawClient(port: capped.port, send: "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n") }
        #expect(waiting.count == 6)
        let (status, _) = try await get("http://127.0.0.1:\(capped.port)/metrics")
        #expect(status == 200)
        #expect(try await metric("http://127.0.0.1:\(capped.port)", "triage_exporter_connections_closed_total{reason=\"cap\"}") ?? 0 >= 2)
        // Two of the six give way (which ones depends on the event loops they were accepted on).
        var closed = Set<Int>()
        let end = ContinuousClock.now + .seconds(10)
        while closed.count < 2, ContinuousClock.now < end {
            for (i, client) in waiting.enumerated() where !closed.contains(i) && client.closedByServer(within: .milliseconds(20)) { closed.insert(i) }
        }
        #expect(closed.count >= 2)
    }

    /// A client that pipelines probe requests and never reads the answers: once its unread answers
    /// fill the socket, the next request waits for it to read (answers are not piled up in memory
    /// and probes are not run for it); when it reads, the rest are answered.
    @Test func aClientThatDoesNotReadIsNotAnsweredWithoutEnd() async throws {
        let exporter = try await Running.start([])
        defer { exporter.stop() }
        let base = "http://127.0.0.1:\(exporter.port)"
        let refused = SocketAddress.freePort()
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var small: Int32 = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        let target = try #require(SocketAddress("127.0.0.1", port: exporter.port))
        #expect(target.withSockaddr { connect(fd, $0, $1) } == 0)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        let request = Array("GET /probe?target=127.0.0.1:\(refused) HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        let batch = Array(repeating: request, count: 100).flatMap { $0 }
        var sent = 0
        let sending = ContinuousClock.now + .seconds(5)
        while sent < 30_000, ContinuousClock.now < sending {
            if send(fd, batch, batch.count, Int32(MSG_NOSIGNAL)) == batch.count { sent += 100 } else { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(sent >= 20_000, "only \(sent) requests could be sent")
        // Wait until the answered count stops growing (or 30 s).
        func answered() async throws -> Int {
            var total = 0
            for result in ["success", "failure", "dropped"] {
                total += try await metric(base, "triage_exporter_probes_total{result=\"\(result)\"}") ?? 0
            }
            return total
        }
        var last = -1, now = try await answered()
        let settling = ContinuousClock.now + .seconds(30)
        while now != last, ContinuousClock.now < settling {
            try await Task.sleep(for: .seconds(1))
            (last, now) = (now, try await answered())
        }
        #expect(now == last, "still answering: \(now) of \(sent)")
        #expect(now < sent / 2, "\(now) of \(sent) answered for a client that read nothing")
    }

    @Test func timeoutsAndTheConnectionCap() async throws {
        let exporter = try await Running.start(["--header-timeout", "1s", "--idle-timeout", "2s", "--max-connections", "4"])
        defer { exporter.stop() }
        let base = "http://127.0.0.1:\(exporter.port)"
        let half = try #require(RawClient(port: exporter.port, send: "GET /pro"))
        #expect(half.closedByServer(within: .seconds(20)))
        let idle = try #require(RawClient(port: exporter.port))
        #expect(idle.closedByServer(within: .seconds(20)))
        #expect(try await metric(base, "triage_exporter_connections_closed_total{reason=\"header-timeout\"}") ?? 0 >= 1)
        #expect(try await metric(base, "triage_exporter_connections_closed_total{reason=\"idle\"}") ?? 0 >= 1)
        let capped = try await Running.start(["--idle-timeout", "60s", "--max-connections", "4"])
        defer { capped.stop() }
        let idlers = (0..<6).compactMap { _ in RawClient(port: capped.port) }
        #expect(idlers.count == 6)
        let (status, _) = try await get("http://127.0.0.1:\(capped.port)/metrics")
        #expect(status == 200)
        #expect(try await metric("http://127.0.0.1:\(capped.port)", "triage_exporter_connections_closed_total{reason=\"cap\"}") ?? 0 >= 2)
        // Connections are accepted on several event loops: which two were oldest is not the test's business.
        #expect(idlers.filter { $0.closedByServer(within: .seconds(2)) }.count >= 2)
    }
}
