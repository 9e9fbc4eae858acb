/// A TLS alert description from the IANA "TLS Alerts" registry
/// (https://www.iana.org/assignments/tls-parameters, registry 6).
///
/// The numeric code is what travels on the wire (one byte after the level);
/// the name and the reference are what an engineer searches for. OpenSSL 3.0's
/// `SSL_alert_desc_string_long` does not know the newer codes (116 says
/// "unknown"), which is why triage keeps its own table.
public struct AlertDescription: Sendable, Hashable {
    public let code: UInt8
    /// The registry name, e.g. `internal_error`.
    public let name: String
    /// The document that defines it, e.g. `RFC 8446 §6.2`.
    public let reference: String
    /// What the code means, in a sentence.
    public let meaning: String
    /// Whether TLS 1.3 (RFC 8446) treats the alert as always fatal.
    public let alwaysFatal: Bool
    /// Whether the registry marks the code as reserved / no longer sent.
    public let deprecated: Bool

    /// Looks a code up; `nil` for a code the registry leaves unassigned.
    public static func named(_ code: UInt8) -> AlertDescription? { byCode[Int(code)] }

    /// Looks a registry name up (`internal_error`, `InternalError`, `internal error`).
    public static func named(_ name: String) -> AlertDescription? {
        let key = normalize(name)
        return all.first { normalize($0.name) == key }
    }

    static func normalize(_ name: String) -> String {
        String(name.lowercased().filter { $0.isLetter || $0.isNumber })
    }

    /// Every assigned code, in numeric order.
    public static let all: [AlertDescription] = [
        .init(0, "close_notify", "RFC 8446 §6.1", "The sender will send no more messages on this connection; an orderly close, not an error.", fatal: false),
        .init(10, "unexpected_message", "RFC 8446 §6.2", "An inappropriate message (wrong type or order) was received.", fatal: true),
        .init(20, "bad_record_mac", "RFC 8446 §6.2", "A record could not be deprotected: wrong key, tampered or corrupted data.", fatal: true),
        .init(21, "decryption_failed", "RFC 5246 §7.2.2", "Reserved: a record decrypted wrongly (TLS 1.0 and earlier; must not be sent).", fatal: true, deprecated: true),
        .init(22, "record_overflow", "RFC 8446 §6.2", "A record longer than the protocol allows was received.", fatal: true),
        .init(30, "decompression_failure", "RFC 5246 §7.2.2", "Reserved: decompression produced invalid input (must not be sent in TLS 1.3).", fatal: true, deprecated: true),
        .init(40, "handshake_failure", "RFC 8446 §6.2", "The sender could not negotiate an acceptable set of security parameters from the options offered.", fatal: true),
        .init(41, "no_certificate", "RFC 5246 §7.2.2", "Reserved: SSL 3.0 reply when no certificate was available (must not be sent).", fatal: true, deprecated: true),
        .init(42, "bad_certificate", "RFC 8446 §6.2", "A certificate was corrupt or contained signatures that did not verify.", fatal: true),
        .init(43, "unsupported_certificate", "RFC 8446 §6.2", "A certificate was of an unsupported type.", fatal: true),
        .init(44, "certificate_revoked", "RFC 8446 §6.2", "A certificate was revoked by its signer.", fatal: true),
        .init(45, "certificate_expired", "RFC 8446 §6.2", "A certificate has expired or is not currently valid.", fatal: true),
        .init(46, "certificate_unknown", "RFC 8446 §6.2", "Some other (unspecified) issue arose in processing the certificate, rendering it unacceptable.", fatal: true),
        .init(47, "illegal_parameter", "RFC 8446 §6.2", "A field in the handshake was incorrect or inconsistent with other fields.", fatal: true),
        .init(48, "unknown_ca", "RFC 8446 §6.2", "A valid chain was received but the CA certificate could not be located or matched with a known trust anchor.", fatal: true),
        .init(49, "access_denied", "RFC 8446 §6.2", "A valid certificate or PSK was received, but access control denied the negotiation.", fatal: true),
        .init(50, "decode_error", "RFC 8446 §6.2", "A message could not be decoded: a field out of range or a wrong length.", fatal: true),
        .init(51, "decrypt_error", "RFC 8446 §6.2", "A handshake cryptographic operation failed: a signature or the Finished value did not verify.", fatal: true),
        .init(52, "too_many_cids_requested", "RFC 9146 §10", "The peer requested more DTLS connection IDs than the sender allows.", fatal: true),
        .init(60, "export_restriction", "RFC 5246 §7.2.2", "Reserved: an export-restricted parameter was negotiated (must not be sent).", fatal: true, deprecated: true),
        .init(70, "protocol_version", "RFC 8446 §6.2", "The protocol version the peer offered is recognized but not supported.", fatal: true),
        .init(71, "insufficient_security", "RFC 8446 §6.2", "The peer's parameters are weaker than the minimum the sender requires (ciphers, key sizes).", fatal: true),
        .init(80, "internal_error", "RFC 8446 §6.2", "An internal error unrelated to the peer or the correctness of the protocol (such as a memory allocation failure) makes it impossible to continue.", fatal: true),
        .init(86, "inappropriate_fallback", "RFC 7507 §2", "A fallback retry (TLS_FALLBACK_SCSV) offered a lower version than the sender supports.", fatal: true),
        .init(90, "user_canceled", "RFC 8446 §6.1", "The user cancelled the handshake for a reason unrelated to a protocol failure.", fatal: false),
        .init(100, "no_renegotiation", "RFC 5246 §7.2.2", "Reserved in TLS 1.3: the sender refuses a renegotiation request.", fatal: false, deprecated: true),
        .init(109, "missing_extension", "RFC 8446 §6.2", "A handshake message lacks an extension that is mandatory for the offered version or parameters.", fatal: true),
        .init(110, "unsupported_extension", "RFC 8446 §6.2", "A message contained an extension that is prohibited there or was not offered in the ClientHello.", fatal: true),
        .init(111, "certificate_unobtainable", "RFC 6066 §5", "Reserved: a certificate could not be fetched from a client-supplied URL.", fatal: true, deprecated: true),
        .init(112, "unrecognized_name", "RFC 8446 §6.2", "The server has no identity matching the name the client sent in server_name (SNI).", fatal: true),
        .init(113, "bad_certificate_status_response", "RFC 8446 §6.2", "The server sent an invalid or unacceptable OCSP response.", fatal: true),
        .init(114, "bad_certificate_hash_value", "RFC 6066 §5", "Reserved: a certificate hash did not match the client-supplied value.", fatal: true, deprecated: true),
        .init(115, "unknown_psk_identity", "RFC 8446 §6.2", "No acceptable PSK identity was offered, or it is unknown to the server.", fatal: true),
        .init(116, "certificate_required", "RFC 8446 §6.2", "The server requires a client certificate and the client did not send one.", fatal: true),
        .init(117, "general_error", "RFC 9846 §6.2", "An error not covered by a more specific alert, when the sender prefers not to say more.", fatal: true),
        .init(120, "no_application_protocol", "RFC 7301 §3.2", "None of the protocols the client offered in ALPN is supported by the server.", fatal: true),
        .init(121, "ech_required", "RFC 9849 §5", "The client offered Encrypted Client Hello and the server did not accept it.", fatal: true),
    ]

