import Foundation
import Testing
import TriageDemo
import TriageKit
import TriageProbes
import TriageTestSupport

/// The default runbook against fixture servers on 127.0.0.1, one broken
/// thing each: the root cause code and the facts that prove it.
@Suite struct TLSUpstreamTests {
    typealias F = TLSFixtures

    @Test func validCertificateIsHealthy() async throws {
        let root = try F.root()
        let leaf = try F.leaf(issuer: root)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let run = try await DefaultRunbook.run(port: server.port, caFile: try F.file(root.certificatePEM))
        #expect(run.document.verdict == .healthy, "\(run.document.findings.map(\.summary))")
        #expect(run.record.diagnosis.exitStatus == 0)
        #expect(run.step("handshake")?.status == .ok)
        #expect(run.step("alert")?.status == .skipped)
        #expect(run.step("dates")?.fact(.notAfter)?.date == F.midnight(335))
        #expect(run.step("dates")?.fact(.trusted) == true)
    }

    @Test func expiredCertificateIsRootCause() async throws {
        let root = try F.root()
        let notAfter = F.midnight(-268)
        let leaf = try F.leaf(notBefore: F.midnight(-700), notAfter: notAfter, issuer: root)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let run = try await DefaultRunbook.run(port: server.port, caFile: try F.file(root.certificatePEM))
        #expect(run.root?.cause == .certExpired)
        #expect(run.root?.date(.notAfter) == notAfter)
        #expect(run.root?.fact(.daysLeft) == -268)
        #expect(run.root?.summary == "the certificate for api.example.test expired on \(ISO8601.string(notAfter)), 268 day(s) before this run")
        #expect(run.record.diagnosis.exitStatus == 1)
        #expect(run.markdown.contains("expired on \(ISO8601.string(notAfter)), 268 day(s) before this run"))
        let attempts = run.step("handshake")?.outputs["attempts"]?.listValue ?? []
        #expect(attempts.first?["verify_code"] == 10)
        // "Prove it" fails while the certificate is expired (it printed the dates and exited 0).
        let proof = try #require(Fix(run.record.diagnosis, record: run.record)?.proof.first)
        #expect(proof.contains("-verify_return_error"), "\(proof)")
        #expect(try await Command.run(["/bin/sh", "-c", proof]).status != 0, "\(proof)")
    }

    @Test func notYetValidCertificate() async throws {
        let root = try F.root()
        let notBefore = F.midnight(12)
        let leaf = try F.leaf(notBefore: notBefore, notAfter: F.midnight(400), issuer: root)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let run = try await DefaultRunbook.run(port: server.port, caFile: try F.file(root.certificatePEM))
        #expect(run.root?.cause == .certNotYetValid)
        #expect(run.root?.date(.notBefore) == notBefore)
        // The title names the date it becomes valid, not its notAfter.
        let title = run.markdown.split(separator: "\n").first.map(String.init) ?? ""
        #expect(title == "# api.example.test: certificate not yet valid (\(ISO8601.string(notBefore)))", "\(title)")
    }

