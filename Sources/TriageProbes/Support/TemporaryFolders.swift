import Foundation
import Synchronization

/// Folders triage makes under the temporary directory for as long as something uses them (a PKCS#12
/// trust store's PEM bundle). Whoever makes one removes it when done; what is still here when the
/// process leaves — a run's deadline that abandoned its step, a second Ctrl-C — is removed then.
public enum TemporaryFolders {
    private struct Registry {
        var folders: Set<String> = []
        /// The process is leaving: a folder written after the sweep is removed by its writer.
        var closed = false
    }
    private static let registry = Mutex(Registry())

    /// A new folder's URL, `PREFIX-PID-XXXXXXXX` (created by whoever writes into it).
    public static func make(_ prefix: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(getpid())-\(UUID().uuidString.prefix(8))")
        registry.withLock { _ = $0.folders.insert(url.path) }
        return url
    }

    public static func remove(_ url: URL) {
        try? FileManager.default.removeItem(at: url)
        registry.withLock { _ = $0.folders.remove(url.path) }
    }

    /// After writing into `url`: false, with the folder removed, when the process is leaving (a step
    /// the run's deadline abandoned can still be writing after the sweep).
    public static func stillWanted(_ url: URL) -> Bool {
        guard registry.withLock({ $0.closed }) else { return true }
        try? FileManager.default.removeItem(at: url)
        return false
    }

    /// Every folder not removed yet; the process is leaving.
    public static func removeAll() {
        let paths = registry.withLock { r in
            defer { r.folders = []; r.closed = true }
            return r.folders
        }
        for path in paths { try? FileManager.default.removeItem(atPath: path) }
    }
}
