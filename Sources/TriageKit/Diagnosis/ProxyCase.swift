import Foundation
import TriageWire

/// What the rest of the case says about the proxy's request to its upstream,
/// to read its log line in numbers: the settings nginx had in force (its
/// configuration, else its version's defaults) against what the upstream
/// took and sent when triage asked it directly.
public struct ProxyCase: Sendable {
    public var config: ProxyConfig?
    public var profile: ClientProfile?
    /// triage's own requests straight to the upstream.
    public var direct: [HTTPExchange]
    /// triage's own handshakes with the upstream (not the replays), and the deadline each had.
    public var attempts: [(attempt: HandshakeAttempt, deadline: Duration)]
    /// What the upstream's name resolves to now.
    public var resolved: [IPAddress]
    /// The resolver asked (for the fix's `resolver` line).
    public var resolver: Endpoint?

    public init(config: ProxyConfig? = nil, profile: ClientProfile? = nil, direct: [HTTPExchange] = [],
                attempts: [(attempt: HandshakeAttempt, deadline: Duration)] = [], resolved: [IPAddress] = [], resolver: Endpoint? = nil) {
        self.config = config
        self.profile = profile
        self.direct = direct
        self.attempts = attempts
        self.resolved = resolved
        self.resolver = resolver
    }

    var version: NginxVersion { profile?.version?.version ?? NginxDefaults.assumed }

    /// A directive in force: the configuration's value, else the version's default; and how it reads in a fact.
    /// `upstream`: the `upstream` block's own directive (`keepalive_timeout` there) rather than the location's.
    func setting(_ name: String, upstream: Bool = false) -> (value: [String], text: String) {
        if let set = (upstream ? config?.upstreamSettings : config?.settings)?[name], !set.isEmpty { return (set, "\(name) \(set.joined(separator: " "));") }
        let value = NginxDefaults.value(name, version: version)
        return (value, "\(name) \(value.joined(separator: " ")); # nginx \(version) default")
    }

    /// A server parameter of the upstream block (`max_fails`, `fail_timeout`), else nginx's default.
    func serverParameter(_ name: String) -> String {
        config?.servers.lazy.compactMap { $0.parameters[name] }.first ?? NginxDefaults.value(name, version: version).first ?? "?"
    }

    // MARK: - Reading an event in numbers

    /// The response header: its size as the direct request measured it, against `proxy_buffer_size`.
    func headerTooBig(_ finding: inout Finding) {
        let measured = direct.map(\.headerBytes).filter { $0 > 0 }.max()
        let (current, text) = setting("proxy_buffer_size")
        let currentBytes = current.first.flatMap(NginxDefaults.size) ?? 4096
        // A power of two with room to spare, at least twice what was in force.
        var size = max(8192, currentBytes * 2)
        while let measured, size < measured + 1024 { size *= 2 }
        let count = setting("proxy_buffers").value.first.flatMap(Int.init).map { max($0, 4) } ?? 8
        let sizeText = size % (1 << 20) == 0 ? "\(size >> 20)m" : "\(size >> 10)k"
        finding.facts.append(Fact(.setting, .string(text)))
        var args: [String: Value] = ["current": .string(current.joined(separator: " ")), "size": .string(sizeText), "count": .int(count)]
        if let measured {
            finding.facts.append(Fact(.headerBytes, .int(measured)))
            args["measured"] = .int(measured)
            finding.remedy = Message(.remedyHeaderTooBig, args)
        } else {
            finding.remedy = Message(.remedyHeaderTooBigUnmeasured, args)
        }
    }

    /// The phase a 504 without its log line most likely timed out in, from the direct request: connecting
    /// and the handshake when they took longer than `proxy_connect_timeout` (or never ended), else waiting
    /// for the answer.
    var gatewayTimeoutPhase: ProxyPhase {
        let limit = setting("proxy_connect_timeout").value.first.flatMap(NginxDefaults.duration).map(\.seconds) ?? 60
        let reached = direct.filter { $0.timings.connect > 0 || $0.succeeded }
        guard !reached.isEmpty, !reached.contains(where: { $0.timings.connect > limit }) else { return .connecting }
        // An https upstream whose handshake did not end, or ended past the limit (nginx counts it in proxy_connect_timeout).
        if reached.contains(where: { $0.isHTTPS && (($0.timings.tls == 0 && !$0.succeeded) || $0.timings.tls > limit) }) { return .handshaking }
        return .readingHeader
    }

