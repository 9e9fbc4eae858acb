import TriageWire

/// The TLS error texts of the clients and proxies users run — Java, Go,
/// Python, Node.js, Envoy, HAProxy — read into triage's cause vocabulary,
/// one row per pattern of `templates/explain-patterns.txt`.
public struct ClientPattern: Sendable {
    public var id: String
    /// Who writes this text: `Java`, `Go`, `Envoy`.
    public var client: String
    public var expression: String
    /// Cause codes, or `alert` / `verify` / `reason`: read from what the text names.
    public var causes: [String]
    /// The command to run next; `{host}` is the captured host.
    public var next: String

    /// What a match says: the row, the causes it narrows to, and the alert or
    /// verify error the text names.
    public struct Match: Sendable {
        public var pattern: ClientPattern
        public var causes: [Cause]
        public var alert: AlertDescription?
        /// Who sent the alert: the server, unless the text is a server's log of its client's alert.
        public var alertSender: Peer = .server
        public var verifyCode: Int?
        public var host: String?
        /// The port the text names (`dial tcp 10.0.0.5:8443`, nginx's `upstream: "https://…:8999/"`, `port=8443`).
        public var port: Int?
        public var next: String
    }

    public struct Malformed: Error, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "explain-patterns.txt:\(line): \(message)" }
    }

    /// The rows of the table; a malformed row is an error with its line.
    public static func parse(_ text: String) throws(Malformed) -> [ClientPattern] {
        var out: [ClientPattern] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let columns = line.components(separatedBy: " || ").map { $0.trimmingCharacters(in: .whitespaces) }
            guard columns.count == 5 else { throw Malformed(line: index + 1, message: "expected 5 columns separated by ' || ', got \(columns.count)") }
            guard (try? Regex(columns[2])) != nil else { throw Malformed(line: index + 1, message: "'\(columns[2])' is not a regular expression") }
            let causes = columns[3].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            for c in causes where Cause(rawValue: c) == nil && !["alert", "client-alert", "verify", "reason"].contains(c) {
                throw Malformed(line: index + 1, message: "'\(c)' is not a cause code")
            }
            out.append(ClientPattern(id: columns[0], client: columns[1], expression: columns[2], causes: causes, next: columns[4]))
        }
        return out
    }

    /// The bundled table (a test keeps it well-formed).
    public static let bundled: [ClientPattern] = (try? parse(Bundled.explainPatterns)) ?? []

    /// The first row that matches `text`.
    public static func match(_ text: String, in patterns: [ClientPattern] = bundled) -> Match? {
        for p in patterns {
            guard let regex = try? Regex(p.expression).ignoresCase(), let m = text.firstMatch(of: regex) else { continue }
            func group(_ name: String) -> String? { m.output[name]?.substring.map(String.init) }
            let host = group("host")
            var causes: [Cause] = []
            var alert: AlertDescription?
            var verify: Int?
            for c in p.causes {
                switch c {
                case "alert":
                    if let name = group("alert") { alert = Self.alert(named: name) }
                    causes += alert.map { AlertMeaning.likelyCauses($0.code, sender: .server) } ?? [.tlsAlert]
                case "client-alert":
                    // A server's log of the alert its client sent: the client refusing the server's side.
                    if let name = group("alert") { alert = Self.alert(named: name) }
                    causes += alert.map { AlertMeaning.likelyCauses($0.code, sender: .client) } ?? [.tlsAlert]
                case "verify":
                    verify = group("verify").flatMap(X509VerifyCode.code(forText:))
                    causes += verify.map(Self.causes(forVerify:)) ?? [.certExpired, .untrustedIssuer, .incompleteChain, .hostnameMismatch, .selfSigned]
                case "reason":
                    let reason = group("reason") ?? ""
                    if let name = Self.alertName(inReason: reason), let a = Self.alert(named: name) {
                        alert = a
                        causes += AlertMeaning.likelyCauses(a.code, sender: .server)
                    } else {
                        causes += Self.causes(forReason: reason)
                    }
                default:
                    if let cause = Cause(rawValue: c) { causes.append(cause) }
                }
            }
            var seen = Set<Cause>()
            causes = causes.filter { seen.insert($0).inserted }
            // The host is the text's (a log line's, a server's name), else the address it names: quoted as one shell word.
            let named = Self.endpoint(in: text)
            let target = host ?? named.host
            let port = named.port
            let shown = target.map(ShellQuote.quote) ?? "HOST"
            var next = p.next.replacingOccurrences(of: "{host}", with: shown)
            // A proxy's line names the upstream it connected to (nginx's `upstream: "https://10.0.0.5:8443/…"`):
            // the command connects there, on its port, whatever name it checks.
            // (Address characters only: the line is the network's text, the command is pasted into a shell.)
            if named.upstream, let address = named.host, let port {
                next = next.replacingOccurrences(of: "-connect \(shown):443", with: "-connect \(address.contains(":") ? "[\(address)]" : address):\(port)")
            }
            // Any other port the text names is the one to try, not 443.
            if let port, port != 443 {
                next = next.replacingOccurrences(of: "-connect \(shown):443", with: "-connect \(shown):\(port)")
                    .replacingOccurrences(of: "nc -vz \(shown) 443", with: "nc -vz \(shown) \(port)")
                    .replacingOccurrences(of: "https://\(shown)/", with: "https://\(shown):\(port)/")
                    .replacingOccurrences(of: "http://\(shown):PORT/", with: "http://\(shown):\(port)/")
            }
            return Match(pattern: p, causes: causes, alert: alert, alertSender: p.causes.contains("client-alert") ? .client : .server,
                         verifyCode: verify, host: target, port: port, next: next)
        }
        return nil
    }

    /// The host and port a text names: nginx's `upstream: "https://10.0.0.5:8999/"`, an address or a
    /// dotted name with its port (`dial tcp 10.0.0.5:8443`, `api.internal:8443`, `[2001:db8::1]:443`),
    /// Python's `host='api.internal', port=8443`. A time of day (`15:11:25`) is neither.
    /// `upstream`: named as a proxy's upstream (the address to connect to, whatever name is checked).
    static func endpoint(in text: String) -> (host: String?, port: Int?, upstream: Bool) {
        func port(_ s: Substring) -> Int? { Int(s).flatMap { (1...65_535).contains($0) ? $0 : nil } }
        if let m = text.firstMatch(of: #/upstream: "[a-z]+://(?<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+):(?<port>\d{1,5})[/"]/#) {
            return (String(m.output.host.trimmed { $0 == "[" || $0 == "]" }), port(m.output.port), true)
        }
        if let m = text.firstMatch(of: #/host='(?<host>[A-Za-z0-9.\-:]+)', port=(?<port>\d{1,5})/#) {
            return (String(m.output.host), port(m.output.port), false)
        }
        if let m = text.firstMatch(of: #/(?:^|[^\w.:\-])(?<host>(?:\d{1,3}\.){3}\d{1,3}|\[[0-9A-Fa-f:.]+\]|[A-Za-z][A-Za-z0-9\-]*(?:\.[A-Za-z0-9\-]+)+):(?<port>\d{1,5})(?![\d])/#) {
            return (String(m.output.host.trimmed { $0 == "[" || $0 == "]" }), port(m.output.port), false)
        }
        return (nil, nil, false)
    }

    /// An alert by the name a client prints: the registry's (`handshake_failure`, `handshake failure`) or Go's
    /// (`expired certificate`, `unknown certificate authority`, `protocol version not supported`).
    static func alert(named text: String) -> AlertDescription? {
        let name = text.lowercased().trimmingCharacters(in: .whitespaces).replacingOccurrences(of: " ", with: "_")
        let go = ["expired_certificate": "certificate_expired", "revoked_certificate": "certificate_revoked",
                  "unknown_certificate": "certificate_unknown", "unknown_certificate_authority": "unknown_ca",
                  "protocol_version_not_supported": "protocol_version", "error_decrypting_message": "decrypt_error",
                  "unrecognized_name": "unrecognized_name", "unrecognized_name_alert": "unrecognized_name"]
        return AlertDescription.named(go[name] ?? name)
    }

    /// What an X.509 verify result (`X509_V_ERR_*`) names.
    static func causes(forVerify code: Int) -> [Cause] {
        switch code {
        case 9: [.certNotYetValid]
        case 10: [.certExpired]
        case 18, 19: [.selfSigned]
        case 20: [.untrustedIssuer, .incompleteChain]
        case 2, 21: [.incompleteChain]
        case 23: [.certRevoked]
        case 26: [.certWrongPurpose]
        case 27, 28: [.untrustedIssuer]
        case 62, 64: [.hostnameMismatch]
        case 66, 67, 68: [.weakKey]
        default: [.certInvalid]
        }
    }

    /// BoringSSL's `TLSV1_ALERT_INTERNAL_ERROR` / `SSLV3_ALERT_HANDSHAKE_FAILURE`: the alert it received.
    static func alertName(inReason reason: String) -> String? {
        for prefix in ["TLSV1_ALERT_", "SSLV3_ALERT_", "TLSV13_ALERT_"] where reason.hasPrefix(prefix) {
            return reason.dropFirst(prefix.count).lowercased()
        }
        return nil
    }

    /// BoringSSL reason names that are not alerts.
    static func causes(forReason reason: String) -> [Cause] {
        switch reason {
        case "CERTIFICATE_VERIFY_FAILED": [.untrustedIssuer, .certExpired, .hostnameMismatch, .incompleteChain, .certInvalid]
        case "WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "PACKET_LENGTH_TOO_LONG", "RECORD_TOO_LARGE": [.notTLS]
        case "HTTP_REQUEST": [.plainHTTPToTLSPort]
        case "DH_KEY_TOO_SMALL", "EE_KEY_TOO_SMALL", "CA_KEY_TOO_SMALL", "CA_MD_TOO_WEAK": [.weakKey]
        case "UNEXPECTED_EOF_WHILE_READING": [.connectionReset]
        case "TLSV1_UNRECOGNIZED_NAME": [.alertWithoutSNI, .hostnameMismatch]
        case "UNSUPPORTED_PROTOCOL", "NO_SUPPORTED_VERSIONS_ENABLED": [.protocolVersion]
        case "NO_SHARED_CIPHER", "NO_CIPHERS_AVAILABLE", "NO_CIPHER_MATCH": [.noSharedCipher]
        case "PEER_DID_NOT_RETURN_A_CERTIFICATE": [.clientCertRequired]
        case "EXCESSIVE_MESSAGE_SIZE": [.handshakeTooLarge]
        default: [.tlsProtocolError]
        }
    }
}

extension X509VerifyCode {
    /// The verify code whose OpenSSL text begins `text` (Python and curl
    /// quote it: "certificate has expired", "self signed certificate").
    public static func code(forText text: String) -> Int? {
        let wanted = normalise(text)
        guard !wanted.isEmpty else { return nil }
        let table: [(Int, String)] = X509VerifyError.allCases.compactMap { e in e.meaning.map { (e.rawValue, $0) } }.sorted { $0.0 < $1.0 }
        for (code, meaning) in table {
            let plain = normalise(meaning.prefix { $0 != "(" })
            if normalise(meaning).hasPrefix(wanted) || wanted.hasPrefix(plain) { return code }
        }
        return nil
    }

    /// Lower case, `-` as a space, and the words other builds print for the same result (OpenSSL 1.0's
    /// "unsuitable certificate purpose" is 1.1's "unsupported certificate purpose").
    static func normalise<S: StringProtocol>(_ s: S) -> String {
        s.lowercased().replacingOccurrences(of: "-", with: " ").replacingOccurrences(of: "unsuitable certificate", with: "unsupported certificate")
            .trimmingCharacters(in: .whitespaces)
    }
}
