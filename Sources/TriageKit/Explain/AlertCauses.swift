import TriageWire

/// Likely causes of an alert, by who sent it. An alert's meaning depends on
/// the sender: alert 80 from the server is the seed incident (the server
/// aborts, e.g. on a broken certificate or a missing SNI), while alert 80
/// from an OpenSSL 3 client is usually that client refusing a legacy peer.
public enum AlertCauses {
    public static func likely(_ code: UInt8, sender: Peer) -> [String] {
        (sender == .server ? fromServer : fromClient)[code] ?? []
    }

    public static func hasEntry(_ code: UInt8) -> Bool { fromServer[code] != nil || fromClient[code] != nil }

    static let fromServer: [UInt8: [String]] = [
        40: ["no cipher suite, group or signature algorithm in common with the client",
             "the server requires SNI and the client sent none, or a name it has no certificate for",
             "the server wants a client certificate the client did not present (TLS 1.2)"],
        42: ["the client certificate is corrupt, or its signature does not verify"],
        43: ["the client certificate's type or key algorithm is not accepted"],
        44: ["the client certificate has been revoked"],
        45: ["the client certificate has expired or is not yet valid"],
        46: ["the client certificate was rejected for another reason (policy, key usage)"],
        47: ["a malformed or inconsistent ClientHello (often a middlebox rewriting it)"],
        48: ["the client certificate was issued by a CA the server does not trust (ssl_client_certificate)"],
        70: ["the client offers only versions the server disabled (e.g. TLS 1.0 to a TLS 1.2+ server)"],
        80: ["the server's own configuration is broken: expired or unreadable certificate/key, no certificate for the requested name",
             "the handshake arrived without SNI and the server has no usable default certificate (the seed incident: nginx proxy_pass to HTTPS without proxy_ssl_server_name)",
             "a TLS terminator / load balancer failing towards its backend"],
        86: ["the client retried with a lower version after a failed attempt (TLS_FALLBACK_SCSV): look at the first failure"],
        112: ["the server has no certificate or virtual host for the SNI name sent"],
        116: ["the server requires a client certificate (TLS 1.3, ssl_verify_client on) and none was sent"],
        120: ["no protocol in common between the client's ALPN list and the server's (e.g. h2 only vs http/1.1 only)"],
    ]

    static let fromClient: [UInt8: [String]] = [
        40: ["the client found no acceptable parameters in the ServerHello"],
        42: ["the server certificate is corrupt or its signature does not verify"],
        43: ["the server certificate's key type is not supported by the client"],
        44: ["the server certificate has been revoked"],
        45: ["the server certificate has expired or is not yet valid (check notAfter / notBefore and the clocks)"],
        46: ["the server certificate was rejected for another reason (key usage, policy)"],
        47: ["a malformed or inconsistent ServerHello"],
        48: ["the server certificate chains to a CA the client does not trust (self-signed, private CA, missing intermediate)"],
        70: ["the server selected a version the client disabled"],
        80: ["the client itself failed: with OpenSSL 3 often a legacy TLS 1.0/1.1 server whose signature algorithm the default security level refuses",
             "a local problem in the client (memory, provider, key load)"],
        86: ["a middlebox downgraded the connection"],
        112: ["rare from a client: it did not recognise the name the server echoed"],
        116: ["not sent by clients"],
        120: ["the server selected an ALPN protocol the client did not offer"],
    ]
}
