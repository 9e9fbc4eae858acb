/// libcurl's `CURLcode` table (curl/curl.h): what `curl: (35) …` and a curl
/// exit status mean. Codes marked obsolete are no longer returned.
public struct CurlError: Sendable, Hashable {
    public let code: Int
    /// The constant without its `CURLE_` prefix.
    public let name: String
    /// What the code means, in the text table's language (`curl.CODE`).
    public var meaning: Message { Message(raw: "curl.\(code)") }

    public static func named(_ code: Int) -> CurlError? {
        guard table.indices.contains(code) else { return nil }
        return CurlError(code: code, name: table[code])
    }

    public static func named(_ constant: String) -> CurlError? {
        let bare = constant.uppercased().replacingOccurrences(of: "CURLE_", with: "")
        return table.firstIndex { $0 == bare }.flatMap(named)
    }

    public static var count: Int { table.count }

    /// The causes in triage's vocabulary a curl code points to, the likeliest first (the text after it may say more).
    public var causes: [Cause] {
        switch code {
        case 5: [.proxyError]
        case 6: [.dnsFailure]
        case 7: [.connectionRefused, .timeout, .addressUnreachable]
        case 8: [.httpProtocolError, .notTLS]
        case 16, 92: [.httpProtocolError, .upstreamProtocolMismatch]
        case 18: [.upstreamClosedEarly]
        case 22: [.httpError]
        case 28: [.timeout, .httpTimeout]
        case 35: [.tlsAlert, .protocolVersion, .noSharedCipher, .alertWithoutSNI, .connectionReset]
        case 47: [.redirectLoop]
        // Before 7.62, 51 was the certificate check (mostly its name); 60 the issuer.
        case 51: [.hostnameMismatch, .certInvalid]
        case 52: [.httpProtocolError, .connectionReset]
        case 55: [.connectionReset]
        case 56: [.connectionReset, .upstreamClosedEarly, .proxyError]
        case 58: [.clientCertRejected]
        case 59: [.noSharedCipher]
        case 60: [.untrustedIssuer, .certExpired, .hostnameMismatch, .incompleteChain, .selfSigned]
        case 77: [.untrustedIssuer]
        case 90: [.certInvalid]
        case 91: [.ocspStale, .certRevoked]
        default: []
        }
    }

    /// The constants by number, without `CURLE_`; their meanings are the text tables' `curl.N`.
    static let table: [String] = [
        "OK", "UNSUPPORTED_PROTOCOL", "FAILED_INIT", "URL_MALFORMAT", "NOT_BUILT_IN", "COULDNT_RESOLVE_PROXY",
        "COULDNT_RESOLVE_HOST", "COULDNT_CONNECT", "WEIRD_SERVER_REPLY", "REMOTE_ACCESS_DENIED", "FTP_ACCEPT_FAILED",
        "FTP_WEIRD_PASS_REPLY", "FTP_ACCEPT_TIMEOUT", "FTP_WEIRD_PASV_REPLY", "FTP_WEIRD_227_FORMAT",
        "FTP_CANT_GET_HOST", "HTTP2", "FTP_COULDNT_SET_TYPE", "PARTIAL_FILE", "FTP_COULDNT_RETR_FILE", "OBSOLETE20",
        "QUOTE_ERROR", "HTTP_RETURNED_ERROR", "WRITE_ERROR", "OBSOLETE24", "UPLOAD_FAILED", "READ_ERROR",
        "OUT_OF_MEMORY", "OPERATION_TIMEDOUT", "OBSOLETE29", "FTP_PORT_FAILED", "FTP_COULDNT_USE_REST", "OBSOLETE32",
        "RANGE_ERROR", "OBSOLETE34", "SSL_CONNECT_ERROR", "BAD_DOWNLOAD_RESUME", "FILE_COULDNT_READ_FILE",
        "LDAP_CANNOT_BIND", "LDAP_SEARCH_FAILED", "OBSOLETE40", "OBSOLETE41", "ABORTED_BY_CALLBACK",
        "BAD_FUNCTION_ARGUMENT", "OBSOLETE44", "INTERFACE_FAILED", "OBSOLETE46", "TOO_MANY_REDIRECTS",
        "UNKNOWN_OPTION", "SETOPT_OPTION_SYNTAX", "OBSOLETE50", "OBSOLETE51", "GOT_NOTHING", "SSL_ENGINE_NOTFOUND",
        "SSL_ENGINE_SETFAILED", "SEND_ERROR", "RECV_ERROR", "OBSOLETE57", "SSL_CERTPROBLEM", "SSL_CIPHER",
        "PEER_FAILED_VERIFICATION", "BAD_CONTENT_ENCODING", "OBSOLETE62", "FILESIZE_EXCEEDED", "USE_SSL_FAILED",
        "SEND_FAIL_REWIND", "SSL_ENGINE_INITFAILED", "LOGIN_DENIED", "TFTP_NOTFOUND", "TFTP_PERM", "REMOTE_DISK_FULL",
        "TFTP_ILLEGAL", "TFTP_UNKNOWNID", "REMOTE_FILE_EXISTS", "TFTP_NOSUCHUSER", "OBSOLETE75", "OBSOLETE76",
        "SSL_CACERT_BADFILE", "REMOTE_FILE_NOT_FOUND", "SSH", "SSL_SHUTDOWN_FAILED", "AGAIN", "SSL_CRL_BADFILE",
        "SSL_ISSUER_ERROR", "FTP_PRET_FAILED", "RTSP_CSEQ_ERROR", "RTSP_SESSION_ERROR", "FTP_BAD_FILE_LIST",
        "CHUNK_FAILED", "NO_CONNECTION_AVAILABLE", "SSL_PINNEDPUBKEYNOTMATCH", "SSL_INVALIDCERTSTATUS",
        "HTTP2_STREAM", "RECURSIVE_API_CALL", "AUTH_ERROR", "HTTP3", "QUIC_CONNECT_ERROR", "PROXY", "SSL_CLIENTCERT",
        "UNRECOVERABLE_POLL", "TOO_LARGE", "ECH_REQUIRED",
    ]
}
