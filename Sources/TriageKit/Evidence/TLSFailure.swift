/// Why OpenSSL ended a handshake, by OpenSSL's own reason code
/// (`ERR_GET_REASON`), named — classification never reads the message text.
public enum TLSFailureReason: Sendable, Hashable {
    /// No protocol version in common (SSL_R_UNSUPPORTED_PROTOCOL, _NO_PROTOCOLS_AVAILABLE,
    /// _VERSION_TOO_LOW, _TLSV1_ALERT_PROTOCOL_VERSION).
    case unsupportedProtocol
    /// A TLS 1.0/1.1 peer whose signature algorithm the security level refuses
    /// (SSL_R_LEGACY_SIGALG_DISALLOWED_OR_UNSUPPORTED).
    case legacySignatureAlgorithm
    /// SSL_R_NO_SHARED_CIPHER, _NO_SUITABLE_SIGNATURE_ALGORITHM, _NO_SHARED_GROUPS.
    case noSharedParameters
    /// A handshake message longer than the client accepts (SSL_R_EXCESSIVE_MESSAGE_SIZE).
    case excessiveMessageSize
    /// A record longer than TLS allows (SSL_R_PACKET_LENGTH_TOO_LONG, _RECORD_OVERFLOW, _DATA_LENGTH_TOO_LONG,
    /// _ENCRYPTED_LENGTH_TOO_LONG).
    case recordOverflow
    /// A message out of order or of the wrong type (SSL_R_UNEXPECTED_MESSAGE, _UNEXPECTED_RECORD,
    /// _UNEXPECTED_CCS_MESSAGE, _CCS_RECEIVED_EARLY).
    case unexpectedMessage
    /// SSL_R_TOO_MANY_WARN_ALERTS.
    case tooManyWarningAlerts
    /// A malformed message (SSL_R_LENGTH_MISMATCH, _BAD_PACKET, _BAD_LENGTH, _RECORD_LENGTH_MISMATCH, decode errors).
    case malformedMessage
    /// Renegotiation refused or attempted unsafely (SSL_R_UNSAFE_LEGACY_RENEGOTIATION_DISABLED, _NO_RENEGOTIATION).
    case renegotiation
    /// The first bytes are not TLS (SSL_R_WRONG_VERSION_NUMBER, _UNKNOWN_PROTOCOL, _HTTP_REQUEST).
    case notTLS
    /// The peer closed the connection mid-handshake (SSL_R_UNEXPECTED_EOF_WHILE_READING).
    case unexpectedEOF
    /// The peer sent fatal alert N (reasons 1000 + N).
    case peerAlert(UInt8)
    /// The local client certificate or key could not be used.
    case clientCertificate
    /// Anything else: OpenSSL's library and reason numbers.
    case other(library: Int, reason: Int)
}

/// The OpenSSL error that ended an attempt: its reason, the packed code
/// (`error:0A000126`) and OpenSSL's own text, for the report.
public struct TLSFailure: Sendable, Hashable {
    public var reason: TLSFailureReason
    /// The packed error code as OpenSSL prints it, e.g. `0A000126`.
    public var code: String
    /// OpenSSL's text, e.g. `unexpected eof while reading`.
    public var text: String

    public init(reason: TLSFailureReason, code: String, text: String) {
        self.reason = reason
        self.code = code
        self.text = text
    }
}

/// The result of verifying a chain against a trust store: every problem
/// OpenSSL found, with its `X509_V_ERR_*` name and number, depth and text.
public struct ChainVerification: Sendable, Hashable {
    public struct Problem: Sendable, Hashable {
        public var error: X509VerifyError
        /// OpenSSL's number (`verify error:num=10`).
        public var code: Int
        public var depth: Int
        public var text: String

        public init(error: X509VerifyError, code: Int, depth: Int, text: String) {
            self.error = error
            self.code = code
            self.depth = depth
            self.text = text
        }
    }

    public var problems: [Problem]
    public var trusted: Bool { problems.isEmpty }

    public init(problems: [Problem]) { self.problems = problems }

    public func has(_ error: X509VerifyError) -> Bool { problems.contains { $0.error == error } }
}

/// OpenSSL's `X509_V_ERR_*` verify results that the diagnosis tells apart
/// (x509_vfy.h), by name; the wrapper maps OpenSSL's constants to them.
public enum X509VerifyError: Sendable, Hashable {
    case ok                                  // X509_V_OK
    case unableToGetIssuerCert               // X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
    case certNotYetValid                     // X509_V_ERR_CERT_NOT_YET_VALID
    case certHasExpired                      // X509_V_ERR_CERT_HAS_EXPIRED
    case depthZeroSelfSignedCert             // X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
    case selfSignedCertInChain               // X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
    case unableToGetIssuerCertLocally        // X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    case unableToVerifyLeafSignature         // X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE
    case certSignatureFailure                // X509_V_ERR_CERT_SIGNATURE_FAILURE
    case invalidCA                           // X509_V_ERR_INVALID_CA
    case hostnameMismatch                    // X509_V_ERR_HOSTNAME_MISMATCH
    case ipAddressMismatch                   // X509_V_ERR_IP_ADDRESS_MISMATCH
    case eeKeyTooSmall                       // X509_V_ERR_EE_KEY_TOO_SMALL
    case caKeyTooSmall                       // X509_V_ERR_CA_KEY_TOO_SMALL
    case other
}
