import Foundation
import TriageKit
internal import COpenSSL
internal import CTriageShims

/// Verifies a chain the way a client would, with OpenSSL's X509_STORE:
/// every problem (not just the first), and which certificates of the path
/// came from the trust store rather than from the server.
enum ChainVerifier {
    static func check(_ chain: CertificateChain, caFile: String?, at time: Date) -> ChainCheck {
        let (verification, built) = verify(chain.certificates, caFile: caFile, at: time)
        let sent = Set(chain.certificates.map(\.sha256))
        // The path's last element is the trust anchor; anything else the server
        // did not send is an intermediate it should have sent.
        let supplied = verification.trusted ? built.dropLast().filter { !sent.contains($0.sha256) && !$0.isSelfSigned } : []
        return ChainCheck(chain: chain, verification: verification, storeSupplied: Array(supplied), caFile: caFile)
    }

    /// `chain` leaf first, against `caFile` or the system store, at `time`.
    static func verify(_ chain: [Certificate], caFile: String?, at time: Date) -> (ChainVerification, [Certificate]) {
        guard let leafCert = chain.first, let leaf = try? X509Certificate(der: leafCert.der) else {
            return (ChainVerification(problems: []), [])
        }
        let untrusted = chain.dropFirst().compactMap { try? X509Certificate(der: $0.der) }
        var codes = [Int32](repeating: 0, count: 16), depths = [Int32](repeating: 0, count: 16)
        var built: OpaquePointer?
        let n = leaf.withPointer { leafX509 in
            X509Certificate.withStack(untrusted) { stack in
                triage_verify_chain(leafX509, stack, caFile, Int64(time.timeIntervalSince1970), &codes, &depths, 16, &built)
            }
        }
        defer { triage_sk_x509_pop_free(built) }
        OpenSSLError.clear()
        guard n >= 0 else {
            return (ChainVerification(problems: [.init(error: .other, code: -1, depth: 0, text: "cannot load the trust store \(caFile ?? "(system)")")]), [])
        }
        var seen = Set<ChainVerification.Problem>()
        let problems = (0..<Int(n)).map { i in
            ChainVerification.Problem(error: Self.name(codes[i]), code: Int(codes[i]), depth: Int(depths[i]),
                                      text: String(cString: X509_verify_cert_error_string(Int(codes[i]))))
        }.filter { seen.insert($0).inserted }
        return (ChainVerification(problems: problems), X509Certificate.certificates(of: built))
    }

    /// OpenSSL's constant, by name.
    static func name(_ code: Int32) -> X509VerifyError {
        switch code {
        case X509_V_OK: .ok
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT: .unableToGetIssuerCert
        case X509_V_ERR_CERT_NOT_YET_VALID: .certNotYetValid
        case X509_V_ERR_CERT_HAS_EXPIRED: .certHasExpired
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT: .depthZeroSelfSignedCert
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: .selfSignedCertInChain
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY: .unableToGetIssuerCertLocally
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: .unableToVerifyLeafSignature
        case X509_V_ERR_CERT_SIGNATURE_FAILURE: .certSignatureFailure
        case X509_V_ERR_INVALID_CA: .invalidCA
        case X509_V_ERR_HOSTNAME_MISMATCH: .hostnameMismatch
        case X509_V_ERR_IP_ADDRESS_MISMATCH: .ipAddressMismatch
        case X509_V_ERR_EE_KEY_TOO_SMALL: .eeKeyTooSmall
        case X509_V_ERR_CA_KEY_TOO_SMALL: .caKeyTooSmall
        default: .other
        }
    }

    static func name(_ code: Int) -> X509VerifyError { name(Int32(truncatingIfNeeded: code)) }

    static func text(_ code: Int) -> String { String(cString: X509_verify_cert_error_string(code)) }
}
