import Yams

extension RunbookChecker {
    struct CheckedStep {
        var spec: StepSpec
        var id: String
        var idLocation: SourceLocation
    }

    /// What the loader knows of a step that runs earlier: its kind (when
    /// known) and whether it is a `for_each` step (its outputs are then lists).
    struct EarlierStep {
        var kind: (any StepKind)?
        var forEach: Bool
    }

    /// What an expression may refer to at a given place in the runbook.
    struct Visibility {
        var inputs: [String]
        var earlier: [String: EarlierStep]
        var allSteps: Set<String>
        var itemAllowed: Bool

        var earlierSteps: [String] { earlier.keys.sorted() }
    }

    mutating func step(_ node: Node, index: Int, inputs: [InputSpec], earlier: [String: EarlierStep], all: Set<String>) -> CheckedStep? {
        guard let pairs = mapping(node, what: "step \(index + 1)", allowed: Self.stepKeys) else { return nil }
        let field = Dictionary(pairs.map { ($0.key, ($0.keyNode, $0.value)) }, uniquingKeysWith: { a, _ in a })
        guard let (_, idNode) = field["id"] else {
            error(node, "step \(index + 1) has no 'id': expected a name such as 'handshake'")
            return nil
        }
        guard let id = string(idNode, what: "'id'") else { return nil }
        if id.first.map({ !$0.isLetter }) ?? true || !id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) {
            error(idNode, "step id '\(id)' must start with a letter and hold only letters, digits, '-' and '_'")
        }
        var spec = StepSpec(id: id, uses: "", with: [:], condition: nil, forEach: nil, timeout: nil,
                            continueOnError: true, after: nil, location: location(node))
        var stepKind: (any StepKind)?
        if let (_, nameNode) = field["name"] { spec.name = string(nameNode, what: "'name'") }
        // `run:` is GitHub Actions' shorthand for a shell command: an `exec` step with `shell: true`.
        let runShorthand = field["run"]
        if let (runKey, _) = runShorthand, field["uses"] != nil {
            error(runKey, "step '\(id)' has both 'run' and 'uses': 'run' is shorthand for uses: exec (write the command under with: run)")
        }
        if runShorthand != nil, field["uses"] == nil {
            spec.uses = "exec"
            stepKind = catalog["exec"]
        } else if let (_, usesNode) = field["uses"] {
            if let uses = string(usesNode, what: "'uses'") {
                spec.uses = uses
                stepKind = catalog[uses]
                if stepKind == nil {
                    error(usesNode, "unknown step kind '\(uses)'\(Spelling.didYouMean(uses, catalog.names)): expected one of \(catalog.names.joined(separator: ", "))")
                }
            }
        } else if runShorthand == nil {
            error(node, "step '\(id)' has no 'uses': expected a step kind such as \(catalog.names.prefix(3).joined(separator: ", ")), or a command under 'run'")
        }
        let names = inputs.map(\.name)
        var visible = Visibility(inputs: names, earlier: earlier, allSteps: all, itemAllowed: false)
        if let (_, ifNode) = field["if"] { spec.condition = condition(ifNode, visible) }
        if let (_, forEachNode) = field["for_each"] {
            spec.forEach = argument(forEachNode, visible)
            if case .scalar = forEachNode, scalarType(forEachNode) != .string {
                error(forEachNode, "'for_each' must be a list or an expression that gives one, got \(kind(forEachNode))")
            } else if case .template(let t, _)? = spec.forEach, t.parts.count == 1, case .expression(.path(let path), _) = t.parts[0],
                      let type = Self.outputType(path, visible), !type.isListLike {
                // A step's output declared as one value (a boolean, a string) runs the step once with it, which then fails.
                error(forEachNode, "'for_each' must be a list or an expression that gives one: \(path.text) is \(Self.article(type)) \(type)")
            }
            visible.itemAllowed = true
        }
        if let (_, timeoutNode) = field["timeout"] {
            let text = timeoutNode.scalar?.string ?? ""
            do throws(DurationParser.Failure) {
                guard case .scalar = timeoutNode else { throw .malformed }
                let d = try DurationParser.parse(text)
                guard d > .zero else { throw .malformed }
                spec.timeout = d
            } catch let failure {
                self.error(timeoutNode, "timeout \(text.isEmpty ? kind(timeoutNode) : "'\(text.prefix(40))'") is \(failure == .outOfRange ? "out of range (at most 24h)" : "not a duration: \(DurationParser.Failure.malformed)")")
            }
        }
        if let (_, node) = field["after"] {
            if case .sequence(let items) = node {
                spec.after = []
                for item in items {
                    guard let name = string(item, what: "an 'after' entry") else { continue }
                    if earlier[name] == nil {
                        error(item, all.contains(name) ? "step '\(name)' does not run before this one: 'after' lists earlier steps"
                              : "unknown step '\(name)' in 'after'\(Spelling.didYouMean(name, visible.earlierSteps))")
                    }
                    spec.after?.append(name)
                }
            } else {
                error(node, "'after' must be a list of earlier step ids, got \(kind(node))")
            }
        }
        if let (key, _) = field["continue_on_error"], field["continue-on-error"] != nil {
            error(key, "step '\(id)' has both 'continue_on_error' and 'continue-on-error': keep one")
        }
        for spelling in ["continue_on_error", "continue-on-error"] {
            if let (_, node) = field[spelling] { spec.continueOnError = bool(node, what: "'\(spelling)'") ?? true }
        }
        let withNode = field["with"]
        var argumentNodes: [String: Node] = [:]
        if let (_, node) = withNode, let args = mapping(node, what: "'with' of step '\(id)'", allowed: nil) {
            for (name, keyNode, valueNode) in args {
                argumentNodes[name] = valueNode
                let declaration = stepKind?.inputs.first { $0.name == name }
                if let kind = stepKind, declaration == nil {
                    let known = kind.inputs.map(\.name)
                    error(keyNode, "\(kind.name) has no input '\(name)'\(Spelling.didYouMean(name, known)): expected one of \(known.joined(separator: ", "))")
                    continue
                }
                let arg = argument(valueNode, visible)
                if let declaration, case .value(let literal) = arg, !declaration.accepts(literal) {
                    error(valueNode, "input '\(name)' of \(spec.uses) must be \(declaration.kind.withArticle), got \(self.kind(valueNode))")
                }
                if let arg { spec.with[name] = arg }
            }
        }
        if let (_, node) = runShorthand, field["uses"] == nil {
            if case .scalar = node, scalarType(node) == .string, let arg = argument(node, visible) {
                spec.with["run"] = arg
                spec.with["shell"] = .value(.bool(true))
                argumentNodes["run"] = node
            } else {
                error(node, "'run' must be a shell command (one string), got \(kind(node))")
            }
        }
        if let (envKey, envNode) = field["env"] {
            if spec.uses != "exec" {
                error(envKey, "step '\(id)': 'env' sets a command's environment: it goes with 'run' or uses: exec")
            } else if spec.with["env"] != nil {
                error(envKey, "step '\(id)' has 'env' both here and under 'with': keep one")
            } else if let arg = argument(envNode, visible) {
                spec.with["env"] = arg
                argumentNodes["env"] = envNode
            }
        }
        if let (_, node) = field["finding"] {
            var own = visible
            own.earlier[id] = EarlierStep(kind: stepKind, forEach: false)
            spec.finding = finding(node, step: id, own)
        }
        if let kind = stepKind {
            for declaration in kind.inputs where declaration.required && spec.with[declaration.name] == nil {
                error(withNode?.0 ?? node, "step '\(id)': \(kind.name) needs input '\(declaration.name)' (\(declaration.summary))")
            }
            for problem in kind.check(spec.with) {
                let at = argumentNodes[problem.input] ?? withNode?.0 ?? node
                let message = "step '\(id)': \(problem.message)"
                if let text = problem.text { diagnostics.append(Diagnostic(location(of: text, in: at), message)) } else { error(at, message) }
            }
        }
        return CheckedStep(spec: spec, id: id, idLocation: location(idNode))
    }

    /// `finding:` — `cause` a kebab-case code, `severity` problem or warning, `summary` (and `remedy`) text with
    /// `${{ }}`, `when` an expression over the step's own outputs (absent: when the step fails).
    mutating func finding(_ node: Node, step id: String, _ visible: Visibility) -> FindingSpec? {
        guard let pairs = mapping(node, what: "'finding' of step '\(id)'", allowed: Self.findingKeys) else { return nil }
        let field = Dictionary(pairs.map { ($0.key, ($0.keyNode, $0.value)) }, uniquingKeysWith: { a, _ in a })
        var cause: Cause?
        if let (_, causeNode) = field["cause"], let code = string(causeNode, what: "'cause'") {
            cause = Cause(rawValue: code) ?? Cause(custom: code)
            if cause == nil {
                error(causeNode, "cause '\(code.prefix(64))' is not a code: expected lower-case words joined by '-', e.g. disk-nearly-full")
            }
        } else if field["cause"] == nil {
            error(node, "'finding' of step '\(id)' has no 'cause': expected a code such as disk-nearly-full")
        }
        var severity = Severity.problem
        if let (_, severityNode) = field["severity"], let text = string(severityNode, what: "'severity'") {
            if let s = Severity(rawValue: text) { severity = s } else { error(severityNode, "severity '\(text.prefix(40))' is not one of problem, warning") }
        }
        var summary: Template?
        if let (_, summaryNode) = field["summary"], let text = string(summaryNode, what: "'summary'") {
            summary = template(text, node: summaryNode, shift: 0, visible)
        } else if field["summary"] == nil {
            error(node, "'finding' of step '\(id)' has no 'summary': expected the sentence the report gives")
        }
        var remedy: Template?
        if let (_, remedyNode) = field["remedy"], let text = string(remedyNode, what: "'remedy'") {
            remedy = template(text, node: remedyNode, shift: 0, visible)
        }
        var when: Condition?
        if let (_, whenNode) = field["when"] { when = condition(whenNode, visible) }
        guard let cause, let summary else { return nil }
        return FindingSpec(when: when, cause: cause, severity: severity, summary: summary, remedy: remedy, location: location(node))
    }

    mutating func condition(_ node: Node, _ visible: Visibility) -> Condition? {
        guard case .scalar(let s) = node else {
            error(node, "'if' must be an expression or true/false, got \(kind(node))")
            return nil
        }
        switch scalarType(node) {
        case .bool:
            return Condition(text: s.string, template: Template(parts: [.text(node.bool == true ? "true" : "")]), location: location(node))
        case .null:
            // `if: ~` and `if:` as `if: null` always was: false (`~` is no expression's character).
            return Condition(text: s.string, template: Template(parts: [.text("")]), location: location(node))
        default:
            break
        }
        // `if: ""` is no expression (and has no `${{` for an error to point into).
        if s.string.allSatisfy({ $0 == " " || $0 == "\t" }) {
            error(node, "'if' is empty: expected an expression (steps.ID.outputs.NAME, inputs.NAME == 'x') or true/false")
            return nil
        }
        // `if:` may be written with or without `${{ }}`, as in GitHub Actions.
        let text = s.string.contains("${{") ? s.string : "${{\(s.string)}}"
        let shift = s.string.contains("${{") ? 0 : -3
        guard let template = template(text, node: node, shift: shift, visible) else { return nil }
        return Condition(text: s.string, template: template, location: location(of: node, offset: shift))
    }

    /// A `with:` / `for_each:` value: literals stay values, strings become templates.
    mutating func argument(_ node: Node, _ visible: Visibility) -> StepArgument? {
        switch node {
        case .scalar(let s) where scalarType(node) == .string:
            guard s.string.contains("${{") else { return .value(.string(s.string)) }
            return template(s.string, node: node, shift: 0, visible).map { .template($0, location(of: node, offset: 0)) }
        case .sequence(let seq):
            return .list(seq.compactMap { argument($0, visible) })
        case .mapping(let m):
            var fields: [String: StepArgument] = [:]
            for (k, v) in m { if let a = argument(v, visible) { fields[k.string ?? ""] = a } }
            return .object(fields)
        default:
            return .value(value(node))
        }
    }

    mutating func template(_ text: String, node: Node, shift: Int, _ visible: Visibility) -> Template? {
        let template: Template
        do {
            template = try Template.parse(text)
        } catch {
            diagnostics.append(Diagnostic(location(of: node, offset: error.offset + shift), error.message))
            return nil
        }
        for (expression, offset) in template.expressions {
            for path in expression.paths {
                if let message = check(path, visible) {
                    diagnostics.append(Diagnostic(location(of: node, offset: offset + path.offset + shift), message))
                }
            }
        }
        return template
    }

    /// Checks a reference against what exists at this point of the runbook.
    func check(_ path: Expression.Path, _ visible: Visibility) -> String? {
        guard case .key(let first)? = path.components.first else {
            switch path.root {
            case "item": return visible.itemAllowed ? nil : "'item' is only defined in a step with for_each"
            case "inputs", "steps", "env": return "'\(path.root)' needs a name after it, e.g. \(path.root).NAME"
            default: return "unknown name '\(path.root)': expected inputs, steps, item or env"
            }
        }
        switch path.root {
        case "inputs":
            if !visible.inputs.contains(first) {
                let declared = visible.inputs.isEmpty ? "none" : visible.inputs.joined(separator: ", ")
                return "unknown input '\(first)'\(Spelling.didYouMean(first, visible.inputs)): the runbook declares \(declared)"
            }
            if path.components.count > 1, case .key(let part) = path.components[1], URLPart(rawValue: part) == nil {
                return "inputs.\(first).\(part): an input is a string; it has the URL parts \(URLPart.allCases.map(\.rawValue).joined(separator: ", "))"
            }
        case "steps":
            guard let step = visible.earlier[first] else {
                if visible.allSteps.contains(first) {
                    return "step '\(first)' has not run yet here: a step can only read the steps before it"
                }
                return "unknown step '\(first)'\(Spelling.didYouMean(first, visible.earlierSteps))"
            }
            guard path.components.count > 1, case .key(let field) = path.components[1], field == "outputs" || field == "status" else {
                return "\(path.text): expected steps.\(first).outputs.NAME or steps.\(first).status"
            }
            if field == "status" {
                return path.components.count > 2 ? "steps.\(first).status is a string such as ok or failed: it has no parts" : nil
            }
            guard path.components.count > 2, case .key(let name) = path.components[2] else {
                return "steps.\(first).outputs: expected steps.\(first).outputs.NAME"
            }
            guard let kind = step.kind else { return nil }
            guard let output = kind.output(name) else {
                let known = kind.outputs.map(\.name)
                return "step '\(first)' (\(kind.name)) has no output '\(name)'\(Spelling.didYouMean(name, known)): it has \(known.isEmpty ? "none" : known.joined(separator: ", "))"
            }
            return Self.check(Array(path.components.dropFirst(3)), of: step.forEach ? .list(output.type) : output.type,
                              at: "steps.\(first).outputs.\(name)")
        case "item":
            if !visible.itemAllowed { return "'item' is only defined in a step with for_each" }
        case "env":
            break
        default:
            return "unknown name '\(path.root)': expected inputs, steps, item or env"
        }
        return nil
    }

    /// Checks property and index access against a declared type.
    /// The declared type of a step's output a path reads (`steps.X.outputs.NAME…`), or nil when it is not known.
    static func outputType(_ path: Expression.Path, _ visible: Visibility) -> ValueType? {
        guard path.root == "steps", path.components.count > 2, case .key(let id) = path.components[0],
              case .key("outputs") = path.components[1], case .key(let name) = path.components[2],
              let step = visible.earlier[id], let output = step.kind?.output(name) else { return nil }
        var type = step.forEach ? ValueType.list(output.type) : output.type
        for component in path.components.dropFirst(3) {
            switch (component, type) {
            case (.index, .list(let element)): type = element
            case (.key(let k), _): guard let next = type.properties?[k] else { return nil }; type = next
            default: return nil
            }
        }
        return type
    }

    static func check(_ components: [Expression.Path.Component], of type: ValueType, at path: String) -> String? {
        var type = type
        var walked = path
        for component in components {
            switch (component, type) {
            case (.index(let i), .list(let element)):
                type = element
                walked += "[\(i)]"
            case (.index, .any), (.index, .object), (.key, .any), (.key, .object):
                return nil
            case (.index, _):
                return "\(walked) is \(article(type)) \(type), not a list: it has no [index]"
            case (.key(let k), _):
                guard let properties = type.properties else { return nil }
                guard let next = properties[k] else {
                    let names = properties.keys.sorted()
                    return "\(walked) is \(article(type)) \(type): it has no property '\(k)'\(Spelling.didYouMean(k, names))"
                        + (names.isEmpty ? "" : " (it has \(names.joined(separator: ", ")))")
                }
                type = next
                walked += ".\(k)"
            }
        }
        return nil
    }

    static func article(_ type: ValueType) -> String {
        "\(type)".first.map { "aeiou".contains($0) } == true ? "an" : "a"
    }
}
