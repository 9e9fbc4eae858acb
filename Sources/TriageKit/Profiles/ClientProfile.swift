import Foundation

/// How one client connects, as data: which addresses it tries and in what
/// order, the SNI and ALPN it sends, the versions it offers, what it
/// verifies (anchors, the name it checks, the purpose), its client
/// certificate and its timeouts. The handshake matrix replays a profile
/// exactly, and the diagnosis judges each path by its client's profile —
/// never by what another client would have done.
public struct ClientProfile: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// curl / libcurl as triage runs it: the user's client.
        case curl
        /// nginx's upstream connection (`proxy_pass https://…`).
        case nginx
    }

    /// What a client does with a name's several addresses.
    public enum AddressPolicy: String, Sendable, Hashable {
        /// RFC 8305: both families raced, the next address on refusal or
        /// timeout; the client gets the first that connects.
        case happyEyeballs = "happy-eyeballs"
        /// nginx: each address is an upstream server; a failed connection
        /// is retried on the next (`proxy_next_upstream error timeout`).
        case nextUpstream = "next-upstream"
    }

    /// How the profile came to be known.
    public enum Source: Sendable, Hashable {
        /// triage's own client: known exactly.
        case builtIn
        /// Read from the proxy's configuration file.
        case configuration(file: String)
        /// Given on the command line (`--proxy-sni`).
        case input
        /// The proxy's defaults for its version: only `--via` was known.
        case defaults
    }

    public var kind: Kind
    /// A name for the report: `curl`, `nginx 1.22.1`.
    public var name: String
    public var sni: SNIVariant
    /// The name in the SNI extension when `sni` is a name (for `as-client`: the host).
    public var alpn: [String]
    /// `TLSv1`, `TLSv1.2`, …; nil: the TLS library's own bound.
    public var minVersion: String?
    public var maxVersion: String?
    /// Whether the client refuses a certificate that does not verify.
    public var verifies: Bool
    /// The name it checks the certificate against; nil: the URL's host.
    public var verifyName: String?
    /// How it checks an address literal: as an address (curl: X509_check_ip, IP SANs) or as a
    /// name (nginx: X509_check_host only, so an IP SAN never matches `proxy_pass https://10.0.0.5`).
    public var addressAsName = false
    /// The trust anchors: a PEM bundle, or nil for the system store.
    public var caFile: String?
    /// How many intermediates may follow the leaf (nginx: `proxy_ssl_verify_depth`, default 1); nil: OpenSSL's 100.
    public var verifyDepth: Int?
    public var clientCertificate: String?
    public var clientKey: String?
    public var addressPolicy: AddressPolicy
    public var connectTimeout: Duration
    /// Between two reads of the answer (nginx `proxy_read_timeout`); for curl the whole transfer's bound.
    public var readTimeout: Duration
    public var source: Source
    /// For a proxy: its version and how it was learned.
    public var version: ProxyVersion?

    public init(kind: Kind, name: String, sni: SNIVariant, alpn: [String] = [], minVersion: String? = nil, maxVersion: String? = nil,
                verifies: Bool, verifyName: String? = nil, caFile: String? = nil, verifyDepth: Int? = nil,
                clientCertificate: String? = nil, clientKey: String? = nil, addressPolicy: AddressPolicy,
                connectTimeout: Duration, readTimeout: Duration, source: Source, version: ProxyVersion? = nil) {
        self.kind = kind
        self.name = name
        self.sni = sni
        self.alpn = alpn
        self.minVersion = minVersion
        self.maxVersion = maxVersion
        self.verifies = verifies
        self.verifyName = verifyName
        self.caFile = caFile
        self.verifyDepth = verifyDepth
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
        self.addressPolicy = addressPolicy
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.source = source
        self.version = version
    }

    /// curl as triage runs the user's request: SNI = the URL's host (none
    /// for an address), ALPN h2 and http/1.1, TLS 1.2 and up (curl's default
    /// since 7.54 with OpenSSL 3), verifies against `caFile` or the system
    /// store for the URL's host, Happy Eyeballs over every address.
    public static func curl(caFile: String? = nil, clientCertificate: String? = nil, clientKey: String? = nil,
                            verifies: Bool = true, connectTimeout: Duration = .seconds(5), readTimeout: Duration = .seconds(15)) -> ClientProfile {
        ClientProfile(kind: .curl, name: "curl", sni: .asClient, alpn: ["h2", "http/1.1"], minVersion: "TLSv1.2", verifies: verifies,
                      caFile: caFile, clientCertificate: clientCertificate, clientKey: clientKey ?? clientCertificate,
                      addressPolicy: .happyEyeballs, connectTimeout: connectTimeout, readTimeout: readTimeout, source: .builtIn)
    }

    /// The versions this client offers, low to high, as OpenSSL names them.
    public var offeredVersions: [String] {
        let all = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
        let low = minVersion.flatMap { all.firstIndex(of: $0) } ?? 0
        let high = maxVersion.flatMap { all.firstIndex(of: $0) } ?? all.count - 1
        return low <= high ? Array(all[low...high]) : []
    }

    /// The name this client checks the certificate against, for a URL host.
    public func checkedName(host: String) -> String { verifyName ?? host }

    /// The profile in a clause for the report: `no SNI, does not verify, TLSv1–TLSv1.2`.
    public var summary: Message {
        let sniText: Value = switch sni {
        case .none: Message(.profileNoSNI).value
        case .asClient: Message(.profileSNIHost).value
        case .ip: Message(.profileSNI, ["name": "IP"]).value
        case .name(let n): Message(.profileSNI, ["name": .string(n)]).value
        }
        let verify: Value = verifies
            ? Message(.profileVerifies, ["name": .string(verifyName ?? "—"), "anchors": .string(caFile ?? "—")]).value
            : Message(.profileNoVerify).value
        let versions = offeredVersions
        let range = versions.isEmpty ? "—" : versions.count == 1 ? versions[0] : "\(versions.first!)–\(versions.last!)"
        return Message(.profileSummary, ["sni": sniText, "verify": verify, "versions": .string(range)])
    }

    /// `serverAuth`: every client here verifies a server, so the certificate
    /// must be fit for TLS servers (RFC 5280 §4.2.1.12).
    public var purpose: String { "serverAuth" }
}

