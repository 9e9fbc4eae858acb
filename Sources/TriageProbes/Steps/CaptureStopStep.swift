import Foundation
import TriageKit
import TriageWire

/// `capture.stop`: stops the capture `capture.start` began and keeps it as
/// `evidence/<step>/capture.pcapng` (at most 64 MiB of frames; the frames
/// dropped over that limit and those the kernel dropped are facts). The
/// values of secret headers in clear-text payloads (Authorization, Cookie,
/// Set-Cookie …) and every secret the run sent are masked with `*`, frame
/// lengths unchanged.
public struct CaptureStopStep: StepKind {
    public let name = "capture.stop"
    public let summary = "stop a live capture and keep it as capture.pcapng (secrets in clear text masked)"
    public let inputs: [InputDeclaration] = [
        .init("capture", .string, required: true, "the capture output of capture.start"),
    ]
    public let outputs: [OutputDeclaration] = [
        .init("file", .string, "the pcapng's path, for capture.decode"),
        .init("frames", .integer, "frames captured"),
    ]

    public init() {}

    public func run(_ context: StepContext) async throws -> StepOutcome {
        guard let id = context.string("capture") else {
            return StepOutcome(summary: Message(.captureNoneRunning), outputs: ["file": .null, "frames": 0])
        }
        guard let capture = context.resources.take(id) as? LiveCapture else {
            throw StepFailure(.captureNotRunning, ["id": .string(id)])
        }
        let (bytes, frames, dropped, kernelDropped) = await onPool { _ in capture.stop() }
        var masked = bytes
        PayloadRedactor.mask(&masked, secrets: context.evidence.secretValues)
        let artifact = try context.evidence.write("capture.pcapng", data: Data(masked),
                                                  description: Message(.evidenceCapture, ["device": .string(capture.device), "filter": .string(capture.filter),
                                                                                          "frames": .int(frames)]))
        var path = context.evidence.url(for: "capture.pcapng")?.path
        if path == nil {
            let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("triage-capture-\(UUID().uuidString).pcapng")
            try Data(masked).write(to: temporary)
            path = temporary.path
        }
        var facts = [Fact(.frames, .int(frames)), Fact(.bytes, .int(artifact.bytes))]
        if dropped > 0 { facts.append(Fact(.framesDropped, .int(dropped))) }
        if kernelDropped > 0 { facts.append(Fact(.kernelDropped, .int(kernelDropped))) }
        return StepOutcome(summary: Message(.captureStopped, ["frames": .int(frames), "device": .string(capture.device)]),
                           command: "tshark -r capture.pcapng", facts: facts,
                           outputs: ["file": path.map(Value.string) ?? .null, "frames": .int(frames)])
    }
}
