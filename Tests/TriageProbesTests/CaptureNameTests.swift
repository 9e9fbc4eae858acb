import Foundation
import Testing
import TriageKit
@testable import TriageProbes
import TriageTestSupport
import TriageWire

/// The name a captured chain is verified against: in a run, the name its client asked for (nginx's own
/// connection with its `proxy_ssl_name`), with the URL's host for a ClientHello without SNI; with
/// `analyze --host` (the `name` input), the name given, whatever was asked.
@Suite struct CaptureNameTests {
    typealias F = TLSFixtures

    @Test func theSNIComesFirstUnlessANameIsGiven() throws {
        let root = try F.root()
        let leaf = try F.leaf("internal.example.test", issuer: root)
        let ca = try F.file(root.certificatePEM)
        let server = Endpoint(IPAddress("127.0.0.1")!, port: 8443)
        let connection = CapturedTLS(client: Endpoint(IPAddress("127.0.0.1")!, port: 40_000), server: server, firstSeen: Date(),
                                     sni: "internal.example.test", offeredVersions: [0x0303], selectedVersion: 0x0303, selectedCipher: nil,
                                     serverHello: true, alerts: [], certificates: [leaf.certificate], certificateRequest: false, gaps: false,
                                     tcp: .init(refused: false, unanswered: false, waitedMs: 3), origin: .other, closedWithoutRequest: false)
        let digest = CaptureDigest([connection])
        let key = CaptureDigest.chainKey([leaf.certificate])
        func mismatch(_ check: ChainCheck?) -> Bool { check?.verification.has(.hostnameMismatch) == true }
        // A run: `host` is the URL's host (www), the proxy asked for internal: checked against internal (it
        // was checked against www after the analyze change, and a valid certificate was hostname-mismatch).
        let run = CaptureDecodeStep.verify(digest, caFile: ca, host: "www.example.test")
        #expect(run[key]?.verification.trusted == true && !mismatch(run[key]), "\(String(describing: run[key]?.verification))")
        // analyze --host www: every certificate must name www.
        let analyze = CaptureDecodeStep.verify(digest, caFile: ca, host: "www.example.test", name: "www.example.test")
        #expect(mismatch(analyze[key]), "\(String(describing: analyze[key]?.verification))")
    }
}
