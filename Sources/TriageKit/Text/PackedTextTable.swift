/// A bundled text table as `scripts/embed.py` wrote it when triage was built:
/// one literal of the keys, sorted by their UTF-8 bytes, each followed by its
/// text, and the offsets between them. Key `i` is `bounds[2i]..<bounds[2i+1]`,
/// its text `bounds[2i+1]..<bounds[2i+2]`. Nothing is parsed or allocated at
/// start (parsing a table was a third of `triage explain 80`); a lookup is a
/// binary search.
struct PackedTextTable: Sendable {
    let text: StaticString
    let bounds: [UInt32]

    var count: Int { (bounds.count - 1) / 2 }

    private func bytes(_ from: UInt32, _ to: UInt32) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: text.utf8Start + Int(from), count: Int(to - from))
    }

    private func key(at i: Int) -> UnsafeBufferPointer<UInt8> { bytes(bounds[2 * i], bounds[2 * i + 1]) }

    private func entry(at i: Int) -> String { String(decoding: bytes(bounds[2 * i + 1], bounds[2 * i + 2]), as: UTF8.self) }

    subscript(key: String) -> String? {
        var key = key
        return key.withUTF8 { wanted -> String? in
            var low = 0, high = count
            while low < high {
                let middle = (low + high) / 2
                switch Self.compare(self.key(at: middle), wanted) {
                case 0: return entry(at: middle)
                case ..<0: low = middle + 1
                default: high = middle
                }
            }
            return nil
        }
    }

    /// Every entry, for the checks that compare tables.
    var entries: [String: String] {
        var out: [String: String] = [:]
        out.reserveCapacity(count)
        for i in 0..<count { out[String(decoding: key(at: i), as: UTF8.self)] = entry(at: i) }
        return out
    }

    /// Byte order, as the keys were sorted.
    private static func compare(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Int {
        for i in 0..<min(a.count, b.count) where a[i] != b[i] { return Int(a[i]) - Int(b[i]) }
        return a.count - b.count
    }
}
