import Foundation
import Synchronization

/// Everything a step kind gets when it runs.
public struct StepContext: Sendable {
    /// The id the step's evidence is filed under (`handshake`, or
    /// `handshake-2` for the second item of a `for_each`).
    public var stepID: String
    /// `with:` after interpolation.
    public var arguments: [String: Value]
    /// The `item` of a `for_each` run.
    public var item: Value?
    public var timeout: Duration
    public var deadline: ContinuousClock.Instant
    /// The run's start: the "now" that certificate dates are measured against,
    /// so one report has one notion of now.
    public var runStartedAt: Date
    public var evidence: EvidenceDirectory
    /// The run's inputs, for steps that want the target URL or CA file.
    public var inputs: [String: Value]

    public init(stepID: String, arguments: [String: Value], item: Value? = nil, timeout: Duration,
                deadline: ContinuousClock.Instant, runStartedAt: Date, evidence: EvidenceDirectory,
                inputs: [String: Value] = [:]) {
        self.stepID = stepID
        self.arguments = arguments
        self.item = item
        self.timeout = timeout
        self.deadline = deadline
        self.runStartedAt = runStartedAt
        self.evidence = evidence
        self.inputs = inputs
    }

    public subscript(_ name: String) -> Value { arguments[name] ?? .null }

    /// A string argument, with numbers accepted as their text (ports).
    public func string(_ name: String) -> String? {
        switch arguments[name] {
        case .string(let s)?: s.isEmpty ? nil : s
        case .number(let n)?: Value.format(n)
        default: nil
        }
    }

    public func strings(_ name: String) -> [String] {
        switch arguments[name] {
        case .string(let s)?: s.isEmpty ? [] : [s]
        case .list(let l)?: l.map(\.text).filter { !$0.isEmpty }
        case .number(let n)?: [Value.format(n)]
        default: []
        }
    }

    /// A boolean argument; the strings "true"/"false" (from --set) count too.
    public func bool(_ name: String) -> Bool? {
        switch arguments[name] {
        case .bool(let b)?: b
        case .string(let s)?: ["true", "yes", "on", "1"].contains(s.lowercased()) ? true
            : ["false", "no", "off", "0", ""].contains(s.lowercased()) ? false : nil
        default: nil
        }
    }

    public func duration(_ name: String) -> Duration? {
        switch arguments[name] {
        case .string(let s)?: DurationParser.parse(s)
        case .number(let n)?: .milliseconds(Int64(n * 1000))
        default: nil
        }
    }

    /// The time left before the step's deadline, never negative.
    public var remaining: Duration { max(.zero, deadline - ContinuousClock.now) }
}

/// What a step produced.
public struct StepOutcome: Sendable {
    public var summary: String
    /// The manual command that shows the same thing (`openssl s_client …`).
    public var command: String?
    public var facts: [Fact]
    public var outputs: [String: Value]
    public var findings: [Finding]
    /// Raw evidence shown collapsed in the report (a trace, a command's output).
    public var transcript: String?
    /// Set when the step ran but what it ran failed (a command exiting non-zero).
    public var failed: Bool

    public init(summary: String, command: String? = nil, facts: [Fact] = [], outputs: [String: Value] = [:],
                findings: [Finding] = [], transcript: String? = nil, failed: Bool = false) {
        self.summary = summary
        self.command = command
        self.facts = facts
        self.outputs = outputs
        self.findings = findings
        self.transcript = transcript
        self.failed = failed
    }
}

/// A named piece of evidence: `notAfter = 2025-03-01T00:00:00Z`.
public struct Fact: Sendable, Hashable, Codable {
    public var name: String
    public var value: Value

    public init(_ name: String, _ value: Value) {
        self.name = name
        self.value = value
    }
}

/// A file kept as evidence, relative to the case folder.
public struct Artifact: Sendable, Hashable, Codable {
    public var path: String
    public var bytes: Int
    public var description: String

    public init(path: String, bytes: Int, description: String) {
        self.path = path
        self.bytes = bytes
        self.description = description
    }
}

/// `evidence/<step-id>/` of a case folder. Every file is written atomically
/// the moment the step hands it over, and text passes through `Redactor`
/// first, so no secret lands on disk. Without a folder (tests, `validate`)
/// files are only counted.
public final class EvidenceDirectory: Sendable {
    public let root: URL?
    public let relativePath: String
    private let written = Mutex<[Artifact]>([])

    public init(caseFolder: URL?, stepID: String) {
        relativePath = "evidence/\(stepID)"
        root = caseFolder?.appendingPathComponent(relativePath, isDirectory: true)
    }

    public var artifacts: [Artifact] { written.withLock { $0 } }

    /// Writes text evidence, redacted.
    @discardableResult
    public func write(_ name: String, text: String, description: String) throws -> Artifact {
        try write(name, data: Data(Redactor.redact(text).utf8), description: description)
    }

    /// Writes binary evidence as is (captures, DER); callers redact what they frame.
    @discardableResult
    public func write(_ name: String, data: Data, description: String) throws -> Artifact {
        let artifact = Artifact(path: "\(relativePath)/\(name)", bytes: data.count, description: description)
        if let root {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            try AtomicFile.write(data, to: root.appendingPathComponent(name))
        }
        written.withLock { list in
            list.removeAll { $0.path == artifact.path }
            list.append(artifact)
        }
        return artifact
    }

    /// Where a file would go, for steps whose C library writes it itself.
    public func url(for name: String) -> URL? { root?.appendingPathComponent(name) }
}
