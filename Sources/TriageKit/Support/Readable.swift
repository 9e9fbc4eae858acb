import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a file given on the command line cannot be read, in the system's words.
public enum Readable {
    /// nil when `path` can be opened for reading; otherwise the reason (`No such file or directory`).
    public static func why(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return String(cString: strerror(errno)) }
        defer { close(fd) }
        var info = stat()
        // A directory opens; reading it is what fails.
        if fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { return String(cString: strerror(EISDIR)) }
        return nil
    }

    /// The system's words for a failed read Foundation reports (its POSIX error inside a Cocoa one).
    public static func reason(of error: Error) -> String {
        let ns = error as NSError
        let posix = ns.domain == NSPOSIXErrorDomain ? ns : ns.userInfo[NSUnderlyingErrorKey] as? NSError
        guard let posix, posix.domain == NSPOSIXErrorDomain else { return ns.localizedDescription }
        return String(cString: strerror(Int32(posix.code)))
    }
}
