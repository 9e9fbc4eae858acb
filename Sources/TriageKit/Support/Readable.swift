import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Files named on the command line: why one cannot be read, in the system's words, and its
/// bytes read with a bound on size and, for a pipe, on time.
public enum Readable {
    /// nil when `path` can be read; otherwise the reason (`No such file or directory`). A pipe or
    /// FIFO is judged by stat and access alone, never opened: opening a FIFO is what lets its
    /// writer go on, and a second open would then find it gone.
    public static func why(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return String(cString: strerror(errno)) }
        if info.st_mode & S_IFMT == S_IFDIR { return String(cString: strerror(EISDIR)) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            return access(path, R_OK) == 0 ? nil : String(cString: strerror(errno))
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return String(cString: strerror(errno)) }
        close(fd)
        return nil
    }

    /// Whether `path` is a regular file (not a pipe, a FIFO, a device or a folder).
    public static func isRegular(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFREG
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        /// It held more than the limit (the rest was not read).
        public var tooLarge = false
    }

    /// At most `limit` bytes of `path` (more is an error, not a silent cut). A pipe, a FIFO or a
    /// terminal (`<(…)`, /dev/stdin) is read to its end within `patience`: a writer that never
    /// comes, or never ends, is an error, not a hang.
    public static func contents(_ path: String, limit: Int, patience: Duration = .seconds(30)) throws(Failure) -> Data {
        if let why = why(path) { throw Failure(description: why) }
        guard !isRegular(path) else {
            guard let handle = FileHandle(forReadingAtPath: path) else { throw Failure(description: why(path) ?? "cannot open") }
            defer { try? handle.close() }
            let data: Data
            do { data = try handle.read(upToCount: limit + 1) ?? Data() } catch { throw Failure(description: reason(of: error)) }
            guard data.count <= limit else { throw Failure(description: "larger than \(limit >> 20) MiB", tooLarge: true) }
            return data
        }
        // Opened without blocking (a FIFO with no writer yet would block the open), then polled:
        // Linux reports a FIFO's hang-up only once a writer has come and gone.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw Failure(description: String(cString: strerror(errno))) }
        defer { close(fd) }
        let deadline = ContinuousClock.now + patience
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let left = deadline - .now
            guard left > .zero else { throw Failure(description: "it gave no end within \(Int(patience.seconds)) s (a pipe whose writer never finishes?)") }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, Int32(clamping: max(1, Int(left.seconds * 1000))))
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                data.append(contentsOf: buffer[0..<n])
                guard data.count <= limit else { throw Failure(description: "larger than \(limit >> 20) MiB", tooLarge: true) }
            } else if n == 0 {
                return data
            } else if errno != EAGAIN && errno != EINTR {
                throw Failure(description: String(cString: strerror(errno)))
            }
        }
    }

    /// The system's words for a failed read Foundation reports (its POSIX error inside a Cocoa one).
    public static func reason(of error: Error) -> String {
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        // The POSIX error inside: an NSError, or (FoundationEssentials' file errors) a Swift POSIXError.
        let underlying = ns.userInfo[NSUnderlyingErrorKey] ?? (error as? CocoaError)?.userInfo[NSUnderlyingErrorKey]
        if let posix = underlying as? POSIXError { return String(cString: strerror(posix.code.rawValue)) }
        if let posix = underlying as? NSError, posix.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(posix.code))) }
        return ns.localizedDescription
    }
}
