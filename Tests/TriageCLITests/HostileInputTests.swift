import Foundation
import Testing
import TriageDemo
import TriageKit
import TriageTestSupport

/// triage as an attacker would feed it, through the built binary: hostile
/// certificate names, runbooks that would run data as code, folders that are
/// not triage's, unbounded input. No crash, no command run, no write outside
/// the case, no live markup, no healthy broken certificate.
@Suite(.serialized) struct HostileInputTests {
    typealias F = TLSFixtures

    // MARK: - Certificates whose names are not what they print

    /// A leaf signed by `root` whose subjectAltName is exactly these DNS names as raw bytes
    /// (NUL, newline, markup, escapes kept): made with openssl from the DER itself.
    static func leaf(dnsNames: [[UInt8]], root: CertificateMint.Identity) async throws -> (cert: String, key: String) {
        let folder = TestPaths.temporaryFolder("hostile-mint")
        let rootCert = folder.appendingPathComponent("root.pem"), rootKey = folder.appendingPathComponent("root.key")
        try root.certificatePEM.write(to: rootCert, atomically: true, encoding: .utf8)
        try root.keyPEM.write(to: rootKey, atomically: true, encoding: .utf8)
        func der(_ tag: UInt8, _ body: [UInt8]) -> [UInt8] {
            let n = body.count
            let length: [UInt8] = n < 128 ? [UInt8(n)] : n < 256 ? [0x81, UInt8(n)] : [0x82, UInt8(n >> 8), UInt8(n & 0xFF)]
            return [tag] + length + body
        }
        let san = der(0x30, dnsNames.flatMap { der(0x82, $0) })
        let hex = san.map { String(format: "%02X", $0) }.joined()
        let ext = folder.appendingPathComponent("ext.cnf")
        try "[v3]\nsubjectAltName = DER:\(hex)\nbasicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\n".write(to: ext, atomically: true, encoding: .utf8)
        let key = folder.appendingPathComponent("leaf.key").path, csr = folder.appendingPathComponent("leaf.csr").path
        let cert = folder.appendingPathComponent("leaf.pem").path
        let a = try await Command.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                       "-subj", "/CN=hostile", "-keyout", key, "-out", csr])
        #expect(a.status == 0, "\(a.stderr)")
        let b = try await Command.run(["openssl", "x509", "-req", "-in", csr, "-CA", rootCert.path, "-CAkey", rootKey.path, "-CAcreateserial",
                                       "-days", "30", "-extfile", ext.path, "-extensions", "v3", "-out", cert])
        #expect(b.status == 0, "\(b.stderr)")
        return (try String(contentsOfFile: cert, encoding: .utf8), try String(contentsOfFile: key, encoding: .utf8))
    }

    /// `victim.test\0.attacker.example`: printed text stops at the NUL and would read
    /// `victim.test`; OpenSSL's name check refuses it, so does triage — and shows it escaped.
    @Test func aNULInsideTheOnlyNameIsNoMatch() async throws {
        let root = try F.root()
        let (cert, key) = try await Self.leaf(dnsNames: [Array("victim.test".utf8) + [0] + Array(".attacker.example".utf8)], root: root)
        let server = try TLSServer(TLSServer.Configuration(chainPEM: cert, keyPEM: key))
        defer { server.stop() }
        let ca = try F.file(root.certificatePEM)
        let out = TestPaths.temporaryFolder("nul-san")
        let r = try await Command.triage(["run", "https://victim.test:\(server.port)/", "--resolve", "victim.test:\(server.port):127.0.0.1",
                                          "--cacert", ca, "--out", out.path])
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        let doc = try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json")))
        #expect(doc.rootCause?.cause == .hostnameMismatch, "\(doc.findings.map(\.cause))")
        #expect(doc.rootCause?.fact(.sans) == ["DNS:victim.test\\x00.attacker.example"])
        let scan = try await Command.triage(["scan", "victim.test:\(server.port)", "--cacert", ca, "--format", "jsonl"], hosts: "127.0.0.1 victim.test\n")
        #expect(scan.status == 1, "\(scan.stdout)\(scan.stderr)")
        #expect(scan.stdout.contains("\"cause\":\"hostname-mismatch\""), "\(scan.stdout)")
    }

    /// Markup, terminal escapes and line breaks in certificate names reach no output live.
    @Test func markupAndEscapesInNamesAreShownNotObeyed() async throws {
        let root = try F.root()
        let names: [[UInt8]] = [Array("</details><script>alert(1)</script>".utf8), [0x1B] + Array("[2J".utf8),
                                Array("two\nlines.example.test".utf8), Array("api.example.test".utf8)]
        let (cert, key) = try await Self.leaf(dnsNames: names, root: root)
        let server = try TLSServer(TLSServer.Configuration(chainPEM: cert, keyPEM: key))
        defer { server.stop() }
        let out = TestPaths.temporaryFolder("markup-san")
        // Asked for a name the certificate lacks, so its names are quoted in the finding.
        let r = try await Command.triage(["run", "https://other.example.test:\(server.port)/", "--resolve", "other.example.test:\(server.port):127.0.0.1",
                                          "--cacert", try F.file(root.certificatePEM), "--out", out.path, "-v"])
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        #expect(!r.stdout.utf8.contains(0x1B) && !r.stderr.utf8.contains(0x1B), "an escape reached the terminal")
        let md = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(!md.utf8.contains(0x1B))
        // Inside fenced blocks (the raw evidence) markup is text; everywhere else it is escaped.
        var outsideFences = "", inFence = false
        for line in md.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") { inFence.toggle(); continue }
            if !inFence { outsideFences += line + "\n" }
        }
        #expect(!outsideFences.contains("<script>") && !outsideFences.contains("</details><"), "live markup in report.md")
        #expect(outsideFences.contains("&lt;script&gt;"))
        #expect(md.contains("\\x1b[2J"))
        let json = try Data(contentsOf: out.appendingPathComponent("report.json"))
        #expect((try? JSONSerialization.jsonObject(with: json)) != nil)
    }

    // MARK: - No command from data

    func write(_ yaml: String) throws -> String {
        let url = TestPaths.temporaryFolder("hostile-rb").appendingPathComponent("rb.yaml")
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    @Test func shellTextAndOneStringCommandsRefuseExpressions() async throws {
        let shell = try write("""
            name: x
            inputs: { url: { required: true } }
            steps:
              - id: a
                uses: exec
                with:
                  shell: true
                  run: "curl -s ${{ inputs.url }}"
              - id: b
                uses: exec
                with:
                  run: "echo ${{ inputs.url }}"
              - id: c
                uses: exec
                with:
                  run: [sh, -c, "echo ${{ inputs.url }}"]
              - id: d
                uses: exec
                with:
                  run: [env, sh, -c, "echo ${{ inputs.url }}"]
              - id: e
                uses: exec
                with:
                  run: [timeout, "5", /bin/bash, -c, "echo ${{ inputs.url }}"]
              - id: f
                uses: exec
                with:
                  run: [python3, -c, "print('${{ inputs.url }}')"]
            """)
        let r = try await Command.triage(["validate", shell])
        #expect(r.status == 2)
        #expect(r.stderr.contains("\(shell):8:21: step 'a': ${{ }} inside a shell command runs data as code: pass the value through env:"), "\(r.stderr)")
        #expect(r.stderr.contains("\(shell):12:18: step 'b': ${{ }} inside a one-string command is split on spaces"), "\(r.stderr)")
        #expect(r.stderr.contains("\(shell):16:27: step 'c': ${{ }} inside a shell command runs data as code"), "\(r.stderr)")
        // Behind a wrapper (env, timeout) or another interpreter, the same (a tryout ran `env sh -c` with a value).
        for step in ["d", "e", "f"] {
            #expect(r.stderr.contains("step '\(step)': ${{ }} inside a shell command runs data as code"), "\(step): \(r.stderr)")
        }
        let run = try await Command.triage(["run", "https://x.test/", "--runbook", shell, "--out", TestPaths.temporaryFolder("never").path])
        #expect(run.status == 2, "nothing runs")
    }

    /// A value through `env:` is data to the shell; an argv element is one argument, whatever it holds.
    @Test func valuesReachCommandsAsDataOnly() async throws {
        let marker = TestPaths.temporaryFolder("pwned").appendingPathComponent("pwned")
        let rb = try write("""
            name: x
            inputs: { url: { required: true }, note: { default: "" } }
            steps:
              - id: shell
                uses: exec
                with:
                  shell: true
                  run: printf '%s' "$NOTE"
                  env: { NOTE: "${{ inputs.note }}" }
              - id: argv
                uses: exec
                with:
                  run: [printf, "%s|", "${{ inputs.note }}"]
            """)
        let out = TestPaths.temporaryFolder("env-case")
        let hostile = "a b; touch \(marker.path) $(touch \(marker.path)) `touch \(marker.path)`"
        let r = try await Command.triage(["run", "https://x.test/", "--runbook", rb, "--set", "note=\(hostile)", "--out", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: marker.path), "a value ran as a command")
        let shellOut = try String(contentsOf: out.appendingPathComponent("evidence/shell/stdout.txt"), encoding: .utf8)
        #expect(shellOut == hostile)
        let argvOut = try String(contentsOf: out.appendingPathComponent("evidence/argv/stdout.txt"), encoding: .utf8)
        #expect(argvOut == hostile + "|", "one argument")
    }

    // MARK: - Case folders that cannot hurt

    @Test func aFolderThatIsNotACaseIsRefused() async throws {
        let folder = TestPaths.temporaryFolder("foreign")
        try "{}".write(to: folder.appendingPathComponent("report.json"), atomically: true, encoding: .utf8)
        try "mine".write(to: folder.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        let r = try await Command.triage(["run", "--runbook", "nginx-error", "--out", folder.path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("is not a triage case (no .triage-case marker)"), "\(r.stderr)")
        #expect(try String(contentsOf: folder.appendingPathComponent("report.json"), encoding: .utf8) == "{}")
    }

    /// A second run never replaces the first silently: it goes beside it; --force replaces it.
    @Test func anEarlierCaseIsKeptUnlessForced() async throws {
        let folder = TestPaths.temporaryFolder("cases").appendingPathComponent("case")
        let first = try await Command.triage(["run", "--runbook", "nginx-error", "--out", folder.path])
        #expect(first.status == 1)
        let firstJSON = try Data(contentsOf: folder.appendingPathComponent("report.json"))
        let second = try await Command.triage(["run", "--runbook", "nginx-error", "--out", folder.path])
        #expect(second.status == 1)
        #expect(second.stdout.contains("report: \(folder.path)-2/report.md"), "\(second.stdout)")
        #expect(second.stderr.contains("holds an earlier case, kept"))
        #expect(try Data(contentsOf: folder.appendingPathComponent("report.json")) == firstJSON)
        let forced = try await Command.triage(["run", "--runbook", "nginx-error", "--out", folder.path, "--force"])
        #expect(forced.stdout.contains("report: \(folder.path)/report.md"), "\(forced.stdout)")
        #expect(!FileManager.default.fileExists(atPath: folder.path + "-3"))
    }

    /// Two runs at once into one folder never mix their files.
    @Test func twoRunsAtOnceGetTwoFolders() async throws {
        let folder = TestPaths.temporaryFolder("concurrent").appendingPathComponent("case")
        async let a = Command.triage(["run", "--runbook", "nginx-error", "--out", folder.path])
        async let b = Command.triage(["run", "--runbook", "nginx-error", "--out", folder.path])
        let (ra, rb) = try await (a, b)
        let paths = [ra, rb].compactMap { $0.stdout.split(separator: "\n").first.map(String.init) }
        #expect(Set(paths).count == 2, "\(paths) \(ra.stderr) \(rb.stderr)")
        for r in [ra, rb] { #expect(r.status == 1, "\(r.stderr)") }
    }

    /// Nothing inside a case follows a symlink: a planted `evidence` link is refused, never written through.
    @Test func aPlantedSymlinkIsNotFollowed() throws {
        let folder = TestPaths.temporaryFolder("planted")
        let elsewhere = TestPaths.temporaryFolder("elsewhere")
        try FileManager.default.createSymbolicLink(at: folder.appendingPathComponent("evidence"), withDestinationURL: elsewhere)
        #expect(throws: CaseFiles.Failure.self) {
            try CaseFiles.write(Data("x".utf8), root: folder, path: ["evidence", "step", "file.txt"])
        }
        #expect((try FileManager.default.contentsOfDirectory(atPath: elsewhere.path)).isEmpty)
    }

    /// A proxy SNI of `../../x` makes no file outside the step's folder.
    @Test func namesInFileNamesStayInside() async throws {
        let root = try F.root()
        let leaf = try F.leaf(issuer: root)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let out = TestPaths.temporaryFolder("sni-name")
        let r = try await Command.triage(["run", "https://\(F.host):\(server.port)/", "--resolve", "\(F.host):\(server.port):127.0.0.1",
                                          "--cacert", try F.file(root.certificatePEM), "--proxy-sni", "../../../escaped", "--out", out.path])
        #expect(r.status <= 1, "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.deletingLastPathComponent().appendingPathComponent("escaped").path))
        let walked = FileManager.default.enumerator(atPath: out.path)?.compactMap { $0 as? String } ?? []
        #expect(walked.allSatisfy { !$0.split(separator: "/").contains("..") }, "\(walked)")
    }

    // MARK: - Bounds

    @Test func hugeAndEmptyInputIsRefusedShortly() async throws {
        let file = TestPaths.temporaryFolder("long").appendingPathComponent("targets.txt")
        try (String(repeating: "a", count: 10_000_000) + "\n").write(to: file, atomically: true, encoding: .utf8)
        let r = try await Command.triage(["scan", "--targets", file.path, "--timeout", "2s"])
        #expect(r.status == 2)
        #expect(r.stderr.utf8.count < 600, "the 10 MB line is not echoed: \(r.stderr.utf8.count) bytes")
        let host = String(repeating: "a.", count: 150) + "test"
        let h = try await Command.triage(["scan", host])
        #expect(h.status == 2)
        #expect(h.stderr.contains("longer than 253"), "\(h.stderr)")
        let zero = try await Command.triage(["scan", "localhost:1", "--timeout", "0s"])
        #expect(zero.status == 2)
        #expect(zero.stderr.contains("more than zero"), "\(zero.stderr)")
    }

    /// A full disk says which file and why, as curl would — never a Foundation error domain.
    @Test func aFullDiskIsSaidPlainly() async throws {
        let mount = TestPaths.temporaryFolder("tiny")
        let script = """
            mount -t tmpfs -o size=64k tmpfs "$1" && dd if=/dev/zero of="$1/filler" bs=1k count=60 2>/dev/null;
            "$0" run --runbook nginx-error --out "$1/case"; echo "status $?"
            """
        let r = try await Command.run(["unshare", "-m", "sh", "-c", script, TestPaths.triageBinary.path, mount.path])
        #expect(!r.stderr.contains("NSCocoaErrorDomain") && !r.stderr.contains("Error Domain"), "\(r.stderr)")
        #expect(r.stderr.contains("No space left on device"), "\(r.stderr)")
        #expect(r.stdout.contains("status 2"), "\(r.stdout)")
    }
}
