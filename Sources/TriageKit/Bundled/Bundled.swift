import Foundation

/// The runbooks and report templates that ship inside the binary, and the
/// lookup order that lets a user override them: an explicit path first, then
/// `$TRIAGE_HOME/runbooks/NAME.yaml` (or `templates/`), then the embedded copy.
public enum Bundled {
    public struct Source: Sendable {
        public var text: String
        /// A path, or `bundled:NAME` for the embedded copy.
        public var origin: String
    }

    public struct NotFound: Error, CustomStringConvertible {
        public var what: String
        public var name: String
        public var known: [String]
        /// Set when the file exists but cannot be used (not UTF-8, a directory).
        public var unusable: String? = nil
        public var description: String {
            if let unusable { return "\(name): \(unusable)" }
            return "no \(what) named '\(name)': give a file path, or one of \(known.joined(separator: ", "))"
        }
    }

    public static var runbookNames: [String] {
        BundledFiles.runbooks.keys.map { String($0.dropLast(".yaml".count)) }.sorted()
    }

    /// The runbooks of `$TRIAGE_HOME/runbooks` (`NAME.yaml` / `NAME.yml`), by name, with their paths.
    public static func userRunbooks(environment: [String: String] = Bundled.home) -> [(name: String, path: String)] {
        guard let home = environment["TRIAGE_HOME"], !home.isEmpty,
              let files = try? FileManager.default.contentsOfDirectory(atPath: "\(home)/runbooks") else { return [] }
        var out: [String: String] = [:]
        for file in files.sorted() {
            for ext in [".yaml", ".yml"] where file.hasSuffix(ext) && file.count > ext.count && !file.hasPrefix(".") {
                let name = String(file.dropLast(ext.count))
                if out[name] == nil || ext == ".yaml" { out[name] = "\(home)/runbooks/\(file)" }
            }
        }
        return out.keys.sorted().map { ($0, out[$0]!) }
    }

