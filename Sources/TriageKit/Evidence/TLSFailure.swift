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

/// OpenSSL's `X509_V_ERR_*` verify results by name; the raw value is
/// OpenSSL's number (x509_vfy.h: stable ABI, as `verify error:num=10` and
/// nginx's `verify error: (10:…)` print it).
public enum X509VerifyError: Int, Sendable, Hashable, CaseIterable {
    case ok = 0
    case unableToGetIssuerCert = 2
    case unableToGetCRL = 3
    case certSignatureFailure = 7
    case certNotYetValid = 9
    case certHasExpired = 10
    case notBeforeFormat = 13
    case notAfterFormat = 14
    case depthZeroSelfSignedCert = 18
    case selfSignedCertInChain = 19
    case unableToGetIssuerCertLocally = 20
    case unableToVerifyLeafSignature = 21
    case certChainTooLong = 22
    case certRevoked = 23
    case invalidCA = 24
    case pathLengthExceeded = 25
    case invalidPurpose = 26
    case certUntrusted = 27
    case certRejected = 28
    case hostnameMismatch = 62
    case emailMismatch = 63
    case ipAddressMismatch = 64
    case eeKeyTooSmall = 66
    case caKeyTooSmall = 67
    case caMDTooWeak = 68
    /// A code this table does not name (the problem keeps OpenSSL's number and text).
    case other = -1

    public init(code: Int) { self = X509VerifyError(rawValue: code) ?? .other }

    /// What the code means, in OpenSSL's words with a hint.
    public var meaning: String? {
        switch self {
        case .ok: "ok"
        case .unableToGetIssuerCert: "unable to get issuer certificate (an intermediate is missing)"
        case .unableToGetCRL: "unable to get certificate CRL"
        case .certSignatureFailure: "certificate signature failure"
        case .certNotYetValid: "certificate is not yet valid"
        case .certHasExpired: "certificate has expired"
        case .notBeforeFormat: "format error in certificate's notBefore field"
        case .notAfterFormat: "format error in certificate's notAfter field"
        case .depthZeroSelfSignedCert: "self-signed certificate"
        case .selfSignedCertInChain: "self-signed certificate in certificate chain"
        case .unableToGetIssuerCertLocally: "unable to get local issuer certificate (untrusted issuer or missing intermediate)"
        case .unableToVerifyLeafSignature: "unable to verify the first certificate (the chain is incomplete)"
        case .certChainTooLong: "certificate chain too long (more intermediates than the verify depth allows)"
        case .certRevoked: "certificate revoked"
        case .invalidCA: "invalid CA certificate"
        case .pathLengthExceeded: "path length constraint exceeded"
        case .invalidPurpose: "unsupported certificate purpose (Extended Key Usage without serverAuth)"
        case .certUntrusted: "certificate not trusted"
        case .certRejected: "certificate rejected"
        case .hostnameMismatch: "hostname mismatch"
        case .emailMismatch: "email address mismatch"
        case .ipAddressMismatch: "IP address mismatch"
        case .eeKeyTooSmall: "EE certificate key too weak"
        case .caKeyTooSmall: "CA certificate key too weak"
        case .caMDTooWeak: "CA signature digest algorithm too weak"
        case .other: nil
        }
    }
}
