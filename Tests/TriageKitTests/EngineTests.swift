import Foundation
import Synchronization
import Testing
import TriageKit
import TriageTestSupport

@Suite struct EngineTests {
    func run(_ yaml: String, given: [String: String] = [:], folder: URL? = nil, timeout: Duration = .seconds(10),
             observer: @Sendable @escaping (EngineEvent, CaseRecord) async -> Void = { _, _ in }) async throws -> CaseRecord {
        let runbook = try RunbookLoader(catalog: TestSteps.catalog).load(yaml: yaml, source: "t.yaml")
        let inputs = try RunbookLoader.resolveInputs(runbook, given: given)
        var options = Engine.Options()
        options.caseFolder = folder
        options.defaultTimeout = timeout
        return await Engine(catalog: TestSteps.catalog, options: options).run(runbook, inputs: inputs, observer: observer)
    }

    /// A boolean or integer argument made from text of another kind fails its step with what it
    /// got (read as absent, the step would have used its default); yes/no and empty text still do.
    @Test func anArgumentOfTheWrongKindFailsItsStep() async throws {
        let yaml = """
            name: t
            inputs: { coop: {} }
            steps:
              - id: nap
                uses: test.sleep
                with: { for: 1ms, cooperative: "${{ inputs.coop }}" }
            """
        let wrong = try await run(yaml, given: ["coop": "maybe"])
        #expect(wrong.steps.first?.status == .failed)
        #expect(wrong.steps.first?.error.map(TextTable.english.render) == "input 'cooperative': 'maybe' is not a boolean; the step did not run")
        for fine in ["yes", "false", ""] {
            let record = try await run(yaml, given: ["coop": fine])
            #expect(record.steps.first?.status == .ok, "\(fine)")
        }
    }

    @Test func stepsRunInOrderAndOutputsFlow() async throws {
        let record = try await run("""
            name: t
            inputs: { url: { required: true } }
            steps:
              - id: one
                uses: test.echo
                with: { value: "${{ inputs.url.host }}", label: first }
              - id: two
                uses: test.echo
                with: { value: "got ${{ steps.one.outputs.value }} after ${{ steps.one.status }}", label: second }
            """, given: ["url": "https://h.test/x"])
        #expect(record.steps.map(\.id) == ["one", "two"])
        #expect(record.steps[1].outputs["value"] == "got h.test after ok")
        #expect(record.steps.allSatisfy { $0.status == .ok })
        #expect(record.diagnosis.verdict == .healthy)
    }

    @Test func falseConditionSkipsWithTheCondition() async throws {
        let record = try await run("""
            name: t
            inputs: { via: }
            steps:
              - id: reproduce
                uses: test.echo
                if: ${{ inputs.via }}
              - id: always
                uses: test.echo
                if: "!inputs.via && true"
            """)
        #expect(record.steps[0].status == .skipped)
        #expect(record.steps[0].condition == "${{ inputs.via }}")
        #expect(record.steps[0].summary.english == "skipped: `${{ inputs.via }}` is false")
        #expect(record.steps[1].status == .ok)
    }

