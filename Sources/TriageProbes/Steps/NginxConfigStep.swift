import Foundation
import TriageKit

/// `nginx.config`: reads an nginx configuration (includes followed) and
/// derives what nginx does for one request path: the upstream servers
/// behind `proxy_pass`, and the TLS it uses towards them —
/// `proxy_ssl_server_name` / `proxy_ssl_name` (the SNI it sends, if any),
/// `proxy_ssl_verify`, `proxy_ssl_trusted_certificate`,
/// `proxy_ssl_protocols`, `proxy_set_header Host`.
///
/// Inputs: `file` (required), `location` (the request path, default `/`).
/// Outputs: `sni` (the name nginx sends, or `none`), `servers`,
/// `addresses` (the servers that are IP literals), `host`, `port`,
/// `ca_file` (when nginx verifies), `verify`, `protocols`, `host_header`.
/// A configuration it cannot parse fails the step with `FILE:LINE: what`.
public struct NginxConfigStep: StepKind {
    public let name = "nginx.config"
    public let summary = "what nginx does for a location: upstream servers and its TLS towards them (SNI, verify, protocols)"
    public let inputs: [InputDeclaration] = [
        .init("file", .string, required: true, "nginx.conf"),
        .init("location", .string, "the request path whose location to replay (default /)"),
    ]

    public init() {}

    public func run(_ context: StepContext) async throws -> StepOutcome {
        guard let file = context.string("file") else { throw StepFailure("nginx.config: 'file' is empty") }
        let path = context.string("location") ?? "/"
        let view: NginxProxyView
        do {
            view = try NginxProxyView.view(try NginxConfig(contentsOf: file), path: path)
        } catch let error as NginxConfig.ParseError {
            throw StepFailure(error.description)
        } catch {
            throw StepFailure("\(error)")
        }
        let servers = view.servers.map { "\($0.host):\($0.port)" }
        var facts = [Fact("location", .string("\(view.location) (\(view.where_))")), Fact("proxy_pass", .string(view.proxyPass)),
                     Fact("upstream servers", .string(servers.joined(separator: ", "))),
                     Fact("SNI nginx sends", .string(view.sni ?? "none (proxy_ssl_server_name off)")),
                     Fact("proxy_ssl_verify", .string(view.verify ? "on" : "off")),
                     Fact("proxy_ssl_protocols", .string(view.protocols.joined(separator: " ")))]
        if let t = view.trustedCertificate { facts.append(Fact("proxy_ssl_trusted_certificate", .string(t))) }
        if let h = view.hostHeader { facts.append(Fact("proxy_set_header Host", .string(h))) }
        for note in view.notes { facts.append(Fact("note", .string(note))) }
        let first = view.servers.first
        return StepOutcome(
            summary: "\(path) → \(view.proxyPass) → \(servers.joined(separator: ", ")); nginx sends \(view.sni.map { "SNI \($0)" } ?? "no SNI")",
            command: "nginx -T | grep -n -A20 'location \(view.location)'",
            facts: facts,
            outputs: [
                "sni": .string(view.sni ?? "none"), "servers": .list(servers.map(Value.string)),
                "addresses": .list(view.servers.map(\.host).filter(HostAddresses.isIPLiteral).map(Value.string)),
                "host": first.map { .string($0.host) } ?? .null, "port": first.map { .int($0.port) } ?? .null,
                "ca_file": view.verify ? view.trustedCertificate.map(Value.string) ?? .null : .null,
                "verify": .bool(view.verify), "protocols": .list(view.protocols.map(Value.string)),
                "host_header": view.hostHeader.map(Value.string) ?? .null,
            ])
    }
}
