/// The catalog described from its declarations: the README's step table and
/// the listing of `triage runbooks`, so neither can drift from the code.
extension StepCatalog {
    /// One row per kind: its inputs (required ones in bold) and its outputs with their types.
    public var markdownTable: String {
        var lines = ["| kind | what | inputs | outputs |", "|---|---|---|---|"]
        for name in names {
            guard let kind = self[name] else { continue }
            let inputs = kind.inputs.map { $0.required ? "**`\($0.name)`**" : "`\($0.name)`" }.joined(separator: ", ")
            let outputs = kind.outputs.map { "`\($0.name)` (\($0.type))" }.joined(separator: ", ")
            lines.append("| `\(name)` | \(Self.cell(kind.summary)) | \(inputs) | \(outputs) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Every kind with each input and output on its own line.
    public var listing: String {
        var lines: [String] = []
        for name in names {
            guard let kind = self[name] else { continue }
            lines.append("  \(name) — \(kind.summary)")
            for input in kind.inputs {
                lines.append("      with \(input.name)\(input.required ? " (required)" : ""): \(input.kind) — \(input.summary)")
            }
            for output in kind.outputs {
                lines.append("      outputs.\(output.name): \(output.type) — \(output.summary)")
            }
        }
        return lines.joined(separator: "\n")
    }

    static func cell(_ text: String) -> String { text.replacingOccurrences(of: "|", with: "\\|") }
}
