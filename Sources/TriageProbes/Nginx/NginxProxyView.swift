import Foundation
import TriageKit
import TriageWire

/// What nginx does for one request: which `server` block and `location`
/// take it (nginx's own order), where `proxy_pass` sends it, and how nginx
/// shakes hands with the upstream — the settings the handshake matrix replays.
public struct NginxProxyView: Sendable {
    public var location: String
    /// `file:line` of the location block.
    public var where_: String
    /// Where the location block is, for the report's config diff: its
    /// file, its first line, the line of its proxy_pass, and the last line
    /// any of its directives is on.
    public var locationFile = ""
    public var locationLine = 0
    public var proxyPassLine = 0
    public var lastDirectiveLine = 0
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
    public var clientCertificate: String?
    public var clientKey: String?
    /// Every `proxy_*` directive (and `resolver`) in force for the location that the file sets, innermost scope winning.
    public var settings: [String: [String]] = [:]
    /// The upstream block's own directives, and each server's parameters.
    public var upstreamSettings: [String: [String]] = [:]
    public var serverParameters: [ProxyConfig.Server] = []
    /// `proxy_ssl_name` as set, expanded; nil when not set.
    public var explicitSSLName: String?

    /// The upstream URL nginx requests, as a direct request would name it:
    /// the Host header nginx sets (when it is a literal), the first server's port, proxy_pass's path.
    public var upstreamURL: String? {
        guard let server = servers.first else { return nil }
        // The name nginx itself uses for the upstream: the SNI it sends, else the Host header it sets, else the server.
        let literal: (String?) -> String? = { $0.flatMap { $0.contains("$") || IPAddress($0) != nil ? nil : $0 } }
        let host = literal(sendsSNI ? sni : nil) ?? literal(hostHeader).map { Self.split($0, defaultPort: 443).0 } ?? server.host
        let path = String(proxyPass.drop { $0 != "/" }.dropFirst(2).drop { $0 != "/" })
        let printed = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "\(scheme)://\(printed):\(server.port)\(path.isEmpty ? "/" : path)"
    }

