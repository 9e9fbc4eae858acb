import Foundation

/// The folder a run leaves behind: `report.md`, `report.json`,
/// `evidence/<step-id>/…`. Reports are rewritten after every step, so a run
/// that is killed still leaves a readable partial case.
public struct CaseFolder: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        case md, json
    }

    public struct Unusable: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "cannot use \(path) as the case folder: \(reason)" }
    }

    public let url: URL
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

    /// Creates the folder. An existing folder is reused only when it is
    /// empty or holds an earlier case, so `--out` never clobbers other files.
    public func prepare() throws(Unusable) {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: url.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw Unusable(path: url.path, reason: "it is a file") }
            let entries = (try? fm.contentsOfDirectory(atPath: url.path)) ?? []
            guard entries.isEmpty || entries.contains("report.json") else {
                throw Unusable(path: url.path, reason: "it exists and is not an earlier triage case (no report.json); choose another --out")
            }
            return
        }
        do {
            try fm.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw Unusable(path: url.path, reason: String(describing: error))
        }
    }

    /// Writes the reports for the record as it stands.
    public func write(_ record: CaseRecord, formats: Set<Format>? = nil) throws {
        let formats = formats ?? self.formats
        let document = ReportDocument(record, table: renderer.table, secrets: secrets)
        if formats.contains(.json) {
            try AtomicFile.write(try document.json(), to: url.appendingPathComponent("report.json"))
        }
        if formats.contains(.md) {
            try AtomicFile.write(renderer.render(document, record: record, secrets: secrets), to: url.appendingPathComponent("report.md"))
        }
    }

    public var reportPath: String {
        url.appendingPathComponent(formats.contains(.md) ? "report.md" : "report.json").path
    }
}
