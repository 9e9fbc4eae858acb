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
    /// The step's folder, opened at the first write and kept while the step runs: each file then
    /// costs a create, a write and a rename (the folders were opened and closed for every file).
    private let directory = Mutex<Int32?>(nil)

    /// The case folder, and the step's folder's name inside `evidence/` (a fixed alphabet, see `FileName`).
    private let caseFolder: URL?
    private let folder: String

    public init(caseFolder: URL?, stepID: String, secrets: SecretSet = SecretSet()) {
        folder = FileName.safe(stepID)
        relativePath = "evidence/\(folder)"
        self.caseFolder = caseFolder
        root = caseFolder?.appendingPathComponent(relativePath, isDirectory: true)
        self.secrets = secrets
    }

    deinit { if let fd = directory.withLock({ $0 }) { close(fd) } }

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
        let file = FileName.safe(name)
        let artifact = Artifact(path: "\(relativePath)/\(file)", bytes: data.count, description: description)
        if let caseFolder {
            // Relative to the case folder, nothing inside it followed if it is a symlink.
            let dir = try directory.withLock { (fd: inout Int32?) throws(CaseFiles.Failure) -> Int32 in
                if let fd { return fd }
                let opened = try CaseFiles.openDirectory(root: caseFolder, path: ["evidence", folder])
                fd = opened
                return opened
            }
            try CaseFiles.write(data, in: dir, name: file, shown: "\(caseFolder.path)/evidence/\(folder)/\(file)")
        }
        register(artifact)
        return artifact
    }

    /// A table written row by row as a step produces it (a capture's
    /// connections: millions of rows need not be held): rows go to a
    /// temporary file in chunks, each chunk masked as `write(_:table:)`
    /// masks, and `finish` renames it into place.
    public func table(_ name: String) throws -> EvidenceTable {
        let file = FileName.safe(name)
        let stream = try caseFolder.map { folder throws(CaseFiles.Failure) in try CaseFiles.stream(root: folder, path: ["evidence", self.folder, file]) }
        return EvidenceTable(name: file, directory: self, stream: stream, secrets: secrets)
    }

    func register(_ artifact: Artifact) {
        written.withLock { list in
            list.removeAll { $0.path == artifact.path }
            list.append(artifact)
        }
    }

    /// Where a file would go, for steps whose C library writes it itself.
    public func url(for name: String) -> URL? { root?.appendingPathComponent(FileName.safe(name)) }
}

/// A table evidence file being written row by row; see `EvidenceDirectory.table`.
/// Rows are never split across chunks, so a masked value never is either.
public final class EvidenceTable {
    public let name: String
    private let directory: EvidenceDirectory
    private let stream: CaseFiles.Stream?
    private let secrets: SecretSet
    private var buffer: [UInt8] = []
    private var failed: CaseFiles.Failure?
    public private(set) var bytes = 0
    static let chunk = 1 << 20

    init(name: String, directory: EvidenceDirectory, stream: CaseFiles.Stream?, secrets: SecretSet) {
        self.name = name
        self.directory = directory
        self.stream = stream
        self.secrets = secrets
        buffer.reserveCapacity(Self.chunk + 4096)
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
        if let stream {
            secrets.redact(bytes: &buffer)
            do {
                try stream.write(buffer)
            } catch {
                // A full disk: the table is lost, not retried (nor grown) row by row; finish says so.
                failed = error
                throw error
            }
        }
    }

    /// Writes what is left and moves the file into place (an unfinished table leaves no file).
    @discardableResult
    public func finish(description: Message) throws -> Artifact {
        try flush()
        if let error = failed { throw error }
        try stream?.finish()
        let artifact = Artifact(path: "\(directory.relativePath)/\(name)", bytes: bytes, description: description)
        directory.register(artifact)
        return artifact
    }
}