    /// A runbook by path (anything with a `/` or ending in .yaml/.yml) or by name.
    public static func runbook(_ nameOrPath: String, environment: [String: String] = Bundled.home) throws(NotFound) -> Source {
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".yaml") || nameOrPath.hasSuffix(".yml") {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: nameOrPath, isDirectory: &isDirectory) {
                guard !isDirectory.boolValue else { throw NotFound(what: "runbook file", name: nameOrPath, known: [], unusable: "is a directory, not a runbook file") }
                let data: Data
                do { data = try Readable.contents(nameOrPath, limit: Self.runbookLimit) } catch {
                    throw NotFound(what: "runbook file", name: nameOrPath, known: [],
                                   unusable: error.tooLarge ? "is larger than \(Self.runbookLimit >> 20) MiB: not a runbook" : "cannot be read: \(error)")
                }
                guard let text = String(validating: data, as: UTF8.self) else {
                    let offset = Self.firstInvalidUTF8(data)
                    let at = SourceLocation(file: nameOrPath, byteOffset: offset, in: Array(data))
                    throw NotFound(what: "runbook file", name: nameOrPath, known: [],
                                   unusable: "is not UTF-8 text: line \(at.line), column \(at.column) (byte \(offset)) does not decode; save it as UTF-8")
                }
                return Source(text: text, origin: nameOrPath)
            }
            throw NotFound(what: "runbook file", name: nameOrPath, known: runbookNames)
        }
        if let home = environment["TRIAGE_HOME"], !home.isEmpty {
            for ext in ["yaml", "yml"] {
                let path = "\(home)/runbooks/\(nameOrPath).\(ext)"
                // Read as a path is: one too large or not UTF-8 says so (it was skipped for the bundled one).
                if FileManager.default.fileExists(atPath: path) { return try runbook(path, environment: environment) }
            }
        }
        guard let text = BundledFiles.runbooks["\(nameOrPath).yaml"] else {
            // No runbook of that name, but a file or folder here has it: the user meant that path.
            if FileManager.default.fileExists(atPath: nameOrPath) { return try runbook("./" + nameOrPath, environment: environment) }
            throw NotFound(what: "runbook", name: nameOrPath, known: Array(Set(runbookNames + userRunbooks(environment: environment).map(\.name))).sorted())
        }
        return Source(text: text, origin: "bundled:\(nameOrPath)")
    }

    /// The report template for a language, or the file given with --template.
    public static func template(language: String, path: String? = nil,
                                environment: [String: String] = Bundled.home) throws(NotFound) -> Source {
        let name = "report.\(language).md.mustache"
        if let path {
            guard let text = read(path) else { throw NotFound(what: "template file", name: path, known: []) }
            return Source(text: text, origin: path)
        }
        if let home = environment["TRIAGE_HOME"], !home.isEmpty, let text = read("\(home)/templates/\(name)") {
            return Source(text: text, origin: "\(home)/templates/\(name)")
        }
        guard let text = BundledFiles.templates[name] else {
            throw NotFound(what: "template for language", name: language, known: languages)
        }
        return Source(text: text, origin: "bundled:\(name)")
    }

    /// Where a language's text table comes from.
    enum TextTableSource {
        /// `$TRIAGE_HOME/templates/text.LANG.txt`, to be read.
        case file(Source)
        /// The bundled copy, read when triage was built.
        case bundled(PackedTextTable)
    }

    /// The text table of a language: `$TRIAGE_HOME/templates/text.LANG.txt`, then the embedded copy.
    static func textTable(language: String, environment: [String: String] = Bundled.home) throws(NotFound) -> TextTableSource {
        let name = "text.\(language).txt"
        if let home = environment["TRIAGE_HOME"], !home.isEmpty, let text = read("\(home)/templates/\(name)") {
            return .file(Source(text: text, origin: "\(home)/templates/\(name)"))
        }
        guard let table = BundledFiles.textTable(language) else {
            throw NotFound(what: "text table for language", name: language, known: languages)
        }
        return .bundled(table)
    }

    /// `TRIAGE_HOME` alone, read with getenv: building Foundation's whole environment was a
    /// twentieth of every start.
    public static var home: [String: String] {
        guard let value = getenv("TRIAGE_HOME") else { return [:] }
        return ["TRIAGE_HOME": String(cString: value)]
    }

    public static var languages: [String] {
        BundledFiles.templates.keys.compactMap { $0.split(separator: ".").dropFirst().first.map(String.init) }.sorted()
    }

    /// The embedded files, for the test that checks they match the repository.
    public static var embeddedRunbooks: [String: String] { BundledFiles.runbooks }
    public static var embeddedTemplates: [String: String] { BundledFiles.templates }
    public static var embeddedData: [String: String] { BundledFiles.data }

    /// The client and proxy error patterns of `triage explain` (templates/explain-patterns.txt).
    public static var explainPatterns: String { BundledFiles.data["explain-patterns.txt"] ?? "" }

    /// The offset of the first byte that is not part of valid UTF-8.
    static func firstInvalidUTF8(_ data: Data) -> Int {
        var iterator = data.makeIterator()
        var decoder = UTF8()
        var offset = 0
        var consumed = 0
        // Count the bytes of each scalar decoded so far: UTF8 decodes from the iterator.
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                consumed += UTF8.width(scalar)
                offset = consumed
            case .emptyInput:
                return offset
            case .error:
                return offset
            }
        }
    }

    static func read(_ path: String) -> String? {
        (try? Readable.contents(path, limit: runbookLimit)).flatMap { String(data: $0, encoding: .utf8) }
    }

    /// Larger than any runbook a person writes (20,000 steps take about 2 MiB): /dev/zero is
    /// refused, not read forever; a pipe (`--runbook <(…)`) is read, within its own time bound.
    /// (Yams holds a few hundred bytes per node it composes: a 58 MB flow list took 12.7 GB.)
    public static let runbookLimit = 2 << 20
}
