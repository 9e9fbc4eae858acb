import Foundation
internal import CTriageShims

/// gzip-compressed captures (`.pcapng.gz`), as Wireshark and tshark read them.
public enum Gzip {
    public struct Failure: Error, CustomStringConvertible { public var description: String }

    /// Whether the file begins with gzip's magic (1f 8b).
    public static func isCompressed(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 2)) ?? Data()
        return head.count == 2 && head[head.startIndex] == 0x1F && head[head.startIndex + 1] == 0x8B
    }

    /// Decompresses `path` into a temporary file (removed by the caller), at most `limit` bytes.
    public static func decompress(_ path: String, limit: Int64 = 16 << 30) throws(Failure) -> URL {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("triage-\(getpid())-\(UUID().uuidString).capture")
        var error = [CChar](repeating: 0, count: 256)
        guard triage_gunzip(path, out.path, limit, &error, error.count) == 0 else {
            try? FileManager.default.removeItem(at: out)
            throw Failure(description: String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return out
    }
}
