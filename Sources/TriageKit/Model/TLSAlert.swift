import TriageWire

/// A TLS alert as triage reports it, the same type whether a live handshake
/// received it or a capture showed it: the code and level from the wire
/// (RFC 8446 §6), who sent it, and where — which matters, because alert 80
/// from a server (it aborts) and alert 80 from an OpenSSL 3 client (it
/// refuses a legacy server) have different causes.
public struct TLSAlert: Sendable, Hashable, Codable {
    public var code: UInt8
    public var level: AlertLevel
    public var sender: Peer
    /// The SNI variant of the handshake that got it, for a live handshake.
    public var variant: SNIVariant?
    /// The server of the connection.
    public var server: Endpoint?
    /// The server_name the ClientHello carried; nil when it carried none.
    public var serverName: String?

    public init(code: UInt8, level: AlertLevel, sender: Peer, variant: SNIVariant? = nil, server: Endpoint? = nil,
                serverName: String? = nil) {
        self.code = code
        self.level = level
        self.sender = sender
        self.variant = variant
        self.server = server
        self.serverName = serverName
    }

    /// The registry entry; nil for a code IANA leaves unassigned.
    public var registry: AlertDescription? { AlertDescription.named(code) }
    /// `internal_error`, or `unassigned(N)`.
    public var name: String { registry?.name ?? "unassigned(\(code))" }
    public var isFatal: Bool { level == .fatal }
}
