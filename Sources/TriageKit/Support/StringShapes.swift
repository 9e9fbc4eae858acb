extension Array where Element == String {
    /// `joined(separator:)` on concrete strings. The standard library's is
    /// generic code that is not specialised for us, and its first call looks
    /// protocol conformances up at run time (a scan of every conformance in
    /// the binary): about 0.3 ms of `triage explain 80`'s few milliseconds.
    public func concatenated(separator: String = "") -> String {
        var out = ""
        out.reserveCapacity(reduce(0) { $0 + $1.utf8.count } + Swift.max(0, count - 1) * separator.utf8.count)
        for (i, part) in enumerated() {
            if i > 0 { out += separator }
            out += part
        }
        return out
    }
}

extension StringProtocol {
    /// The text without the leading and trailing characters `drop` matches. (Foundation's
    /// `trimmingCharacters(in:)` goes through NSString and CharacterSet: a few percent of a run's
    /// and of an exporter probe's CPU.)
    public func trimmed(_ drop: (Character) -> Bool = { $0.isWhitespace }) -> SubSequence {
        guard let first = firstIndex(where: { !drop($0) }), let last = lastIndex(where: { !drop($0) }) else { return self[endIndex...] }
        return self[first...last]
    }

    /// Whether `needle` occurs in the text, compared as UTF-8 bytes (canonically equivalent but
    /// differently encoded text does not match). Foundation's `contains(_:)`, which a string argument
    /// picks, goes through NSString on every call: a report's thousand short strings paid for that.
    public func includes(_ needle: String) -> Bool {
        let n = Array(needle.utf8)
        guard let first = n.first else { return true }
        func search(_ hay: UnsafeBufferPointer<UInt8>) -> Bool {
            guard hay.count >= n.count else { return false }
            var i = 0
            while i <= hay.count - n.count {
                if hay[i] == first {
                    var j = 1
                    while j < n.count, hay[i + j] == n[j] { j += 1 }
                    if j == n.count { return true }
                }
                i += 1
            }
            return false
        }
        return utf8.withContiguousStorageIfAvailable(search) ?? Array(utf8).withUnsafeBufferPointer(search)
    }
}
