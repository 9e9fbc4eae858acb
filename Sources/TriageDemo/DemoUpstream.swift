import Foundation
import TriageKit

/// The seed incident, reproduced on 127.0.0.1: an HTTPS upstream that
/// serves a valid certificate to clients that send SNI (curl), but whose
/// default certificate — the one for clients without SNI — expired 30 days
/// ago, so it aborts those handshakes with fatal alert 80 internal_error.
/// nginx without `proxy_ssl_server_name on` sends no SNI: it gets the alert
/// and answers 502, while curl gets 200.
public final class DemoUpstream: Sendable {
    public static let host = "upstream.demo.test"

    public let server: DemoTLSServer
    public let caFile: URL
    /// The valid certificate's notAfter (what SNI clients get).
    public let notAfter: Date
    /// The expired default certificate's notAfter.
    public let defaultNotAfter: Date
    public var url: String { "https://\(Self.host):\(server.port)/v1/health" }

    public init(now: Date = Date(), directory: URL) throws {
        let day: TimeInterval = 86_400
        // Whole days, so the report reads "expired on 2026-10-27T00:00:00Z, 30 days before this run".
        let midnight = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / day).rounded(.down) * day)
        let ca = try CertificateMint.mint(.init(commonName: "triage demo root CA", notBefore: midnight - 3650 * day,
                                                notAfter: midnight + 3650 * day, isCA: true))
        notAfter = midnight + 335 * day
        defaultNotAfter = midnight - 30 * day
        let leaf = try CertificateMint.mint(.init(commonName: Self.host, notBefore: midnight - 30 * day, notAfter: notAfter), issuer: ca)
        let old = try CertificateMint.mint(.init(commonName: Self.host, notBefore: midnight - 395 * day, notAfter: defaultNotAfter), issuer: ca)
        server = try DemoTLSServer(chainPEM: leaf.certificatePEM, keyPEM: leaf.keyPEM,
                                   defaultChainPEM: old.certificatePEM, defaultKeyPEM: old.keyPEM)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        caFile = directory.appendingPathComponent("demo-ca.pem")
        try ca.certificatePEM.write(to: caFile, atomically: true, encoding: .utf8)
    }

    public func stop() { server.stop() }
}
