import Foundation
import Synchronization

/// A file kept as evidence, relative to the case folder.
public struct Artifact: Sendable, Hashable, Codable {
    public var path: String
    public var bytes: Int
    public var description: Message

    public init(path: String, bytes: Int, description: Message) {
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
    private let secrets: SecretSet

    public init(caseFolder: URL?, stepID: String, secrets: SecretSet = SecretSet()) {
        relativePath = "evidence/\(stepID)"
        root = caseFolder?.appendingPathComponent(relativePath, isDirectory: true)
        self.secrets = secrets
    }

    public var artifacts: [Artifact] { written.withLock { $0 } }

    /// The secrets the run sends, for steps that mask binary evidence themselves.
    public var secretValues: [String] { secrets.all }

    /// Writes text evidence, redacted.
    @discardableResult
    public func write(_ name: String, text: String, description: Message) throws -> Artifact {
        try write(name, data: Data(secrets.redact(Redactor.redact(text)).utf8), description: description)
    }

    /// A table triage generated (a capture's connections: addresses, names,
    /// dates, codes): the values triage sent are masked, the line-by-line
    /// pattern scan for credentials is not run over millions of fields none
    /// of which is a header or a URL.
    @discardableResult
    public func write(_ name: String, table bytes: [UInt8], description: Message) throws -> Artifact {
        var masked = bytes
        secrets.redact(bytes: &masked)
        return try write(name, data: Data(masked), description: description)
    }

    /// Writes binary evidence as is (captures, DER); callers redact what they frame.
    @discardableResult
    public func write(_ name: String, data: Data, description: Message) throws -> Artifact {
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
