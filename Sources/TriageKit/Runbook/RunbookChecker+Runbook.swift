import Yams

extension RunbookChecker {
    mutating func runbook(_ root: Node) -> Runbook? {
        guard let pairs = mapping(root, what: "the runbook", allowed: Self.topKeys) else { return nil }
        var name: String?
        var title: String?
        var description: String?
        var inputs: [InputSpec] = []
        var stepsNode: Node?
        for (key, _, value) in pairs {
            switch key {
            case "name":
                name = string(value, what: "'name'")
                if let n = name, n.isEmpty || n.contains(where: \.isWhitespace) {
                    error(value, "'name' must be one word (letters, digits, '-', '_'), got '\(n)'")
                }
            case "title": title = string(value, what: "'title'")
            case "description": description = string(value, what: "'description'")
            case "inputs": inputs = self.inputs(value)
            default: stepsNode = value
            }
        }
        if name == nil, !pairs.contains(where: { $0.key == "name" }) {
            error(root, "missing key 'name': every runbook needs a name")
        }
        guard let stepsNode else {
            error(root, "missing key 'steps': expected a list of steps")
            return nil
        }
        let steps = self.steps(stepsNode, inputs: inputs)
        return Runbook(name: name ?? "", title: title, description: description, inputs: inputs, steps: steps, source: file)
    }

    mutating func inputs(_ node: Node) -> [InputSpec] {
        guard let pairs = mapping(node, what: "'inputs'", allowed: nil) else { return [] }
        var result: [InputSpec] = []
        for (name, keyNode, value) in pairs {
            if name.first.map({ !($0.isLetter || $0 == "_") }) ?? true
                || !name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) {
                error(keyNode, "input name '\(name)' must start with a letter and hold only letters, digits, '-' and '_'")
            }
            var spec = InputSpec(name: name, required: false, defaultValue: nil, description: nil, location: location(keyNode))
            if scalarType(value) == .null {
                result.append(spec)
                continue
            }
            guard let fields = mapping(value, what: "input '\(name)'", allowed: Self.inputKeys) else { continue }
            var defaultNode: Node?
            for (key, _, field) in fields {
                switch key {
                case "required": spec.required = bool(field, what: "'required'") ?? false
                case "default": spec.defaultValue = self.value(field); defaultNode = field
                case "type":
                    guard let text = string(field, what: "'type'") else { break }
                    if let type = InputType(rawValue: text) { spec.type = type; break }
                    let names = InputType.allCases.map(\.rawValue)
                    let hint = Spelling.suggestion(for: text, among: names).map { " (did you mean '\($0)'?)" } ?? ""
                    error(field, "unknown type '\(text)' for input '\(name)'\(hint): expected one of \(names.joined(separator: ", "))")
                default: spec.description = string(field, what: "'description'")
                }
            }
            if let defaultNode, let value = spec.defaultValue, !spec.type.fits(value) {
                error(defaultNode, "the default of input '\(name)' must be \(spec.type.expected)")
            }
            result.append(spec)
        }
        return result
    }

    mutating func steps(_ node: Node, inputs: [InputSpec]) -> [StepSpec] {
        guard case .sequence(let sequence) = node else {
            error(node, "'steps' must be a list (each item starting with '- id: …'), got \(kind(node))")
            return []
        }
        if sequence.isEmpty { error(node, "'steps' is empty: expected at least one step") }
        var result: [StepSpec] = []
        var seen: [String: Int] = [:]
        var earlier: [String: EarlierStep] = [:]
        let allIDs = Set(sequence.compactMap { $0.mapping?["id"]?.string })
        for (index, item) in sequence.enumerated() {
            guard let step = step(item, index: index, inputs: inputs, earlier: earlier, all: allIDs) else { continue }
            if let line = seen[step.id] {
                diagnostics.append(Diagnostic(step.idLocation, "duplicate step id '\(step.id)': already used by the step at line \(line)"))
            } else {
                seen[step.id] = step.idLocation.line
                earlier[step.id] = EarlierStep(kind: catalog[step.spec.uses], forEach: step.spec.forEach != nil)
            }
            result.append(step.spec)
        }
        return result
    }
}
