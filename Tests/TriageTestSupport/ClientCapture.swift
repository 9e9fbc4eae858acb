import Foundation
import TriageProbes

/// Real `openssl s_client` runs against a port on 127.0.0.1, captured with
/// libpcap on loopback into a pcapng file, as a user would capture them
/// with tcpdump.
public enum ClientCapture {
    /// One `s_client` per argument list (each killed after `seconds`); returns the file and its frame count.
    public static func sClient(port: Int, _ runs: [[String]], seconds: Int = 5) async throws -> (path: String, frames: Int) {
        let live = try LiveCapture(device: "lo", filter: "tcp port \(port)")
        try await Task.sleep(for: .milliseconds(100))
        for arguments in runs {
            _ = try await Command.run(["/bin/sh", "-c", "timeout \(seconds) openssl s_client -connect 127.0.0.1:\(port) "
                                       + arguments.joined(separator: " ") + " </dev/null >/dev/null 2>&1"])
        }
        try await Task.sleep(for: .milliseconds(200))
        let (bytes, frames, _, _) = live.stop()
        let file = TestPaths.temporaryFolder("client-capture").appendingPathComponent("capture.pcapng")
        try Data(bytes).write(to: file)
        return (file.path, frames)
    }
}
