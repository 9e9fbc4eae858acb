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

    public init(client: Endpoint, server: Endpoint, firstSeen: Date, sni: String?, offeredVersions: [UInt16], selectedVersion: UInt16?,
                selectedCipher: UInt16?, serverHello: Bool, alerts: [TLSAlert], certificates: [Certificate], certificateRequest: Bool, gaps: Bool) {
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
    }

    public var fatalAlert: TLSAlert? { alerts.first { $0.isFatal } }

    /// A few words on how it ended, for grouping: `fatal alert 80 …, no SNI`.
    public var outcome: Message {
        if let alert = fatalAlert ?? alerts.first { return Message(.captureOutcomeAlert, ["alert": .typed(.alert(alert))]) }
        if serverHello { return Message(.captureOutcomeHandshake, ["version": .string(ProtocolVersion.name(selectedVersion ?? 0))]) }
        return Message(.captureOutcomeNoServerHello)
    }

    public var groupLabel: Message {
        Message(.captureGroup, ["outcome": outcome.value, "sni": sni.map { Message(.captureSNI, ["name": .string($0)]).value } ?? Message(.captureNoSNI).value])
    }
}
