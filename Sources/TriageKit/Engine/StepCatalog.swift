/// The set of step kinds a run may use.
public struct StepCatalog: Sendable {
    public private(set) var kinds: [String: any StepKind]

    public init(_ kinds: [any StepKind]) {
        self.kinds = Dictionary(kinds.map { ($0.name, $0) }, uniquingKeysWith: { $1 })
    }

    public subscript(name: String) -> (any StepKind)? { kinds[name] }

    public var names: [String] { kinds.keys.sorted() }
}
