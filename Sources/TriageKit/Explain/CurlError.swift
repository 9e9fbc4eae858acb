/// libcurl's `CURLcode` table (curl/curl.h): what `curl: (35) …` and a curl
/// exit status mean. Codes marked obsolete are no longer returned.
public struct CurlError: Sendable, Hashable {
    public let code: Int
    /// The constant without its `CURLE_` prefix.
    public let name: String
    public let meaning: String

    public static func named(_ code: Int) -> CurlError? {
        guard table.indices.contains(code) else { return nil }
        let (name, meaning) = table[code]
        return CurlError(code: code, name: name, meaning: meaning)
    }

    public static func named(_ constant: String) -> CurlError? {
        let bare = constant.uppercased().replacingOccurrences(of: "CURLE_", with: "")
        return table.firstIndex { $0.0 == bare }.flatMap(named)
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

    static let table: [(String, String)] = [
        ("OK", "success"),
        ("UNSUPPORTED_PROTOCOL", "the URL's scheme is not supported by this libcurl"),
        ("FAILED_INIT", "early initialisation failed"),
        ("URL_MALFORMAT", "the URL is not properly formatted"),
        ("NOT_BUILT_IN", "a requested feature was not built into this libcurl"),
        ("COULDNT_RESOLVE_PROXY", "the proxy's host name could not be resolved"),
        ("COULDNT_RESOLVE_HOST", "the host name could not be resolved (DNS)"),
        ("COULDNT_CONNECT", "the TCP connection failed: refused, unreachable, or timed out at connect"),
        ("WEIRD_SERVER_REPLY", "the server sent data libcurl could not parse (often: not the protocol expected, e.g. HTTP to a TLS port)"),
        ("REMOTE_ACCESS_DENIED", "the server denied access to the resource"),
        ("FTP_ACCEPT_FAILED", "FTP: accepting the server's data connection failed"),
        ("FTP_WEIRD_PASS_REPLY", "FTP: unexpected reply to PASS"),
        ("FTP_ACCEPT_TIMEOUT", "FTP: the server did not connect back in time"),
        ("FTP_WEIRD_PASV_REPLY", "FTP: unexpected reply to PASV/EPSV"),
        ("FTP_WEIRD_227_FORMAT", "FTP: the 227 reply could not be parsed"),
        ("FTP_CANT_GET_HOST", "FTP: the host for the data connection could not be found"),
        ("HTTP2", "a problem in the HTTP/2 framing layer"),
        ("FTP_COULDNT_SET_TYPE", "FTP: setting the transfer type failed"),
        ("PARTIAL_FILE", "the transfer ended before the announced size was received"),
        ("FTP_COULDNT_RETR_FILE", "FTP: RETR failed"),
        ("OBSOLETE20", "not used"),
        ("QUOTE_ERROR", "a custom QUOTE command failed"),
        ("HTTP_RETURNED_ERROR", "the server answered with an HTTP status of 400 or more (with --fail)"),
        ("WRITE_ERROR", "writing received data to a file or callback failed"),
        ("OBSOLETE24", "not used"),
        ("UPLOAD_FAILED", "the upload could not be started"),
        ("READ_ERROR", "reading the local data to send failed"),
        ("OUT_OF_MEMORY", "a memory allocation failed"),
        ("OPERATION_TIMEDOUT", "the operation passed its timeout (--max-time / --connect-timeout)"),
        ("OBSOLETE29", "not used"),
        ("FTP_PORT_FAILED", "FTP: the PORT command failed"),
        ("FTP_COULDNT_USE_REST", "FTP: the REST command failed"),
        ("OBSOLETE32", "not used"),
        ("RANGE_ERROR", "the server does not support or accept the range request"),
        ("OBSOLETE34", "not used"),
        ("SSL_CONNECT_ERROR", "the TLS handshake failed: see the message after it (an alert, a version or cipher mismatch)"),
        ("BAD_DOWNLOAD_RESUME", "a download could not be resumed"),
        ("FILE_COULDNT_READ_FILE", "a file:// URL could not be read"),
        ("LDAP_CANNOT_BIND", "LDAP: bind failed"),
        ("LDAP_SEARCH_FAILED", "LDAP: search failed"),
        ("OBSOLETE40", "not used"),
        ("OBSOLETE41", "not used"),
        ("ABORTED_BY_CALLBACK", "a callback asked libcurl to abort"),
        ("BAD_FUNCTION_ARGUMENT", "a function was called with a bad argument"),
        ("OBSOLETE44", "not used"),
        ("INTERFACE_FAILED", "the local interface or address (--interface) could not be used"),
        ("OBSOLETE46", "not used"),
        ("TOO_MANY_REDIRECTS", "more redirects than --max-redirs allows"),
        ("UNKNOWN_OPTION", "an option was not recognised by this libcurl"),
        ("SETOPT_OPTION_SYNTAX", "an option's value had a syntax error"),
        ("OBSOLETE50", "not used"),
        ("OBSOLETE51", "before curl 7.62: CURLE_PEER_FAILED_VERIFICATION (the server's certificate, usually its name, did not verify); since 7.62 that is 60"),
        ("GOT_NOTHING", "the server closed the connection without sending anything"),
        ("SSL_ENGINE_NOTFOUND", "the TLS crypto engine was not found"),
        ("SSL_ENGINE_SETFAILED", "setting the TLS crypto engine as default failed"),
        ("SEND_ERROR", "sending network data failed"),
        ("RECV_ERROR", "receiving network data failed (often a reset connection)"),
        ("OBSOLETE57", "not used"),
        ("SSL_CERTPROBLEM", "the local client certificate could not be used"),
        ("SSL_CIPHER", "the requested cipher could not be used"),
        ("PEER_FAILED_VERIFICATION", "the server's certificate or fingerprint did not verify (expired, wrong host, untrusted issuer)"),
        ("BAD_CONTENT_ENCODING", "the content encoding was not recognised"),
        ("OBSOLETE62", "not used"),
        ("FILESIZE_EXCEEDED", "the file is larger than --max-filesize"),
        ("USE_SSL_FAILED", "the requested TLS level could not be reached"),
        ("SEND_FAIL_REWIND", "a resend needed data that could not be rewound"),
        ("SSL_ENGINE_INITFAILED", "the TLS crypto engine could not be initialised"),
        ("LOGIN_DENIED", "the server rejected the login"),
        ("TFTP_NOTFOUND", "TFTP: file not found"),
        ("TFTP_PERM", "TFTP: permission problem"),
        ("REMOTE_DISK_FULL", "the server ran out of disk space"),
        ("TFTP_ILLEGAL", "TFTP: illegal operation"),
        ("TFTP_UNKNOWNID", "TFTP: unknown transfer id"),
        ("REMOTE_FILE_EXISTS", "the remote file exists and would not be overwritten"),
        ("TFTP_NOSUCHUSER", "TFTP: no such user"),
        ("OBSOLETE75", "not used"),
        ("OBSOLETE76", "not used"),
        ("SSL_CACERT_BADFILE", "the CA certificate file (--cacert) could not be read"),
        ("REMOTE_FILE_NOT_FOUND", "the resource was not found on the server"),
        ("SSH", "an error in the SSH layer"),
        ("SSL_SHUTDOWN_FAILED", "the TLS connection could not be shut down cleanly"),
        ("AGAIN", "the socket is not ready; try again"),
        ("SSL_CRL_BADFILE", "the CRL file could not be loaded"),
        ("SSL_ISSUER_ERROR", "the issuer check (--issuer) failed"),
        ("FTP_PRET_FAILED", "FTP: the PRET command failed"),
        ("RTSP_CSEQ_ERROR", "RTSP: CSeq mismatch"),
        ("RTSP_SESSION_ERROR", "RTSP: session id mismatch"),
        ("FTP_BAD_FILE_LIST", "FTP: the file list could not be parsed"),
        ("CHUNK_FAILED", "a chunk callback reported an error"),
        ("NO_CONNECTION_AVAILABLE", "no connection available (connect-only use)"),
        ("SSL_PINNEDPUBKEYNOTMATCH", "the server's public key did not match --pinnedpubkey"),
        ("SSL_INVALIDCERTSTATUS", "the certificate status (OCSP stapling) check failed"),
        ("HTTP2_STREAM", "an HTTP/2 stream was reset or failed"),
        ("RECURSIVE_API_CALL", "a libcurl function was called from inside a callback"),
        ("AUTH_ERROR", "an authentication function returned an error"),
        ("HTTP3", "an HTTP/3 layer problem"),
        ("QUIC_CONNECT_ERROR", "the QUIC connection could not be set up"),
        ("PROXY", "the proxy handshake failed (see the proxy's answer)"),
        ("SSL_CLIENTCERT", "the server asked for or rejected the client certificate"),
        ("UNRECOVERABLE_POLL", "poll/select returned an unrecoverable error"),
        ("TOO_LARGE", "a value or data field grew larger than allowed"),
        ("ECH_REQUIRED", "Encrypted Client Hello was required but not accepted"),
    ]
}
