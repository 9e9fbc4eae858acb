import Synchronization

/// A cancellation flag that blocking code polls between short waits; C code
/// (libcurl's progress callback) reads the same flag through `withCFlag`.
public final class CancelFlag: Sendable {
    private let flag = Atomic<Int32>(0)

    public init() {}

    public func cancel() { flag.store(1, ordering: .releasing) }

    public var isCancelled: Bool { flag.load(ordering: .acquiring) != 0 }
}
