/// One piece of evidence: a stable key and a typed value —
/// `not_after = 2025-03-01T00:00:00Z`. Reports show the key's label in
/// their language; `report.json` keeps the key, and a key that repeats in
/// one list becomes a JSON list. Nothing looks a fact up by its label.
public struct Fact: Sendable, Hashable {
    public var key: FactKey
    public var value: Value

    public init(_ key: FactKey, _ value: Value) {
        self.key = key
        self.value = value
    }

    public init(_ key: FactKey, _ message: Message) {
        self.init(key, message.value)
    }
}

extension Array where Element == Fact {
    /// The first value of a key.
    public subscript(key: FactKey) -> Value? { first { $0.key == key }?.value }

    /// Every value of a key, in order.
    public func all(_ key: FactKey) -> [Value] { filter { $0.key == key }.map(\.value) }
}

/// The fact keys triage writes (snake_case; stable: tests, report.json and
/// users' scripts rely on them). Each key's label per language is
/// `fact.KEY` in the text tables; `type` says what its value is.
public enum FactKey: String, Sendable, Hashable, Codable, CaseIterable {
    // Names and addresses
    case host, address, addresses, addressSource = "address_source", server, client, resolver, sni, variant
    case port, family
    // DNS
    case dnsRecord = "dns_record", rcode, cnameChain = "cname_chain", getaddrinfo, truncated, queryType = "query_type"
    // TLS handshakes
    case attempt, alert, version, cipher, alpn, verifyCode = "verify_code", verifyError = "verify_error"
    case acceptableCAs = "acceptable_cas", opensslError = "openssl_error", opensslReason = "openssl_reason"
    case lastMessage = "last_message", bytesReceived = "bytes_received", messagesReceived = "messages_received"
    case phase, elapsedMs = "elapsed_ms", withSNI = "with_sni", withoutSNI = "without_sni", answer
    case offeredVersions = "offered_versions", limit
    // Certificates
    case subject, issuer, notBefore = "not_before", notAfter = "not_after", daysLeft = "days_left"
    case sans, key, signature, selfSigned = "self_signed", trusted, hostMatch = "host_match", certificate
    case chainLength = "chain_length", missingIssuer = "missing_issuer", seenAt = "seen_at"
    // HTTP
    case url, status, curlCode = "curl_code", curlError = "curl_error", connectedTo = "connected_to"
    case dnsMs = "dns_ms", connectMs = "connect_ms", tlsMs = "tls_ms", firstByteMs = "first_byte_ms", totalMs = "total_ms"
    case serverHeader = "server_header", dateHeader = "date_header", directStatus = "direct_status", viaStatus = "via_status"
    case redirects, osErrno = "os_errno", headerBytes = "header_bytes", bodyBytes = "body_bytes", proxy
    // nginx
    case location, proxyPass = "proxy_pass", upstreamServers = "upstream_servers", sniSent = "sni_sent"
    case proxySSLVerify = "proxy_ssl_verify", proxySSLProtocols = "proxy_ssl_protocols"
    case proxySSLTrustedCertificate = "proxy_ssl_trusted_certificate", hostHeader = "host_header"
    case matchingLines = "matching_lines", lastLine = "last_line", upstream, request, call
    // Captures
    case interface, filter, frames, bytes, framesDropped = "frames_dropped", kernelDropped = "kernel_dropped"
    case packets, tcpConnections = "tcp_connections", tlsConnections = "tls_connections", connections
    case blocksSkipped = "blocks_skipped", malformedFrames = "malformed_frames", group, firstSeen = "first_seen"
    case lastSeen = "last_seen", captureCut = "capture_cut", bytesLost = "bytes_lost"
    case keyLogEntries = "key_log_entries", decryptedConnections = "decrypted_connections"
    // Alerts explained
    case code, name, level, sender, definedIn = "defined_in", meaning, likelyCause = "likely_cause"
    // exec and the rest
    case command, exitStatus = "exit_status", expectedExit = "expected_exit", note, error, cause
    // Client and proxy error texts explained
    case writtenBy = "written_by", matched, nextCommand = "next_command"
    // Version matrix
    case serverSpeaks = "server_speaks", versionProbe = "version_probe"
    // Client profiles and the proxy's word
    case event, nameChecked = "name_checked", confirmedBy = "confirmed_by", missingEvidence = "missing_evidence"
    case proxyVersion = "proxy_version", profile
    // The proxy's HTTP layer: its settings against what was measured
    case setting, measuredMs = "measured_ms", contentLength = "content_length", bodyStart = "body_start"
    case markedDown = "marked_down", loggedAddresses = "logged_addresses", resolvedNow = "resolved_now", impact
    case trustStore = "trust_store", nextUpdate = "next_update", httpVersion = "http_version", contentType = "content_type", keepAlive = "keep_alive"

    /// What the value is, for decoding report.json back into typed facts.
    public var type: ValueType {
        switch self {
        case .address, .resolver, .connectedTo, .server, .client: .endpoint
        case .addresses, .getaddrinfo: .list(.address)
        case .alert: .alert
        case .notBefore, .notAfter, .firstSeen, .lastSeen, .seenAt, .nextUpdate: .date
        case .certificate: .certificate
        case .port, .verifyCode, .daysLeft, .status, .curlCode, .directStatus, .viaStatus, .redirects,
             .headerBytes, .bodyBytes, .matchingLines, .frames, .bytes, .framesDropped, .kernelDropped, .packets,
             .tcpConnections, .tlsConnections, .connections, .blocksSkipped, .malformedFrames, .code, .exitStatus,
             .expectedExit, .chainLength, .bytesReceived, .messagesReceived, .opensslReason, .bytesLost, .limit,
             .keyLogEntries, .decryptedConnections, .contentLength:
            .integer
        case .elapsedMs, .dnsMs, .connectMs, .tlsMs, .firstByteMs, .totalMs, .measuredMs: .number
        case .truncated, .selfSigned, .trusted, .hostMatch, .proxySSLVerify: .boolean
        case .sans, .cnameChain, .acceptableCAs, .upstreamServers, .proxySSLProtocols, .offeredVersions, .verifyError, .serverSpeaks,
             .missingEvidence, .markedDown, .loggedAddresses, .resolvedNow:
            .list(.string)
        default: .string
        }
    }
}
