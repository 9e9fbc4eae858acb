import Foundation
import Testing
import TriageDemo
import TriageKit
import TriageProbes
import TriageTestSupport

/// OpenSSL 3.0 runs EC and RSA keys by its built-in methods in triage (triage_keys.c): a handshake's
/// certificate is decoded without building a provider decoder for it. Whatever OpenSSL asks of a key
/// on either side still works: ECDHE on the NIST curves (a key share made after a HelloRetryRequest,
/// TLS 1.2's ServerKeyExchange), RSA-PSS and ECDSA signatures, keys minted and keys read from PEM.
@Suite struct OpenSSLKeyRouteTests {
    typealias F = TLSFixtures

    @Test func theRouteIsOnWithOpenSSL30Only() {
        // (The whole suite passes with TRIAGE_OPENSSL_PROVIDER_KEYS=1 too, OpenSSL's own route.)
        let turnedOff = ProcessInfo.processInfo.environment["TRIAGE_OPENSSL_PROVIDER_KEYS"].map { !$0.isEmpty && $0 != "0" } ?? false
        #expect(LibraryVersions.openSSLBuiltinKeys == (LibraryVersions.openSSL.hasPrefix("OpenSSL 3.0.") && !turnedOff))
        #expect(LibraryVersions.summary.contains("built-in methods") == LibraryVersions.openSSLBuiltinKeys)
    }

    static let cases: [(CertificateMint.KeyKind, String, String)] = [
        (.ecP256, "P-256", "TLSv1.3"), (.ecP256, "P-384", "TLSv1.2"), (.rsa(bits: 2048), "P-256", "TLSv1.3"),
        (.rsa(bits: 2048), "P-521", "TLSv1.2"), (.ecP256, "X25519", "TLSv1.2"),
    ]

    @Test(arguments: cases)
    func handshakesOnEveryCurveAndKeyAreHealthy(key: CertificateMint.KeyKind, groups: String, version: String) async throws {
        let root = try F.root()
        let leaf = try F.leaf(key: key, issuer: root)
        let server = try F.server(chain: [leaf], key: leaf) {
            $0.groups = groups
            $0.maxVersion = version
        }
        defer { server.stop() }
        let run = try await DefaultRunbook.run(port: server.port, caFile: try F.file(root.certificatePEM))
        #expect(run.record.diagnosis.exitStatus == 0, "\(run.document.findings.map(\.summary))")
        #expect(run.root == nil)
    }

    /// curl reads the client key itself (a key of OpenSSL's decoders: TLS signs with it whichever route
    /// is in effect); EC and RSA keys are presented, in their own file or the certificate's; a key that
    /// cannot be read, or is encrypted, is curl's certificate problem (58) at once, never a prompt.
    @Test(arguments: [CertificateMint.KeyKind.ecP256, .rsa(bits: 2048)])
    func curlPresentsItsClientKey(kind: CertificateMint.KeyKind) async throws {
        let root = try F.root()
        let clientCA = try F.root("client CA")
        let client = try F.leaf("client.example.test", key: kind, issuer: clientCA)
        let leaf = try F.leaf(key: kind, issuer: root)
        let server = try F.server(chain: [leaf], key: leaf, configure: { $0.clientCAPEM = clientCA.certificatePEM }) { connection, _ in
            guard connection.readRequest() != nil else { return }
            _ = connection.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        }
        defer { server.stop() }
        var request = HTTPRequest(url: "https://\(F.host):\(server.port)/")
        request.resolve = ["\(F.host):\(server.port):127.0.0.1"]
        request.caFile = try F.file(root.certificatePEM)
        request.proxy = .none
        request.clientCertificate = try F.file(client.certificatePEM, named: "client.pem")
        request.clientKey = try F.file(client.keyPEM, named: "client.key")
        let presented = try #require(await request.fetch()).exchange
        #expect(presented.curlCode == 0 && presented.status == 200, "\(presented.curlMessage)")
        // The key in the certificate's own file (no --key), as curl reads it.
        request.clientCertificate = try F.file(client.certificatePEM + client.keyPEM, named: "client-and-key.pem")
        request.clientKey = nil
        let together = try #require(await request.fetch()).exchange
        #expect(together.curlCode == 0 && together.status == 200, "\(together.curlMessage)")
        request.clientKey = try F.file("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", named: "broken.key")
        let broken = try #require(await request.fetch()).exchange
        #expect(broken.curlCode == 58, "\(broken.curlMessage)")
        let encrypted = try client.encryptedKeyPEM(passphrase: "secret")
        request.clientKey = try F.file(encrypted, named: "encrypted.key")
        let locked = try #require(await request.fetch()).exchange
        #expect(locked.curlCode == 58, "\(locked.curlMessage)")
    }
}
