import Foundation
import Mustache

/// Renders `report.md` from a case with a Mustache template and the text
/// table of its language.
public struct ReportRenderer: Sendable {
    public enum Failure: Error, CustomStringConvertible {
        case template(String, String)
        public var description: String {
            switch self {
            case .template(let name, let why): "cannot parse the report template \(name): \(why)"
            }
        }
    }

    let template: MustacheTemplate
    public let table: TextTable

    /// A template by its text; `name` is only for error messages.
    public init(templateText: String, name: String, table: TextTable) throws {
        if let problem = Self.sectionProblem(templateText) { throw Failure.template(name, problem) }
        do {
            template = try MustacheTemplate(string: templateText)
        } catch let error as MustacheTemplate.ParserError {
            throw Failure.template(name, Self.explain(error))
        } catch {
            throw Failure.template(name, String(describing: error))
        }
        self.table = table
    }

    public var language: String { table.language }

    /// swift-mustache's parse error as a position and what was expected (it printed as a Swift dump).
    /// Its position is where it stopped reading: for a tag left open, the end of the text.
    static func explain(_ error: MustacheTemplate.ParserError) -> String {
        let what: String = switch error.error {
        case MustacheTemplate.Error.sectionCloseNameIncorrect: "a section is closed with another name than it was opened with"
        case MustacheTemplate.Error.unfinishedName: "a tag is not closed (expected the closing delimiter, }} by default)"
        case MustacheTemplate.Error.expectedSectionEnd: "a section is not closed (expected {{/name}})"
        case MustacheTemplate.Error.invalidSetDelimiter: "a set-delimiter tag is not of the form {{=<% %>=}}"
        case MustacheTemplate.Error.textInsideInheritSection, MustacheTemplate.Error.illegalTokenInsideInheritSection,
             MustacheTemplate.Error.transformAppliedToInheritanceSection: "a partial's inherited section holds what it cannot"
        case MustacheTemplate.Error.invalidConfigVariableSyntax, MustacheTemplate.Error.unrecognisedConfigVariable: "a configuration tag is not understood"
        default: "a tag is not closed before the end of the text (expected the closing delimiter, }} by default)"
        }
        return "line \(error.context.lineNumber), column \(error.context.columnNumber): \(what)"
    }

    /// Sections nested at most this deep in a template (the bundled ones: 3). swift-mustache recurses
    /// once a level (5,000 levels overflowed the stack: a crash), and each level over a list renders
    /// the levels inside it once per row (12 levels over a 5-row list did not finish).
    public static let maximumSectionDepth = 8

    /// Why a template's sections cannot be rendered safely, or nil: nested deeper than
    /// `maximumSectionDepth`, or a section inside one of the same name (which finds the same list
    /// again, and renders it once per row of itself). Tags are read with the delimiters the
    /// template sets (`{{=<% %>=}}`).
    static func sectionProblem(_ text: String) -> String? {
        var open = "{{", close = "}}"
        var stack: [String] = []
        var position = text.startIndex
        func line(_ at: String.Index) -> Int { text[..<at].utf8.reduce(1) { $1 == 0x0A ? $0 + 1 : $0 } }
        while let start = text.range(of: open, range: position..<text.endIndex),
              let end = text.range(of: close, range: start.upperBound..<text.endIndex) {
            let tag = text[start.upperBound..<end.lowerBound].trimmed()
            position = end.upperBound
            if tag.hasPrefix("="), tag.hasSuffix("="), tag.count > 1 {
                let parts = tag.dropFirst().dropLast().split(whereSeparator: \.isWhitespace)
                if parts.count == 2 { (open, close) = (String(parts[0]), String(parts[1])) }
                continue
            }
            guard let kind = tag.first, kind == "#" || kind == "^" || kind == "/" else { continue }
            let section = String(tag.dropFirst().trimmed())
            if kind == "/" { _ = stack.popLast(); continue }
            if stack.contains(section) {
                return "line \(line(start.lowerBound)): section '\(Sink.echo(section, limit: 60))' inside a section of the same name (it would render its whole list again for each of its rows)"
            }
            stack.append(section)
            if stack.count > maximumSectionDepth {
                return "line \(line(start.lowerBound)): sections nested more than \(maximumSectionDepth) deep"
            }
        }
        return nil
    }

    public func render(_ record: CaseRecord, secrets: SecretSet = SecretSet()) -> String {
        render(ReportDocument(record, table: table, secrets: secrets), record: record, secrets: secrets)
    }

    /// The top-level variables a `--template` sees, as the README's table.
    public static var templateVariablesTable: String { ReportContext.variablesTable }
    /// The documented variables, and those the context of this case holds.
    public static var documentedVariables: [String] { ReportContext.variables.map(\.name) }
    public func variables(_ document: ReportDocument, record: CaseRecord) -> Set<String> {
        Set(ReportContext(document: document, record: record, table: table, secrets: SecretSet()).dictionary.keys)
    }

    public func render(_ document: ReportDocument, record: CaseRecord, secrets: SecretSet = SecretSet()) -> String {
        template.render(ReportContext(document: document, record: record, table: table, secrets: secrets).dictionary)
    }
}
