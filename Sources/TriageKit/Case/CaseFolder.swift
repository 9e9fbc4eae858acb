import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The folder a run leaves behind: `report.md`, `report.json`,
/// `evidence/<step-id>/…`. Reports are rewritten after every step, so a run
/// that is killed still leaves a readable partial case.
public struct CaseFolder: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        /// report.md (GitHub, GitLab), report.json, report.jira (Jira wiki markup).
        case md, json, jira

        /// `--format md,json,jira`: the formats named, nil for an unknown or repeated one, or none.
        public static func parse(_ text: String) -> Set<Format>? {
            let names = text.split(separator: ",").map { String($0.trimmed { $0 == " " || $0 == "\t" }) }
            let formats = Set(names.compactMap(Format.init(rawValue:)))
            return !formats.isEmpty && formats.count == names.count ? formats : nil
        }
    }

    public struct Unusable: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        /// Another run claimed the folder first.
        public var taken = false
        public var description: String { "cannot use \(path) as the case folder: \(reason)" }
    }

    public var url: URL
    public var formats: Set<Format>
    public var renderer: ReportRenderer
    public var secrets: SecretSet

    public init(url: URL, formats: Set<Format>, renderer: ReportRenderer, secrets: SecretSet = SecretSet()) {
        self.url = url
        self.formats = formats
        self.renderer = renderer
        self.secrets = secrets
    }

    /// `incidents/<UTC yyyymmdd-HHMMSS>-<host>` under `parent`.
    public static func defaultURL(under parent: URL, host: String?, at date: Date) -> URL {
        let stamp = TextFormat.stamp(date)
        let safeHost = (host ?? "run").map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_" }
        return parent.appendingPathComponent("incidents").appendingPathComponent("\(stamp)-\(String(safeHost))")
    }

    /// The file triage writes in every case folder it makes: a folder is an
    /// earlier case only when it holds one (not because it has a report.json).
    public static let marker = ".triage-case"

    /// Holds a case folder for one run: an exclusive lock on its marker, released when the run ends.
    public final class Claim: Sendable {
        public let url: URL
        /// The folder asked for held an earlier case: this run went to `url` beside it.
        public let movedFrom: URL?
        private let fd: Int32

        init(url: URL, fd: Int32, movedFrom: URL?) {
            self.url = url
            self.fd = fd
            self.movedFrom = movedFrom
        }

        deinit { close(fd) }
    }

    /// Claims the folder for this run. A folder that does not exist or is empty is made a case;
    /// one that holds an earlier case is never replaced silently — the run goes to `NAME-2` (`-3`, …)
    /// beside it, unless `force`, which replaces that case (not while another run holds it); any other
    /// non-empty folder, or a file, is refused.
    public static func claim(_ url: URL, force: Bool) throws(Unusable) -> Claim {
        if force { return try make(url, movedFrom: nil, replacing: true) }
        if !isCase(url) {
            do {
                return try make(url, movedFrom: nil)
            } catch where error.taken {
                // Another run made it a case a moment ago: go beside it, as after any earlier case.
            }
        }
        for n in 2...999 {
            let sibling = url.deletingLastPathComponent().appendingPathComponent("\(url.lastPathComponent)-\(n)")
            if FileManager.default.fileExists(atPath: sibling.path) { continue }
            do {
                return try make(sibling, movedFrom: url)
            } catch where error.taken {
                continue
            } catch {
                // Not taken: it cannot be made at all (a parent this user may not write to). That is the reason,
                // not 998 earlier cases that do not exist.
                throw Unusable(path: url.path, reason: "it holds an earlier case, and \(sibling.path) beside it cannot be made: \(error.reason)")
            }
        }
        throw Unusable(path: url.path, reason: "it and its 998 siblings hold earlier cases; choose another --out")
    }

    static func isCase(_ url: URL) -> Bool {
        var st = stat()
        return lstat(url.appendingPathComponent(marker).path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    static func make(_ url: URL, movedFrom: URL?, replacing: Bool = false) throws(Unusable) -> Claim {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: url.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw Unusable(path: url.path, reason: "it is a file") }
            let entries = (try? fm.contentsOfDirectory(atPath: url.path)) ?? []
            guard entries.isEmpty || entries.contains(marker) else {
                throw Unusable(path: url.path, reason: "it exists and is not a triage case (no \(marker) marker); choose another --out")
            }
        } else {
            do {
                try fm.createDirectory(at: url, withIntermediateDirectories: true)
            } catch {
                // The system's reason ("Permission denied"), not Foundation's sentence ("You don’t have permission.").
                throw Unusable(path: url.path, reason: Readable.reason(of: error))
            }
        }
        // The marker is the claim: created exclusively here, or (an earlier case, --force) opened as it is.
        let path = url.appendingPathComponent(marker).path
        var fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        if fd < 0, errno == EEXIST, replacing { fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC) }
        guard fd >= 0 else {
            let e = errno
            throw Unusable(path: url.path, reason: e == EEXIST ? "another triage run is making a case there" : String(cString: strerror(e)), taken: e == EEXIST)
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw Unusable(path: url.path, reason: "another triage run is writing to it", taken: true)
        }
        let note = "triage case folder: reports and evidence of one run (started \(ISO8601.string(Date())), pid \(getpid()))\n"
        _ = ftruncate(fd, 0)
        _ = note.withCString { Glibc.write(fd, $0, strlen($0)) }
        if replacing {
            // The earlier case goes; the folder and its lock stay this run's.
            for entry in (try? fm.contentsOfDirectory(atPath: url.path)) ?? [] where entry != marker {
                try? fm.removeItem(at: url.appendingPathComponent(entry))
            }
        }
        return Claim(url: url, fd: fd, movedFrom: movedFrom)
    }

    /// Writes the reports for the record as it stands.
    public func write(_ record: CaseRecord, formats: Set<Format>? = nil) throws {
        let formats = formats ?? self.formats
        let document = ReportDocument(record, table: renderer.table, secrets: secrets)
        let (url, renderer, secrets) = (url, renderer, secrets)
        @Sendable func json() throws { try AtomicFile.write(try document.json(), to: url.appendingPathComponent("report.json")) }
        @Sendable func text() throws {
            let markdown = renderer.render(document, record: record, secrets: secrets)
            if formats.contains(.md) { try AtomicFile.write(markdown, to: url.appendingPathComponent("report.md")) }
            if formats.contains(.jira) { try AtomicFile.write(JiraMarkup.convert(markdown), to: url.appendingPathComponent("report.jira")) }
        }
        switch (formats.contains(.json), formats.contains(.md) || formats.contains(.jira)) {
        case (true, true):
            // report.json is encoded and written on a second thread while the text renders (the run's last
            // write waits for both: 2 % of a run); report.json's error is thrown first, as when one followed the other.
            let errors = Mutex<[Int: any Error]>([:])
            DispatchQueue.concurrentPerform(iterations: 2) { part in
                do { try part == 0 ? json() : text() } catch { errors.withLock { $0[part] = error } }
            }
            if let error = errors.withLock({ $0[0] ?? $0[1] }) { throw error }
        case (true, false): try json()
        case (false, true): try text()
        case (false, false): break
        }
    }

    /// report.json's text for the record, whether or not `--format` writes the file.
    public func json(_ record: CaseRecord) throws -> Data {
        try ReportDocument(record, table: renderer.table, secrets: secrets).json()
    }

    public var reportPath: String {
        url.appendingPathComponent(formats.contains(.md) ? "report.md" : formats.contains(.jira) ? "report.jira" : "report.json").path
    }
}
