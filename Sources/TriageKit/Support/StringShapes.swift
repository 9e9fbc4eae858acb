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
        needle.isEmpty || withUTF8Bytes { ByteSearch.contains($0, Array(needle.utf8)) }
    }

    /// `body` over the text's UTF-8 in place (a native string's own storage), a copy only for a bridged one.
    func withUTF8Bytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        utf8.withContiguousStorageIfAvailable(body) ?? Array(utf8).withUnsafeBufferPointer(body)
    }
}

/// A search for bytes in bytes.
enum ByteSearch {
    /// Whether `needle` occurs in `haystack`; `foldingASCII`: the haystack's ASCII letters compared
    /// lower-cased (the needle given in lower case).
    static func contains(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: [UInt8], foldingASCII: Bool = false) -> Bool {
        guard needle.count <= haystack.count, let first = needle.first else { return false }
        func byte(_ b: UInt8) -> UInt8 { foldingASCII && b >= 0x41 && b <= 0x5A ? b | 0x20 : b }
        var i = 0
        let last = haystack.count - needle.count
        while i <= last {
            if byte(haystack[i]) == first {
                var j = 1
                while j < needle.count, byte(haystack[i + j]) == needle[j] { j += 1 }
                if j == needle.count { return true }
            }
            i += 1
        }
        return false
    }
}
