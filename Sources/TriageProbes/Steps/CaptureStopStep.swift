import Foundation
import TriageKit

/// `capture.stop`: stops the capture `capture.start` began and keeps it as
/// `evidence/<step>/capture.pcapng` (at most 64 MiB of frames; the frames
/// dropped over that limit and those the kernel dropped are facts).
/// Input: `capture` (the start step's output).
/// Outputs: `file` (the pcapng's path, for capture.decode), `frames`.
public struct CaptureStopStep: StepKind {
    public let name = "capture.stop"
    public let summary = "stop a live capture and keep it as capture.pcapng"
    public let inputs: [InputDeclaration] = [
        .init("capture", .string, required: true, "the capture output of capture.start"),
    ]

    public init() {}

    public func run(_ context: StepContext) async throws -> StepOutcome {
        guard let id = context.string("capture") else {
            return StepOutcome(summary: "no capture is running (capture.start could not capture)", outputs: ["file": .null, "frames": 0])
        }
        guard let capture = LiveCapture.running.withLock({ $0.removeValue(forKey: id) }) else {
            throw StepFailure("capture.stop: no capture '\(id)' is running")
        }
        let (bytes, frames, dropped, kernelDropped) = await onThread { _ in capture.stop() }
        let artifact = try context.evidence.write("capture.pcapng", data: Data(bytes),
                                                  description: "live capture on \(capture.device): \(capture.filter) (\(frames) frames)")
        var path = context.evidence.url(for: "capture.pcapng")?.path
        if path == nil {
            let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("triage-capture-\(UUID().uuidString).pcapng")
            try Data(bytes).write(to: temporary)
            path = temporary.path
        }
        var facts = [Fact("frames", .int(frames)), Fact("bytes", .int(artifact.bytes))]
        if dropped > 0 { facts.append(Fact("frames dropped (64 MiB limit)", .int(dropped))) }
        if kernelDropped > 0 { facts.append(Fact("frames dropped by the kernel (buffer full)", .int(kernelDropped))) }
        return StepOutcome(summary: "\(frames) frame(s) captured on \(capture.device)", command: "tshark -r capture.pcapng",
                           facts: facts, outputs: ["file": path.map(Value.string) ?? .null, "frames": .int(frames)])
    }
}