    /// YAML's spellings of a condition: booleans as YAML 1.1 has them, null (`~`, `null`, nothing) false,
    /// an explicitly tagged string an expression.
    @Test func conditionsInEveryYAMLSpelling() async throws {
        let record = try await run("""
            name: t
            steps:
              - { id: yes-plain, uses: test.echo, if: yes }
              - { id: on-plain, uses: test.echo, if: on }
              - { id: off-plain, uses: test.echo, if: off }
              - { id: tilde, uses: test.echo, if: ~ }
              - { id: null-word, uses: test.echo, if: null }
              - { id: tagged-true, uses: test.echo, if: !!str true }
              - { id: quoted-false, uses: test.echo, if: "false" }
            """)
        let status = Dictionary(uniqueKeysWithValues: record.steps.map { ($0.id, $0.status) })
        #expect(status == ["yes-plain": .ok, "on-plain": .ok, "off-plain": .skipped, "tilde": .skipped, "null-word": .skipped,
                           "tagged-true": .ok, "quoted-false": .skipped])
    }

    @Test func forEachRunsOncePerItemAndMergesOutputs() async throws {
        let record = try await run("""
            name: t
            steps:
              - id: list
                uses: test.echo
                with: { value: [a, b, c] }
              - id: each
                uses: test.echo
                for_each: ${{ steps.list.outputs.value }}
                with: { value: "item=${{ item }}" }
              - id: after
                uses: test.echo
                with: { value: "${{ steps.each.outputs.value }}" }
            """)
        #expect(record.steps.map(\.id) == ["list", "each-1", "each-2", "each-3", "after"])
        #expect(record.steps[2].item == "b")
        #expect(record.steps[2].outputs["value"] == "item=b")
        #expect(record.steps[4].outputs["value"] == ["item=a", "item=b", "item=c"])
    }

    @Test func overrunningStepIsCancelledAndTheNextRuns() async throws {
        let record = try await run("""
            name: t
            steps:
              - id: slow
                uses: test.sleep
                with: { for: 30s }
                timeout: 200ms
              - id: stuck
                uses: test.sleep
                with: { for: 30s, cooperative: false }
                timeout: 100ms
              - id: next
                uses: test.echo
                with: { value: "${{ steps.slow.status }}/${{ steps.stuck.status }}" }
            """)
        #expect(record.steps[0].status == .timedOut)
        #expect(record.steps[0].summary.english == "did not finish within its 200ms deadline and was cancelled")
        #expect(record.steps[1].status == .timedOut)
        #expect(record.steps[2].outputs["value"] == "timed-out/timed-out")
    }

    @Test func failedStepIsRecordedAndTheRunGoesOn() async throws {
        let record = try await run("""
            name: t
            steps:
              - id: broken
                uses: test.fail
                with: { message: "no route to the thing" }
              - id: after
                uses: test.echo
                with: { value: "${{ steps.broken.status }}" }
              - id: stopper
                uses: test.fail
                continue_on_error: false
              - id: never
                uses: test.echo
            """)
        #expect(record.steps[0].status == .failed)
        #expect(record.steps[0].error?.english == "no route to the thing")
        #expect(record.steps[1].outputs["value"] == "failed")
        #expect(record.steps[3].status == .skipped)
        #expect(record.steps[3].summary.english == "not run: step 'stopper' failed and has continue_on_error: false")
    }

    @Test func expressionErrorAtRunTimeFailsTheStepWithItsLocation() async throws {
        let record = try await run("""
            name: t
            steps:
              - id: one
                uses: test.echo
                with: { value: 5 }
              - id: two
                uses: test.echo
                with: { value: "${{ steps.one.outputs.value.host }}" }
            """)
        #expect(record.steps[1].status == .failed)
        #expect(record.steps[1].error?.english == "t.yaml:8:25: steps.one.outputs.value is a number and has no property 'host'")
    }

    @Test func cancellationInterruptsAndTheRecordSaysSo() async throws {
        let folder = TestPaths.temporaryFolder()
        let started = Mutex(false)
        let yaml = """
            name: t
            steps:
              - id: quick
                uses: test.finding
                with: { cause: timeout }
              - id: off
                uses: test.echo
                if: ${{ false }}
              - id: long
                uses: test.sleep
                with: { for: 60s }
              - id: never
                uses: test.echo
            """
        let task = Task {
            try await run(yaml, folder: folder) { event, _ in
                if case .stepStarted(let id, _) = event, id == "long" { started.withLock { $0 = true } }
            }
        }
        while !started.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
        try await Task.sleep(for: .milliseconds(50))
        task.cancel()
        let record = try await task.value
        #expect(record.interrupted)
        #expect(record.diagnosis.verdict == .interrupted)
        #expect(record.steps.map(\.id) == ["quick", "off", "long"])
        #expect(record.steps[2].status == .interrupted)
        // The banner counts what ran of what would run: a step whose condition was false is neither.
        let template = try Bundled.template(language: "en")
        let md = try ReportRenderer(templateText: template.text, name: template.origin, table: TextTable.named("en")).render(record)
        #expect(md.contains("Interrupted after 2 of 3 steps"), "\(md.prefix(300))")
        // The summary counts the same way (it said 3: the skipped step too).
        let summary = ReportDocument(record, table: try TextTable.named("en")).summary
        #expect(summary.hasSuffix("run interrupted after 2 step(s); the evidence is partial"), "\(summary)")
        // Evidence of the finished step is on disk, secrets redacted.
        let note = try String(contentsOf: folder.appendingPathComponent("evidence/quick/note.txt"), encoding: .utf8)
        #expect(note == "Authorization: [REDACTED]\nfine\n")
    }

    @Test func deadlineHelperReturnsTheFirstOutcome() async {
        // A minute: on two busy cores the work may wait a while for a thread.
        let fast = await withDeadline(.seconds(60)) { 42 }
        guard case .finished(.success(42)) = fast else { Issue.record("expected 42, got \(fast)"); return }
        let slow = await withDeadline(.milliseconds(20)) { try await Task.sleep(for: .seconds(30)); return 1 }
        guard case .timedOut = slow else { Issue.record("expected a timeout, got \(slow)"); return }
    }

    @Test func aResultHandedInJustAfterTheTimeoutIsKept() async {
        // Blocking work (curl on the pool) that ends by itself just after the timeout: kept.
        let late = await withDeadline(.milliseconds(50)) {
            await withCheckedContinuation { (c: CheckedContinuation<Int, Never>) in
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(300)) { c.resume(returning: 7) }
            }
        }
        guard case .finished(.success(7)) = late else { Issue.record("expected 7, got \(late)"); return }
        // What an overdue operation throws once told to stop is its deadline, not a failure of its own.
        let thrown = await withDeadline(.milliseconds(50)) { () async throws -> Int in
            try await Task.sleep(for: .seconds(30)); return 1
        }
        guard case .timedOut = thrown else { Issue.record("expected a timeout, got \(thrown)"); return }
        // Work that ignores cancellation is abandoned after the hand-in window.
        let stuck = await withDeadline(.milliseconds(50)) {
            await withCheckedContinuation { (c: CheckedContinuation<Int, Never>) in
                DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(20)) { c.resume(returning: 1) }
            }
        }
        guard case .timedOut = stuck else { Issue.record("expected a timeout, got \(stuck)"); return }
    }

    @Test func afterLetsAStepOverlapWithTheOnesBetween() async throws {
        let record = try await run("""
            name: t
            steps:
              - id: base
                uses: test.echo
                with: { value: base }
              - id: slow
                uses: test.sleep
                with: { for: 400ms }
              - id: overlap
                uses: test.sleep
                after: [base]
                with: { for: 400ms }
              - id: last
                uses: test.echo
                with: { value: "${{ steps.slow.status }}/${{ steps.overlap.status }}" }
            """)
        #expect(record.steps.map(\.id) == ["base", "slow", "overlap", "last"])
        #expect(record.steps[3].outputs["value"] == "ok/ok")
        // 'overlap' started while 'slow' was still sleeping, not after it.
        #expect(record.steps[2].startedAt < record.steps[1].startedAt.addingTimeInterval(0.4),
                "slow \(record.steps[1].startedAt.timeIntervalSince1970), overlap \(record.steps[2].startedAt.timeIntervalSince1970)")
    }

    @Test func forEachItemsRunSideBySide() async throws {
        let record = try await run("""
            name: t
            steps:
              - id: each
                uses: test.sleep
                for_each: [1, 2, 3, 4]
                with: { for: 300ms }
            """)
        #expect(record.steps.map(\.id) == ["each-1", "each-2", "each-3", "each-4"])
        // Every item started before the first one could have finished.
        let starts = record.steps.map(\.startedAt)
        #expect(starts.max()! < starts.min()!.addingTimeInterval(0.3))
    }

    /// At most 64 items of one `for_each` at once (3,000 items of an `exec` step were 3,000
    /// processes): the 65th starts only when one of the first has ended; every item still runs.
    @Test func forEachRunsAtMost64ItemsAtOnce() async throws {
        let record = try await run("""
            name: t
            steps:
              - id: each
                uses: test.overlap
                for_each: [\((0..<150).map(String.init).joined(separator: ", "))]
                with: { for: 200ms }
            """)
        #expect(record.steps.count == 150)
        #expect(record.steps.allSatisfy { $0.status == .ok })
        // The most items under way at once, as the items themselves counted them.
        let most = TestSteps.Overlap.most.load(ordering: .sequentiallyConsistent)
        #expect(most <= 64 && most > 1, "\(most) items ran at once")
    }
}