    /// Indexed by code. (An array, not a `[UInt8: AlertDescription]`: the dictionary's first use cost
    /// `triage explain` a scan of every protocol conformance in the binary.)
    static let byCode: [AlertDescription?] = {
        var table = [AlertDescription?](repeating: nil, count: 256)
        for a in all { table[Int(a.code)] = a }
        return table
    }()

    private init(_ code: UInt8, _ name: String, _ reference: String, _ meaning: String,
                 fatal: Bool, deprecated: Bool = false) {
        self.code = code
        self.name = name
        self.reference = reference
        self.meaning = meaning
        self.alwaysFatal = fatal
        self.deprecated = deprecated
    }
}

/// Alert level byte (RFC 8446 §6).
public enum AlertLevel: UInt8, Sendable, Codable {
    case warning = 1
    case fatal = 2

    public var name: String { self == .warning ? "warning" : "fatal" }
}

/// Which side of a connection sent something.
public enum Peer: String, Sendable, Codable {
    case client, server
}

/// The alert codes by their registry names, so rules say
/// `.certificateExpired` rather than `45`.
public enum AlertCode: UInt8, Sendable, Hashable, CaseIterable {
    case closeNotify = 0
    case unexpectedMessage = 10
    case badRecordMAC = 20
    case recordOverflow = 22
    case handshakeFailure = 40
    case badCertificate = 42
    case unsupportedCertificate = 43
    case certificateRevoked = 44
    case certificateExpired = 45
    case certificateUnknown = 46
    case illegalParameter = 47
    case unknownCA = 48
    case accessDenied = 49
    case decodeError = 50
    case decryptError = 51
    case protocolVersion = 70
    case insufficientSecurity = 71
    case internalError = 80
    case inappropriateFallback = 86
    case userCanceled = 90
    case missingExtension = 109
    case unsupportedExtension = 110
    case unrecognizedName = 112
    case badCertificateStatusResponse = 113
    case unknownPSKIdentity = 115
    case certificateRequired = 116
    case noApplicationProtocol = 120
}
