import TriageKit
internal import COpenSSL
internal import CTriageShims

/// A failed OpenSSL call, carrying OpenSSL's own error queue — packed code,
/// library, reason and text — so the message a user sees is OpenSSL's and
/// the diagnosis classifies by reason code, never by text.
public struct OpenSSLError: Error, CustomStringConvertible, Sendable {
    public struct Entry: Sendable, Hashable {
        public var code: UInt
        public var library: Int32
        public var reason: Int32
        /// `error:0A000126:SSL routines::unexpected eof while reading`.
        public var text: String

        /// `0A000126`.
        public var hexCode: String {
            let hex = String(code, radix: 16, uppercase: true)
            return String(repeating: "0", count: max(0, 8 - hex.count)) + hex
        }

        /// The reason string OpenSSL puts after the last `:`.
        public var reasonText: String { text.split(separator: ":", omittingEmptySubsequences: false).last.map(String.init) ?? text }
    }

    public var operation: String
    public var entries: [Entry]

    public var description: String {
        entries.isEmpty ? "\(operation) failed" : "\(operation) failed: \(entries.map(\.text).joined(separator: "; "))"
    }

    /// Drains the thread's error queue, oldest first.
    static func drain() -> [Entry] {
        var out: [Entry] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            out.append(Entry(code: code, library: triage_err_lib(code), reason: triage_err_reason(code), text: text))
        }
        return out
    }

    /// The thread's pending OpenSSL errors, drained, as the failure of `operation`.
    public static func capture(_ operation: String) -> OpenSSLError {
        OpenSSLError(operation: operation, entries: drain())
    }

    static func clear() { ERR_clear_error() }
}

extension OpenSSLError.Entry {
    /// What the reason code means for the diagnosis.
    var failure: TLSFailure { TLSFailure(reason: reasonKind, code: hexCode, text: reasonText) }

    var reasonKind: TLSFailureReason {
        guard library == ERR_LIB_SSL else { return .other(library: Int(library), reason: Int(reason)) }
        switch reason {
        case SSL_R_UNSUPPORTED_PROTOCOL, SSL_R_NO_PROTOCOLS_AVAILABLE, SSL_R_VERSION_TOO_LOW, SSL_R_TLSV1_ALERT_PROTOCOL_VERSION,
             SSL_R_UNSUPPORTED_SSL_VERSION, SSL_R_WRONG_SSL_VERSION:
            return .unsupportedProtocol
        case SSL_R_LEGACY_SIGALG_DISALLOWED_OR_UNSUPPORTED:
            return .legacySignatureAlgorithm
        case SSL_R_NO_SHARED_CIPHER, SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM, SSL_R_NO_SHARED_GROUPS:
            return .noSharedParameters
        case SSL_R_EXCESSIVE_MESSAGE_SIZE:
            return .excessiveMessageSize
        case SSL_R_PACKET_LENGTH_TOO_LONG, SSL_R_DATA_LENGTH_TOO_LONG, SSL_R_ENCRYPTED_LENGTH_TOO_LONG:
            return .recordOverflow
        case SSL_R_UNEXPECTED_MESSAGE, SSL_R_UNEXPECTED_RECORD, SSL_R_UNEXPECTED_CCS_MESSAGE, SSL_R_CCS_RECEIVED_EARLY,
             SSL_R_BAD_CHANGE_CIPHER_SPEC, SSL_R_BAD_RECORD_TYPE, SSL_R_UNKNOWN_ALERT_TYPE, SSL_R_TOO_MANY_KEY_UPDATES:
            return .unexpectedMessage
        case SSL_R_TOO_MANY_WARN_ALERTS:
            return .tooManyWarningAlerts
        case SSL_R_LENGTH_MISMATCH, SSL_R_BAD_PACKET, SSL_R_BAD_LENGTH, SSL_R_RECORD_LENGTH_MISMATCH, SSL_R_BAD_PACKET_LENGTH,
             SSL_R_LENGTH_TOO_SHORT, SSL_R_BAD_HANDSHAKE_LENGTH, SSL_R_EXTRA_DATA_IN_MESSAGE, SSL_R_BAD_EXTENSION:
            return .malformedMessage
        case SSL_R_UNSAFE_LEGACY_RENEGOTIATION_DISABLED, SSL_R_NO_RENEGOTIATION, SSL_R_RENEGOTIATE_EXT_TOO_LONG:
            return .renegotiation
        case SSL_R_WRONG_VERSION_NUMBER, SSL_R_UNKNOWN_PROTOCOL, SSL_R_HTTP_REQUEST, SSL_R_HTTPS_PROXY_REQUEST:
            return .notTLS
        case SSL_R_UNEXPECTED_EOF_WHILE_READING:
            return .unexpectedEOF
        case 1000..<1256:
            // SSL_AD_REASON_OFFSET + alert description: the peer's alert.
            return .peerAlert(UInt8(reason - 1000))
        default:
            return .other(library: Int(library), reason: Int(reason))
        }
    }
}

extension Array where Element == OpenSSLError.Entry {
    /// The entry that explains a failure best: a specific SSL reason over a generic one.
    var primaryFailure: TLSFailure? {
        let specific = last { if case .other = $0.reasonKind { false } else if case .peerAlert = $0.reasonKind { false } else { true } }
        return (specific ?? last)?.failure
    }
}

/// A string OpenSSL allocated, copied and freed.
func takeString(_ pointer: UnsafeMutablePointer<CChar>?) -> String? {
    guard let pointer else { return nil }
    defer { triage_free(pointer) }
    return String(cString: pointer)
}