    @Test func wrongHost() async throws {
        let root = try F.root()
        let leaf = try F.leaf("other.example.test", issuer: root)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let run = try await DefaultRunbook.run(port: server.port, caFile: try F.file(root.certificatePEM))
        #expect(run.root?.cause == .hostnameMismatch)
        #expect(run.root?.fact(.sans) == ["DNS:other.example.test"])
        #expect(run.root?.fact(.host) == "api.example.test")
        // "Prove it" is a check that fails while the name is wrong and passes once it is right (it printed
        // the certificate's dates and exited 0 either way).
        let proof = try #require(Fix(run.record.diagnosis, record: run.record)?.proof.first)
        #expect(proof.hasPrefix("timeout 10 openssl s_client -brief -connect 127.0.0.1:\(server.port) -servername api.example.test -verify_return_error "
                                + "-verify_hostname api.example.test -CAfile "), "\(proof)")
        #expect(try await Command.run(["/bin/sh", "-c", proof]).status != 0)
        let right = try F.leaf("api.example.test", issuer: root)
        let fixed = try F.server(chain: [right], key: right)
        defer { fixed.stop() }
        let fixedProof = proof.replacingOccurrences(of: "127.0.0.1:\(server.port)", with: "127.0.0.1:\(fixed.port)")
        #expect(try await Command.run(["/bin/sh", "-c", fixedProof]).status == 0, "\(fixedProof)")
    }

    @Test func wildcardAndIPSANsMatch() async throws {
        let root = try F.root()
        let leaf = try F.leaf("*.example.test", sans: ["*.example.test", "IP:127.0.0.1"], issuer: root)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let ca = try F.file(root.certificatePEM)
        // Whether a name matches is OpenSSL's answer (RFC 6125: one label under the wildcard).
        let run = try await DefaultRunbook.run(port: server.port, caFile: ca)
        #expect(run.document.verdict == .healthy, "\(run.document.findings.map(\.summary))")
        let deeper = try await DefaultRunbook.run(port: server.port, host: "a.b.example.test", caFile: ca)
        #expect(deeper.root?.cause == .hostnameMismatch, "\(deeper.document.findings.map(\.summary))")
        let address = try await DefaultRunbook.run(port: server.port, host: "127.0.0.1", caFile: ca)
        #expect(address.document.verdict == .healthy, "\(address.document.findings.map(\.summary))")
    }

    @Test func selfSignedCertificate() async throws {
        let selfSigned = try CertificateMint.mint(.init(commonName: F.host, subjectAltNames: [F.host], notBefore: F.midnight(-1), notAfter: F.midnight(90)))
        let server = try F.server(chain: [selfSigned], key: selfSigned)
        defer { server.stop() }
        let run = try await DefaultRunbook.run(port: server.port, caFile: try F.file(try F.root("unrelated root").certificatePEM))
        #expect(run.root?.cause == .selfSigned)
        #expect(run.root?.subject == "CN=api.example.test,O=triage fixture")
    }

    @Test func untrustedRoot() async throws {
        let untrusted = try F.root("shadow root")
        let leaf = try F.leaf(issuer: untrusted)
        let server = try F.server(chain: [leaf, untrusted], key: leaf)
        defer { server.stop() }
        let run = try await DefaultRunbook.run(port: server.port, caFile: try F.file(try F.root().certificatePEM))
        #expect(run.root?.cause == .untrustedIssuer)
        #expect(run.root?.fact(.issuer) == "CN=shadow root,O=triage fixture")
    }

    /// The server omits the intermediate, and the client's CA file holds it:
    /// it verifies here, but not for clients without that intermediate.
    @Test func incompleteChainWithTheIntermediateKnown() async throws {
        let root = try F.root()
        let intermediate = try F.intermediate("triage intermediate", issuer: root)
        let leaf = try F.leaf(issuer: intermediate)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let run = try await DefaultRunbook.run(port: server.port, caFile: try F.file(root.certificatePEM + intermediate.certificatePEM))
        #expect(run.root?.cause == .incompleteChain, "\(run.document.findings.map(\.summary))")
        #expect(run.root?.fact(.missingIssuer) == "CN=triage intermediate,O=triage fixture")
    }

    /// `--fetch-aia`: the issuer the leaf's AIA names is fetched (a loopback HTTP server serving its DER) and
    /// decides: with the root as the anchor it completes the chain (incomplete-chain, the server must send
    /// it); against the system store it chains to a root nobody trusts here (untrusted-issuer).
    @Test(arguments: [true, false]) func theAIAIssuerIsFetchedAndDecides(withAnchor: Bool) async throws {
        let root = try F.root()
        let intermediate = try F.intermediate("fetched intermediate", issuer: root)
        let aia = try PlainTCPServer(.body(intermediate.certificate.der))
        defer { aia.stop() }
        let url = "http://127.0.0.1:\(aia.port)/intermediate.crt"
        let leaf = try F.leaf(notAfter: F.midnight(300), issuer: intermediate).extended(caIssuersURL: url, issuer: intermediate)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let run = try await DefaultRunbook.run(port: server.port, caFile: withAnchor ? try F.file(root.certificatePEM) : nil,
                                               extra: ["fetch_aia": "true"])
        let finding = try #require(run.document.findings.first { [.incompleteChain, .untrustedIssuer].contains($0.cause) && $0.fact(.url) != nil },
                                   "\(run.document.findings.map(\.summary))")
        #expect(finding.fact(.url)?.stringValue == url)
        #expect(finding.fact(.missingIssuer)?.stringValue == "CN=fetched intermediate,O=triage fixture")
        if withAnchor {
            #expect(finding.cause == .incompleteChain)
            #expect(finding.summary.contains("completes the chain"), "\(finding.summary)")
        } else {
            #expect(finding.cause == .untrustedIssuer)
            #expect(finding.summary.contains("does not chain to"), "\(finding.summary)")
        }
    }

    /// A public CA names its intermediate's address (AIA): a leaf sent alone is an incomplete chain.
    @Test func incompleteChainOfAPublicStyleCA() async throws {
        let root = try F.root()
        let intermediate = try F.intermediate("public intermediate", issuer: root)
        let leaf = try F.leaf(notAfter: F.midnight(300), issuer: intermediate)
            .extended(caIssuersURL: "http://ca.example.test/intermediate.crt", issuer: intermediate)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let run = try await DefaultRunbook.run(port: server.port, caFile: try F.file(root.certificatePEM))
        #expect(run.root?.cause == .incompleteChain, "\(run.document.findings.map(\.summary))")
        #expect(run.root?.fact(.url) == "http://ca.example.test/intermediate.crt")
    }

    /// A leaf from the organisation's own root, without --ca-file: the issuer
    /// is not trusted here — not "add the intermediate".
    @Test func privateRootWithoutCAFileIsUntrustedIssuer() async throws {
        let root = try F.root("corp root")
        let leaf = try F.leaf(issuer: root)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let run = try await DefaultRunbook.run(port: server.port, caFile: nil)
        #expect(run.root?.cause == .untrustedIssuer, "\(run.document.findings.map(\.summary))")
        #expect(run.root?.fact(.issuer) == "CN=corp root,O=triage fixture")
        // Both readings, and what decides between them.
        #expect(run.root?.summary.contains("either the server omits an intermediate") == true)
        #expect(run.root?.summary.contains("`--cacert` with your CA's bundle") == true)
        #expect(run.root?.remedy.contains("organisation's CA") == true)
    }

    // An expired intermediate: CaptureParityTests.expiredIntermediate checks the live run and the capture together.

    @Test func weakRSAKey() async throws {
        let root = try F.root()
        let leaf = try F.leaf(key: .rsa(bits: 1024), issuer: root)
        let server = try F.server(chain: [leaf], key: leaf) { $0.securityLevel = 0 }
        defer { server.stop() }
        let run = try await DefaultRunbook.run(port: server.port, caFile: try F.file(root.certificatePEM))
        #expect(run.root?.cause == .weakKey, "\(run.document.findings.map(\.summary))")
        #expect(run.root?.fact(.key) == "RSA 1024")
    }
}
