import Foundation
import Testing
import TriageFleet
import TriageKit
import TriageProbes
import TriageTestSupport

/// An exporter module with `http: true` judges its request as `triage run` judges its own: a 200
/// whose body the server cut short, a body that never ends, a 5xx are failures with their cause
/// (the status alone made the first two successes, and none of the three had a cause series).
@Suite struct ExporterHTTPModuleTests {
    /// An exporter with an HTTP module lets as many transfers run as probes may: the blocking pool's
    /// limit is raised to its concurrency (at 256 probes a pool of 64 made the rest wait past their deadline).
    @Test func theBlockingPoolHoldsEveryProbesTransfer() throws {
        var module = ExporterConfig.Module()
        module.http = true
        var limits = ExporterServer.Limits()
        limits.concurrency = 700
        _ = ExporterServer(probes: ["h": try ModuleProbe(module)], limits: limits)
        #expect(BlockingPool.shared.limit >= 708)
    }

    @Test(arguments: [
        (HostileServer.HTTPBehaviour.answer(200, headers: [], body: "ok\n"), nil as String?, 200),
        (.shortBody(declared: 1000, sent: 10), "upstream-closed-early", 200),
        (.endlessBody, "http-timeout", 200),
        (.status(500), "http-error", 500),
    ])
    func theRequestIsJudgedAsRunJudgesIt(behaviour: HostileServer.HTTPBehaviour, cause: String?, status: Int) async throws {
        let server = try HostileServer(.tls(behaviour), names: ["localhost"])
        defer { server.stop() }
        var module = ExporterConfig.Module()
        module.http = true
        module.caFile = server.caFile
        module.timeout = .seconds(2)
        let probe = try ModuleProbe(module)
        let metrics = await probe.run(try Target("localhost:\(server.port)"), timeout: .seconds(2))
        let text = metrics.text
        #expect(text.contains("\nprobe_http_status_code \(status)\n"), "\(text)")
        #expect(text.contains("\nprobe_success \(cause == nil ? 1 : 0)\n"), "\(text)")
        #expect(metrics.success == (cause == nil), "\(text)")
        if let cause {
            #expect(text.contains("triage_probe_cause{cause=\"\(cause)\",severity=\"problem\"} 1"), "\(text)")
        } else {
            #expect(!text.contains("triage_probe_cause"), "\(text)")
        }
    }

    /// A module `path` with a space or a line break is refused at its line (curl refused every request,
    /// each probe failing with no cause; a CR LF would have sent a header of its own).
    @Test func aPathThatCannotGoInARequestLineIsRefused() {
        for path in ["/a b", "/x\\r\\nX-Injected: 1", "/t\\tab"] {
            let read = ExporterConfig.read(yaml: "modules:\n  get:\n    http: true\n    path: \"\(path)\"\n", source: "m.yaml", caFile: nil)
            #expect(read.problems.map(\.description) == ["m.yaml:4:11: path: a space or control character (CR, LF, tab) cannot go in a request line: percent-encode it (%20)"], "\(path): \(read.problems)")
        }
    }

    /// A module timeout under 100 ms is refused at its line: every scrape without Prometheus's timeout
    /// header was a 503 (no time left to probe), which Prometheus counts as the exporter down.
    @Test func aTimeoutTooShortToProbeIsRefused() {
        let read = ExporterConfig.read(yaml: "modules:\n  tiny:\n    timeout: 1ms\n  fine:\n    timeout: 100ms\n", source: "m.yaml", caFile: nil)
        #expect(read.problems.map(\.description) == ["m.yaml:3:14: timeout: '1ms' is shorter than a probe can run in: at least 100ms"], "\(read.problems)")
    }

    /// An expired intermediate under a valid leaf: the module's request adds no `cert-expired` (curl's
    /// "certificate has expired" is about the chain, which the handshake's checks already named).
    @Test func anExpiredIntermediateIsNotTheLeafsExpiry() async throws {
        let root = try TLSFixtures.root()
        let intermediate = try TLSFixtures.intermediate("expired intermediate", notBefore: TLSFixtures.midnight(-400), notAfter: TLSFixtures.midnight(-10), issuer: root)
        let leaf = try TLSFixtures.leaf(sans: ["localhost"], issuer: intermediate)
        let server = try TLSFixtures.server(chain: [leaf, intermediate], key: leaf) { _ in } handler: { c, _ in
            _ = c.readRequest()
            c.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        }
        defer { server.stop() }
        var module = ExporterConfig.Module()
        module.http = true
        module.caFile = try TLSFixtures.file(root.certificatePEM)
        let text = await (try ModuleProbe(module)).run(try Target("localhost:\(server.port)"), timeout: .seconds(2)).text
        #expect(text.contains("triage_probe_cause{cause=\"intermediate-expired\",severity=\"problem\"} 1"), "\(text)")
        #expect(!text.contains("cause=\"cert-expired\""), "\(text)")
    }

    /// The same rule on hand-built findings: a request's finding of a connection stage the checks judged a
    /// problem is dropped; one of a stage they found fine, a warning's, or HTTP's own stays.
    @Test func requestFindingsAddOnlyWhatTheChecksDidNotJudge() {
        func f(_ cause: Cause, _ severity: Severity = .problem) -> Finding {
            Finding(cause, severity: severity, summary: Message(.errorText, ["text": "x"]), subject: "api.test")
        }
        let request = [f(.certExpired), f(.connectionReset), f(.httpError)]
        #expect(ModuleProbe.requestFindings(request, besides: [f(.intermediateExpired)]).map(\.cause) == [.connectionReset, .httpError])
        #expect(ModuleProbe.requestFindings(request, besides: [f(.certExpiresSoon, .warning)]).map(\.cause) == [.certExpired, .connectionReset, .httpError])
        #expect(ModuleProbe.requestFindings(request, besides: []).map(\.cause) == [.certExpired, .connectionReset, .httpError])
        #expect(ModuleProbe.requestFindings([f(.httpError)], besides: [f(.httpTimeout)]).map(\.cause) == [.httpError])
    }

    /// The target's own path and query are what is fetched (`target=https://host/broken?x=1`, as
    /// blackbox_exporter takes it); the module's `path` only when the target has none.
    @Test func theTargetsPathIsFetched() async throws {
        let server = try HostileServer(.tls(.statusByPath(["/healthz": 200, "/broken?x=1": 500])), names: ["localhost"])
        defer { server.stop() }
        var module = ExporterConfig.Module()
        module.http = true
        module.path = "/healthz"
        module.caFile = server.caFile
        let probe = try ModuleProbe(module)
        let own = await probe.run(try Target("https://localhost:\(server.port)/broken?x=1"), timeout: .seconds(2)).text
        #expect(own.contains("\nprobe_http_status_code 500\n") && own.contains("cause=\"http-error\""), "\(own)")
        let bare = await probe.run(try Target("localhost:\(server.port)"), timeout: .seconds(2)).text
        #expect(bare.contains("\nprobe_http_status_code 200\n") && bare.contains("\nprobe_success 1\n"), "\(bare)")
    }
}