    public var notes: [Message] {
        var out: [Message] = []
        if !sendsSNI { out.append(Message(.nginxNoteNoSNI, ["upstream": .string(proxyHost)])) }
        if sendsSNI, let upstreamName, sni == upstreamName {
            out.append(Message(.nginxNoteUpstreamName, ["name": .string(upstreamName)]))
        }
        if !verify { out.append(Message(.nginxNoteNoVerify)) }
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

    typealias Directive = NginxConfig.Directive

    /// The view for a request: `path`, and `request` (the URL as the client
    /// sends it to nginx) to choose the server block by its `listen` port and
    /// `server_name`, and to give `$host` / `$http_host` their values.
    public static func view(_ config: NginxConfig, path: String, request: String? = nil) throws(Failure) -> NginxProxyView {
        let http = config.directives.first { $0.name == "http" }?.block ?? config.directives
        let requestHost = request.flatMap { URLPart.host.extract(from: $0).stringValue }?.lowercased()
        let requestPort = request.flatMap { URLPart.port.extract(from: $0).intValue }
        let server = Self.server(among: http.filter { $0.name == "server" }, host: requestHost, port: requestPort)
        guard let server, let (location, chain) = Self.location(in: server.block ?? [], path: path) else {
            throw .noLocation(config.file, path)
        }
        let scopes = [http, server.block ?? []] + chain.map { $0.block ?? [] }
        func setting(_ name: String) -> [String]? {
            for scope in scopes.reversed() { if let d = scope.last(where: { $0.name == name }) { return d.arguments } }
            return nil
        }
        let whereIt = "\(location.file):\(location.line)"
        guard let passDirective = location.block?.first(where: { $0.name == "proxy_pass" }), let written = passDirective.arguments.first else {
            throw .noProxyPass(whereIt, path)
        }
        // `set $up backend; proxy_pass https://$up/;`: literal `set`s are known before the request.
        var assigned: [String: String] = [:]
        for scope in scopes {
            for d in scope where d.name == "set" && d.arguments.count == 2 && d.arguments[0].hasPrefix("$") {
                assigned[String(d.arguments[0].dropFirst())] = Self.expand(d.arguments[1], assigned)
            }
        }
        let pass = Self.expand(written, assigned)
        func lastLine(_ d: NginxConfig.Directive) -> Int {
            (d.block ?? []).filter { $0.file == d.file }.map(lastLine).max().map { max($0, d.line) } ?? d.line
        }
        let scheme = pass.hasPrefix("https://") ? "https" : "http"
        let afterScheme = pass.drop { $0 != "/" }.dropFirst(2)
        let authority = String(afterScheme.prefix { $0 != "/" })
        let defaultPort = scheme == "https" ? 443 : 80
        let upstream = http.first { $0.name == "upstream" && $0.arguments.first == authority }
        var servers: [(String, Int)] = []
        var serverParameters: [ProxyConfig.Server] = []
        if let upstream {
            for s in upstream.block ?? [] where s.name == "server" {
                guard let target = s.arguments.first else { continue }
                let (host, port) = Self.split(target, defaultPort: defaultPort)
                servers.append((host, port))
                var parameters: [String: String] = [:]
                var flags: [String] = []
                for argument in s.arguments.dropFirst() {
                    if let eq = argument.firstIndex(of: "=") {
                        parameters[String(argument[..<eq])] = String(argument[argument.index(after: eq)...])
                    } else {
                        flags.append(argument)
                    }
                }
                serverParameters.append(ProxyConfig.Server(host: host, port: port, parameters: parameters, flags: flags))
            }
        } else {
            servers = [Self.split(authority, defaultPort: defaultPort)]
            serverParameters = [ProxyConfig.Server(host: servers[0].0, port: servers[0].1)]
        }
        var settings: [String: [String]] = [:]
        for scope in scopes {
            for d in scope where d.block == nil && (d.name.hasPrefix("proxy_") || d.name == "resolver" || d.name == "resolver_timeout")
                && d.name != "proxy_set_header" {
                settings[d.name] = d.arguments
            }
        }
        var upstreamSettings: [String: [String]] = [:]
        for d in upstream?.block ?? [] where d.name != "server" && d.block == nil { upstreamSettings[d.name] = d.arguments }
        let serverName = server.block?.first { $0.name == "server_name" }?.arguments.first { !$0.hasPrefix("~") && !$0.contains("*") && $0 != "_" }
        // $proxy_host: the upstream block's name, or host[:port] of proxy_pass.
        let proxyHost = authority
        var variables: [String: String] = assigned.merging(["proxy_host": proxyHost, "server_name": serverName ?? ""]) { $1 }
        if let request, let host = requestHost {
            variables["host"] = host
            let port = URLPart.port.extract(from: request).intValue
            let explicitPort = URLComponents(string: request)?.port != nil
            variables["http_host"] = explicitPort ? "\(host):\(port ?? 80)" : host
        } else if let serverName {
            variables["host"] = serverName
        }
        let sendsSNI = setting("proxy_ssl_server_name")?.first == "on"
        let proxyHostName = upstream == nil ? Self.split(authority, defaultPort: defaultPort).0 : authority
        // nginx sends the host part of proxy_ssl_name (default $proxy_host) as SNI.
        let sslName = setting("proxy_ssl_name")?.first.map { Self.expand($0, variables) }.map { Self.split($0, defaultPort: defaultPort).0 }
        let hostHeader = scopes.reversed().lazy.compactMap { scope in
            scope.last { $0.name == "proxy_set_header" && $0.arguments.first?.lowercased() == "host" }?.arguments.dropFirst().first
        }.first.map { Self.expand($0, variables) }
        var view = NginxProxyView(
            location: location.arguments.joined(separator: " "), where_: whereIt, proxyPass: pass, scheme: scheme,
            upstreamName: upstream == nil ? nil : authority, servers: servers, proxyHost: proxyHost,
            sendsSNI: sendsSNI, sni: sendsSNI ? (sslName ?? proxyHostName) : nil,
            verify: setting("proxy_ssl_verify")?.first == "on",
            trustedCertificate: setting("proxy_ssl_trusted_certificate")?.first,
            protocols: setting("proxy_ssl_protocols") ?? [],
            hostHeader: hostHeader,
            clientCertificate: setting("proxy_ssl_certificate")?.first,
            clientKey: setting("proxy_ssl_certificate_key")?.first)
        view.settings = settings
        view.upstreamSettings = upstreamSettings
        view.serverParameters = serverParameters
        view.explicitSSLName = sslName
        view.locationFile = location.file
        view.locationLine = location.line
        view.proxyPassLine = passDirective.file == location.file ? passDirective.line : 0
        view.lastDirectiveLine = lastLine(location)
        return view
    }

    /// `$host`, `${proxy_host}` and friends replaced; unknown variables stay.
    static func expand(_ text: String, _ variables: [String: String]) -> String {
        guard text.contains("$") else { return text }
        var out = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            out += rest[..<dollar]
            var after = rest[rest.index(after: dollar)...]
            var name: Substring
            if after.hasPrefix("{"), let close = after.firstIndex(of: "}") {
                name = after[after.index(after: after.startIndex)..<close]
                after = after[after.index(after: close)...]
            } else {
                name = after.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
                after = after.dropFirst(name.count)
            }
            out += variables[String(name)] ?? "$\(name)"
            rest = after
        }
        return out + rest
    }

