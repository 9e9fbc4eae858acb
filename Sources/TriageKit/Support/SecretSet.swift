import Foundation
import Synchronization

/// The secret values triage itself sends — header values, URL passwords,
/// token-like query values, a client key — so that wherever one comes back
/// (an upstream echoing the request into its body, a trace, a capture's
/// payload) it is replaced too, not only where a pattern recognises it.
public final class SecretSet: Sendable {
    private let values = Mutex<[String]>([])

    public init(_ initial: [String] = []) {
        for value in initial { add(value) }
    }

    /// Values shorter than 4 characters are too likely to occur by chance to redact.
    public func add(_ value: String) {
        let v = String(value.trimmingPrefix(" "))
        guard v.count >= 4 else { return }
        // As it appears in a command to paste, single-quoted for the shell (`it'\''s`): the same secret.
        let forms = v.contains("'") ? [v, v.replacingOccurrences(of: "'", with: "'\\''")] : [v]
        values.withLock { list in
            for form in forms where !list.contains(form) { list.append(form) }
            list.sort { $0.count > $1.count }   // longest first: a value inside another goes second
        }
    }

    public var isEmpty: Bool { values.withLock { $0.isEmpty } }
    public var all: [String] { values.withLock { $0 } }

    public func redact(_ text: String) -> String {
        let list = all
        guard !list.isEmpty else { return text }
        var out = text
        for value in list where out.contains(value) {
            out = out.replacingOccurrences(of: value, with: Redactor.mask)
        }
        return out
    }

    /// Replaces every occurrence of a secret in raw bytes (a capture's
    /// payload) with as many `*`, so frame lengths and checksums' inputs stay
    /// the same size.
    public func redact(bytes: inout [UInt8]) {
        for value in all { Self.mask(Array(value.utf8), in: &bytes) }
    }

    /// Every occurrence of `needle` in `bytes` overwritten with `*`, the length kept.
    static func mask(_ needle: [UInt8], in bytes: inout [UInt8]) {
        guard needle.count <= bytes.count, let first = needle.first else { return }
        var i = 0
        while i <= bytes.count - needle.count {
            if bytes[i] == first, bytes[i..<(i + needle.count)].elementsEqual(needle) {
                for j in i..<(i + needle.count) { bytes[j] = 0x2A }
                i += needle.count
            } else {
                i += 1
            }
        }
    }
}
