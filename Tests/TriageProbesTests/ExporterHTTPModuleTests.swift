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
}
