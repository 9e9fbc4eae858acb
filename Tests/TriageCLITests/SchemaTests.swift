import Foundation
import Testing
import TriageKit
import TriageProbes
import TriageTestSupport

/// schema/runbook.schema.json describes what the loader accepts: bundled
/// runbooks pass both; the malformed runbooks the loader refuses, the schema
/// refuses too (duplicate ids and step references are beyond JSON Schema and
/// are the loader's alone).
@Suite struct SchemaTests {
    @Test func schemaFileIsTheGeneratedOne() throws {
        let file = try String(contentsOf: TestPaths.repository.appendingPathComponent("schema/runbook.schema.json"), encoding: .utf8)
        #expect(file == RunbookSchema.json(catalog: .standard), "schema/runbook.schema.json is stale: run make schema")
    }

    static let malformed: [String: String] = [
        "unknown-top-key": "name: x\nstpes: []\nsteps:\n  - { id: a, uses: exec, with: { run: [true] } }\n",
        "missing-steps": "name: x\n",
        "unknown-step-key": "name: x\nsteps:\n  - { id: a, uses: exec, timout: 5s, with: { run: [true] } }\n",
        "unknown-kind": "name: x\nsteps:\n  - { id: a, uses: exce }\n",
        "bad-duration": "name: x\nsteps:\n  - { id: a, uses: exec, timeout: 10 seconds, with: { run: [true] } }\n",
        "wrong-bool": "name: x\nsteps:\n  - { id: a, uses: exec, continue_on_error: maybe, with: { run: [true] } }\n",
        "wrong-input-type": "name: x\nsteps:\n  - { id: a, uses: exec, with: { run: [true], shell: 3 } }\n",
        "unknown-input": "name: x\nsteps:\n  - { id: a, uses: exec, with: { runn: [true] } }\n",
        "missing-required-input": "name: x\nsteps:\n  - { id: a, uses: exec }\n",
        "bad-step-id": "name: x\nsteps:\n  - { id: 1st, uses: exec, with: { run: [true] } }\n",
        "unknown-input-key": "name: x\ninputs:\n  url: { requird: true }\nsteps:\n  - { id: a, uses: exec, with: { run: [true] } }\n",
        "empty-steps": "name: x\nsteps: []\n",
    ]

    @Test func bundledRunbooksPassLoaderAndSchema() async throws {
        let loader = RunbookLoader(catalog: .standard)
        var files: [String] = []
        for name in Bundled.runbookNames {
            let path = TestPaths.repository.appendingPathComponent("runbooks/\(name).yaml").path
            _ = try loader.load(contentsOf: path)
            files.append(path)
        }
        let result = try await Command.run([TestPaths.repository.appendingPathComponent("scripts/check-schema.py").path] + files)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").allSatisfy { $0.hasPrefix("ok ") }, "\(result.stdout)")
        #expect(result.stdout.split(separator: "\n").count == files.count)
    }

    @Test func schemaRejectsWhatTheLoaderRejects() async throws {
        let folder = TestPaths.temporaryFolder("schema")
        let loader = RunbookLoader(catalog: .standard)
        var files: [String] = []
        for (name, yaml) in Self.malformed.sorted(by: { $0.key < $1.key }) {
            #expect(throws: RunbookError.self, "loader accepts \(name)") { try loader.load(yaml: yaml, source: name) }
            let url = folder.appendingPathComponent("\(name).yaml")
            try yaml.write(to: url, atomically: true, encoding: .utf8)
            files.append(url.path)
        }
        let result = try await Command.run([TestPaths.repository.appendingPathComponent("scripts/check-schema.py").path] + files)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == Self.malformed.count)
        for line in lines { #expect(line.hasPrefix("invalid "), "schema accepts: \(line)") }
    }
}
