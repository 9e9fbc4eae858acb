import Foundation
import TriageKit
import TriageProbes
internal import COpenSSL
internal import CTriageShims

/// Mints certificates with chosen names, dates, keys and issuers — for the
/// embedded demo upstream and for test fixtures (which add the extensions
/// only tests need in their own target). Nothing is downloaded and nothing
/// is reused between runs.
public enum CertificateMint {
    public enum KeyKind: Sendable, Hashable {
        case rsa(bits: Int)
        case ecP256
        /// The key of an identity minted before: a renewed certificate (the same name and key, new dates).
        case existing(keyPEM: String)
    }

    public struct Spec: Sendable {
        public var commonName: String
        /// `DNS:name` / `IP:address` entries; plain names get `DNS:`.
        public var subjectAltNames: [String]
        public var notBefore: Date
        public var notAfter: Date
        public var isCA: Bool
        public var key: KeyKind
        public var serial: Int

        public init(commonName: String, subjectAltNames: [String]? = nil, notBefore: Date, notAfter: Date,
                    isCA: Bool = false, key: KeyKind = .ecP256, serial: Int = Int.random(in: 1...Int(Int32.max))) {
            self.commonName = commonName
            self.subjectAltNames = subjectAltNames ?? (isCA ? [] : [commonName])
            self.notBefore = notBefore
            self.notAfter = notAfter
            self.isCA = isCA
            self.key = key
            self.serial = serial
        }
    }

    /// A certificate and its private key, as PEM.
    public struct Identity: Sendable {
        public var certificatePEM: String
        public var keyPEM: String
        public var certificate: Certificate

        public init(certificatePEM: String, keyPEM: String) throws {
            self.certificatePEM = certificatePEM
            self.keyPEM = keyPEM
            certificate = try Certificate.chain(pem: certificatePEM)[0]
        }
    }

    public static func mint(_ spec: Spec, issuer: Identity? = nil) throws -> Identity {
        let made: OpaquePointer? = switch spec.key {
        case .rsa(let bits): triage_generate_key(0, Int32(bits))
        case .ecP256: triage_generate_key(1, 0)
        case .existing(let pem): triage_pem_key(pem)
        }
        guard let key = made else { throw ServerError(description: "generating a key failed") }
        defer { EVP_PKEY_free(key) }
        var issuerCert: OpaquePointer?
        var issuerKey: OpaquePointer?
        defer {
            if let issuerCert { X509_free(issuerCert) }
            if let issuerKey { EVP_PKEY_free(issuerKey) }
        }
        if let issuer {
            issuerCert = readPEM(issuer.certificatePEM) { PEM_read_bio_X509($0, nil, nil, nil) }
            issuerKey = triage_pem_key(issuer.keyPEM)
            guard issuerCert != nil, issuerKey != nil else { throw ServerError(description: "reading the issuer failed") }
        }
        let sans = spec.subjectAltNames.map { entry in
            entry.hasPrefix("DNS:") || entry.hasPrefix("IP:") ? entry
                : (entry.contains(":") || entry.split(separator: ".").allSatisfy { Int($0) != nil }) ? "IP:\(entry)" : "DNS:\(entry)"
        }.joined(separator: ",")
        guard let cert = triage_make_cert(key, spec.commonName, sans.isEmpty ? nil : sans,
                                          Int64(spec.notBefore.timeIntervalSince1970), Int64(spec.notAfter.timeIntervalSince1970),
                                          spec.isCA ? 1 : 0, spec.serial, issuerCert, issuerKey) else {
            throw ServerError(description: "signing a certificate for \(spec.commonName) failed")
        }
        defer { X509_free(cert) }
        guard let certPEM = Self.take(triage_cert_pem(cert)), let keyPEM = Self.take(triage_key_pem(key)) else {
            throw ServerError(description: "writing PEM failed")
        }
        return try Identity(certificatePEM: certPEM, keyPEM: keyPEM)
    }

    static func take(_ pointer: UnsafeMutablePointer<CChar>?) -> String? {
        guard let pointer else { return nil }
        defer { triage_free(pointer) }
        return String(cString: pointer)
    }

    static func readPEM(_ text: String, _ read: (OpaquePointer) -> OpaquePointer?) -> OpaquePointer? {
        text.withCString { pointer in
            guard let bio = BIO_new_mem_buf(pointer, -1) else { return nil }
            defer { BIO_free(bio) }
            return read(bio)
        }
    }
}
