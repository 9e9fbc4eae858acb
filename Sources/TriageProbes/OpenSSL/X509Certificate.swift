import Foundation
import Synchronization
import TriageKit
import TriageWire
internal import COpenSSL
internal import CTriageShims

/// An OpenSSL `X509` owned for its lifetime: the one place a certificate's
/// DER is read, into the immutable `Certificate` the rest of triage uses.
final class X509Certificate {
    fileprivate let x509: OpaquePointer

    /// Takes ownership of `x509`.
    fileprivate init(owning x509: OpaquePointer) { self.x509 = x509 }

    /// Adds a reference to an `X509` owned elsewhere (a peer chain).
    fileprivate convenience init(retaining x509: OpaquePointer) {
        X509_up_ref(x509)
        self.init(owning: x509)
    }

    convenience init(der: [UInt8]) throws(OpenSSLError) {
        _ = triage_openssl_builtin_keys()   // the key decoded by OpenSSL 3.0's built-in method (triage_keys.c)
        let parsed: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_X509(nil, &cursor, buffer.count)
        }
        guard let parsed else { throw OpenSSLError.capture("reading a DER certificate") }
        self.init(owning: parsed)
    }

    deinit { X509_free(x509) }

    var der: [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        let n = i2d_X509(x509, &out)
        guard n > 0, let out else { return [] }
        defer { CRYPTO_free(out, #file, #line) }
        return Array(UnsafeBufferPointer(start: out, count: Int(n)))
    }

    /// subjectAltName as typed values from the GENERAL_NAME structures (type, and the ASN.1
    /// string with its length): a name holding a NUL or a newline keeps it, shown escaped.
    var alternativeNames: [Certificate.AlternativeName] {
        var raw: UnsafeMutablePointer<UInt8>?
        let n = Int(triage_x509_san_records(x509, &raw))
        defer { if let raw { triage_free(raw) } }
        guard n > 0, let raw else { return [] }
        let bytes = UnsafeBufferPointer(start: raw, count: n)
        var out: [Certificate.AlternativeName] = []
        var offset = 0
        while offset + 5 <= n {
            let type = Int32(bytes[offset])
            let length = Int(bytes[offset + 1]) << 24 | Int(bytes[offset + 2]) << 16 | Int(bytes[offset + 3]) << 8 | Int(bytes[offset + 4])
            guard offset + 5 + length <= n else { break }
            let value = Array(bytes[(offset + 5)..<(offset + 5 + length)])
            offset += 5 + length
            switch type {
            case GEN_DNS: out.append(.dns(String(decoding: value, as: UTF8.self)))
            case GEN_IPADD: out.append(IPAddress(bytes: value).map { .ip($0) } ?? .other(Int(type)))
            case GEN_EMAIL: out.append(.email(String(decoding: value, as: UTF8.self)))
            case GEN_URI: out.append(.uri(String(decoding: value, as: UTF8.self)))
            default: out.append(.other(Int(type)))
            }
        }
        return out
    }

    /// The fields, read once.
    func certificate(der known: [UInt8]? = nil) throws(OpenSSLError) -> Certificate {
        var before: Int64 = 0, after: Int64 = 0
        guard triage_x509_time(x509, 0, &before) == 0, triage_x509_time(x509, 1, &after) == 0 else {
            throw OpenSSLError.capture("reading the certificate's validity dates")
        }
        let sans = alternativeNames
        var algorithm = Certificate.KeyAlgorithm.other("unknown")
        var bits = 0
        if let key = X509_get0_pubkey(x509) {
            bits = Int(EVP_PKEY_get_bits(key))
            algorithm = switch EVP_PKEY_get_base_id(key) {
            case EVP_PKEY_RSA, EVP_PKEY_RSA_PSS: .rsa
            case EVP_PKEY_EC: .ec
            case EVP_PKEY_ED25519: .ed25519
            case EVP_PKEY_ED448: .ed448
            case EVP_PKEY_DSA: .dsa
            case let id: .other(String(cString: OBJ_nid2sn(id)))
            }
        }
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        X509_digest(x509, EVP_sha256(), &digest, &length)
        // Not X509_check_issued: it also demands keyCertSign, which a
        // self-signed *server* certificate usually lacks.
        let selfSigned = X509_NAME_cmp(X509_get_subject_name(x509), X509_get_issuer_name(x509)) == 0
            && X509_get0_pubkey(x509).map { X509_verify(x509, $0) == 1 } ?? false
        let certificate = Certificate(
            der: known ?? der,
            subject: takeString(triage_x509_name(X509_get_subject_name(x509))) ?? "",
            issuer: takeString(triage_x509_name(X509_get_issuer_name(x509))) ?? "",
            serial: takeString(triage_x509_serial(x509)) ?? "",
            notBefore: Date(timeIntervalSince1970: TimeInterval(before)),
            notAfter: Date(timeIntervalSince1970: TimeInterval(after)),
            alternativeNames: sans, keyAlgorithm: algorithm, keyBits: bits,
            signatureAlgorithm: String(cString: OBJ_nid2ln(X509_get_signature_nid(x509))),
            isCA: X509_check_ca(x509) > 0, isSelfSigned: selfSigned,
            sha256: digest.prefix(Int(length)).map(TextFormat.hex).joined(separator: ":"),
            subjectKeyID: takeString(triage_x509_ski(x509)), authorityKeyID: takeString(triage_x509_aki(x509)),
            caIssuersURL: takeString(triage_x509_ca_issuers(x509)))
        var out = certificate
        out.mustStaple = triage_x509_must_staple(x509) == 1
        OpenSSLError.clear()
        return out
    }

    /// The certificates of a PKCS#12 file (a Java or Windows trust store) as PEM, and how many;
    /// nil when it is not PKCS#12 or `password` (then none) does not open it.
    static func pkcs12Certificates(_ bytes: [UInt8], password: String) -> (pem: String, count: Int)? {
        var count: Int32 = 0
        guard let pem = bytes.withUnsafeBufferPointer({ triage_pkcs12_certificates($0.baseAddress, $0.count, password, &count) }) else { return nil }
        defer { triage_free(pem) }
        return (String(cString: pem), Int(count))
    }

    /// The certificates of a stack OpenSSL owns (a peer chain, a verified path).
    static func certificates(of stack: OpaquePointer?) -> [Certificate] {
        guard let stack else { return [] }
        return (0..<triage_sk_x509_num(stack)).compactMap { i in
            triage_sk_x509_value(stack, i).flatMap { x509 in
                let wrapped = X509Certificate(retaining: x509)
                let der = wrapped.der
                return Self.cached(der) ?? (try? wrapped.certificate(der: der)).map { Self.remember(der, $0) }
            }
        }
    }

    /// Certificates already read, by their DER: a fleet scraped every few seconds serves the same
    /// ones again and again, and reading names, keys and the fingerprint is most of a probe's own work.
    private static let parsed = Mutex<[DER: Certificate]>([:])

    /// A certificate's bytes as a dictionary key, hashed in one pass over the buffer (an array of bytes
    /// is hashed byte by byte: about 0.6 % of an exporter probe's CPU went to it under `make bench`).
    struct DER: Hashable {
        let bytes: [UInt8]
        func hash(into hasher: inout Hasher) { bytes.withUnsafeBytes { hasher.combine(bytes: $0) } }
    }

    static func cached(_ der: [UInt8]) -> Certificate? { parsed.withLock { $0[DER(bytes: der)] } }

    static func remember(_ der: [UInt8], _ certificate: Certificate) -> Certificate {
        parsed.withLock { cache in
            if cache.count >= 4096 { cache.removeAll(keepingCapacity: true) }
            cache[DER(bytes: der)] = certificate
        }
        return certificate
    }

    /// A stack of these for OpenSSL (it does not take ownership of the certificates).
    static func withStack<T>(_ certificates: [X509Certificate], _ body: (OpaquePointer?) -> T) -> T {
        let stack = triage_sk_x509_new()
        defer { triage_sk_x509_free(stack) }
        for c in certificates { triage_sk_x509_push(stack, c.x509) }
        return body(stack)
    }

    func withPointer<T>(_ body: (OpaquePointer) -> T) -> T { body(x509) }
}

extension Certificate {
    /// The OCSP responder its authorityInfoAccess names, if any.
    public var ocspURL: String? { (try? X509Certificate(der: der)).flatMap { takeString(triage_x509_ocsp_url($0.x509)) } }

    /// The first URL of its CRL distribution points, if any.
    public var crlURL: String? { (try? X509Certificate(der: der)).flatMap { takeString(triage_x509_crl_url($0.x509)) } }

    /// A DER OCSPRequest asking about this certificate, issued by `issuer`.
    public func ocspRequest(issuer: Certificate) -> [UInt8]? {
        var out: UnsafeMutablePointer<UInt8>?
        let n = der.withUnsafeBufferPointer { l in
            issuer.der.withUnsafeBufferPointer { i in triage_ocsp_request(l.baseAddress, l.count, i.baseAddress, i.count, &out) }
        }
        defer { if let out { triage_free(out) } }
        guard n > 0, let out else { return nil }
        return Array(UnsafeBufferPointer(start: out, count: n))
    }

    /// Parses DER with OpenSSL.
    public init(der: [UInt8]) throws {
        if let known = X509Certificate.cached(der) { self = known; return }
        self = X509Certificate.remember(der, try X509Certificate(der: der).certificate(der: der))
    }

    /// Every certificate of a PEM text, in order.
    public static func chain(pem: String) throws -> [Certificate] {
        var out: [Certificate] = []
        var rest = Substring(pem)
        while let begin = rest.range(of: "-----BEGIN CERTIFICATE-----"),
              let end = rest.range(of: "-----END CERTIFICATE-----", range: begin.upperBound..<rest.endIndex) {
            let body = rest[begin.upperBound..<end.lowerBound].filter { !$0.isWhitespace }
            guard let der = Data(base64Encoded: String(body)) else {
                throw OpenSSLError(operation: "reading PEM", entries: [])
            }
            out.append(try Certificate(der: Array(der)))
            rest = rest[end.upperBound...]
        }
        return out
    }
}
