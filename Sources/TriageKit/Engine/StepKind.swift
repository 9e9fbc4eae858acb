/// A kind of step (`uses:`). Each kind declares its inputs and its outputs
/// — name, type, one line of meaning — in one place: the loader checks
/// runbooks against them, and the JSON Schema, the README's step table and
/// `triage runbooks` are generated from them.
public protocol StepKind: Sendable {
    /// The name used in `uses:`, e.g. `tls.handshake`.
    var name: String { get }
    /// One line for `triage runbooks`, the schema and the README.
    var summary: String { get }
    var inputs: [InputDeclaration] { get }
    var outputs: [OutputDeclaration] { get }
    /// The deadline when the runbook sets none: nil takes the engine's
    /// (10 s, `--step-timeout`); a step that reads a file to its end may
    /// need no wall-clock deadline at all.
    var defaultTimeout: Duration? { get }
    /// Runs the step. Throwing records the step as failed with the error;
    /// what it saw belongs in the returned outcome's evidence.
    func run(_ context: StepContext) async throws -> StepOutcome
    /// Checks a step's `with:` before anything runs, beyond each input's type
    /// (an `exec` refuses `${{ }}` where data would become code); each problem
    /// names its input, reported at that input's line and column.
    func check(_ arguments: [String: StepArgument]) -> [ArgumentProblem]
    /// The deadline a step needs for its evaluated inputs (a handshake's per-connection timeout
    /// and its version probes after it): the engine never gives it less, unless `--step-timeout` says so.
    func deadline(for arguments: [String: Value]) -> Duration?
}

/// A problem with one input of a step, found by the loader.
public struct ArgumentProblem: Sendable, Hashable {
    public var input: String
    public var message: String
    /// The text inside the argument the problem is about (`${{`): the diagnostic points at it,
    /// on its own line of a block scalar, rather than at the argument's start.
    public var text: String?

    public init(input: String, message: String, text: String? = nil) {
        self.input = input
        self.message = message
        self.text = text
    }
}

extension StepKind {
    public var defaultTimeout: Duration? { nil }

    public func check(_ arguments: [String: StepArgument]) -> [ArgumentProblem] { [] }

    public func deadline(for arguments: [String: Value]) -> Duration? { nil }

    public func output(_ name: String) -> OutputDeclaration? { outputs.first { $0.name == name } }
}
