import Synchronization

/// Something a step starts that outlives it — a live capture — and that the
/// engine must end on every exit path: the step meant to stop it was
/// skipped, failed or never ran, or the run was interrupted.
public protocol RunResource: Sendable {
    /// Ends the resource; called at most once.
    func close() async
}

/// The run's open resources, by id (the id of the step that opened them).
public final class RunResources: Sendable {
    private let open = Mutex<[String: any RunResource]>([:])

    public init() {}

    public func add(_ resource: any RunResource, id: String) {
        open.withLock { $0[id] = resource }
    }

    /// Hands a resource over to the step that ends it.
    public func take(_ id: String) -> (any RunResource)? {
        open.withLock { $0.removeValue(forKey: id) }
    }

    public var ids: [String] { open.withLock { $0.keys.sorted() } }

    /// Closes every resource still open; the engine calls it when the run ends.
    public func closeAll() async {
        let left = open.withLock { all in defer { all = [:] }; return all }
        for (_, resource) in left.sorted(by: { $0.key < $1.key }) { await resource.close() }
    }
}
