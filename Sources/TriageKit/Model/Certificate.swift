import Foundation
import TriageWire

/// One X.509 certificate as immutable data: names, dates, key, signature and
/// identifiers, read once from DER (by OpenSSL, in TriageProbes) so that
/// every later step and rule works with fields, never with text to split.
public struct Certificate: Sendable, Hashable {
    /// A subjectAltName entry as the certificate holds it (RFC 5280 §4.2.1.6): a name is the
    /// ASN.1 string's bytes, NUL and control bytes included — such a name matches no host
    /// (OpenSSL says so) and is shown escaped.
    public enum AlternativeName: Sendable, Hashable, CustomStringConvertible {
        case dns(String)
        case ip(IPAddress)
        case email(String)
        case uri(String)
        /// Another GENERAL_NAME type (otherName, directoryName, …), by its number.
        case other(Int)

        /// `DNS:name` / `IP:address`, as `openssl x509 -text` prints them; hidden bytes as `\xNN`.
        public var description: String {
            switch self {
            case .dns(let name): "DNS:\(Sink.terminalLine(name))"
            case .ip(let address): "IP:\(address)"
            case .email(let name): "email:\(Sink.terminalLine(name))"
            case .uri(let uri): "URI:\(Sink.terminalLine(uri))"
            case .other(let type): "othername:<type \(type)>"
            }
        }
    }

    public enum KeyAlgorithm: Sendable, Hashable, CustomStringConvertible {
        case rsa, ec, ed25519, ed448, dsa
        case other(String)

        public var description: String {
            switch self {
            case .rsa: "RSA"
            case .ec: "EC"
            case .ed25519: "ED25519"
            case .ed448: "ED448"
            case .dsa: "DSA"
            case .other(let name): name
            }
        }
    }

    public var der: [UInt8]
    /// RFC 2253 form, e.g. `CN=api.example.test,O=Example`.
    public var subject: String
    public var issuer: String
    /// Hex, as `openssl x509 -serial` prints it.
    public var serial: String
    public var notBefore: Date
    public var notAfter: Date
    public var alternativeNames: [AlternativeName]
    public var keyAlgorithm: KeyAlgorithm
    public var keyBits: Int
    public var signatureAlgorithm: String
    /// basicConstraints CA:TRUE.
    public var isCA: Bool
    /// Subject equals issuer and the signature verifies with its own key.
    public var isSelfSigned: Bool
    /// SHA-256 of the DER, colon-separated upper-case hex (`openssl x509 -fingerprint -sha256`).
    public var sha256: String
    /// subjectKeyIdentifier and authorityKeyIdentifier (RFC 5280 §4.2.1.1–2) in hex: they link a
    /// certificate to its issuer when names alone are ambiguous.
    public var subjectKeyID: String?
    public var authorityKeyID: String?
    /// The authorityInfoAccess caIssuers URL (RFC 5280 §4.2.2.1): public CAs
    /// name where their intermediate can be fetched; private CAs rarely do.
    public var caIssuersURL: String?
    /// The TLS Feature extension asks for status_request (RFC 7633, "must-staple"): a client may
    /// refuse the certificate without a stapled OCSP response.
    public var mustStaple = false

    public init(der: [UInt8], subject: String, issuer: String, serial: String, notBefore: Date, notAfter: Date,
                alternativeNames: [AlternativeName], keyAlgorithm: KeyAlgorithm, keyBits: Int, signatureAlgorithm: String,
                isCA: Bool, isSelfSigned: Bool, sha256: String, subjectKeyID: String? = nil, authorityKeyID: String? = nil,
                caIssuersURL: String? = nil) {
        self.der = der
        self.subject = subject
        self.issuer = issuer
        self.serial = serial
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.alternativeNames = alternativeNames
        self.keyAlgorithm = keyAlgorithm
        self.keyBits = keyBits
        self.signatureAlgorithm = signatureAlgorithm
        self.isCA = isCA
        self.isSelfSigned = isSelfSigned
        self.sha256 = sha256
        self.subjectKeyID = subjectKeyID
        self.authorityKeyID = authorityKeyID
        self.caIssuersURL = caIssuersURL
    }

    public var commonName: String? {
        subject.split(separator: ",").first { $0.hasPrefix("CN=") }.map { String($0.dropFirst(3)) }
    }

    /// The name a report shows: the CN, else the whole subject.
    public var displayName: String { commonName ?? subject }

    public var pem: String {
        let base64 = Data(der).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN CERTIFICATE-----\n\(base64)\n-----END CERTIFICATE-----\n"
    }

    public func isExpired(at date: Date) -> Bool { notAfter < date }
    public func isNotYetValid(at date: Date) -> Bool { notBefore > date }

    /// Whole days from `date` to notAfter, rounded toward zero: 30.4 days ago is -30.
    public func daysLeft(at date: Date) -> Int { Self.days(from: date, to: notAfter) }

    public static func days(from a: Date, to b: Date) -> Int { Int((b.timeIntervalSince(a) / 86_400).rounded(.towardZero)) }

    /// An RSA or DSA key under 2048 bits, or an EC key under 224 bits
    /// (NIST SP 800-57: below 112-bit security).
    public var hasWeakKey: Bool {
        switch keyAlgorithm {
        case .rsa, .dsa: keyBits < 2048
        case .ec: keyBits < 224
        default: false
        }
    }

}

/// A chain a server presented (leaf first), with where and how it was seen:
/// which endpoints sent it and to which SNI variants.
public struct CertificateChain: Sendable, Hashable {
    public var certificates: [Certificate]
    public var servers: [Endpoint]
    public var variants: [SNIVariant]
    /// The server_name of the first ClientHello that got it; nil: none.
    public var serverName: String?
    /// The evidence file holding it, relative to the case folder.
    public var file: String?

    public init(certificates: [Certificate], servers: [Endpoint] = [], variants: [SNIVariant] = [], serverName: String? = nil,
                file: String? = nil) {
        self.certificates = certificates
        self.servers = servers
        self.variants = variants
        self.serverName = serverName
        self.file = file
    }

    public var leaf: Certificate? { certificates.first }
    /// Seen only by handshakes that sent no SNI.
    public var seenOnlyWithoutSNI: Bool { !variants.isEmpty && variants.allSatisfy { $0 == .none } }
    /// The same chain, by the leaves' and intermediates' fingerprints.
    public var fingerprint: String { certificates.map(\.sha256).joined(separator: "/") }
}

extension Certificate {
    /// Whether a DNS name of its subjectAltName covers `host` (RFC 6125: exact, or a wildcard for the
    /// left-most label alone), as a verifying client checks it.
    public func covers(_ host: String) -> Bool {
        let wanted = host.lowercased()
        return alternativeNames.contains { name in
            guard case .dns(let pattern) = name else { return false }
            let p = pattern.lowercased()
            if p == wanted { return true }
            guard p.hasPrefix("*."), let dot = wanted.firstIndex(of: ".") else { return false }
            return wanted[dot...] == p.dropFirst() && wanted[..<dot].allSatisfy { $0 != "." } && !wanted[..<dot].isEmpty
        }
    }
}
