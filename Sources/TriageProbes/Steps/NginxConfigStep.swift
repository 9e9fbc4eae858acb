import Foundation
import TriageKit
import TriageWire

/// `nginx.config`: reads an nginx configuration (includes followed) and
/// derives what nginx does for one request: the upstream servers behind
/// `proxy_pass`, and the TLS it uses towards them — `proxy_ssl_server_name`
/// / `proxy_ssl_name` (the SNI it sends, if any), `proxy_ssl_verify`,
/// `proxy_ssl_trusted_certificate`, `proxy_ssl_protocols`,
/// `proxy_ssl_certificate`, `proxy_set_header Host`. A configuration it
/// cannot parse fails the step with `FILE:LINE: what`.
public struct NginxConfigStep: StepKind {
    public let name = "nginx.config"
    public let summary = "what nginx does for a location: upstream servers and its TLS towards them (SNI, verify, protocols)"
    public let inputs: [InputDeclaration] = [
        .init("file", .string, "nginx.conf (without it: the configuration of the nginx listening on `listening_port` here)"),
        .init("listening_port", .integer, "when no file is given: find the nginx on this machine that listens on this port (its master's -c, else its binary's --conf-path) and read its configuration; none found is not an error"),
        .init("location", .string, "the request path whose location to replay (default /)"),
        .init("request", .string, "the request URL as the client sends it to nginx (picks the server block; fills $host)"),
        .init("host", .string, "the upstream URL's host (default: the first upstream server's)"),
        .init("version", .string, "nginx's version when known (default: `nginx -v` on this machine, else its error log)"),
        .init("error_log", .string, "nginx's error log, for the version it logged at start"),
        .init("sni", .string, "the SNI nginx sends (a name, or none), overriding what the configuration says"),
    ]
    public let outputs: [OutputDeclaration] = [
        .init("sni", .string, "the server name nginx sends, or none"),
        .init("servers", .list(.string), "the upstream servers as host:port"),
        .init("addresses", .list(.address), "the upstream servers that are IP literals"),
        .init("host", .string, "the first upstream server's host"),
        .init("port", .integer, "its port"),
        .init("ca_file", .string, "proxy_ssl_trusted_certificate when nginx verifies"),
        .init("verify", .boolean, "proxy_ssl_verify on"),
        .init("protocols", .list(.string), "proxy_ssl_protocols as set (empty: the version's default, see the profile)"),
        .init("host_header", .string, "proxy_set_header Host"),
        .init("client_cert", .string, "proxy_ssl_certificate"),
        .init("client_key", .string, "proxy_ssl_certificate_key"),
        .init("location_source", .object, "the location block as written: file, line, proxy_pass_line, text (its lines)"),
        .init("profile", .profile, "nginx's upstream connection: the configuration where it sets a directive, its version's defaults elsewhere"),
        .init("version", .string, "the nginx version the profile is for"),
        .init("version_source", .string, "how the version was learned: binary, error-log, input, assumed"),
        .init("deadlines", .object, "triage's deadlines above nginx's, so it measures what nginx gave up on: connect (proxy_connect_timeout + 3 s) and total (+ proxy_read_timeout), at most 30 s and 45 s"),
    ]

    public init() {}

