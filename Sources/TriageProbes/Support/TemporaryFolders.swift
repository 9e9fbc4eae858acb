import Foundation
import Synchronization

/// Folders triage makes under the temporary directory for as long as something uses them (a PKCS#12
/// trust store's PEM bundle). Whoever makes one removes it when done; what is still here when the
/// process leaves — a run's deadline that abandoned its step, a second Ctrl-C — is removed then.
public enum TemporaryFolders {
    private static let open = Mutex<Set<String>>([])

    /// A new folder's URL, `PREFIX-PID-XXXXXXXX` (created by whoever writes into it).
    public static func make(_ prefix: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(getpid())-\(UUID().uuidString.prefix(8))")
        open.withLock { _ = $0.insert(url.path) }
        return url
    }

    public static func remove(_ url: URL) {
        try? FileManager.default.removeItem(at: url)
        open.withLock { _ = $0.remove(url.path) }
    }

    /// Every folder not removed yet; the process is leaving.
    public static func removeAll() {
        for path in open.withLock({ folders in defer { folders = [] }; return folders }) {
            try? FileManager.default.removeItem(atPath: path)
        }
    }
}
