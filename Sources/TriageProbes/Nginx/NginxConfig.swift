import Foundation
import TriageKit

/// An nginx configuration, parsed far enough to replay what nginx does for
/// one `location`: directives and blocks with their file and line,
/// `include` (with globs, relative to the main file's folder) followed.
public struct NginxConfig: Sendable {
    public struct Directive: Sendable {
        public var name: String
        public var arguments: [String]
        public var block: [Directive]?
        public var file: String
        public var line: Int
    }

    public struct ParseError: Error, CustomStringConvertible, Sendable {
        public var file: String
        public var line: Int
        public var message: String
        /// `line` 0: the file as a whole (it cannot be read, is no regular file), said without a line.
        public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
    }

    public var directives: [Directive]
    public var file: String

    public init(contentsOf path: String) throws(ParseError) {
        file = path
        var depth = 0
        directives = try Self.parseFile(path, root: URL(fileURLWithPath: path).deletingLastPathComponent().path, depth: &depth)
    }

    public init(text: String, file: String = "nginx.conf") throws(ParseError) {
        self.file = file
        var depth = 0
        directives = try Self.parse(text, file: file, root: URL(fileURLWithPath: file).deletingLastPathComponent().path, depth: &depth)
    }

    /// A configuration file is at most this large (nginx's own are kilobytes).
    static let fileLimit = 16 << 20

    static func parseFile(_ path: String, root: String, depth: inout Int) throws(ParseError) -> [Directive] {
        // Only regular files: `include /*` must not read a directory, a FIFO or /dev/zero.
        if let why = Readable.why(path) { throw ParseError(file: path, line: 0, message: "cannot read the file: \(why)") }
        guard Readable.isRegular(path) else { throw ParseError(file: path, line: 0, message: "not a regular file") }
        let data: Data
        do { data = try Readable.contents(path, limit: fileLimit) } catch {
            throw ParseError(file: path, line: 0, message: error.tooLarge ? "larger than 16 MiB: not an nginx configuration" : "cannot read the file: \(error)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ParseError(file: path, line: 0, message: "not UTF-8 text")
        }
        return try parse(text, file: path, root: root, depth: &depth)
    }

    static func parse(_ text: String, file: String, root: String, depth: inout Int) throws(ParseError) -> [Directive] {
        var lexer = Lexer(chars: Array(text), file: file)
        var stack: [[Directive]] = [[]]
        var openers: [(name: String, arguments: [String], line: Int)] = []
        var words: [String] = []
        var firstLine = 1
        while let token = try lexer.next() {
            switch token.kind {
            case .word(let w):
                if words.isEmpty { firstLine = token.line }
                words.append(w)
            case .semicolon:
                guard let name = words.first else { throw ParseError(file: file, line: token.line, message: "unexpected ';': expected a directive name") }
                if name == "include", words.count == 2 {
                    depth += 1
                    guard depth < 32 else { throw ParseError(file: file, line: token.line, message: "include nested too deeply (a cycle?)") }
                    for path in Self.expand(words[1], root: root) {
                        stack[stack.count - 1] += try parseFile(path, root: root, depth: &depth)
                    }
                    depth -= 1
                } else {
                    stack[stack.count - 1].append(Directive(name: name, arguments: Array(words.dropFirst()), block: nil, file: file, line: firstLine))
                }
                words = []
            case .open:
                guard let name = words.first else { throw ParseError(file: file, line: token.line, message: "unexpected '{': expected a block name such as server or location") }
                guard openers.count < 100 else { throw ParseError(file: file, line: token.line, message: "blocks nested deeper than 100 levels") }
                openers.append((name, Array(words.dropFirst()), firstLine))
                stack.append([])
                words = []
            case .close:
                guard words.isEmpty else { throw ParseError(file: file, line: token.line, message: "directive '\(words[0])' has no closing ';'") }
                guard let opener = openers.popLast() else { throw ParseError(file: file, line: token.line, message: "unexpected '}': no block is open") }
                let body = stack.removeLast()
                stack[stack.count - 1].append(Directive(name: opener.name, arguments: opener.arguments, block: body, file: file, line: opener.line))
            }
        }
        if let word = words.first { throw ParseError(file: file, line: lexer.line, message: "directive '\(word)' has no closing ';' before the end of the file") }
        if let opener = openers.last { throw ParseError(file: file, line: opener.line, message: "block '\(opener.name)' opened here is never closed with '}'") }
        return stack[0]
    }

    static func expand(_ pattern: String, root: String) -> [String] {
        let path = pattern.hasPrefix("/") ? pattern : "\(root)/\(pattern)"
        guard path.contains("*") else { return [path] }
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let glob = URL(fileURLWithPath: path).lastPathComponent
        let parts = glob.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        // As nginx's glob: the regular files that match (a directory or a socket is not a configuration).
        return names.filter { name in
            guard let first = parts.first, let last = parts.last, name.hasPrefix(first), name.hasSuffix(last) else { return false }
            return name.count >= first.count + last.count
        }.sorted().map { "\(dir)/\($0)" }.filter { path in
            (try? FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType) == .typeRegular
        }.prefix(1000).map { $0 }
    }

    struct Lexer {
        enum Kind { case word(String), semicolon, open, close }
        struct Token { var kind: Kind; var line: Int }

        var chars: [Character]
        var file: String
        var i = 0
        var line = 1

        mutating func next() throws(ParseError) -> Token? {
            while i < chars.count {
                let c = chars[i]
                if c == "\n" { line += 1; i += 1; continue }
                if c.isWhitespace { i += 1; continue }
                if c == "#" { while i < chars.count, chars[i] != "\n" { i += 1 }; continue }
                let at = line
                switch c {
                case ";": i += 1; return Token(kind: .semicolon, line: at)
                case "{": i += 1; return Token(kind: .open, line: at)
                case "}": i += 1; return Token(kind: .close, line: at)
                case "\"", "'":
                    i += 1
                    var word = ""
                    while true {
                        guard i < chars.count else { throw ParseError(file: file, line: at, message: "unterminated quoted string: expected a closing \(c)") }
                        if chars[i] == "\\", i + 1 < chars.count { word.append(chars[i + 1]); i += 2; continue }
                        if chars[i] == c { i += 1; break }
                        if chars[i] == "\n" { line += 1 }
                        word.append(chars[i]); i += 1
                    }
                    return Token(kind: .word(word), line: at)
                default:
                    var word = ""
                    while i < chars.count, !chars[i].isWhitespace, !";{}".contains(chars[i]) {
                        // "${var}" keeps its braces.
                        if chars[i] == "$", i + 1 < chars.count, chars[i + 1] == "{" {
                            while i < chars.count, chars[i] != "}" { word.append(chars[i]); i += 1 }
                        }
                        if i < chars.count { word.append(chars[i]); i += 1 }
                    }
                    return Token(kind: .word(word), line: at)
                }
            }
            return nil
        }
    }
}
