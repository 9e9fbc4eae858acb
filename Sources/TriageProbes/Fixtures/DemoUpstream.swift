import Foundation

/// The seed incident, reproduced on 127.0.0.1: an HTTPS upstream whose
/// certificate expired and which aborts handshakes without SNI with fatal
/// alert 80 internal_error — what nginx (no `proxy_ssl_server_name`) hits
/// while curl (with SNI) gets through to the expired certificate.
public final class DemoUpstream: Sendable {
    public static let host = "upstream.demo.test"

    public let server: FixtureTLSServer
    public let caFile: URL
    public let notAfter: Date
    public var url: String { "https://\(Self.host):\(server.port)/v1/health" }

    public init(now: Date = Date(), directory: URL) throws {
        let day: TimeInterval = 86_400
        // Whole days, so the report reads "expired on 2026-10-27T00:00:00Z, 30 days before this run".
        let midnight = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / day).rounded(.down) * day)
        let ca = try CertificateMint.mint(.init(commonName: "triage demo root CA", notBefore: midnight - 3650 * day,
                                                notAfter: midnight + 3650 * day, isCA: true))
        notAfter = midnight - 30 * day
        let leaf = try CertificateMint.mint(.init(commonName: Self.host, notBefore: midnight - 395 * day, notAfter: notAfter), issuer: ca)
        var configuration = FixtureTLSServer.Configuration(chainPEM: leaf.certificatePEM, keyPEM: leaf.keyPEM)
        configuration.sni = .abortWithoutSNI
        server = try FixtureTLSServer(configuration)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        caFile = directory.appendingPathComponent("demo-ca.pem")
        try ca.certificatePEM.write(to: caFile, atomically: true, encoding: .utf8)
    }

    public func stop() { server.stop() }
}
