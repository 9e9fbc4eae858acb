import Foundation
import Synchronization
import TriageWire

/// One language's table of sentences (`templates/text.LANG.txt`): every
/// summary, remedy, fact label, step summary and timeline event triage
/// writes. A line is `key = text`; `{name}` in the text is replaced by the
/// argument of that name, formatted for the language; `#` starts a comment.
public struct TextTable: Sendable {
    public let language: String
    private let storage: Storage

    private enum Storage: Sendable {
        /// A table read at run time (`$TRIAGE_HOME/templates/`, a test's text).
        case parsed([String: String])
        /// A bundled table, read when triage was built.
        case packed(PackedTextTable)
    }

    /// The text of a key, if the table has it.
    public subscript(key: String) -> String? {
        switch storage {
        case .parsed(let entries): entries[key]
        case .packed(let table): table[key]
        }
    }

    /// Every entry (the checks that compare tables; a lookup is `table[key]`).
    public var entries: [String: String] {
        switch storage {
        case .parsed(let entries): entries
        case .packed(let table): table.entries
        }
    }

    public struct Malformed: Error, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var message: String
        public var description: String { "\(file):\(line): \(message)" }
    }

    public init(language: String, text: String, file: String = "text table") throws(Malformed) {
        self.language = language
        // Read in place when the string is contiguous UTF-8 (the bundled tables are literals: no copy).
        var text = text
        let parsed = text.withUTF8 { bytes in
            Result { () throws(Malformed) in try Self.parse(bytes, file: file) }
        }
        self.storage = .parsed(try parsed.get())
    }

    /// `key = text` lines, read as bytes (every start of triage reads a table: Foundation's string
    /// search made it a third of `triage --version`); the delimiters are ASCII, so UTF-8 text between
    /// them is kept as it is.
    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>, file: String) throws(Malformed) -> [String: String] {
        var entries: [String: String] = [:]
        entries.reserveCapacity(1024)
        var number = 0
        var start = 0
        func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D }
        while start <= bytes.count {
            number += 1
            var end = start
            while end < bytes.count, bytes[end] != 0x0A { end += 1 }
            var a = start, b = end
            while a < b, isBlank(bytes[a]) { a += 1 }
            while b > a, isBlank(bytes[b - 1]) { b -= 1 }
            defer { start = end + 1 }
            if a == b || bytes[a] == UInt8(ascii: "#") { continue }
            // `key = text`: the first " = ".
            var separator = -1
            var i = a
            while i + 2 < b {
                if bytes[i] == 0x20, bytes[i + 1] == UInt8(ascii: "="), bytes[i + 2] == 0x20 { separator = i; break }
                i += 1
            }
            guard separator >= 0 else { throw Malformed(file: file, line: number, message: "expected 'key = text'") }
            let key = String(decoding: UnsafeBufferPointer(rebasing: bytes[a..<separator]), as: UTF8.self)
            guard entries[key] == nil else { throw Malformed(file: file, line: number, message: "key '\(key)' defined twice") }
            // `\n` is a line break, `\s` a space that would otherwise be trimmed.
            let valueStart = separator + 3
            var escaped = false
            var j = valueStart
            while j + 1 < b, !escaped {
                if bytes[j] == UInt8(ascii: "\\"), bytes[j + 1] == UInt8(ascii: "n") || bytes[j + 1] == UInt8(ascii: "s") { escaped = true }
                j += 1
            }
            guard escaped else {
                entries[key] = valueStart < b ? String(decoding: UnsafeBufferPointer(rebasing: bytes[valueStart..<b]), as: UTF8.self) : ""
                continue
            }
            var value: [UInt8] = []
            value.reserveCapacity(b - valueStart)
            j = valueStart
            while j < b {
                if bytes[j] == UInt8(ascii: "\\"), j + 1 < b, bytes[j + 1] == UInt8(ascii: "n") || bytes[j + 1] == UInt8(ascii: "s") {
                    value.append(bytes[j + 1] == UInt8(ascii: "n") ? 0x0A : 0x20)
                    j += 2
                } else {
                    value.append(bytes[j])
                    j += 1
                }
            }
            entries[key] = String(decoding: value, as: UTF8.self)
        }
        return entries
    }

    private static let cache = Mutex<[String: TextTable]>([:])

    /// The `$TRIAGE_HOME/templates/` (or bundled) table of a language.
    public static func named(_ language: String) throws -> TextTable {
        // Without $TRIAGE_HOME a bundled table is at hand: nothing to read, nothing to keep.
        if Bundled.home.isEmpty, let table = bundled(language) { return table }
        if let table = cache.withLock({ $0[language] }) { return table }
        let table: TextTable
        switch try Bundled.textTable(language: language) {
        case .file(let source): table = try TextTable(language: language, text: source.text, file: source.origin)
        case .bundled(let packed): table = TextTable(language: language, storage: .packed(packed))
        }
        cache.withLock { $0[language] = table }
        return table
    }

    /// The table built into the binary, whatever `$TRIAGE_HOME` holds.
    public static func bundled(_ language: String) -> TextTable? {
        BundledFiles.textTable(language).map { TextTable(language: language, storage: .packed($0)) }
    }

    /// English: the fallback, and the language of JSON projections.
    public static var english: TextTable {
        // The bundled English table is tested to parse; a failure here is a build defect.
        (try? named("en")) ?? TextTable(language: "en", entries: [:])
    }

    init(language: String, entries: [String: String]) {
        self.init(language: language, storage: .parsed(entries))
    }

    private init(language: String, storage: Storage) {
        self.language = language
        self.storage = storage
    }

    public func render(_ message: Message) -> String {
        guard let template = self[message.key] ?? TextTable.englishEntry(message.key, from: self) else {
            // A runbook's own cause has no title in the tables: its code is its title.
            if message.key.hasPrefix("cause."), message.key.hasSuffix(".title") { return String(message.key.dropFirst(6).dropLast(6)) }
            return message.key
        }
        return fill(template, message.args)
    }

    public func render(_ key: MessageKey, _ args: [String: Value] = [:]) -> String { render(Message(key, args)) }

    /// A bundled runbook's title in this language; a runbook of one's own keeps its own.
    public func runbookTitle(_ name: String, source: String, given: String?) -> String {
        guard source.hasPrefix("bundled:"), let title = self["runbook.\(name).title"] else { return given ?? name }
        return title
    }

    public func title(_ cause: Cause) -> String { render(Message(cause: cause, .title)) }

    public func label(_ key: FactKey) -> String { self["fact.\(key.rawValue)"] ?? key.rawValue }

    private static func englishEntry(_ key: String, from table: TextTable) -> String? {
        table.language == "en" ? nil : english[key]
    }

    /// A placeholder's name: letters, digits, `_` and `.` (ASCII without the Unicode property tables).
    static func isPlaceholderScalar(_ c: Unicode.Scalar) -> Bool {
        if c.isASCII {
            let v = c.value | 0x20
            return (v >= 0x61 && v <= 0x7A) || (c.value >= 0x30 && c.value <= 0x39) || c == "_" || c == "."
        }
        return c.properties.isAlphabetic || c.properties.numericType != nil
    }

    func fill(_ template: String, _ args: [String: Value]) -> String {
        guard template.utf8.contains(UInt8(ascii: "{")) else { return template }
        var out = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            out += String(rest[..<open])
            guard let close = rest[open...].firstIndex(of: "}") else { break }
            let name = String(rest[rest.index(after: open)..<close])
            // `{ … }` in a sentence (an nginx block) is text, not a placeholder.
            guard !name.isEmpty, name.unicodeScalars.allSatisfy(Self.isPlaceholderScalar) else {
                out += "{"
                rest = rest[rest.index(after: open)...]
                continue
            }
            out += format(args[name] ?? .null)
            rest = rest[rest.index(after: close)...]
        }
        return out + String(rest)
    }

    /// A value as text in this language.
    public func format(_ value: Value) -> String {
        switch value {
        case .null: return "—"
        case .bool(let b): return render(b ? .valueYes : .valueNo)
        case .number(let n): return Value.format(n)
        case .string(let s): return s
        case .list(let items): return items.map(format).joined(separator: render(.listSeparator))
        case .object: return value.text
        case .typed(let t):
            switch t {
            case .message(let m): return render(m)
            case .alert(let a):
                return render(.alertDescribed, ["code": .int(Int(a.code)), "name": .string(a.name),
                                                "level": Message(a.isFatal ? .levelFatal : .levelWarning).value,
                                                "sender": Message.peer(a.sender)])
            case .certificate(let c): return c.subject
            case .chain(let c): return render(.chainDescribed, ["count": .int(c.certificates.count), "leaf": .string(c.leaf?.displayName ?? "—")])
            default: return t.text
            }
        }
    }
}
