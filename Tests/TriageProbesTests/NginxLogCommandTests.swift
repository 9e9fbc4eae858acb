import Foundation
import Testing
import TriageKit
import TriageProbes
import TriageTestSupport

/// The nginx-log step's command to paste finds the lines the step found: nginx writes the upstream's URI
/// after its address (`"https://10.0.0.7:8443/x"`), an IPv6 address in brackets.
@Suite struct NginxLogCommandTests {
    @Test(arguments: [("10.0.0.7", "10.0.0.7:8443"), ("2001:db8::7", "[2001:db8::7]:8443")])
    func thePastedGrepFindsTheLines(address: String, authority: String) async throws {
        let folder = TestPaths.temporaryFolder("nginx-log-grep")
        let log = folder.appendingPathComponent("error.log")
        let line = "2026/06/01 12:00:00 [error] 7#7: *3 upstream timed out (110: Connection timed out) while reading response header from upstream, "
            + "client: 10.0.0.5, server: _, request: \"GET /test HTTP/1.1\", upstream: \"https://\(authority)/x\", host: \"gw.example.test\"\n"
        try line.write(to: log, atomically: true, encoding: .utf8)
        let context = StepContext(stepID: "nginx-log", arguments: ["file": .string(log.path), "match": .list([.string(address)]), "port": 8443],
                                  timeout: .seconds(5), deadline: .now + .seconds(5), runStartedAt: Date(),
                                  evidence: EvidenceDirectory(caseFolder: folder, stepID: "nginx-log"))
        let outcome = try await NginxErrorLogStep().run(context)
        #expect(outcome.outputs["count"] == .int(1), "\(outcome.outputs)")
        let pasted = try await Command.run(["/bin/sh", "-c", try #require(outcome.command)])
        #expect(pasted.stdout.contains("upstream timed out"), "\(outcome.command ?? "") → \(pasted.stdout)\(pasted.stderr)")
    }
}
