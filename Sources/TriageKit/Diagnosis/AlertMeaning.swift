import TriageWire

/// What a fatal alert says about the cause, by who sent it: the one table
/// the live handshake, curl's connection, a capture and the proxy's log all
/// read. A server's certificate alerts are about the client's certificate;
/// a client's are about the server's (OpenSSL's `ssl_x509err2alert`: an
/// expired certificate → 45, not yet valid or a wrong name → 42, a wrong
/// purpose → 43, an unknown issuer → 48).
public enum AlertMeaning {
    /// What else the connection showed.
    public struct Context: Sendable, Hashable {
        /// The server sent a CertificateRequest.
        public var certificateRequested: Bool
        /// The client answered it with a certificate.
        public var clientCertificateSent: Bool
        /// The ClientHello carried no SNI.
        public var withoutSNI: Bool
        /// A handshake with SNI worked with the same server.
        public var sniWorks: Bool

        public init(certificateRequested: Bool = false, clientCertificateSent: Bool = false, withoutSNI: Bool = false, sniWorks: Bool = false) {
            self.certificateRequested = certificateRequested
            self.clientCertificateSent = clientCertificateSent
            self.withoutSNI = withoutSNI
            self.sniWorks = sniWorks
        }
    }

    /// The alerts a client sends when it rejects the server's certificate.
    /// (Switches, not sets: a `Set<AlertCode>` costs `triage explain` a scan of every protocol
    /// conformance in the binary at its first use, a tenth of its start.)
    static func isCertificateRejection(_ alert: AlertCode) -> Bool {
        switch alert {
        case .badCertificate, .unsupportedCertificate, .certificateRevoked, .certificateExpired, .certificateUnknown, .unknownCA, .decryptError: true
        default: false
        }
    }
    /// The alerts a server sends about the client's certificate when it asked for one.
    static func isClientCertificateAlert(_ alert: AlertCode) -> Bool {
        switch alert {
        case .handshakeFailure, .badCertificate, .unsupportedCertificate, .certificateRevoked, .certificateExpired, .certificateUnknown,
             .unknownCA, .accessDenied: true
        default: false
        }
    }

    public static func isCertificateRejection(_ code: UInt8) -> Bool { AlertCode(rawValue: code).map(isCertificateRejection) ?? false }
    /// An alert a server sends about a client's certificate.
    public static func isServerCertificateComplaint(_ code: UInt8) -> Bool { AlertCode(rawValue: code).map(isClientCertificateAlert) ?? false }

    /// What an alert may mean when nothing else about its connection is known (`triage explain`): the cause
    /// it names by itself first, then what it means without SNI, or when the server asked for a client
    /// certificate (none sent, one sent); `.tlsAlert` only when it names nothing more.
    public static func likelyCauses(_ code: UInt8, sender: Peer) -> [Cause] {
        let contexts = [Context(), Context(withoutSNI: true, sniWorks: true), Context(certificateRequested: true),
                        Context(certificateRequested: true, clientCertificateSent: true)]
        var out: [Cause] = []
        for c in contexts { let cause = self.cause(code, sender: sender, c); if !out.contains(cause) { out.append(cause) } }
        // Or nothing more than the alert itself: always named, after what it may mean.
        out.removeAll { $0 == .tlsAlert }
        return out + [.tlsAlert]
    }

    /// The cause an alert names; `.tlsAlert` when it names none (the alert is reported as itself).
    public static func cause(_ code: UInt8, sender: Peer, _ context: Context = Context()) -> Cause {
        guard let alert = AlertCode(rawValue: code) else { return .tlsAlert }
        switch sender {
        case .server:
            if alert == .certificateRequired { return .clientCertRequired }
            if context.certificateRequested, isClientCertificateAlert(alert) {
                return context.clientCertificateSent ? .clientCertRejected : .clientCertRequired
            }
            // Without SNI the server aborts (internal_error, the seed's) or knows no such name; a bare
            // handshake_failure is SNI's doing only when SNI works with the same server. Other alerts
            // (protocol_version …) mean what they say, SNI or not.
            if context.withoutSNI, alert == .internalError || alert == .unrecognizedName || (alert == .handshakeFailure && context.sniWorks) {
                return .alertWithoutSNI
            }
            switch alert {
            case .protocolVersion, .inappropriateFallback: return .protocolVersion
            case .handshakeFailure, .insufficientSecurity: return .noSharedCipher
            case .unrecognizedName: return .hostnameMismatch
            case .noApplicationProtocol: return .upstreamProtocolMismatch
            default: return .tlsAlert
            }
        case .client:
            switch alert {
            case .certificateExpired: return .certExpired
            case .unknownCA: return .untrustedIssuer
            case .badCertificate, .certificateUnknown: return .untrustedIssuer
            case .unsupportedCertificate: return .certWrongPurpose
            case .certificateRevoked: return .certRevoked
            case .decryptError: return .certInvalid
            case .protocolVersion: return .protocolVersion
            case .handshakeFailure, .insufficientSecurity: return .noSharedCipher
            default: return .tlsAlert
            }
        }
    }
}
