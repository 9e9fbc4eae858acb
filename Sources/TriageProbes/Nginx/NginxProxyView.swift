import Foundation

/// What nginx does for requests to one location: where `proxy_pass` sends
/// them and how it shakes hands with the upstream — the settings the
/// handshake matrix replays.
public struct NginxProxyView: Sendable {
    public var location: String
    /// `file:line` of the location block.
    public var where_: String
    public var proxyPass: String
    public var scheme: String
    /// The upstream block named by proxy_pass, if it is one.
    public var upstreamName: String?
    /// `host:port` of each server nginx may pick.
    public var servers: [(host: String, port: Int)]
    /// What proxy_pass sends as `$proxy_host` (the upstream name, or host:port).
    public var proxyHost: String
    /// `proxy_ssl_server_name on`: nginx sends SNI (off by default).
    public var sendsSNI: Bool
    /// The SNI nginx sends, or nil for none: `proxy_ssl_name`, else `$proxy_host`'s host part.
    public var sni: String?
    public var verify: Bool
    public var trustedCertificate: String?
    public var protocols: [String]
    public var hostHeader: String?

    public var notes: [String] {
        var out: [String] = []
        if !sendsSNI { out.append("proxy_ssl_server_name is off (the default): nginx sends no SNI to \(proxyHost)") }
        if sendsSNI, let upstreamName, sni == upstreamName {
            out.append("proxy_ssl_server_name is on without proxy_ssl_name: nginx sends the upstream block's name '\(upstreamName)' as SNI, not the real host")
        }
        if !verify { out.append("proxy_ssl_verify is off (the default): nginx accepts any upstream certificate") }
        return out
    }

    public enum Failure: Error, CustomStringConvertible, Sendable {
        case noLocation(String, String)
        case noProxyPass(String, String)
        public var description: String {
            switch self {
            case .noLocation(let file, let path): "\(file):1: no location matches \(path)"
            case .noProxyPass(let whereIt, let path): "\(whereIt): location for \(path) has no proxy_pass"
            }
        }
    }

    /// The view for a request path, using nginx's prefix match (longest wins; `=` exact first).
    public static func view(_ config: NginxConfig, path: String) throws(Failure) -> NginxProxyView {
        let http = config.directives.first { $0.name == "http" }?.block ?? config.directives
        var best: (score: Int, location: NginxConfig.Directive, scopes: [[NginxConfig.Directive]])?
        for server in http where server.name == "server" {
            for location in server.block ?? [] where location.name == "location" {
                let args = location.arguments
                let (exact, prefix) = args.count == 2 && args[0] == "=" ? (true, args[1])
                    : args.count == 2 && args[0] == "^~" ? (false, args[1]) : (false, args.last ?? "")
                guard args.count == 1 || exact || args[0] == "^~" else { continue } // regex locations are not replayed
                let matches = exact ? path == prefix : path.hasPrefix(prefix)
                guard matches else { continue }
                let score = exact ? Int.max : prefix.count
                if best == nil || score > best!.score { best = (score, location, [http, server.block ?? [], location.block ?? []]) }
            }
        }
        guard let (_, location, scopes) = best else { throw .noLocation(config.file, path) }
        func setting(_ name: String) -> [String]? {
            for scope in scopes.reversed() { if let d = scope.last(where: { $0.name == name }) { return d.arguments } }
            return nil
        }
        let whereIt = "\(location.file):\(location.line)"
        guard let pass = location.block?.first(where: { $0.name == "proxy_pass" })?.arguments.first else {
            throw .noProxyPass(whereIt, path)
        }
        let scheme = pass.hasPrefix("https://") ? "https" : "http"
        let afterScheme = pass.drop { $0 != "/" }.dropFirst(2)
        let authority = String(afterScheme.prefix { $0 != "/" })
        let defaultPort = scheme == "https" ? 443 : 80
        let upstream = http.first { $0.name == "upstream" && $0.arguments.first == authority }
        var servers: [(String, Int)] = []
        if let upstream {
            for server in upstream.block ?? [] where server.name == "server" {
                if let target = server.arguments.first { servers.append(Self.split(target, defaultPort: defaultPort)) }
            }
        } else {
            servers = [Self.split(authority, defaultPort: defaultPort)]
        }
        let sendsSNI = setting("proxy_ssl_server_name")?.first == "on"
        let proxyHostName = upstream == nil ? Self.split(authority, defaultPort: defaultPort).0 : authority
        let sslName = setting("proxy_ssl_name")?.first.map { $0 == "$proxy_host" ? proxyHostName : $0 }
        let hostHeader = scopes.reversed().lazy.compactMap { scope in
            scope.last { $0.name == "proxy_set_header" && $0.arguments.first?.lowercased() == "host" }?.arguments.dropFirst().first
        }.first
        return NginxProxyView(
            location: location.arguments.joined(separator: " "), where_: whereIt, proxyPass: pass, scheme: scheme,
            upstreamName: upstream == nil ? nil : authority, servers: servers, proxyHost: authority,
            sendsSNI: sendsSNI, sni: sendsSNI ? (sslName ?? proxyHostName) : nil,
            verify: setting("proxy_ssl_verify")?.first == "on",
            trustedCertificate: setting("proxy_ssl_trusted_certificate")?.first,
            protocols: setting("proxy_ssl_protocols") ?? ["TLSv1.2", "TLSv1.3"],
            hostHeader: hostHeader)
    }

    static func split(_ target: String, defaultPort: Int) -> (String, Int) {
        if target.hasPrefix("["), let close = target.firstIndex(of: "]") {
            let host = String(target[target.index(after: target.startIndex)..<close])
            let rest = target[target.index(after: close)...]
            return (host, rest.hasPrefix(":") ? Int(rest.dropFirst()) ?? defaultPort : defaultPort)
        }
        let parts = target.split(separator: ":")
        return parts.count == 2 ? (String(parts[0]), Int(parts[1]) ?? defaultPort) : (target, defaultPort)
    }
}
