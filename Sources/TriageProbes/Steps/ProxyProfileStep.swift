import Foundation
import TriageKit

/// `proxy.profile`: how the proxy in front of the upstream connects to it
/// when its configuration is not at hand — nginx's defaults for its
/// version (`NginxDefaults`: no SNI, no verification, TLSv1–1.2 before
/// 1.23.4, …), the SNI given with `--proxy-sni`. The version comes from
/// `nginx -v` when the proxy runs on this machine, else its `Server:`
/// header, else its error log; the step says which. Its `profile` output is
/// what `tls.handshake` replays. (With `--nginx-conf`, `nginx.config` gives
/// the profile from the configuration instead.)
public struct ProxyProfileStep: StepKind {
    public let name = "proxy.profile"
    public let summary = "the proxy's upstream connection as its version's defaults make it: SNI, verification, versions, timeouts"
    public let inputs: [InputDeclaration] = [
        .init("host", .string, required: true, "the upstream URL's host"),
        .init("via", .string, "the proxy's URL (a loopback address: the proxy runs on this machine, so `nginx -v` tells its version)"),
        .init("server_header", .string, "the Server header of the proxy's answer (nginx/1.22.1)"),
        .init("error_log", .string, "the proxy's error log, for the version it logged at start"),
        .init("version", .string, "the proxy's version, when known (1.22.1)"),
        .init("sni", .string, "the SNI the proxy sends (a name, or none), when known"),
        .init("proxy_log", .string, "the proxy's log (--proxy-log): HAProxy's or Envoy's says the proxy is not nginx"),
    ]
    public let outputs: [OutputDeclaration] = [
        .init("profile", .profile, "the proxy's client profile, for tls.handshake's profile input"),
        .init("version", .string, "the nginx version the profile is for"),
        .init("version_source", .string, "how the version was learned: binary, server-header, error-log, input, assumed"),
        .init("proxy", .string, "the proxy's kind: nginx, or HAProxy / Envoy when its log says so"),
    ]

    public init() {}

    public func run(_ context: StepContext) async throws -> StepOutcome {
        guard let host = context.string("host") else { throw StepFailure(.inputEmpty, ["step": .string(name), "input": "host"]) }
        if let log = context.string("proxy_log"), let format = ProxyLogFormat.identify(file: log), format != .nginx {
            // nginx's defaults say nothing of another proxy's connection: no profile, no replay of a guess.
            return StepOutcome(summary: Message(.profileOtherProxy, ["proxy": .string(format.rawValue)]),
                               facts: [Fact(.proxy, .string(format.rawValue))], outputs: ["proxy": .string(format.rawValue)])
        }
        let onThisMachine = context.string("via").flatMap { URLPart.host.extract(from: $0).stringValue }.map(Self.isLoopback) ?? false
        let version = await ProxyVersionProbe.detect(explicit: context.string("version"), onThisMachine: onThisMachine,
                                                     serverHeader: context.string("server_header"), errorLog: context.string("error_log"))
        let profile = ClientProfile.nginx(config: nil, version: version, proxySNI: context.string("sni"), host: host)
        return Self.outcome(profile, command: "nginx -V 2>&1 | head -1", outputs: ["proxy": .string("nginx")])
    }

    /// What both ways of learning a proxy's profile (this step and nginx.config) report.
    static func outcome(_ profile: ClientProfile, command: String, facts extra: [Fact] = [], outputs more: [String: Value] = [:],
                        evidence: [Evidence] = []) -> StepOutcome {
        let version = profile.version ?? ProxyVersion(NginxDefaults.assumed, source: .assumed)
        let (how, code) = versionSource(version.source)
        let facts = extra + [Fact(.proxyVersion, Message(.profileVersion, ["version": .string(version.version.description), "how": how.value])),
                             Fact(.profile, profile.summary)]
        var outputs = more
        outputs["profile"] = .typed(.profile(profile))
        if more["version"] == nil { outputs["version"] = .string(version.version.description) }
        if more["version_source"] == nil { outputs["version_source"] = .string(code) }
        return StepOutcome(summary: Message(.profileStepSummary, ["name": .string(profile.name), "how": how.value, "profile": profile.summary.value]),
                           command: command, facts: facts, outputs: outputs, evidence: evidence + [.profile(profile)])
    }

    static func versionSource(_ source: ProxyVersion.Source) -> (Message, String) {
        switch source {
        case .binary(let path): (Message(.versionFromBinary, ["path": .string(path)]), "binary")
        case .serverHeader(let header): (Message(.versionFromHeader, ["header": .string(header)]), "server-header")
        case .errorLog(let line): (Message(.versionFromLog, ["line": .string(line)]), "error-log")
        case .input: (Message(.versionFromInput), "input")
        case .assumed: (Message(.versionAssumed, ["version": .string(NginxDefaults.assumed.description)]), "assumed")
        }
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host.hasSuffix(".localhost") || host.hasPrefix("127.") || host == "::1" || host == "[::1]"
    }
}
