import TriageWire

/// A validated runbook: what the engine runs. Every part keeps the place it
/// came from, so even a runtime error can point at the runbook line.
public struct Runbook: Sendable {
    public var name: String
    public var title: String?
    public var description: String?
    public var inputs: [InputSpec]
    public var steps: [StepSpec]
    /// The file the runbook was read from (`bundled:tls-upstream` for an embedded one).
    public var source: String

    public func input(_ name: String) -> InputSpec? { inputs.first { $0.name == name } }
}

/// `inputs.<name>` of a runbook.
public struct InputSpec: Sendable {
    public var name: String
    public var required: Bool
    public var defaultValue: Value?
    public var description: String?
    public var location: SourceLocation
    /// `type:` — what a value given for it must be; checked before anything runs.
    public var type: InputType = .string
}

/// The `type:` of a runbook input. A value given on the command line
/// (`--set port=8443x`) that does not fit is refused before anything runs,
/// rather than read as absent by the step that uses it.
public enum InputType: String, Sendable, CaseIterable {
    case string, boolean, integer, port, duration, addresses

    /// What a fitting value is, for an error message.
    public var expected: String {
        switch self {
        case .string: "text"
        case .boolean: "true or false (also yes/no, on/off, 1/0)"
        case .integer: "a whole number"
        case .port: "a port number, 1-65535"
        case .duration: "a duration such as 5s, 500ms or 2m"
        case .addresses: "IP addresses, comma-separated (127.0.0.1,::1)"
        }
    }

    /// Whether `value` fits as the steps read it; null and empty text (`--set port=` with an
    /// unset variable) are "not given", as every step reads them.
    public func fits(_ value: Value) -> Bool {
        switch (self, value) {
        case (_, .null), (.string, _), (_, .string("")): true
        case (.boolean, .bool): true
        case (.boolean, .string(let s)): StepContext.boolean(word: s) != nil
        case (.integer, _): Self.integer(value) != nil
        case (.port, _): Self.integer(value).map { (1...65535).contains($0) } ?? false
        case (.duration, .string(let s)): (try? DurationParser.parse(s)) != nil
        case (.duration, .number(let n)): n >= 0 && n <= DurationParser.maximum.seconds
        case (.addresses, .string(let s)):
            !s.split(separator: ",").isEmpty && s.split(separator: ",").allSatisfy { Self.isAddress($0) }
        case (.addresses, .list(let items)):
            // Each item may itself be comma-separated, as the dns step splits it.
            items.allSatisfy { if case .string(let s) = $0 { Self.addresses.fits(.string(s)) } else { false } }
        default: false
        }
    }

    /// An IP literal, IPv6 also in brackets (`[::1]`, as curl writes it).
    static func isAddress(_ text: Substring) -> Bool {
        let t = text.trimmed()
        return IPAddress(String(t.hasPrefix("[") && t.hasSuffix("]") ? t.dropFirst().dropLast() : t)) != nil
    }

    /// As the steps read an integer (`Value.intValue`: `21.0` is 21, ` 7` and `1e30` are none).
    static func integer(_ value: Value) -> Int? { value.intValue }
}

/// Values given for a runbook's inputs (`--set`, the options that stand for
/// inputs) that it does not declare or that do not fit their `type:`. Not a
/// place in the runbook: the command line is what is wrong.
public struct InputError: Error, Sendable, CustomStringConvertible {
    public var problems: [String]
    public var description: String { problems.joined(separator: "\n") }
}

/// One entry of `steps:`.
public struct StepSpec: Sendable {
    public var id: String
    public var uses: String
    public var with: [String: StepArgument]
    public var condition: Condition?
    public var forEach: StepArgument?
    /// `timeout:`; the engine's default applies when absent.
    public var timeout: Duration?
    /// When false, a failure of this step stops the run (later steps are
    /// recorded as skipped). The default is to go on: a diagnostic run wants
    /// as much evidence as it can get.
    public var continueOnError: Bool
    /// `after:` — the steps this one waits for. Absent: every earlier step
    /// (steps run one after another). Present: only these, the steps its
    /// expressions read and any earlier `continue_on_error: false` step, so
    /// it may overlap with the steps in between.
    public var after: [String]?
    public var location: SourceLocation
    /// `name:` — what the report and the progress show instead of the id.
    public var name: String?
    /// `finding:` — the step's own diagnosis, judged when it ends.
    public var finding: FindingSpec?

    /// The ids of the steps this step's expressions read (`steps.<id>…`).
    public var dependencies: Set<String> {
        var templates = condition.map { [$0.template] } ?? []
        for argument in Array(with.values) + (forEach.map { [$0] } ?? []) { templates += argument.templates }
        return templates.reduce(into: Set<String>()) { $0.formUnion($1.stepsRead) }
    }
}

extension Template {
    /// The ids of the steps this template reads (`steps.<id>…`).
    public var stepsRead: Set<String> {
        var ids = Set<String>()
        for (expression, _) in expressions {
            for path in expression.paths where path.root == "steps" {
                if case .key(let id)? = path.components.first { ids.insert(id) }
            }
        }
        return ids
    }
}

/// An `if:` — a boolean literal or an expression (with or without `${{ }}`).
/// A step's own diagnosis (`finding:`): when `when` holds once the step has
/// ended (its outputs are `steps.<id>.outputs`), the case holds a finding
/// with this cause, severity, summary and remedy, judged like a built-in one.
public struct FindingSpec: Sendable {
    /// Absent: whenever the step fails (a command's exit status other than expected).
    public var when: Condition?
    public var cause: Cause
    public var severity: Severity
    public var summary: Template
    public var remedy: Template?
    public var location: SourceLocation
}

public struct Condition: Sendable {
    public var text: String
    public var template: Template
    public var location: SourceLocation
}

/// A `with:` value as written: literal values stay as they are; strings may
/// hold expressions evaluated when the step runs.
public indirect enum StepArgument: Sendable {
    case value(Value)
    case template(Template, SourceLocation)
    case list([StepArgument])
    case object([String: StepArgument])

    /// Every template inside, for dependency analysis.
    public var templates: [Template] {
        switch self {
        case .value: []
        case .template(let t, _): [t]
        case .list(let items): items.flatMap(\.templates)
        case .object(let fields): fields.values.flatMap(\.templates)
        }
    }

    public func evaluate(in scope: Scope) throws(StepArgumentError) -> Value {
        switch self {
        case .value(let v): return v
        case .template(let t, let location):
            do { return try t.evaluate(in: scope) } catch {
                throw StepArgumentError(location: location, error: error)
            }
        case .list(let items):
            var out: [Value] = []
            for item in items { out.append(try item.evaluate(in: scope)) }
            return .list(out)
        case .object(let fields):
            var out: [String: Value] = [:]
            for (key, field) in fields { out[key] = try field.evaluate(in: scope) }
            return .object(out)
        }
    }
}

/// An expression that failed while the run was going; it fails the step.
public struct StepArgumentError: Error, Sendable, CustomStringConvertible {
    public var location: SourceLocation
    public var error: ExpressionError
    public var description: String { "\(location.offset(by: error.offset)): \(error.message)" }
}