/// A proxy's version and where triage learned it.
public struct ProxyVersion: Sendable, Hashable {
    public enum Source: Sendable, Hashable {
        /// `nginx -v` of the nginx on this machine (the proxy runs here).
        case binary(String)
        /// The proxy's `Server:` header in its answer to `--via`.
        case serverHeader(String)
        /// A line of its error log (`nginx/1.22.1` at start).
        case errorLog(String)
        /// Given with `--proxy-version`.
        case input
        /// Nothing told it: the oldest release still in wide use (Debian 12's) is assumed.
        case assumed
    }

    public var version: NginxVersion
    public var source: Source

    public init(_ version: NginxVersion, source: Source) {
        self.version = version
        self.source = source
    }
}

/// An nginx release number, ordered.
public struct NginxVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var major: Int, minor: Int, patch: Int

    public init(_ major: Int, _ minor: Int, _ patch: Int) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// `1.22.1`, `nginx/1.22.1`, `nginx version: nginx/1.22.1 (Debian)`: the first `N.N[.N]` after `nginx/` or alone.
    public init?(_ text: String) {
        let start = text.range(of: "nginx/")?.upperBound ?? text.startIndex
        let digits = text[start...].prefix { $0.isNumber || $0 == "." }
        let parts = digits.split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count >= 2, parts.count <= 3, parts.allSatisfy({ $0 != nil && $0! < 10_000 }) else { return nil }
        self.init(parts[0]!, parts[1]!, parts.count == 3 ? parts[2]! : 0)
    }

    public var description: String { "\(major).\(minor).\(patch)" }

    public static func < (a: NginxVersion, b: NginxVersion) -> Bool { (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch) }
}