    public func run(_ context: StepContext) async throws -> StepOutcome {
        var discovered: NginxDiscovery.Found?
        if context.string("file") == nil, let port = context.int("listening_port") {
            discovered = await NginxDiscovery.listening(on: port)
            if discovered == nil {
                // The proxy is elsewhere (or not nginx): nothing read, the profile comes from its version's defaults.
                return StepOutcome(summary: Message(.nginxNotFound, ["port": .int(port)]), command: "ss -ltnp 'sport = :\(port)'",
                                   outputs: Dictionary(uniqueKeysWithValues: outputs.map { ($0.name, Value.null) }))
            }
        }
        guard let given = context.string("file") ?? discovered?.conf else { throw StepFailure(.inputEmpty, ["step": .string(name), "input": "file"]) }
        // Absolute: the commands to paste (`nginx -T -c`, the fix's `nginx -t -c`) are run elsewhere, and nginx
        // reads a relative -c against its own prefix, not the working directory.
        let file = given.hasPrefix("/") ? given : URL(fileURLWithPath: given).standardizedFileURL.path
        let request = context.string("request")
        let path = context.string("location") ?? request.flatMap { URLPart.path.extract(from: $0).stringValue } ?? "/"
        let view: NginxProxyView
        do {
            view = try NginxProxyView.view(try NginxConfig(contentsOf: file), path: path, request: request)
        } catch let error as NginxConfig.ParseError {
            throw StepFailure(.errorText, ["text": .string(error.description)])
        } catch {
            throw StepFailure(.errorText, ["text": .string("\(error)")])
        }
        let servers = view.servers.map { s in IPAddress(s.host).map { Endpoint($0, port: UInt16(clamping: s.port)).description } ?? "\(s.host):\(s.port)" }
        var facts = [Fact(.location, .string("\(view.location) (\(view.where_))")), Fact(.proxyPass, .string(view.proxyPass)),
                     Fact(.upstreamServers, .list(servers.map(Value.string))),
                     Fact(.sniSent, view.sni.map(Value.string) ?? Message(.nginxNoSNISent).value),
                     Fact(.proxySSLVerify, .bool(view.verify)),
                     Fact(.proxySSLProtocols, .list(view.protocols.map(Value.string)))]
        if let t = view.trustedCertificate { facts.append(Fact(.proxySSLTrustedCertificate, .string(t))) }
        if let h = view.hostHeader { facts.append(Fact(.hostHeader, .string(h))) }
        if let discovered { facts.append(Fact(.note, Message(.nginxDiscovered, ["pid": .int(Int(discovered.pid)), "file": .string(discovered.conf)]))) }
        for note in view.notes { facts.append(Fact(.note, note)) }
        let first = view.servers.first
        let source = Self.source(of: view)
        var config = ProxyConfig(
            file: file, location: view.location, locationWhere: view.where_,
            source: source["file"].stringValue.map { f in
                ProxyConfig.Source(file: f, line: source["line"].intValue ?? 0, proxyPassLine: source["proxy_pass_line"].intValue ?? 0,
                                   text: source["text"].listValue?.compactMap(\.stringValue) ?? [])
            },
            proxyPass: view.proxyPass, scheme: view.scheme, upstreamName: view.upstreamName, servers: view.serverParameters,
            proxyHost: view.proxyHost, settings: view.settings, upstreamSettings: view.upstreamSettings,
            sslName: view.explicitSSLName, hostHeader: view.hostHeader)
        config.prefix = discovered?.prefix
        let version = await ProxyVersionProbe.detect(explicit: context.string("version"), onThisMachine: true, serverHeader: nil,
                                                     errorLog: context.string("error_log"))
        if view.protocols.isEmpty, let i = facts.firstIndex(where: { $0.key == .proxySSLProtocols }) {
            // Not set: what nginx of this version speaks to upstreams by default (1.23.4 added TLS 1.3).
            let v = version?.version ?? NginxDefaults.assumed
            facts[i] = Fact(.proxySSLProtocols, Message(.nginxDefaultValue, ["value": .string(NginxDefaults.value("proxy_ssl_protocols", version: v).joined(separator: " ")),
                                                                            "version": .string(v.description)]).value)
        }
        let profile = ClientProfile.nginx(config: config, version: version, proxySNI: context.string("sni"),
                                          host: context.string("host") ?? first?.host ?? "")
        // The nginx that was read.
        var outcome = ProxyProfileStep.outcome(profile, command: "nginx -T\(config.configOption) | grep -n -A20 \(ShellQuote.quote("location \(view.location)"))", facts: facts, outputs: [

                "sni": .string(view.sni ?? "none"), "servers": .list(servers.map(Value.string)),
                "addresses": .list(view.servers.compactMap { IPAddress($0.host) }.map { .typed(.address($0)) }),
                "host": first.map { .string($0.host) } ?? .null, "port": first.map { .int($0.port) } ?? .null,
                "ca_file": view.verify ? view.trustedCertificate.map(Value.string) ?? .null : .null,
                "verify": .bool(view.verify), "protocols": .list(view.protocols.map(Value.string)),
                "host_header": view.hostHeader.map(Value.string) ?? .null,
                "client_cert": view.clientCertificate.map(Value.string) ?? .null,
                "client_key": view.clientKey.map(Value.string) ?? .null,
                "location_source": source,
                "deadlines": Self.deadlines(profile),
            ], evidence: [.proxyConfig(config)])
        outcome.summary = Message(.nginxSummary, ["path": .string(path), "proxy_pass": .string(view.proxyPass), "servers": .list(servers.map(Value.string)),
                                                  "sni": view.sni.map { Message(.nginxSendsSNI, ["name": .string($0)]).value } ?? Message(.nginxSendsNoSNI).value])
        return outcome
    }

    /// triage's deadlines a little above nginx's own (bounded, so a silent upstream does not hold a run
    /// for nginx's minute): what nginx gave up on, triage still measures.
    static func deadlines(_ profile: ClientProfile) -> Value {
        let connect = min(profile.connectTimeout + .seconds(3), .seconds(30))
        let total = min(max(.seconds(15), profile.connectTimeout + profile.readTimeout + .seconds(3)), .seconds(45))
        func text(_ d: Duration) -> Value { .string("\(Int(d.seconds.rounded(.up)))s") }
        return ["connect": text(connect), "total": text(total)]
    }

    /// The location block's own lines, from its first line to its closing
    /// brace (at most 60), so the report can show the fix as a diff.
    static func source(of view: NginxProxyView) -> Value {
        guard view.locationLine > 0, let data = FileManager.default.contents(atPath: view.locationFile) else { return .null }
        let lines = String(decoding: data.prefix(16 << 20), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard view.locationLine <= lines.count else { return .null }
        // The closing brace: on the last directive's line, or the next line that has one.
        var end = min(max(view.lastDirectiveLine, view.locationLine), lines.count)
        while end < lines.count, end - view.locationLine < 60, !lines[end - 1].contains("}") { end += 1 }
        if end == view.lastDirectiveLine, end < lines.count, lines[end].trimmingCharacters(in: .whitespaces).hasPrefix("}") { end += 1 }
        let text = lines[(view.locationLine - 1)..<min(end, view.locationLine + 59)].map { Value.string(Redactor.redact(String($0))) }
        return ["file": .string(view.locationFile), "line": .int(view.locationLine), "proxy_pass_line": .int(view.proxyPassLine), "text": .list(text)]
    }
}
