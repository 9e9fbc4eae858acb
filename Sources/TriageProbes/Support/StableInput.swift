import Foundation
import Synchronization
import TriageKit

/// A file named on the command line that triage reads more than once — a CA bundle each step
/// loads, a client certificate checked and then presented, a trust store — may be a pipe:
/// `--cacert <(kubectl get secret … | base64 -d)`, a FIFO, /dev/stdin. A pipe gives its bytes
/// once, so the second reader found it empty and judged the server by a missing trust store.
/// Such a file is copied once into a temporary file (removed when triage leaves), and that
/// copy is what every reader opens; a regular file is used as it is.
public enum StableInput {
    public struct Problem: Error, CustomStringConvertible {
        public var description: String
    }

    /// Larger than any bundle, certificate or key: a pipe that keeps giving is not one.
    static let limit = 64 << 20

    private static let folder = Mutex<URL?>(nil)

    /// `path` itself when it is a regular file; otherwise a copy of what it gives now.
    /// `what` names the file in an error ("the CA file").
    public static func path(_ path: String, what: String) throws(Problem) -> String {
        if let why = Readable.why(path) { throw Problem(description: "cannot read \(what) \(path): \(why)") }
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT != S_IFREG else { return path }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw Problem(description: "cannot read \(what) \(path)") }
        defer { try? handle.close() }
        let data: Data
        do { data = try handle.read(upToCount: limit + 1) ?? Data() } catch {
            throw Problem(description: "cannot read \(what) \(path): \(Readable.reason(of: error))")
        }
        guard data.count <= limit else { throw Problem(description: "\(what) \(path) gives more than \(limit >> 20) MiB: not a certificate file") }
        let scratch = folder.withLock { made in
            if let made { return made }
            let url = TemporaryFolders.make("triage-inputs")
            made = url
            return url
        }
        do {
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            let copy = scratch.appendingPathComponent("\(UUID().uuidString.prefix(8))-\(FileName.safe((path as NSString).lastPathComponent))")
            // A key may be among them: readable by this user alone.
            guard FileManager.default.createFile(atPath: copy.path, contents: data, attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteUnknown)
            }
            return copy.path
        } catch {
            throw Problem(description: "cannot keep a copy of \(what) \(path) in \(scratch.path)")
        }
    }
}

extension StableInput {
    /// A CA bundle for `--cacert`: readable, made stable, and holding a PEM certificate (a file
    /// without one would leave every chain unverifiable and the verdict blaming the server).
    public static func caFile(_ path: String) throws(Problem) -> String {
        let stable = try Self.path(path, what: "the CA file")
        let head = FileManager.default.contents(atPath: stable).map { String(decoding: $0, as: UTF8.self) } ?? ""
        guard head.contains("-----BEGIN CERTIFICATE-----") || head.contains("-----BEGIN TRUSTED CERTIFICATE-----") else {
            throw Problem(description: "\(path) holds no PEM certificate (-----BEGIN CERTIFICATE-----): pass the CA's certificate, as to curl --cacert")
        }
        return stable
    }
}
