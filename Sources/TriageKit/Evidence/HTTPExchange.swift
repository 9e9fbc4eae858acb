import TriageWire

/// libcurl's result codes the diagnosis tells apart, by their curl.h
/// names; the raw value is curl's number (stable ABI).
public enum CurlCode: Int, Sendable, Hashable {
    case ok = 0
    case unsupportedProtocol = 1
    case urlMalformat = 3
    case couldntResolveProxy = 5
    case couldntResolveHost = 6
    case couldntConnect = 7
    case weirdServerReply = 8
    case http2 = 16
    case partialFile = 18
    case operationTimedOut = 28
    case sslConnectError = 35
    case abortedByCallback = 42
    case tooManyRedirects = 47
    case gotNothing = 52
    case sendError = 55
    case recvError = 56
    case sslCertProblem = 58
    case peerFailedVerification = 60
    case badContentEncoding = 61
    case filesizeExceeded = 63
    case sslCACertBadFile = 77
    case http2Stream = 92
    case proxy = 97
    case sslClientCert = 98
    case tooLarge = 100
}

/// What one HTTP request through libcurl showed.
public struct HTTPExchange: Sendable {
    public struct Timings: Sendable, Hashable {
        /// Seconds from the start, as curl's `-w %{time_…}` reports them.
        public var nameLookup, connect, tls, firstByte, total: Double
        public init(nameLookup: Double, connect: Double, tls: Double, firstByte: Double, total: Double) {
            self.nameLookup = nameLookup
            self.connect = connect
            self.tls = tls
            self.firstByte = firstByte
            self.total = total
        }
    }

    /// Who makes the request in the story: the user's client directly, or
    /// through the proxy that answers the error.
    public enum Role: String, Sendable { case direct, via }

    public var url: String
    public var role: Role
    /// curl's number; `code` names it when the diagnosis knows it.
    public var curlCode: Int
    /// `CURLE_…`.
    public var curlName: String
    /// curl's own error text (its error buffer), quoted as it is.
    public var curlMessage: String
    /// `CURLINFO_OS_ERRNO`: the errno behind a connect or receive failure.
    public var osErrno: Int32
    public var status: Int
    public var httpVersion: String?
    /// Response header lines of the last response, in order.
    public var headers: [(name: String, value: String)]
    public var headerBytes: Int
    public var bodyBytes: Int
    public var timings: Timings
    /// `CURLINFO_SSL_VERIFYRESULT` (an X509_V_ERR number) and its name.
    public var verifyResult: Int
    public var verifyError: X509VerifyError
    public var primary: Endpoint?
    public var redirects: Int
    public var effectiveURL: String?
    /// What the bounded buffers dropped: the trace or the body was cut at its limit.
    public var traceTruncated: Bool
    public var bodyTruncated: Bool
    /// TLS alerts on curl's own connection (from OpenSSL's message callback), with their sender.
    public var alerts: [TLSAlert] = []
    /// Bytes received on the connection: the TLS records (https) or the headers and body (http).
    public var bytesReceived = 0
    /// Bytes of the response as the server sent them, before curl parsed anything (https: the
    /// application data's plaintext, an unfinished header line included; http: headers and body).
    public var responseBytes = 0
    /// The address the request was pinned to (`--resolve`), if it was.
    public var pinned: IPAddress?
    /// curl's own end of the connection (`CURLINFO_LOCAL_IP`/`_PORT`): tells triage's connections apart in a capture.
    public var local: Endpoint?
    /// The first bytes of the body (at most 200 characters, redacted): what an upstream's own error page says.
    public var bodyStart = ""
    /// The proxy curl went through (redacted), and where that choice came from (`option`, `HTTPS_PROXY`, …):
    /// a connection that could not be made was the proxy's.
    public var proxy: (url: String, source: String)?
    /// The proxy's answer to curl's CONNECT (0: none asked, or none came).
    public var proxyConnectStatus = 0

    public init(url: String, role: Role, curlCode: Int, curlName: String, curlMessage: String, osErrno: Int32, status: Int,
                httpVersion: String?, headers: [(name: String, value: String)], headerBytes: Int, bodyBytes: Int, timings: Timings,
                verifyResult: Int, verifyError: X509VerifyError, primary: Endpoint?, redirects: Int, effectiveURL: String?,
                traceTruncated: Bool, bodyTruncated: Bool) {
        self.url = url
        self.role = role
        self.curlCode = curlCode
        self.curlName = curlName
        self.curlMessage = curlMessage
        self.osErrno = osErrno
        self.status = status
        self.httpVersion = httpVersion
        self.headers = headers
        self.headerBytes = headerBytes
        self.bodyBytes = bodyBytes
        self.timings = timings
        self.verifyResult = verifyResult
        self.verifyError = verifyError
        self.primary = primary
        self.redirects = redirects
        self.effectiveURL = effectiveURL
        self.traceTruncated = traceTruncated
        self.bodyTruncated = bodyTruncated
    }

    public var code: CurlCode? { CurlCode(rawValue: curlCode) }
    /// The TLS handshake completed (curl's appconnect time is set).
    public var tlsEstablished: Bool { timings.tls > 0 }
    public var isHTTPS: Bool { url.lowercased().hasPrefix("https:") }
    public var succeeded: Bool { curlCode == 0 }

    public func header(_ name: String) -> String? {
        headers.last { $0.name.lowercased() == name.lowercased() }?.value
    }
}
