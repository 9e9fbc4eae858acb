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
        register(artifact)
        return artifact
    }

    /// A table written row by row as a step produces it (a capture's
    /// connections: millions of rows need not be held): rows go to a
    /// temporary file in chunks, each chunk masked as `write(_:table:)`
    /// masks, and `finish` renames it into place.
    public func table(_ name: String) throws -> EvidenceTable {
        var handle: FileHandle?
        var temp: URL?
        if let root {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            let url = root.appendingPathComponent(".\(name).\(UUID().uuidString.prefix(8)).tmp")
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: url.path])
            }
            handle = try FileHandle(forWritingTo: url)
            temp = url
        }
        return EvidenceTable(name: name, directory: self, handle: handle, temp: temp, secrets: secrets)
    }

    func register(_ artifact: Artifact) {
        written.withLock { list in
            list.removeAll { $0.path == artifact.path }
            list.append(artifact)
        }
    }

    /// Where a file would go, for steps whose C library writes it itself.
    public func url(for name: String) -> URL? { root?.appendingPathComponent(name) }
}

/// A table evidence file being written row by row; see `EvidenceDirectory.table`.
/// Rows are never split across chunks, so a masked value never is either.
public final class EvidenceTable {
    public let name: String
    private let directory: EvidenceDirectory
    private let handle: FileHandle?
    private let temp: URL?
    private let secrets: SecretSet
    private var buffer: [UInt8] = []
    private var finished = false
    private var failed: Error?
    public private(set) var bytes = 0
    static let chunk = 1 << 20

    init(name: String, directory: EvidenceDirectory, handle: FileHandle?, temp: URL?, secrets: SecretSet) {
        self.name = name
        self.directory = directory
        self.handle = handle
        self.temp = temp
        self.secrets = secrets
        buffer.reserveCapacity(Self.chunk + 4096)
    }

    deinit {
        // Not finished (the step failed or was cancelled): no half file is left behind.
        if !finished, let temp { try? handle?.close(); try? FileManager.default.removeItem(at: temp) } // (close twice is harmless)
    }

    /// Appends one or more whole rows.
    public func append(_ rows: [UInt8]) throws {
        buffer += rows
        if buffer.count >= Self.chunk { try flush() }
    }

    /// Appends whole rows built in place.
    public func append(_ build: (inout [UInt8]) -> Void) throws {
        build(&buffer)
        if buffer.count >= Self.chunk { try flush() }
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        defer { buffer.removeAll(keepingCapacity: true) }
        if let error = failed { throw error }
        bytes += buffer.count
        if let handle {
            secrets.redact(bytes: &buffer)
            do {
                try handle.write(contentsOf: buffer)
            } catch {
                // A full disk: the table is lost, not retried (nor grown) row by row; finish says so.
                failed = error
                throw error
            }
        }
    }

    /// Writes what is left and moves the file into place.
    @discardableResult
    public func finish(description: Message) throws -> Artifact {
        try flush()
        if let error = failed { throw error }
        let artifact = Artifact(path: "\(directory.relativePath)/\(name)", bytes: bytes, description: description)
        if let handle, let temp, let root = directory.root {
            try handle.close()
            guard rename(temp.path, root.appendingPathComponent(name).path) == 0 else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: root.appendingPathComponent(name).path])
            }
        }
        finished = true
        directory.register(artifact)
        return artifact
    }
}
