import Foundation
import TriageWire

/// nginx's defaults for the directives that decide its upstream connection,
/// by version: the single source the profile, the diagnosis, the fix and
/// the README's table read. Values as nginx's documentation gives them.
public enum NginxDefaults {
    public struct Row: Sendable, Hashable {
        public var directive: String
        public var value: String
        /// The first release with this default (nil: every release triage knows).
        public var since: NginxVersion?
        /// Why it matters to an upstream connection.
        public var note: String
    }

    /// Debian 12's nginx, the oldest release still widely run: what triage
    /// assumes when nothing tells it the proxy's version (and says so).
    public static let assumed = NginxVersion(1, 22, 1)

    /// Rows of one directive are ordered by `since`; the last that applies wins.
    public static let rows: [Row] = [
        Row(directive: "proxy_ssl_server_name", value: "off", note: "no SNI in the upstream ClientHello"),
        Row(directive: "proxy_ssl_name", value: "$proxy_host", note: "the SNI sent when on, and the name proxy_ssl_verify checks: the upstream block's name, or proxy_pass's host"),
        Row(directive: "proxy_ssl_verify", value: "off", note: "the upstream certificate is not checked"),
        Row(directive: "proxy_ssl_verify_depth", value: "1", note: "one intermediate at most between the leaf and the anchor"),
        Row(directive: "proxy_ssl_protocols", value: "TLSv1 TLSv1.1 TLSv1.2", note: "no TLS 1.3 towards upstreams"),
        Row(directive: "proxy_ssl_protocols", value: "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3", since: NginxVersion(1, 23, 4), note: "TLS 1.3 enabled by default"),
        Row(directive: "proxy_ssl_session_reuse", value: "on", note: "sessions resumed across upstream connections"),
        Row(directive: "proxy_connect_timeout", value: "60s", note: "connect and TLS handshake"),
        Row(directive: "proxy_read_timeout", value: "60s", note: "between two reads of the upstream's answer"),
        Row(directive: "proxy_send_timeout", value: "60s", note: "between two writes of the request"),
        Row(directive: "proxy_buffer_size", value: "4k", note: "one memory page: the upstream's response header must fit"),
        Row(directive: "proxy_buffers", value: "8 4k", note: "one memory page each"),
        Row(directive: "proxy_http_version", value: "1.0", note: "no upstream keep-alive unless 1.1"),
        Row(directive: "proxy_next_upstream", value: "error timeout", note: "a failed connection is retried on the next server"),
        Row(directive: "max_fails", value: "1", note: "failures within fail_timeout that mark a server down"),
        Row(directive: "fail_timeout", value: "10s", note: "how long a server stays marked down"),
        Row(directive: "keepalive_timeout", value: "60s", note: "idle upstream connections kept (upstream block, with keepalive)"),
    ]

    /// The default of `directive` in `version`, split into its arguments.
    public static func value(_ directive: String, version: NginxVersion) -> [String] {
        let applying = rows.filter { $0.directive == directive && ($0.since.map { $0 <= version } ?? true) }
        return applying.last.map { $0.value.split(separator: " ").map(String.init) } ?? []
    }

    /// nginx's time syntax (`60s`, `5`, `500ms`, `1m30s`, `1h`): a duration, or nil.
    public static func duration(_ text: String) -> Duration? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400), ("w", 604_800)]
        var total = 0.0
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isNumber }
            guard !digits.isEmpty, digits.count <= 9, let n = Double(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            // A bare number is seconds.
            guard let unit = units.first(where: { rest.hasPrefix($0.0) }) ?? (rest.isEmpty ? ("", 1) : nil) else { return nil }
            total += n * unit.1
            rest = rest.dropFirst(unit.0.count)
        }
        return .milliseconds(Int64(total * 1000))
    }

    /// nginx's size syntax (`4k`, `8K`, `1m`, `4096`): bytes, or nil.
    public static func size(_ text: String) -> Int? {
        let t = text.lowercased()
        let factor = t.hasSuffix("k") ? 1024 : t.hasSuffix("m") ? 1 << 20 : t.hasSuffix("g") ? 1 << 30 : 1
        let digits = factor == 1 ? t : String(t.dropLast())
        guard digits.count <= 12, let n = Int(digits) else { return nil }
        return n * factor
    }
}

extension ClientProfile {
    /// nginx's upstream connection for this location: the configuration's
    /// directives where it sets them, the version's defaults where it does
    /// not; `proxySNI` (`--proxy-sni`) overrides the SNI; `host` is the URL's.
    public static func nginx(config: ProxyConfig?, version: ProxyVersion?, proxySNI: String?, host: String) -> ClientProfile {
        let release = version?.version ?? NginxDefaults.assumed
        func setting(_ name: String) -> [String] { config?.settings[name] ?? NginxDefaults.value(name, version: release) }
        // $proxy_host: the upstream block's name, or proxy_pass's host; unknown without a configuration.
        let proxyHost = config.map { ProxyConfig.hostPart($0.proxyHost) } ?? host
        let sslName = config?.sslName.map(ProxyConfig.hostPart) ?? proxyHost
        // nginx never puts an address literal in SNI (ngx_ssl_set_session: the name must not be an IP).
        let sendsSNI = setting("proxy_ssl_server_name").first == "on" && IPAddress(sslName) == nil
        var sni: SNIVariant = sendsSNI ? SNIVariant.name(sslName).normalised(host: host) : SNIVariant.none.normalised(host: host)
        var source: Source = config.map { .configuration(file: $0.file) } ?? .defaults
        if let proxySNI, !proxySNI.isEmpty {
            sni = SNIVariant(proxySNI == "none" ? "none" : "name:\(proxySNI)").normalised(host: host)
            if config == nil { source = .input }
        }
        let protocols = setting("proxy_ssl_protocols").filter { $0.hasPrefix("TLSv") }
        let order = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
        let offered = order.filter { protocols.contains($0) }
        let verifies = setting("proxy_ssl_verify").first == "on"
        var profile = ClientProfile(
            kind: .nginx, name: "nginx \(release)", sni: sni, alpn: [],
            minVersion: offered.first, maxVersion: offered.last,
            verifies: verifies, verifyName: sslName,
            caFile: config?.settings["proxy_ssl_trusted_certificate"]?.first,
            verifyDepth: Int(setting("proxy_ssl_verify_depth").first ?? "1"),
            clientCertificate: config?.settings["proxy_ssl_certificate"]?.first,
            clientKey: config?.settings["proxy_ssl_certificate_key"]?.first ?? config?.settings["proxy_ssl_certificate"]?.first,
            addressPolicy: .nextUpstream,
            connectTimeout: NginxDefaults.duration(setting("proxy_connect_timeout").first ?? "60s") ?? .seconds(60),
            readTimeout: NginxDefaults.duration(setting("proxy_read_timeout").first ?? "60s") ?? .seconds(60),
            source: source, version: version ?? ProxyVersion(release, source: .assumed))
        profile.addressAsName = true
        return profile
    }
}

extension NginxDefaults {
    /// The table as the README shows it (a test keeps the README's copy current).
    public static var markdownTable: String {
        var out = "| directive | default | since | why it matters upstream |\n|---|---|---|---|\n"
        for row in rows {
            out += "| `\(row.directive)` | `\(row.value)` | \(row.since.map { "\($0)" } ?? "—") | \(row.note) |\n"
        }
        return out
    }
}
