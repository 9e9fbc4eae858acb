import Foundation
import Testing
import TriageDemo
import TriageKit
import TriageProbes
import TriageTestSupport
import TriageWire

/// A client context remembers the chains it verified (triage_verify_cache.c): the same bytes for the
/// same name are not verified again, and what the memory answers is what OpenSSL would have: a
/// certificate that expires, another name, another chain, a failure are all verified afresh.
@Suite(.serialized) struct VerifyMemoryTests {
    typealias F = TLSFixtures
    /// Longer than the suite takes: at its start, with every suite at once, three probes once spanned
    /// more than the default minute, and the third was verified again (as it should be).
    static let long: Duration = .seconds(3600)

    /// One probe of 127.0.0.1:`port` for `host` (not through /etc/hosts, which may add ::1), judged at `now`.
    func probe(_ probe: EndpointProbe, _ host: String, _ port: Int, at now: Date = Date()) async throws -> EndpointProbe.Result {
        await probe.probe(try Target("\(host):\(port)"), Endpoint(IPAddress(v4: 127, 0, 0, 1), port: UInt16(port)), now: now)
    }

    /// A probe whose context trusts `anchors` (PEM) and remembers for `memory`.
    func rememberingProbe(trusting anchors: String, for memory: Duration = Self.long) throws -> EndpointProbe {
        var options = EndpointProbe.Options()
        options.caFile = try F.file(anchors)
        options.verifyMemory = memory
        return try EndpointProbe(options)
    }

    func codes(_ p: EndpointProbe, _ host: String, _ port: Int, at now: Date = Date()) async throws -> [Int?] {
        try await probe(p, host, port, at: now).attempts.map(\.verifyCode)
    }

    /// Three probes of one server: OpenSSL verifies the chain once, the memory answers twice, and the
    /// verified path (leaf, then the root) is the same every time.
    @Test func aChainVerifiedOnceIsRemembered() async throws {
        let root = try F.root()
        let leaf = try F.leaf("localhost", sans: ["localhost"], issuer: root)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let probe = try rememberingProbe(trusting: root.certificatePEM)
        var paths: [[String]] = []
        for _ in 0..<3 {
            let result = try await self.probe(probe, "localhost", server.port)
            #expect(result.attempts.map(\.verifyCode) == [0])
            paths.append(result.verifiedPaths.first?.map(\.subject) ?? [])
        }
        #expect(probe.verifications.verified == 1)
        #expect(probe.verifications.remembered == 2)
        #expect(paths.allSatisfy { $0 == ["CN=localhost,O=triage fixture", "CN=triage test root,O=triage fixture"] }, "\(paths)")
    }

    /// The same chain checked for an address it does not carry (the leaf names localhost only): verified
    /// again, and it fails (64, IP address mismatch); a failure is never remembered, so the next probe
    /// verifies once more.
    @Test func anotherNameIsVerifiedAgain() async throws {
        let root = try F.root()
        let leaf = try F.leaf("localhost", sans: ["localhost"], issuer: root)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let probe = try rememberingProbe(trusting: root.certificatePEM)
        #expect(try await codes(probe, "localhost", server.port) == [0])
        #expect(try await codes(probe, "127.0.0.1", server.port) == [64])
        #expect(try await codes(probe, "127.0.0.1", server.port) == [64])
        #expect(probe.verifications.verified == 3)
        #expect(probe.verifications.remembered == 0)
        #expect(try await codes(probe, "localhost", server.port) == [0])
        #expect(probe.verifications.remembered == 1)
    }

    /// A leaf whose notAfter is an hour away, probed as of a minute and a second before it (the probe's
    /// judging time, which OpenSSL verifies at): remembered while valid, and as of its notAfter it
    /// fails with 10 (certificate has expired), as OpenSSL alone says — at that very second.
    @Test func aRememberedChainExpiresOnTime() async throws {
        let root = try F.root()
        let notAfter = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 3600).rounded(.down))
        let leaf = try F.leaf("localhost", sans: ["localhost"], notBefore: F.midnight(-1), notAfter: notAfter, issuer: root)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let probe = try rememberingProbe(trusting: root.certificatePEM)
        #expect(try await codes(probe, "localhost", server.port, at: notAfter.addingTimeInterval(-60)) == [0])
        #expect(try await codes(probe, "localhost", server.port, at: notAfter.addingTimeInterval(-1)) == [0])
        #expect(probe.verifications.remembered == 1)
        #expect(try await codes(probe, "localhost", server.port, at: notAfter) == [10])
        #expect(probe.verifications.remembered == 1)
    }

    /// A root renewed with the old one's name and key, valid from an hour on, listed first in the
    /// store: from then on OpenSSL builds the path to the renewed root. What was remembered ends when it
    /// starts, so the path (and its anchor's notAfter, the exporter's last-chain expiry) is the one a
    /// fresh verification finds. (Found by a helper: it stayed on the old root for a minute.)
    @Test func aRootThatStartsLaterEndsWhatWasRemembered() async throws {
        let old = try F.root()
        let starts = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 3600).rounded(.down))
        let renewed = try CertificateMint.mint(.init(commonName: "triage test root", notBefore: starts, notAfter: F.midnight(4000), isCA: true,
                                                     key: .existing(keyPEM: old.keyPEM)))
        #expect(renewed.certificate.subject == old.certificate.subject)
        let leaf = try F.leaf("localhost", sans: ["localhost"], issuer: old)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let probe = try rememberingProbe(trusting: renewed.certificatePEM + old.certificatePEM)
        func anchorEnds(at now: Date) async throws -> Date? { try await self.probe(probe, "localhost", server.port, at: now).verifiedPaths.first?.last?.notAfter }
        #expect(try await anchorEnds(at: starts.addingTimeInterval(-60)) == F.midnight(3650))
        #expect(try await anchorEnds(at: starts.addingTimeInterval(-1)) == F.midnight(3650))
        #expect(probe.verifications.remembered == 1)
        #expect(try await anchorEnds(at: starts) == F.midnight(4000))
        #expect(probe.verifications.verified == 2)
    }

    /// What is remembered is forgotten after its time (a minute by default, a second here).
    @Test func aRememberedChainIsForgottenInTime() async throws {
        let root = try F.root()
        let leaf = try F.leaf("localhost", sans: ["localhost"], issuer: root)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let probe = try rememberingProbe(trusting: root.certificatePEM, for: .seconds(1))
        #expect(try await codes(probe, "localhost", server.port) == [0])
        try await Task.sleep(for: .milliseconds(1500))
        #expect(try await codes(probe, "localhost", server.port) == [0])
        #expect(probe.verifications.verified == 2)
        #expect(probe.verifications.remembered == 0)
    }

    /// A server that changes its certificate (same name, same CA, another key and serial) is verified
    /// again: the memory is keyed by the bytes, and the new chain's own verification is what counts.
    @Test func anotherChainForTheSameNameIsVerifiedAgain() async throws {
        let root = try F.root()
        let first = try F.leaf("localhost", sans: ["localhost"], issuer: root)
        let second = try F.leaf("localhost", sans: ["localhost"], issuer: root)
        let probe = try rememberingProbe(trusting: root.certificatePEM)
        for leaf in [first, second] {
            let server = try F.server(chain: [leaf], key: leaf)
            defer { server.stop() }
            let result = try await self.probe(probe, "localhost", server.port)
            #expect(result.attempts.map(\.verifyCode) == [0])
            #expect(result.leaf?.der == leaf.certificate.der)
        }
        #expect(probe.verifications.verified == 2)
        #expect(probe.verifications.remembered == 0)
    }
}
