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
        do {
            template = try MustacheTemplate(string: templateText)
        } catch {
            throw Failure.template(name, String(describing: error))
        }
        self.table = table
    }

    public var language: String { table.language }

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