    /// A timeout in a phase: nginx's limit for that phase against how long the upstream took here.
    func timedOut(_ finding: inout Finding, phase: ProxyPhase) {
        let directive = switch phase {
        case .connecting, .handshaking: "proxy_connect_timeout"
        case .sendingRequest: "proxy_send_timeout"
        case .readingHeader, .readingBody, .other: "proxy_read_timeout"
        }
        let (current, text) = setting(directive)
        let limit = current.first.flatMap(NginxDefaults.duration) ?? .seconds(60)
        finding.facts.append(Fact(.setting, .string(text)))
        finding.facts.append(Fact(.phase, Message(Self.phaseKey(phase)).value))
        // How long the phase took here, or how long triage waited without it ending.
        var measured: Double?
        var waited: Double?
        switch phase {
        case .connecting, .handshaking:
            for (attempt, deadline) in attempts {
                if attempt.established {
                    let ms = (attempt.connectMs ?? 0) + (phase == .handshaking ? attempt.handshakeMs ?? 0 : 0)
                    measured = max(measured ?? 0, ms / 1000)
                } else if case .timedOut = attempt.outcome {
                    waited = max(waited ?? 0, deadline.seconds)
                } else if phase == .connecting, let connect = attempt.connectMs {
                    measured = max(measured ?? 0, connect / 1000)
                }
            }
        case .readingHeader, .other, .sendingRequest:
            for e in direct {
                if e.succeeded, e.timings.firstByte > 0 {
                    measured = max(measured ?? 0, e.timings.firstByte - max(e.timings.tls, e.timings.connect))
                } else if e.code == .operationTimedOut {
                    waited = max(waited ?? 0, e.timings.total)
                }
            }
        case .readingBody:
            for e in direct {
                if e.succeeded { measured = max(measured ?? 0, e.timings.total - e.timings.firstByte) }
                else if e.code == .operationTimedOut { waited = max(waited ?? 0, e.timings.total) }
            }
        }
        var args: [String: Value] = ["directive": .string(directive), "current": .string(current.joined(separator: " ")),
                                     "phase": Message(Self.phaseKey(phase)).value]
        if let measured, waited == nil || measured > limit.seconds {
            finding.facts.append(Fact(.measuredMs, .number((measured * 10_000).rounded() / 10)))
            args["measured"] = .string(TextFormat.fixed(measured, 1) + " s")
            if measured > limit.seconds {
                let suggested = Int((measured * 1.5).rounded(.up))
                args["suggested"] = .string("\(suggested)s")
                finding.remedy = Message(.remedyTimeoutRaise, args)
            } else {
                finding.remedy = Message(.remedyTimeoutIntermittent, args)
            }
        } else if let waited {
            args["waited"] = .string(TextFormat.fixed(waited, 1) + " s")
            finding.remedy = Message(.remedyTimeoutHangs, args)
        }
    }

    static func phaseKey(_ phase: ProxyPhase) -> MessageKey {
        switch phase {
        case .connecting: .proxyPhaseConnecting
        case .handshaking: .phaseHandshaking
        case .sendingRequest: .phaseSending
        case .readingHeader: .phaseHeader
        case .readingBody: .phaseBody
        case .other: .phaseOther
        }
    }

    /// nginx spoke plain HTTP to a port where triage's own handshake worked.
    func plainToTLS(_ finding: inout Finding) -> Bool {
        guard config?.scheme == "http", let tls = attempts.first(where: { $0.attempt.established })?.attempt else { return false }
        finding.cause = .plainHTTPToTLSPort
        finding.summary = Message(.findingPlainToTLS, ["address": .typed(.endpoint(tls.server)), "version": .string(tls.version ?? "TLS")])
        finding.remedy = Message(cause: .plainHTTPToTLSPort, .remedy, [:])
        if let pass = config?.proxyPass { finding.facts.append(Fact(.proxyPass, .string(pass))) }
        return true
    }

    /// The upstream speaks HTTP/2 only: the proxy's HTTP/1.x request got no HTTP/1.x answer, while
    /// triage's own request, offering ALPN h2 as curl does, got HTTP/2 (a gRPC server's content type too).
    func http2Only(_ finding: inout Finding, proxy name: String) -> Bool {
        guard let h2 = direct.first(where: { $0.status > 0 && ($0.httpVersion ?? "").hasPrefix("HTTP/2") }),
              config?.scheme != "http" else { return false }
        let contentType = h2.header("Content-Type")
        let grpc = contentType?.lowercased().hasPrefix("application/grpc") == true
        finding.cause = .upstreamProtocolMismatch
        finding.facts += [Fact(.alpn, .string("h2")), Fact(.httpVersion, .string("2")), Fact(.directStatus, .int(h2.status))]
        if let contentType { finding.facts.append(Fact(.contentType, .string(contentType))) }
        if let pass = config?.proxyPass { finding.facts.append(Fact(.proxyPass, .string(pass))) }
        finding.summary = Message(.findingProtocolMismatch, ["proxy": .string(name), "status": .int(h2.status),
                                                             "grpc": .string(contentType.map { ", Content-Type \($0)" } ?? "")])
        let host = config.map { ProxyConfig.hostPart($0.proxyHost) } ?? finding.subject
        finding.remedy = grpc ? Message(.remedyGRPCPass, ["host": .string(host)]) : Message(.remedyHTTP2Only)
        return true
    }

