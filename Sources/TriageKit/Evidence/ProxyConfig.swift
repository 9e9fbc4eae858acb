/// What nginx's configuration says it does for one request: the location
/// that takes it, where `proxy_pass` sends it, the upstream servers, and
/// every directive in force there that the configuration sets (innermost
/// scope wins) — unset ones are nginx's defaults for its version
/// (`NginxDefaults`), never guessed here.
public struct ProxyConfig: Sendable, Hashable {
    public struct Server: Sendable, Hashable {
        public var host: String
        public var port: Int
        /// `max_fails=3`, `fail_timeout=30s`, `weight=2` …
        public var parameters: [String: String]
        /// `down`, `backup`.
        public var flags: [String]

        public init(host: String, port: Int, parameters: [String: String] = [:], flags: [String] = []) {
            self.host = host
            self.port = port
            self.parameters = parameters
            self.flags = flags
        }

        /// `host:port`, brackets around an IPv6 literal.
        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    /// The location block as written, for the fix's diff.
    public struct Source: Sendable, Hashable {
        public var file: String
        public var line: Int
        public var proxyPassLine: Int
        public var text: [String]

        public init(file: String, line: Int, proxyPassLine: Int, text: [String]) {
            self.file = file
            self.line = line
            self.proxyPassLine = proxyPassLine
            self.text = text
        }
    }

    /// The configuration file given.
    public var file: String
    /// ` -c FILE` for a command that should act on this nginx (`nginx -T`, `nginx -t`, `nginx -s reload`):
    /// empty for Debian's default file, which nginx reads without it.
    /// With ` -p PREFIX` first for an nginx started with one (its relative pid file and logs are read against it).
    public var configOption: String {
        (prefix.map { " -p \(ShellQuote.quote($0))" } ?? "") + (file == "/etc/nginx/nginx.conf" ? "" : " -c \(ShellQuote.quote(file))")
    }
    /// The running nginx's `-p PREFIX` (discovered from its master's command line), if it was started with one.
    public var prefix: String?
    /// `proxy_ssl_trusted_certificate`, absolute: nginx reads a relative path against its configuration's
    /// directory (its conf prefix).
    public var trustedCertificate: String? {
        settings["proxy_ssl_trusted_certificate"]?.first.map { path in
            path.hasPrefix("/") ? path : file[..<(file.lastIndex(of: "/") ?? file.startIndex)] + "/" + path
        }
    }
    /// The location's arguments, e.g. `/test` or `~ ^/api`.
    public var location: String
    /// `file:line` of the location block.
    public var locationWhere: String
    public var source: Source?
    public var proxyPass: String
    /// `http` or `https`: what nginx speaks to the upstream.
    public var scheme: String
    /// The `upstream` block proxy_pass names, if it names one.
    public var upstreamName: String?
    public var servers: [Server]
    /// What nginx calls `$proxy_host`: the upstream block's name, or proxy_pass's `host[:port]`.
    public var proxyHost: String
    /// Every directive in force for the location that the configuration sets, by name.
    public var settings: [String: [String]]
    /// The upstream block's own directives (`keepalive`, `keepalive_timeout`, …).
    public var upstreamSettings: [String: [String]]
    /// `proxy_ssl_name`, its variables expanded for the request; nil when not set.
    public var sslName: String?
    /// `proxy_set_header Host`, expanded.
    public var hostHeader: String?

    public init(file: String, location: String, locationWhere: String, source: Source?, proxyPass: String, scheme: String,
                upstreamName: String?, servers: [Server], proxyHost: String, settings: [String: [String]],
                upstreamSettings: [String: [String]] = [:], sslName: String?, hostHeader: String?) {
        self.file = file
        self.location = location
        self.locationWhere = locationWhere
        self.source = source
        self.proxyPass = proxyPass
        self.scheme = scheme
        self.upstreamName = upstreamName
        self.servers = servers
        self.proxyHost = proxyHost
        self.settings = settings
        self.upstreamSettings = upstreamSettings
        self.sslName = sslName
        self.hostHeader = hostHeader
    }

    /// The host part of `host[:port]` or `[v6]:port`.
    public static func hostPart(_ authority: String) -> String {
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            return String(authority[authority.index(after: authority.startIndex)..<close])
        }
        let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count == 2 ? String(parts[0]) : authority
    }
}
