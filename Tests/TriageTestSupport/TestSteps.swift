import Foundation
import Synchronization
import TriageKit
import TriageProbes

/// Step kinds that exist only for engine tests: they do nothing on the
/// network, so the engine's own behaviour (order, deadlines, outputs,
/// cancellation) is what the test sees.
public enum TestSteps {
    /// The standard catalog plus the test kinds.
    public static let catalog = StepCatalog(Array(StepCatalog.standard.kinds.values) + [Echo(), Sleep(), Fail(), Report(), Overlap()])

    /// `test.echo`: outputs its `with:` unchanged and logs the call order.
    public struct Echo: StepKind {
        public let name = "test.echo"
        public let summary = "outputs its arguments"
        public let inputs: [InputDeclaration] = [.init("value", .any, "anything"), .init("label", .string, "a label")]
        public let outputs: [OutputDeclaration] = [.init("value", .any, "the value"), .init("label", .string, "the label"),
                                                   .init("item", .any, "the for_each item")]
        public init() {}
        public func run(_ context: StepContext) async throws -> StepOutcome {
            StepOutcome(summary: Message(.errorText, ["text": .string("echo \(context["label"].text)")]),
                        outputs: ["value": context["value"], "label": context["label"], "item": context.item ?? .null])
        }
    }

    /// `test.sleep`: sleeps; `cooperative: false` ignores cancellation, like
    /// a stuck C call.
    public struct Sleep: StepKind {
        public let name = "test.sleep"
        public let summary = "sleeps"
        public let inputs: [InputDeclaration] = [.init("for", .duration, required: true, "how long"),
                                                 .init("cooperative", .boolean, "honour cancellation (default true)")]
        public let outputs: [OutputDeclaration] = [.init("slept", .boolean, "it slept")]
        public init() {}
        public func run(_ context: StepContext) async throws -> StepOutcome {
            let duration = try context.duration("for") ?? .seconds(1)
            if context["cooperative"].boolValue == false {
                // A stuck C call: a thread of its own that ignores cancellation
                // (real steps make C calls on the blocking pool, never on the
                // cooperative threads, which this must not starve either).
                await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                    Thread {
                        usleep(UInt32(duration.seconds * 1_000_000))
                        done.resume()
                    }.start()
                }
            } else {
                try await Task.sleep(for: duration)
            }
            return StepOutcome(summary: Message(.errorText, ["text": .string("slept \(Engine.format(duration))")]), outputs: ["slept": .bool(true)])
        }
    }

    /// `test.overlap`: holds for `for` and counts the runs of it under way; the most seen at once is
    /// `Overlap.most` (one test uses it: how many items of a `for_each` run side by side).
    public struct Overlap: StepKind {
        public static let running = Atomic<Int>(0)
        public static let most = Atomic<Int>(0)
        public let name = "test.overlap"
        public let summary = "counts the runs under way"
        public let inputs: [InputDeclaration] = [.init("for", .duration, required: true, "how long")]
        public let outputs: [OutputDeclaration] = []
        public init() {}
        public func run(_ context: StepContext) async throws -> StepOutcome {
            let now = Self.running.add(1, ordering: .sequentiallyConsistent).newValue
            Self.most.max(now, ordering: .sequentiallyConsistent)
            defer { Self.running.subtract(1, ordering: .sequentiallyConsistent) }
            try await Task.sleep(for: try context.duration("for") ?? .seconds(1))
            return StepOutcome(summary: Message(.errorText, ["text": .string("held")]))
        }
    }

    /// `test.fail`: throws.
    public struct Fail: StepKind {
        public let name = "test.fail"
        public let summary = "fails"
        public let inputs: [InputDeclaration] = [.init("message", .string, "the error")]
        public let outputs: [OutputDeclaration] = []
        public init() {}
        public func run(_ context: StepContext) async throws -> StepOutcome {
            throw StepFailure(.errorText, ["text": .string(context.string("message") ?? "failed on purpose")])
        }
    }

    /// `test.finding`: reports one finding of the given cause.
    public struct Report: StepKind {
        public let name = "test.finding"
        public let summary = "reports a finding"
        public let inputs: [InputDeclaration] = [.init("cause", .string, required: true, "cause code"),
                                                 .init("severity", .string, "problem or warning"),
                                                 .init("summary", .string, "summary")]
        public let outputs: [OutputDeclaration] = []
        public init() {}
        public func run(_ context: StepContext) async throws -> StepOutcome {
            guard let cause = context.string("cause").flatMap(Cause.init(rawValue:)) else { throw StepFailure(.errorText, ["text": "bad cause"]) }
            let severity = context.string("severity").flatMap(Severity.init(rawValue:)) ?? .problem
            let finding = Finding(cause, severity: severity, summary: Message(.errorText, ["text": .string(context.string("summary") ?? cause.code)]),
                                  subject: "test", facts: [Fact(.cause, .string(cause.code))])
            try context.evidence.write("note.txt", text: "Authorization: Bearer abc.def\nfine\n", description: Message(.errorText, ["text": "a note"]))
            return StepOutcome(summary: Message(.errorText, ["text": .string("found \(cause.code)")]), evidence: [.declared(finding)])
        }
    }
}