    /// nginx reused a kept-alive connection the upstream was closing: the upstream block caches
    /// connections (`keepalive`) and the upstream's idle timeout (its `Keep-Alive: timeout=`, from
    /// the direct answer) against nginx's `keepalive_timeout` in that block.
    func keepAliveRace(_ finding: inout Finding, phase: ProxyPhase) -> Bool {
        guard let config, config.upstreamSettings["keepalive"]?.isEmpty == false,
              [.sendingRequest, .readingHeader].contains(phase) else { return false }
        let (value, text) = setting("keepalive_timeout", upstream: true)
        let nginxSeconds = value.first.flatMap(NginxDefaults.duration)?.seconds ?? 60
        let upstreamSeconds = direct.lazy.compactMap { $0.header("Keep-Alive") }.compactMap(Self.keepAliveTimeout).first
        finding.facts.append(Fact(.setting, .string(text)))
        let block = config.upstreamName ?? ProxyConfig.hostPart(config.proxyHost)
        var args: [String: Value] = ["block": .string(block), "setting": .string(text), "nginx": .string(value.joined(separator: " "))]
        if let upstreamSeconds {
            finding.facts.append(Fact(.keepAlive, .string("timeout=\(upstreamSeconds)")))
            // Only a shorter upstream timeout explains it; a longer one leaves the upstream's own reason.
            guard Double(upstreamSeconds) <= nginxSeconds else { return false }
            args["upstream"] = .int(upstreamSeconds)
            args["suggested"] = .string("\(max(1, upstreamSeconds - 1))s")
            finding.remedy = Message(.remedyKeepAliveShorter, args)
        } else {
            finding.remedy = Message(.remedyKeepAliveUnknown, args)
        }
        return true
    }

    /// `timeout=N` of a `Keep-Alive` header (`timeout=5, max=100`).
    static func keepAliveTimeout(_ header: String) -> Int? {
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2, pair[0].lowercased() == "timeout", let n = Int(pair[1]), n >= 0 { return n }
        }
        return nil
    }

    /// The upstream cut its own body short of its Content-Length when asked directly.
    func bodyCut(_ finding: inout Finding) -> Bool {
        guard let cut = direct.first(where: { $0.code == .partialFile }) else { return false }
        let declared = cut.header("Content-Length").flatMap(Int.init) ?? 0
        finding.facts += [Fact(.contentLength, .int(declared)), Fact(.bodyBytes, .int(cut.bodyBytes))]
        finding.remedy = Message(.remedyBodyCut, ["declared": .int(declared), "received": .int(cut.bodyBytes)])
        return true
    }

    /// `no live upstreams`: what marked each server down, from the log's earlier lines.
    func noLive(_ finding: inout Finding, log: ProxyLog) {
        let marks = log.markedDown { $0.upstreamEndpoint }
        if !marks.isEmpty { finding.facts.append(Fact(.markedDown, .list(marks.map(Value.string)))) }
        let block = config?.upstreamName ?? config.map { ProxyConfig.hostPart($0.proxyHost) } ?? finding.subject
        finding.remedy = Message(.remedyNoLive, ["block": .string(block),
                                                 "marks": .string(marks.isEmpty ? "—" : marks.joined(separator: "; ")),
                                                 "maxFails": .string(serverParameter("max_fails")),
                                                 "failTimeout": .string(serverParameter("fail_timeout"))])
    }

    /// nginx resolved proxy_pass's name once, at start: the addresses its log names against what DNS says now.
    func staleAddress(log: ProxyLog) -> Finding? {
        guard let config, config.upstreamName == nil, !config.proxyPass.contains("$") else { return nil }
        let host = ProxyConfig.hostPart(config.proxyHost)
        guard IPAddress(host) == nil, !resolved.isEmpty else { return nil }
        var logged: [Endpoint] = []
        for line in log.lines {
            guard let upstream = line.upstream, let address = URLPart.host.extract(from: upstream).stringValue.flatMap(IPAddress.init),
                  let port = URLPart.port.extract(from: upstream).intValue else { continue }
            let endpoint = Endpoint(address, port: UInt16(clamping: port))
            if !logged.contains(endpoint) { logged.append(endpoint) }
        }
        let stale = logged.filter { !resolved.contains($0.address) }
        guard !stale.isEmpty, let last = log.lines.last(where: { line in stale.contains { line.upstream?.contains($0.address.description) == true } }) else {
            return nil
        }
        let port = stale.first.map { Int($0.port) } ?? 443
        let facts = [Fact(.loggedAddresses, .list(stale.map { .string($0.description) })),
                     Fact(.resolvedNow, .list(resolved.map { .string($0.description) })), Fact(.lastLine, .string(last.text)),
                     Fact(.proxyPass, .string(config.proxyPass))]
        return Finding(.upstreamDNSStale,
                       summary: Message(.findingDNSStale, ["logged": .string(stale.map(\.description).joined(separator: ", ")), "host": .string(host),
                                                           "now": .string(resolved.map(\.description).joined(separator: ", "))]),
                       subject: host, facts: facts,
                       remedy: Message(.remedyDNSStale, ["host": .string(host),
                                                         "resolver": .string(resolver.map { $0.port == 53 ? $0.address.description : $0.description } ?? "127.0.0.53"),
                                                         "scheme": .string(config.scheme), "port": .int(port)]))
            .on(.proxyLog)
    }
}
