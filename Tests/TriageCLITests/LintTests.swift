import Foundation
import Testing
import TriageTestSupport

/// C stays in its wrappers: outside the files that own a C object, no Swift
/// file imports a C module, names a C pointer type, or calls an OpenSSL,
/// libcurl, libpcap or shim function.
@Suite struct LintTests {
    /// The files that own a C object (one each) or wrap the C library they use.
    static let wrappers: Set<String> = [
        "Sources/TriageProbes/OpenSSL/OpenSSLError.swift",
        "Sources/TriageProbes/OpenSSL/X509Certificate.swift",
        "Sources/TriageProbes/OpenSSL/ChainVerifier.swift",
        "Sources/TriageProbes/OpenSSL/OpenSSLTLS13Crypto.swift",
        "Sources/TriageProbes/OpenSSL/SSLContext.swift",
        "Sources/TriageProbes/Curl/CurlEasy.swift",
        "Sources/TriageProbes/Pcap/PcapHandle.swift",
        "Sources/TriageProbes/Support/EventPoll.swift",
        "Sources/TriageProbes/Support/IDNA.swift",
        "Sources/TriageProbes/Support/Gzip.swift",
        "Sources/TriageProbes/Support/TCPSocket.swift",
        "Sources/TriageProbes/Support/HostAddresses.swift",
        "Sources/TriageProbes/Support/LibraryVersions.swift",
        "Sources/TriageProbes/Support/ProcessTuning.swift",
        "Sources/TriageProbes/Support/Subprocess.swift",
        "Sources/TriageWire/Capture/CaptureFile.swift",
        "Sources/TriageDemo/CertificateMint.swift",
        "Sources/TriageDemo/DemoTLSServer.swift",
        "Tests/TriageTestSupport/TLSServer.swift",
        "Sources/triage/Signals.swift",
        // libFuzzer's entry points take C pointers.
        "Benchmarks/ParserFuzz/ParserFuzz.swift",
        "Benchmarks/CaptureFuzz/CaptureFuzz.swift",
    ]

    nonisolated(unsafe) static let forbidden =
        #/\bOpaquePointer\b|\bUnsafeMutablePointer\b|\b(SSL|SSL_CTX|X509|EVP|BIO|ERR|OBJ|PEM|d2i|i2d|CRYPTO)_[A-Za-z0-9_]*\s*\(|\bcurl_[a-z_]+\s*\(|\bpcap_[a-z_]+\s*\(|\btriage_[a-z0-9_]+\s*\(|import\s+(COpenSSL|CCurl|CPcap|CTriageShims|CTriageSignals|CTriageTestShims)\b/#

    /// The code of a Swift file without string literals and comments, line by line.
    static func code(_ text: String) -> [(Int, String)] {
        var out: [(Int, String)] = []
        var inBlock = false
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = String(raw)
            if line.contains("\"\"\"") { inBlock.toggle(); continue }
            if inBlock { continue }
            line = line.replacing(#/"(?:[^"\\]|\\.)*"/#, with: "\"\"")
            if let comment = line.range(of: "//") { line = String(line[..<comment.lowerBound]) }
            out.append((number + 1, line))
        }
        return out
    }

    @Test func cOnlyInWrappers() throws {
        let root = TestPaths.repository
        var offenders: [String] = []
        for folder in ["Sources", "Tests", "Benchmarks"] {
            let enumerator = FileManager.default.enumerator(atPath: root.appendingPathComponent(folder).path)
            while let name = enumerator?.nextObject() as? String {
                let path = "\(folder)/\(name)"
                guard path.hasSuffix(".swift"), !Self.wrappers.contains(path), !path.hasSuffix("BundledFiles.swift") else { continue }
                let text = try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
                for (line, code) in Self.code(text) where code.firstMatch(of: Self.forbidden) != nil {
                    offenders.append("\(path):\(line): \(code.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
        #expect(offenders.isEmpty, "C outside its wrappers:\n\(offenders.joined(separator: "\n"))")
        // And the list names files that exist.
        for path in Self.wrappers {
            #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent(path).path), "\(path) is listed but missing")
        }
    }
}
