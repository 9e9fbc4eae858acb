import Foundation
import TriageWire

/// One TCP connection of a capture as the diagnosis sees it: endpoints,
/// the ClientHello's SNI and versions, what the server selected, the alerts
/// in clear with their sender, and the certificates sent in clear, parsed.
public struct CapturedTLS: Sendable {
    public var client: Endpoint
    public var server: Endpoint
    public var firstSeen: Date
    public var sni: String?
    public var offeredVersions: [UInt16]
    public var selectedVersion: UInt16?
    public var selectedCipher: UInt16?
    public var serverHello: Bool
    public var alerts: [TLSAlert]
    public var certificates: [Certificate]
    public var certificateRequest: Bool
    public var gaps: Bool
    /// Below TLS: how the TCP connection went.
    public var tcp = TCPStory()
    /// Whose connection it is: triage's own (a port its steps used), or another client's.
    public var origin: Origin = .other
    /// The client completed the handshake, sent no request and closed the connection itself:
    /// what a verifying client (nginx) does with a certificate it refuses, alert or not.
    public var closedWithoutRequest = false
    /// The client answered a CertificateRequest with a certificate (seen in clear, or decrypted).
    public var clientCertificateSent = false

    public enum Origin: String, Sendable, Hashable {
        /// Made by triage's own steps in this run.
        case triage
        /// Anyone else's: in a run with a proxy, the proxy's.
        case other
    }

    /// What TCP showed of a connection that did not get as far as TLS.
    public struct TCPStory: Sendable, Hashable {
        /// The SYN was answered by RST.
        public var refused = false
        /// The client sent a ClientHello; the server sent nothing back before
        /// the client gave up (FIN or RST), or in the `waitedMs` until the capture ended.
        public var unanswered = false
        /// The server answered with bytes that are not TLS records; their start, printable.
        public var notTLS: String?
        /// From the connection's first packet to its last.
        public var waitedMs = 0
        /// Payload bytes from the server.
        public var serverBytes = 0

        public init(refused: Bool = false, unanswered: Bool = false, notTLS: String? = nil, waitedMs: Int = 0, serverBytes: Int = 0) {
            self.refused = refused
            self.unanswered = unanswered
            self.notTLS = notTLS
            self.waitedMs = waitedMs
            self.serverBytes = serverBytes
        }
    }

    public init(client: Endpoint, server: Endpoint, firstSeen: Date, sni: String?, offeredVersions: [UInt16], selectedVersion: UInt16?,
                selectedCipher: UInt16?, serverHello: Bool, alerts: [TLSAlert], certificates: [Certificate], certificateRequest: Bool, gaps: Bool,
                tcp: TCPStory = TCPStory(), origin: Origin = .other, closedWithoutRequest: Bool = false, clientCertificateSent: Bool = false) {
        self.origin = origin
        self.closedWithoutRequest = closedWithoutRequest
        self.clientCertificateSent = clientCertificateSent
        self.client = client
        self.server = server
        self.firstSeen = firstSeen
        self.sni = sni
        self.offeredVersions = offeredVersions
        self.selectedVersion = selectedVersion
        self.selectedCipher = selectedCipher
        self.serverHello = serverHello
        self.alerts = alerts
        self.certificates = certificates
        self.certificateRequest = certificateRequest
        self.gaps = gaps
        self.tcp = tcp
    }

    public var fatalAlert: TLSAlert? { alerts.first { $0.isFatal } }

    /// The server answered (a ServerHello) and no fatal alert ended it.
    public var held: Bool { serverHello && fatalAlert == nil }

    /// A few words on how it ended, for grouping: `fatal alert 80 …, no SNI`.
    public var outcome: Message {
        if tcp.refused { return Message(.captureOutcomeRefused) }
        if let preview = tcp.notTLS { return Message(.captureOutcomeNotTLS, ["preview": .string(preview)]) }
        if tcp.unanswered { return Message(.captureOutcomeUnanswered, ["ms": .int(tcp.waitedMs)]) }
        if let alert = fatalAlert ?? alerts.first { return Message(.captureOutcomeAlert, ["alert": .typed(.alert(alert))]) }
        if closedWithoutRequest { return Message(.captureOutcomeClosedQuietly) }
        if serverHello { return Message(.captureOutcomeHandshake, ["version": .string(ProtocolVersion.name(selectedVersion ?? 0))]) }
        return Message(.captureOutcomeNoServerHello)
    }

    public var groupLabel: Message {
        let label = Message(.captureGroup, ["outcome": outcome.value, "sni": sni.map { Message(.captureSNI, ["name": .string($0)]).value } ?? Message(.captureNoSNI).value])
        return origin == .triage ? Message(.captureGroupOwn, ["label": label.value]) : label
    }
}