    /// The server block nginx picks: listen port first, then server_name
    /// (exact, leading wildcard, trailing wildcard, regex, in nginx's order),
    /// else the port's default_server, else its first block.
    static func server(among servers: [Directive], host: String?, port: Int?) -> Directive? {
        func ports(_ s: Directive) -> [(port: Int, isDefault: Bool)] {
            let listens = (s.block ?? []).filter { $0.name == "listen" }
            guard !listens.isEmpty else { return [(80, false)] }
            return listens.compactMap { l in
                guard let first = l.arguments.first else { return nil }
                let portText = first.hasPrefix("[") ? String(first.split(separator: "]").last?.dropFirst() ?? "80")
                    : first.contains(":") ? String(first.split(separator: ":").last ?? "80") : first
                return (Int(portText) ?? 80, l.arguments.contains("default_server") || l.arguments.contains("default"))
            }
        }
        let candidates = port.map { p in servers.filter { ports($0).contains { $0.port == p } } } ?? servers
        let pool = candidates.isEmpty ? servers : candidates
        guard let host else { return pool.first }
        let names: (Directive) -> [String] = { ($0.block ?? []).filter { $0.name == "server_name" }.flatMap(\.arguments) }
        if let exact = pool.first(where: { names($0).contains(host) }) { return exact }
        if let leading = pool.first(where: { names($0).contains { $0.hasPrefix("*.") && host.hasSuffix(String($0.dropFirst())) || $0.hasPrefix(".") && (host == String($0.dropFirst()) || host.hasSuffix($0)) } }) {
            return leading
        }
        if let trailing = pool.first(where: { names($0).contains { $0.hasSuffix(".*") && host.hasPrefix(String($0.dropLast())) } }) { return trailing }
        if let regex = pool.first(where: { names($0).contains { $0.hasPrefix("~") && Self.matches(String($0.dropFirst()), host, caseInsensitive: false) } }) {
            return regex
        }
        return pool.first { s in ports(s).contains { $0.isDefault && (port == nil || $0.port == port) } } ?? pool.first
    }

    /// nginx's location order: an exact `=` match; else the longest prefix —
    /// final when it is `^~`; else the first regex (`~`, `~*`) that matches;
    /// else that longest prefix. Nested locations are searched the same way.
    static func location(in block: [Directive], path: String) -> (Directive, [Directive])? {
        let locations = block.filter { $0.name == "location" }
        var longest: Directive?
        var longestLength = -1
        for l in locations {
            let args = l.arguments
            if args.count == 2, args[0] == "=" {
                if args[1] == path { return (l, [l]) }
                continue
            }
            let prefix: String? = args.count == 1 ? args[0] : (args.count == 2 && args[0] == "^~" ? args[1] : nil)
            if let prefix, !prefix.hasPrefix("@"), path.hasPrefix(prefix), prefix.count > longestLength {
                longest = l
                longestLength = prefix.count
            }
        }
        func nested(_ l: Directive) -> (Directive, [Directive]) {
            if let inner = location(in: l.block ?? [], path: path) { return (inner.0, [l] + inner.1) }
            return (l, [l])
        }
        if let longest, longest.arguments.first == "^~" { return nested(longest) }
        for l in locations where l.arguments.count == 2 && (l.arguments[0] == "~" || l.arguments[0] == "~*") {
            if matches(l.arguments[1], path, caseInsensitive: l.arguments[0] == "~*") { return nested(l) }
        }
        return longest.map(nested)
    }

    static func matches(_ pattern: String, _ text: String, caseInsensitive: Bool) -> Bool {
        guard let regex = try? Regex(pattern) else { return false }
        return (try? (caseInsensitive ? regex.ignoresCase() : regex).firstMatch(in: text)) != nil
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
