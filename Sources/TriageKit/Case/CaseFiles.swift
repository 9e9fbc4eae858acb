import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writing inside a case folder without following anything planted there:
/// each directory below the folder is opened with `openat(…, O_NOFOLLOW)`
/// relative to its parent, the file is written to a temporary name created
/// with `O_EXCL | O_NOFOLLOW` and renamed into place (`renameat`). A symlink
/// where `evidence/` or a step's folder should be is refused, never
/// followed; a reader sees the old file or the whole new one.
public enum CaseFiles {
    /// Why a write failed, as curl would say it: which file, what the system said.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var path: String
        public var errno: Int32
        public var description: String {
            errno == ELOOP || errno == ENOTDIR
                ? "cannot write \(path): a symlink or a file stands where a folder of the case should be (nothing inside a case is followed)"
                : "cannot write \(path): \(String(cString: strerror(errno)))"
        }
    }

    /// Writes `data` at `root/path…` (the last component the file), creating the folders between.
    public static func write(_ data: Data, root: URL, path: [String]) throws(Failure) {
        let (dir, name) = try openParent(root: root, path: path)
        defer { close(dir) }
        try write(data, in: dir, name: name, shown: ([root.path] + path).joined(separator: "/"))
    }

    /// Writes `data` as `name` in the open directory `dir` (`shown`: the path an error names).
    static func write(_ data: Data, in dir: Int32, name: String, shown: String) throws(Failure) {
        let temp = ".\(name).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = openat(dir, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure(path: shown, errno: errno) }
        var failed: Int32 = 0
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failed = errno
                    return
                }
                offset += n
            }
        }
        if close(fd) != 0, failed == 0 { failed = errno }
        if failed == 0, renameat(dir, temp, dir, name) != 0 { failed = errno }
        if failed != 0 {
            unlinkat(dir, temp, 0)
            throw Failure(path: shown, errno: failed)
        }
    }

    /// A file being written in pieces (a table of millions of rows): created under a temporary
    /// name as `write` does, moved into place by `finish`, removed when dropped unfinished.
    public final class Stream {
        private var dir: Int32
        private var fd: Int32
        private let temp: String
        private let name: String
        public let path: String
        private var done = false

        init(root: URL, path: [String]) throws(Failure) {
            (dir, name) = try CaseFiles.openParent(root: root, path: path)
            self.path = ([root.path] + path).joined(separator: "/")
            temp = ".\(name).\(UInt32.random(in: 0...UInt32.max)).tmp"
            fd = openat(dir, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                let e = errno
                close(dir)
                throw Failure(path: self.path, errno: e)
            }
        }

        deinit {
            if !done {
                close(fd)
                unlinkat(dir, temp, 0)
            }
            close(dir)
        }

        public func write(_ bytes: [UInt8]) throws(Failure) {
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw Failure(path: path, errno: errno)
                }
                offset += n
            }
        }

        public func finish() throws(Failure) {
            guard !done else { return }
            done = true
            let closed = close(fd)
            if closed != 0 || renameat(dir, temp, dir, name) != 0 {
                let e = errno
                unlinkat(dir, temp, 0)
                throw Failure(path: path, errno: e)
            }
        }
    }

    public static func stream(root: URL, path: [String]) throws(Failure) -> Stream { try Stream(root: root, path: path) }

    /// The parent folder of `path`'s last component, opened (and created) one component at a
    /// time below `root`, none of them followed if it is a symlink.
    /// The directory `root/path…` opened as `openParent` opens a file's (created as needed, nothing
    /// followed); the caller closes it.
    static func openDirectory(root: URL, path: [String]) throws(Failure) -> Int32 {
        try openParent(root: root, path: path + ["."], allowDot: true).0
    }

    static func openParent(root: URL, path: [String], allowDot: Bool = false) throws(Failure) -> (Int32, String) {
        guard let name = path.last, !name.isEmpty, name != "." || allowDot, name != "..", !name.contains("/") else {
            throw Failure(path: root.path, errno: EINVAL)
        }
        var dir = open(root.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dir >= 0 else { throw Failure(path: root.path, errno: errno) }
        var walked = root.path
        for component in path.dropLast() {
            walked += "/" + component
            guard !component.isEmpty, component != ".", component != "..", !component.contains("/") else {
                close(dir)
                throw Failure(path: walked, errno: EINVAL)
            }
            if mkdirat(dir, component, 0o755) != 0, errno != EEXIST {
                let e = errno
                close(dir)
                throw Failure(path: walked, errno: e)
            }
            let next = openat(dir, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let e = errno
            close(dir)
            guard next >= 0 else { throw Failure(path: walked, errno: e) }
            dir = next
        }
        return (dir, name)
    }
}
