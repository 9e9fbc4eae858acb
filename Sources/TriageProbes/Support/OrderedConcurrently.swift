/// `body` of every item at once, the results in the items' order. One item runs in the caller's
/// task: no child task to start and join (most targets have one address, most probes one variant).
func orderedConcurrently<Item: Sendable, Output: Sendable>(_ items: [Item], _ body: @escaping @Sendable (Item) async -> Output) async -> [Output] {
    if items.count == 1 { return [await body(items[0])] }
    return await withTaskGroup(of: (Int, Output).self) { group in
        for (index, item) in items.enumerated() { group.addTask { (index, await body(item)) } }
        var out: [(Int, Output)] = []
        for await result in group { out.append(result) }
        return out.sorted { $0.0 < $1.0 }.map(\.1)
    }
}
