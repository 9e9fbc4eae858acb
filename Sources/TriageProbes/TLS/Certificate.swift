import Foundation
import TriageKit
internal import COpenSSL
internal import CTriageShims

/// One X.509 certificate as the report needs it: names, dates, key and
/// signature, read once from DER with OpenSSL (the library that also made
/// the handshake and its verify result, so both agree on what they saw).
public struct Certificate: Sendable, Hashable {
    public var der: [UInt8]
    public var subject: String
    public var issuer: String
    public var serial: String
    public var notBefore: Date
    public var notAfter: Date
    /// `DNS:name` / `IP:address` entries of subjectAltName.
    public var subjectAltNames: [String]
    /// `RSA`, `EC`, `ED25519`, …
    public var keyType: String
    public var keyBits: Int
    public var signatureAlgorithm: String
    public var isCA: Bool
    /// Subject equals issuer and the signature verifies with its own key.
    public var isSelfSigned: Bool
    /// SHA-256 of the DER, colon-separated hex as `openssl x509 -fingerprint -sha256` prints it.
    public var sha256: String

    public var commonName: String? {
        subject.split(separator: ",").first { $0.hasPrefix("CN=") }.map { String($0.dropFirst(3)) }
    }

    public var pem: String {
        let base64 = Data(der).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN CERTIFICATE-----\n\(base64)\n-----END CERTIFICATE-----\n"
    }

    public init(der: [UInt8]) throws {
        let x509 = try der.withUnsafeBufferPointer { buffer -> OpaquePointer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            guard let cert = d2i_X509(nil, &cursor, buffer.count) else { throw OpenSSLError.capture("reading a DER certificate") }
            return cert
        }
        defer { X509_free(x509) }
        try self.init(x509: x509, der: der)
    }

    init(x509: OpaquePointer, der: [UInt8]? = nil) throws {
        self.der = der ?? Self.encode(x509)
        subject = takeString(triage_x509_name(X509_get_subject_name(x509))) ?? ""
        issuer = takeString(triage_x509_name(X509_get_issuer_name(x509))) ?? ""
        serial = takeString(triage_x509_serial(x509)) ?? ""
        var before: Int64 = 0, after: Int64 = 0
        guard triage_x509_time(x509, 0, &before) == 0, triage_x509_time(x509, 1, &after) == 0 else {
            throw OpenSSLError.capture("reading the certificate's validity dates")
        }
        notBefore = Date(timeIntervalSince1970: TimeInterval(before))
        notAfter = Date(timeIntervalSince1970: TimeInterval(after))
        subjectAltNames = takeString(triage_x509_sans(x509))?.split(separator: "\n").map(String.init) ?? []
        if let key = X509_get0_pubkey(x509) {
            keyBits = Int(EVP_PKEY_get_bits(key))
            keyType = String(cString: OBJ_nid2sn(EVP_PKEY_get_base_id(key)))
        } else {
            keyBits = 0
            keyType = "unknown"
        }
        signatureAlgorithm = String(cString: OBJ_nid2ln(X509_get_signature_nid(x509)))
        isCA = X509_check_ca(x509) > 0
        // Not X509_check_issued: it also demands keyCertSign, which a
        // self-signed *server* certificate usually lacks.
        isSelfSigned = X509_NAME_cmp(X509_get_subject_name(x509), X509_get_issuer_name(x509)) == 0
            && X509_get0_pubkey(x509).map { X509_verify(x509, $0) == 1 } ?? false
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        X509_digest(x509, EVP_sha256(), &digest, &length)
        sha256 = digest.prefix(Int(length)).map(TextFormat.hex).joined(separator: ":")
        ERR_clear_error()
    }

    static func encode(_ x509: OpaquePointer) -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        let n = i2d_X509(x509, &out)
        guard n > 0, let out else { return [] }
        defer { CRYPTO_free(out, #file, #line) }
        return Array(UnsafeBufferPointer(start: out, count: Int(n)))
    }

    /// Every certificate of a PEM text, in order.
    public static func chain(pem: String) throws -> [Certificate] {
        var out: [Certificate] = []
        var rest = Substring(pem)
        while let begin = rest.range(of: "-----BEGIN CERTIFICATE-----"),
              let end = rest.range(of: "-----END CERTIFICATE-----", range: begin.upperBound..<rest.endIndex) {
            let body = rest[begin.upperBound..<end.lowerBound].filter { !$0.isWhitespace }
            guard let der = Data(base64Encoded: String(body)) else { throw OpenSSLError(operation: "reading PEM", queue: ["bad base64"]) }
            out.append(try Certificate(der: Array(der)))
            rest = rest[end.upperBound...]
        }
        return out
    }

    /// Whether the certificate names `host` (RFC 6125: one-label wildcards;
    /// an IP literal must match an IP SAN).
    public func matches(host: String) -> Bool {
        try! withX509 { x509 in
            if host.contains(":") || host.split(separator: ".").allSatisfy({ Int($0) != nil }) && host.split(separator: ".").count == 4 {
                return X509_check_ip_asc(x509, host, 0) == 1
            }
            return X509_check_host(x509, host, host.utf8.count, 0, nil) == 1
        }
    }

    func withX509<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
        let x509 = try der.withUnsafeBufferPointer { buffer -> OpaquePointer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            guard let cert = d2i_X509(nil, &cursor, buffer.count) else { throw OpenSSLError.capture("reading a DER certificate") }
            return cert
        }
        defer { X509_free(x509) }
        return try body(x509)
    }
}

/// The result of verifying a chain against a trust store.
public struct ChainVerification: Sendable, Hashable {
    public struct Problem: Sendable, Hashable {
        public var code: Int
        public var depth: Int
        public var text: String
    }

    public var problems: [Problem]
    public var trusted: Bool { problems.isEmpty }

    /// Verifies `chain` (leaf first) at `time` against `caFile`, or the
    /// system store when nil, reporting every problem found.
    public static func verify(_ chain: [Certificate], caFile: String?, at time: Date) -> ChainVerification {
        guard let leaf = chain.first else { return ChainVerification(problems: []) }
        do {
            return try leaf.withX509 { leafX509 in
                let stack = triage_sk_x509_new()
                var owned: [OpaquePointer] = []
                defer {
                    owned.forEach { X509_free($0) }
                    triage_sk_x509_free(stack)
                }
                for cert in chain.dropFirst() {
                    var cursor: UnsafePointer<UInt8>?
                    let x = cert.der.withUnsafeBufferPointer { b -> OpaquePointer? in
                        cursor = b.baseAddress
                        return d2i_X509(nil, &cursor, b.count)
                    }
                    if let x { owned.append(x); triage_sk_x509_push(stack, x) }
                }
                var codes = [Int32](repeating: 0, count: 16), depths = [Int32](repeating: 0, count: 16)
                let n = triage_verify_chain(leafX509, stack, caFile, Int64(time.timeIntervalSince1970), &codes, &depths, 16)
                ERR_clear_error()
                guard n >= 0 else {
                    return ChainVerification(problems: [Problem(code: -1, depth: 0, text: "cannot load the trust store \(caFile ?? "(system)")")])
                }
                var seen = Set<Problem>()
                let problems = (0..<Int(n)).map {
                    Problem(code: Int(codes[$0]), depth: Int(depths[$0]),
                            text: String(cString: X509_verify_cert_error_string(Int(codes[$0]))))
                }.filter { seen.insert($0).inserted }
                return ChainVerification(problems: problems)
            }
        } catch {
            return ChainVerification(problems: [Problem(code: -1, depth: 0, text: "\(error)")])
        }
    }
}
