import Foundation
import Testing
import TriageKit
import TriageProbes
import TriageTestSupport

/// Files given as pipes are read once into a copy only this user can read; a regular file is
/// used as it is; a pipe that never ends is an error, not a hang.
@Suite struct StableInputTests {
    @Test func aFIFOIsCopiedOnceForThisUserAlone() throws {
        let folder = TestPaths.temporaryFolder("stable-input")
        let regular = folder.appendingPathComponent("ca.pem").path
        try "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".write(toFile: regular, atomically: true, encoding: .utf8)
        #expect(try StableInput.path(regular, what: "the CA file") == regular)

        let fifo = folder.appendingPathComponent("key.fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let secret = "-----BEGIN PRIVATE KEY-----\nsecret bytes\n-----END PRIVATE KEY-----\n"
        Thread {
            // The writer's open blocks until the reader's: no race with the copy.
            if let handle = FileHandle(forWritingAtPath: fifo) {
                handle.write(Data(secret.utf8))
                try? handle.close()
            }
        }.start()
        let copy = try StableInput.path(fifo, what: "the client key")
        #expect(copy != fifo)
        #expect(try String(contentsOfFile: copy, encoding: .utf8) == secret)
        let file = try FileManager.default.attributesOfItem(atPath: copy)[.posixPermissions] as? Int
        let parent = try FileManager.default.attributesOfItem(atPath: (copy as NSString).deletingLastPathComponent)[.posixPermissions] as? Int
        #expect(file == 0o600)
        #expect(parent == 0o700)
    }

    /// A FIFO nobody writes to: refused after its patience, with the reason.
    @Test func aFIFOWithoutAWriterIsAnErrorNotAHang() throws {
        let fifo = TestPaths.temporaryFolder("stable-input-silent").appendingPathComponent("ca.fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect {
            _ = try StableInput.path(fifo, what: "the CA file", patience: .milliseconds(300))
        } throws: { error in
            "\(error)".contains("cannot read the CA file \(fifo): it gave no end within")
        }
    }
}
