import Foundation
import TriageKit
#if canImport(Glibc)
import Glibc
#endif

/// Reads a log of any size in bounded memory: from where the window starts
/// (the last 64 MiB, or the first line at or after `since`, found by
/// bisecting the file on its time stamps) to its end, in 1 MiB chunks, one
/// line at a time; a line longer than 16 KiB is cut there. Only lines that
/// hold `needle` are handed over (the rest are skipped without a String).
public struct LogReader {
    public static let defaultWindow: UInt64 = 64 << 20
    public static let lineLimit = 16 << 10
    static let chunk = 1 << 20

    public let path: String
    public var window: UInt64 = LogReader.defaultWindow
    /// Lines before this time are not read (the window is then the file from that time on).
    public var since: Date?
    /// The time stamp at the start of a line, for `since` (nginx's by default).
    public var time: (String) -> Date? = NginxLogTime.parse

    public init(path: String) { self.path = path }

    public struct Failure: Error { public var errno: Int32 }

    /// Where reading started and how large the file was.
    public struct Extent: Sendable {
        public var start: UInt64
        public var size: UInt64
        public var whole: Bool { start == 0 }
    }

    /// Calls `body` with each line holding `needle`, oldest first.
    @discardableResult
    public func lines(containing needle: String, _ body: (String) -> Void) throws(Failure) -> Extent {
        try lines(containingAny: needle.isEmpty ? [] : [needle], body)
    }

    /// Calls `body` with each line holding any of `needles` (every line when there is none), oldest
    /// first; the others are skipped on their bytes, without a String.
    @discardableResult
    public func lines(containingAny needles: [String], _ body: (String) -> Void) throws(Failure) -> Extent {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(errno: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw Failure(errno: errno) }
        let size = UInt64(max(0, st.st_size))
        var start = size > window ? size - window : 0
        if let since { start = min(start, bisect(fd, size: size, since: since)) }
        let patterns = needles.map { Array($0.utf8) }
        var buffer = [UInt8](repeating: 0, count: Self.chunk)
        var line: [UInt8] = []
        line.reserveCapacity(Self.lineLimit)
        var overlong = false
        // A start inside a line skips to the next one.
        var skipping = start > 0
        var offset = start
        while true {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, Self.chunk, off_t(offset)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            offset += UInt64(n)
            buffer.withUnsafeBytes { raw in
                let base = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
                var from = 0
                while from < n {
                    let rest = n - from
                    let newline = memchr(base + from, 0x0A, rest).map { UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self) - base }
                    let end = newline ?? n
                    if !skipping, !overlong {
                        let take = min(end - from, Self.lineLimit - line.count)
                        line.append(contentsOf: UnsafeBufferPointer(start: base + from, count: take))
                        if end - from > take { overlong = true }
                    }
                    guard newline != nil else { break }
                    if !skipping { emit(line, patterns: patterns, body) }
                    line.removeAll(keepingCapacity: true)
                    skipping = false
                    overlong = false
                    from = end + 1
                }
            }
        }
        if !skipping, !line.isEmpty { emit(line, patterns: patterns, body) }
        return Extent(start: start, size: size)
    }

    private func emit(_ line: [UInt8], patterns: [[UInt8]], _ body: (String) -> Void) {
        guard patterns.isEmpty || patterns.contains(where: { Self.find($0, in: line) }) else { return }
        let text = String(decoding: line, as: UTF8.self)
        if let since, let t = time(text), t < since { return }
        body(text)
    }

    /// Whether `line` holds `pattern`: memchr to each place its first byte is, memcmp there.
    static func find(_ pattern: [UInt8], in line: [UInt8]) -> Bool {
        guard let head = pattern.first, line.count >= pattern.count else { return pattern.isEmpty }
        return line.withUnsafeBytes { l in
            pattern.withUnsafeBytes { p in
                let base = l.baseAddress!
                var at = 0
                while at + pattern.count <= line.count,
                      let hit = memchr(base + at, Int32(head), line.count - pattern.count + 1 - at) {
                    let index = hit - UnsafeMutableRawPointer(mutating: base)
                    if memcmp(base + index, p.baseAddress!, pattern.count) == 0 { return true }
                    at = index + 1
                }
                return false
            }
        }
    }

    /// The offset of a line at or before the first one stamped `since` or later (logs are in time order):
    /// each probe reads one line after a midpoint.
    func bisect(_ fd: Int32, size: UInt64, since: Date) -> UInt64 {
        var low: UInt64 = 0, high = size
        var probe = [UInt8](repeating: 0, count: 8192)
        while high - low > 65_536 {
            let mid = low + (high - low) / 2
            let n = probe.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(mid)) }
            guard n > 0, let first = probe[0..<n].firstIndex(of: 0x0A) else { high = mid; continue }
            let after = probe[(first + 1)..<n]
            let next = after.firstIndex(of: 0x0A) ?? after.endIndex
            let text = String(decoding: after[..<next], as: UTF8.self)
            // A line without a time stamp says nothing: look earlier.
            if let t = time(text), t < since { low = mid } else { high = mid }
        }
        return low
    }
}
