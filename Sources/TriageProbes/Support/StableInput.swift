import Foundation
import Synchronization
import TriageKit

/// A file named on the command line that triage reads more than once — a CA bundle each step
/// loads, a client certificate checked and then presented, a trust store — may be a pipe:
/// `--cacert <(kubectl get secret … | base64 -d)`, a FIFO, /dev/stdin. A pipe gives its bytes
/// once, so the second reader found it empty and judged the server by a missing trust store.
/// Such a file is read once (within `Readable.contents`' bounds) into a file of this user's
/// alone (folder 0700, file 0600, made so from the start) that every reader opens; it is
/// removed when triage leaves (not after a SIGKILL). A regular file is used as it is.
public enum StableInput {
    public struct Problem: Error, CustomStringConvertible {
        public var description: String
    }

    /// Larger than any bundle, certificate or key: a pipe that keeps giving is not one.
    public static let limit = 64 << 20

    private static let folder = Mutex<URL?>(nil)

    /// `path` itself when it is a regular file; otherwise a copy of what it gives now.
    /// `what` names the file in an error ("the CA file").
    /// `patience`: how long a pipe may take to give all it has.
    public static func path(_ path: String, what: String, patience: Duration = .seconds(30)) throws(Problem) -> String {
        if let why = Readable.why(path) { throw Problem(description: "cannot read \(what) \(path): \(why)") }
        guard !Readable.isRegular(path) else { return path }
        let data: Data
        do { data = try Readable.contents(path, limit: limit, patience: patience) } catch { throw Problem(description: "cannot read \(what) \(path): \(error)") }
        let scratch = try folder.withLock { made throws(Problem) -> URL in
            if let made { return made }
            let url = TemporaryFolders.make("triage-inputs")
            guard mkdir(url.path, 0o700) == 0 else {
                throw Problem(description: "cannot make \(url.path): \(String(cString: strerror(errno)))")
            }
            made = url
            return url
        }
        let copy = scratch.appendingPathComponent("\(UUID().uuidString.prefix(8))-\(FileName.safe((path as NSString).lastPathComponent))")
        // A key may be among them: readable by this user alone, from the first byte.
        let fd = open(copy.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Problem(description: "cannot keep a copy of \(what) \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var offset = 0
        while offset < data.count {
            let n = data.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw Problem(description: "cannot keep a copy of \(what) \(path): \(String(cString: strerror(errno)))") }
            offset += n
        }
        return copy.path
    }
}

extension StableInput {
    /// A CA bundle for `--cacert`: readable, made stable, and holding a PEM certificate (a file
    /// without one would leave every chain unverifiable and the verdict blaming the server).
    public static func caFile(_ path: String) throws(Problem) -> String {
        let stable = try Self.path(path, what: "the CA file")
        let text: String
        do { text = String(decoding: try Readable.contents(stable, limit: limit), as: UTF8.self) } catch {
            throw Problem(description: "cannot read the CA file \(path): \(error)")
        }
        guard text.contains("-----BEGIN CERTIFICATE-----") || text.contains("-----BEGIN TRUSTED CERTIFICATE-----") else {
            throw Problem(description: "\(path) holds no PEM certificate (-----BEGIN CERTIFICATE-----): pass the CA's certificate, as to curl --cacert")
        }
        return stable
    }
}
