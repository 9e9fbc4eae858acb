import Foundation

/// The JSON Schema (2020-12) of `report.json`, generated from the report
/// model: the enumerations (verdicts, statuses, severities, causes), every
/// fact key with its declared type, and the structured values' properties
/// come from the same types the report is encoded from. A test compares
/// `schema/report.schema.json` with this output, checks that its properties
/// are the document's stored properties, and validates real reports with it.
public enum ReportSchema {
    /// The top-level properties, in the order `ReportDocument` declares them (a test checks them against it).
    public static let documentProperties = ["schemaVersion", "language", "runbook", "target", "via", "host", "startedAt", "finishedAt",
                                     "verdict", "summary", "rootCause", "directCause", "findings", "incomplete", "plannedSteps",
                                     "steps", "inputs", "impact", "judgedAt"]

    public static func json() -> String {
        let string: [String: Any] = ["type": "string"]
        let date: [String: Any] = ["type": "string", "format": "date-time"]
        let integer: [String: Any] = ["type": "integer"]
        func optional(_ s: [String: Any]) -> [String: Any] { ["anyOf": [s, ["type": "null"]]] }
        func object(_ properties: [String: Any], required: [String]? = nil, description: String? = nil) -> [String: Any] {
            var o: [String: Any] = ["type": "object", "additionalProperties": false, "properties": properties,
                                    "required": required ?? properties.keys.sorted()]
            if let description { o["description"] = description }
            return o
        }
        let cause: [String: Any] = [
            "type": "string", "pattern": "^[a-z][a-z0-9]*(-[a-z0-9]+)*$",
            "description": "a cause code: one of the built-in ones (\(Cause.allCases.map(\.code).joined(separator: ", "))) or a runbook's own (finding: cause:)",
        ]
        let causeEntry = object([
            "cause": ["$ref": "#/$defs/cause"], "title": string, "severity": ["enum": Severity.allCases.map(\.rawValue)],
            "summary": string, "subject": string, "facts": ["$ref": "#/$defs/facts"], "remedy": string, "step": string,
        ], description: "a finding: its cause, one-sentence summary, what it is about, facts, remedy and the step whose evidence shows it")
        var factProperties: [String: Any] = [:]
        for key in FactKey.allCases {
            let one = schema(key.type)
            // A key that repeats holds the list of its values, in order.
            factProperties[key.rawValue] = ["anyOf": [one, ["type": "array", "items": one, "minItems": 2]]]
        }
        let facts: [String: Any] = ["type": "object", "additionalProperties": false, "properties": factProperties,
                                    "description": "fact key → value; a key that repeats holds the list of its values"]
        let step = object([
            "id": string, "name": optional(string), "uses": string, "status": ["enum": StepStatus.allCases.map(\.rawValue)],
            "startedAt": date, "durationMs": integer, "summary": string, "command": optional(string), "facts": ["$ref": "#/$defs/facts"],
            "artifacts": ["type": "array", "items": object(["path": string, "bytes": integer, "description": string])],
            "findings": ["type": "array", "items": ["$ref": "#/$defs/cause"]], "condition": optional(string), "item": [:] as [String: Any],
            "error": optional(string),
        ], required: ["id", "uses", "status", "startedAt", "durationMs", "summary", "facts", "artifacts", "findings"])
        let impact = object([
            "count": integer, "first": optional(date), "last": optional(date), "utcOffset": integer, "message": string, "own": integer,
            "sentence": string,
        ], required: ["count", "utcOffset", "message", "own", "sentence"],
            description: "how often the proxy's log shows the failure (apart from triage's own requests) and when")
        let incomplete = object([
            "step": string, "uses": string, "status": ["enum": StepStatus.allCases.map(\.rawValue)], "error": string,
            "command": optional(string),
        ], required: ["step", "uses", "status", "error"])
        let properties: [String: Any] = [
            "schemaVersion": ["const": ReportDocument.currentSchemaVersion],
            "language": ["enum": Bundled.languages],
            "runbook": object(["name": string, "title": optional(string), "source": string], required: ["name", "source"]),
            "target": optional(string), "via": optional(string), "host": string,
            "startedAt": date, "finishedAt": optional(date),
            "verdict": ["enum": Diagnosis.Verdict.allCases.map(\.rawValue)],
            "summary": ["type": "string", "description": "one line for a ticket title"],
            "rootCause": optional(["$ref": "#/$defs/causeEntry"]), "directCause": optional(["$ref": "#/$defs/causeEntry"]),
            "findings": ["type": "array", "items": ["$ref": "#/$defs/causeEntry"]],
            "incomplete": ["type": "array", "items": incomplete],
            "plannedSteps": ["type": "array", "items": string],
            "steps": ["type": "array", "items": step],
            "inputs": ["type": "object"],
            "impact": optional(impact),
            "judgedAt": optional(date),
        ]
        let document: [String: Any] = [
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://github.com/triage/triage/schema/report.schema.json",
            "title": "triage report.json",
            "description": "The report of one triage run. Generated by `triage runbooks --report-schema`; do not edit.",
            "type": "object",
            "additionalProperties": false,
            "required": ["schemaVersion", "language", "runbook", "host", "startedAt", "verdict", "summary", "findings", "incomplete",
                         "plannedSteps", "steps", "inputs"],
            "properties": properties,
            "$defs": ["cause": cause, "causeEntry": causeEntry, "facts": facts] as [String: Any],
        ]
        let data = try! JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// A declared value type as JSON holds it (`TypedValue.plain`): dates as ISO 8601, addresses and endpoints
    /// as text, structured values as objects of their properties (each may be null).
    static func schema(_ type: ValueType) -> [String: Any] {
        switch type {
        case .string, .address, .endpoint: return ["type": "string"]
        case .date: return ["type": "string", "format": "date-time"]
        case .integer: return ["type": "integer"]
        case .number: return ["type": "number"]
        case .boolean: return ["type": "boolean"]
        case .object: return ["type": "object"]
        case .any: return [:]
        case .list(let element): return ["type": "array", "items": schema(element)]
        case .alert, .certificate, .chain, .profile:
            var properties: [String: Any] = [:]
            for (name, t) in type.properties ?? [:] { properties[name] = ["anyOf": [schema(t), ["type": "null"]]] }
            return ["type": "object", "additionalProperties": false, "properties": properties, "description": "\(type)"]
        }
    }
}
