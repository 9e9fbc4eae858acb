import Foundation
import TriageKit
import TriageWire

/// `tls.handshake`: an OpenSSL handshake per address × SNI variant.
///
/// Keeps, per attempt: connect and handshake time, version, cipher, ALPN,
/// every handshake message and alert with its sender, the verify result, the
/// CA names of a CertificateRequest, the peer chain (`chain-*.pem`), and the
/// `openssl s_client` command. Every connection is also written byte for
/// byte to `handshake.pcapng`, with the TLS secrets in `sslkeylog.txt`
/// (unless `keylog: false`). All attempts run on the handshake loop, each
/// with its own deadline counted from its start.
public struct TLSHandshakeStep: StepKind {
    public let name = "tls.handshake"
    public let summary = "OpenSSL handshake per address × SNI variant: messages, alerts, verify result, chain, self-capture"
    public let inputs: [InputDeclaration] = [
        .init("host", .string, required: true, "the server name (SNI as-client, hostname check)"),
        .init("port", .integer, "the TCP port (default 443)"),
        .init("addresses", .stringOrList, "addresses to try; when given (even empty) nothing is resolved (default: what host resolves to)"),
        .init("sni", .stringOrList, "SNI variants: as-client, none, ip, or a name (default [as-client, none])"),
        .init("min_version", .string, "lowest TLS version to offer, e.g. TLSv1.2"),
        .init("max_version", .string, "highest TLS version to offer"),
        .init("ca_file", .string, "trust this CA bundle instead of the system store"),
        .init("client_cert", .string, "client certificate (PEM)"),
        .init("client_key", .string, "client key (PEM; default: client_cert)"),
        .init("alpn", .stringOrList, "ALPN protocols to offer, e.g. [h2, http/1.1]"),
        .init("timeout", .duration, "per connection, from its start: connect + handshake (default 5s)"),
        .init("keylog", .boolean, "write sslkeylog.txt (default true)"),
        .init("profile", .typed(.profile), "replay this client exactly (the profile output of proxy.profile): its SNI, versions, the name it verifies, its anchors and depth, its client certificate; overrides sni, versions, ca_file (unless it verifies nothing: then ca_file gives the verify result shown) and client_cert"),
    ]
    public let outputs: [OutputDeclaration] = [
        .init("attempts", .list(.object), "one per address × variant: address, variant, sni, outcome, version, cipher, verify_code, alert, …"),
        .init("alert", .alert, "the first fatal alert (the server's first, else the client's)"),
        .init("chain", .chain, "the chain seen with SNI"),
        .init("chains", .list(.chain), "every distinct chain, with the addresses and variants that saw it"),
        .init("addresses", .list(.endpoint), "the endpoints tried"),
        .init("established", .boolean, "some attempt completed the handshake"),
        .init("verified", .boolean, "some attempt completed with a certificate that verifies"),
        .init("versions", .list(.object), "when the version is the problem: one pinned handshake per version (version, accepted, outcome)"),
        .init("local_ports", .list(.integer), "this step's own client ports (a capture's connections from them are triage's)"),
    ]

    public init() {}

    /// Every connection at once, then the version probes: twice the per-connection timeout, and a little.
    public func deadline(for arguments: [String: Value]) -> Duration? {
        guard let text = arguments["timeout"]?.stringValue, let timeout = try? DurationParser.parse(text) else { return nil }
        return timeout * 2 + .seconds(2)
    }

    public func run(_ context: StepContext) async throws -> StepOutcome {
        guard let host = context.string("host") else { throw StepFailure(.inputEmpty, ["step": .string(name), "input": "host"]) }
        let port = UInt16(clamping: context.int("port") ?? 443)
        let profile = context.typed("profile").lazy.compactMap { if case .profile(let p) = $0 { p } else { nil } }.first
        var options = TLSClientOptions()
        options.caFile = context.string("ca_file")
        options.clientCertificate = context.string("client_cert")
        options.clientKey = context.string("client_key")
        options.minVersion = context.string("min_version")
        options.maxVersion = context.string("max_version")
        options.alpn = context.strings("alpn")
        if let profile {
            // The replay is the client: exactly what it offers, trusts and checks.
            options = Self.options(profile)
            // A client that verifies nothing (nginx's default, proxy_ssl_verify off) has no anchors that
            // matter: the verify result shown is the run's own (`ca_file`), not the system store's
            // "unable to get local issuer" beside a handshake that verified.
            if !profile.verifies, let caFile = context.string("ca_file") { options.caFile = caFile }
        }
        // `--at`: OpenSSL verifies as of that time, so the verify result agrees with the dates.
        if context.judgedAt != context.runStartedAt { options.verifyTime = context.judgedAt }
        let timeout = min(try context.duration("timeout") ?? .seconds(5), context.remaining)
        let resolution = try await resolve(host, context: context)
        guard !resolution.addresses.isEmpty else {
            return StepOutcome(summary: Message(.handshakeNoAddress, ["host": .string(host)]), command: "getent ahosts \(host)",
                               facts: [Fact(.addressSource, resolution.source)], outputs: emptyOutputs,
                               evidence: [.unresolved(Unresolved(host: host, source: resolution.source))])
        }
        let endpoints = resolution.addresses.map { Endpoint($0, port: port) }
        // Duplicates collapse: a proxy's SNI equal to the host is the
        // as-client variant, and for an address URL so is none.
        var variants: [SNIVariant] = []
        // A profile that sends no SNI is also tried with SNI, all else equal: the control that tells
        // "without SNI it fails" from "it fails" (and proves the fix before it is made).
        let asked = profile.map { $0.sni == .none ? [SNIVariant.none, .asClient] : [$0.sni] }
            ?? (context.strings("sni").isEmpty ? ["as-client", "none"] : context.strings("sni")).map(SNIVariant.init)
        for variant in asked {
            let normalised = variant.normalised(host: host)
            if !variants.contains(normalised) { variants.append(normalised) }
        }
        // The name the replayed client checks; one that checks nothing is shown the URL's host's result.
        let verifyName = profile.flatMap { $0.verifies ? $0.checkedName(host: host) : nil }
        let sslContext: SSLContext
        do {
            sslContext = try SSLContext(options)
        } catch {
            throw StepFailure(.tlsContextFailed, ["error": .string(error.description)])
        }
        let specs = endpoints.flatMap { endpoint in
            variants.map { HandshakeSpec(server: endpoint, host: host, variant: $0, verifyName: verifyName, addressAsName: profile?.addressAsName ?? false,
                                         context: sslContext, timeout: timeout) }
        }
        var attempts = await orderedConcurrently(specs) { await HandshakeLoop.attempt($0) }
        try Task.checkCancellation()
        Self.readStaples(&attempts, caFile: options.caFile)
        let chains = Self.chains(attempts)
        let files = try writeEvidence(attempts, chains: chains, context: context)
        let withFiles = chains.map { c -> CertificateChain in var c = c; c.file = files[c.fingerprint]; return c }
        // When the version is the problem, ask the server one version at a
        // time what it speaks and what it answers to the others (what to
        // measure next; the diagnosis judges it all).
        var versions: [VersionProbe] = []
        let versionTrouble = HandshakeRules(attempts: attempts, host: host, now: context.judgedAt, timeout: timeout).findings
            .contains { $0.cause == .protocolVersion }
        if versionTrouble, let first = endpoints.first {
            versions = await Self.probeVersions(first, host: host, options: options, timeout: min(timeout, context.remaining))
        }
        // A replay judges each chain as its client does: its anchors, the name it checks, its depth.
        let checks = profile.map { p in
            withFiles.map { ChainVerifier.check($0, caFile: p.caFile, at: context.judgedAt, name: verifyName, depth: p.verifyDepth,
                                                addressAsName: p.addressAsName) }
        } ?? []
        var outputs = outputs(attempts, chains: withFiles)
        outputs["versions"] = .list(versions.map { ["version": .string($0.version), "accepted": .bool($0.accepted), "outcome": $0.message.value] })
        outputs["local_ports"] = .list((outputs["local_ports"]?.listValue ?? []) + versions.compactMap(\.localPort).map { .int(Int($0)) })
        return StepOutcome(
            // A replay's summary is the replayed client's handshakes (its control with SNI is in the facts and transcript).
            summary: Message(.handshakeSummary, ["attempts": .list(attempts.filter { profile == nil || $0.variant == profile?.sni.normalised(host: host) }.map { a in
                Message(.attemptLine, ["address": .typed(.endpoint(a.server)), "variant": a.variant.label, "outcome": a.outcomeMessage.value]).value
            })]),
            command: attempts.map { $0.command(options: Self.openSSLOptions(options)) }.joined(separator: "\n"),
            facts: facts(attempts, source: resolution.source),
            outputs: outputs,
            evidence: [.handshakes(HandshakeMatrix(host: host, attempts: attempts, timeout: timeout, versions: versions, profile: profile, checks: checks))],
            transcript: transcript(attempts),
            observations: attempts.filter { profile == nil || $0.variant == profile?.sni.normalised(host: host) }.map { a in
                var o = Observation(path: profile == nil ? .handshake(a.variant) : .replay, from: profile == nil ? .client : .proxy, to: .upstream,
                                    request: a.serverName.map { Message(.observeHelloSNI, ["name": .string($0)]) } ?? Message(.observeHelloNoSNI),
                                    answer: a.outcomeMessage, ok: a.established && (a.verifyCode ?? 0) == 0, server: a.server.description)
                o.endedByClient = a.fatalAlert?.sender == .client
                return o
            })
    }

    var emptyOutputs: [String: Value] {
        ["attempts": [], "alert": .null, "chain": .null, "chains": [], "addresses": [], "established": false, "verified": false, "versions": [],
         "local_ports": []]
    }

    /// The addresses to try: the input when given, else what the name resolves to locally.
    func resolve(_ host: String, context: StepContext) async throws -> (addresses: [IPAddress], source: Value) {
        if context.given("addresses") {
            let given = context.strings("addresses", splitCommas: true)
            var parsed: [IPAddress] = []
            for text in given {
                guard let address = IPAddress(text.hasPrefix("[") ? String(text.dropFirst().dropLast()) : text) else {
                    throw StepFailure(.inputNotAddress, ["input": "addresses", "value": .string(text)])
                }
                if !parsed.contains(address) { parsed.append(address) }
            }
            return (parsed, Message(.sourceInput).value)
        }
        let answer = await HostAddresses.resolve(host, deadline: context.deadline)
        return (answer.addresses, answer.source.message.value)
    }

    func facts(_ attempts: [HandshakeAttempt], source: Value) -> [Fact] {
        var seen = Set<Endpoint>()
        var facts = [Fact(.addresses, .list(attempts.map(\.server).filter { seen.insert($0).inserted }.map { .typed(.endpoint($0)) })),
                     Fact(.addressSource, source)]
        for a in attempts {
            facts.append(Fact(.attempt, Message(.attemptFact, ["address": .typed(.endpoint(a.server)), "variant": a.variant.label,
                                                               "outcome": a.outcomeMessage.value,
                                                               "connect": .string(a.connectMs.map { TextFormat.fixed($0, 1) } ?? "—"),
                                                               "handshake": .string(a.handshakeMs.map { TextFormat.fixed($0, 1) } ?? "—")])))
            if !a.acceptableCAs.isEmpty { facts.append(Fact(.acceptableCAs, .list(a.acceptableCAs.map(Value.string)))) }
        }
        return facts
    }

    /// Every distinct chain, with the endpoints and variants that saw it.
    static func chains(_ attempts: [HandshakeAttempt]) -> [CertificateChain] {
        var chains: [CertificateChain] = []
        var index: [String: Int] = [:]
        for a in attempts where !a.chain.isEmpty {
            let key = a.chain.map(\.sha256).joined(separator: "/")
            if let i = index[key] {
                if !chains[i].servers.contains(a.server) { chains[i].servers.append(a.server) }
                if !chains[i].variants.contains(a.variant) { chains[i].variants.append(a.variant) }
                continue
            }
            index[key] = chains.count
            chains.append(CertificateChain(certificates: a.chain, servers: [a.server], variants: [a.variant], serverName: a.serverName))
        }
        return chains
    }

    func outputs(_ attempts: [HandshakeAttempt], chains: [CertificateChain]) -> [String: Value] {
        let alert = attempts.compactMap(\.fatalAlert).first { $0.sender == .server } ?? attempts.compactMap(\.fatalAlert).first
        let withSNI = chains.first { !$0.seenOnlyWithoutSNI } ?? chains.first
        var seen = Set<Endpoint>()
        return [
            "attempts": .list(attempts.map(\.plain)),
            "alert": alert.map { .typed(.alert($0)) } ?? .null,
            "chain": withSNI.map { .typed(.chain($0)) } ?? .null,
            "chains": .list(chains.map { .typed(.chain($0)) }),
            "addresses": .list(attempts.map(\.server).filter { seen.insert($0).inserted }.map { .typed(.endpoint($0)) }),
            "established": .bool(attempts.contains { $0.established }),
            "verified": .bool(attempts.contains { $0.established && $0.verifyError == .ok }),
            "local_ports": .list(attempts.compactMap { $0.conversation?.client.port }.map { .int(Int($0)) }),
        ]
    }

    /// handshake.pcapng, sslkeylog.txt and one PEM file per distinct chain; returns the chain files by fingerprint.
    func writeEvidence(_ attempts: [HandshakeAttempt], chains: [CertificateChain], context: StepContext) throws -> [String: String] {
        var writer = PcapngWriter()
        // In the order the connections started, as a capture would show them.
        let started = attempts.filter { $0.conversation != nil }
            .sorted { ($0.conversation?.events.first?.microseconds ?? 0) < ($1.conversation?.events.first?.microseconds ?? 0) }
        let english = TextTable.english
        for a in started {
            a.conversation?.write(into: &writer, comment: "triage tls.handshake \(a.server) sni=\(a.variant) (\(a.serverName ?? "no server_name")): \(english.render(a.outcomeMessage))")
        }
        if !started.isEmpty {
            try context.evidence.write("handshake.pcapng", data: Data(writer.bytes), description: Message(.evidenceSelfCapture))
        }
        let keyLog = attempts.flatMap(\.keyLog)
        if !keyLog.isEmpty, context.bool("keylog") ?? true {
            try context.evidence.write("sslkeylog.txt", data: Data((keyLog.joined(separator: "\n") + "\n").utf8), description: Message(.evidenceKeyLog))
        }
        var files: [String: String] = [:]
        for chain in chains {
            guard let first = chain.servers.first, let variant = chain.variants.first else { continue }
            let name = "chain-\(first.address.description.replacingOccurrences(of: ":", with: "_"))-\(first.port)-\(variant.description.replacingOccurrences(of: ":", with: "_")).pem"
            let artifact = try context.evidence.write(name, text: chain.certificates.map(\.pem).joined(),
                                                      description: Message(.evidenceChain, ["address": .typed(.endpoint(first)), "variant": variant.label]))
            files[chain.fingerprint] = artifact.path
        }
        return files
    }

    /// Each stapled OCSP response read for the leaf it came with (its issuer: the next certificate sent).
    static func readStaples(_ attempts: inout [HandshakeAttempt], caFile: String?) {
        for i in attempts.indices {
            guard let response = attempts[i].stapledResponse, let leaf = attempts[i].chain.first else { continue }
            // The issuer: the next certificate sent, else the one the trust store holds (a leaf sent alone under its root).
            let issuer = attempts[i].chain.count >= 2 ? attempts[i].chain[1]
                : ChainVerifier.check(CertificateChain(certificates: [leaf]), caFile: caFile, at: Date()).path.dropFirst().first
            guard let issuer else { continue }
            attempts[i].staple = ChainVerifier.staple(response, leaf: leaf, issuer: issuer, caFile: caFile)
        }
    }

    /// The OpenSSL options that make a handshake the profile's.
    static func options(_ p: ClientProfile) -> TLSClientOptions {
        var o = TLSClientOptions()
        o.caFile = p.caFile
        o.clientCertificate = p.clientCertificate
        o.clientKey = p.clientKey
        o.minVersion = p.minVersion
        o.maxVersion = p.maxVersion
        o.alpn = p.alpn
        o.verifyDepth = p.verifyDepth
        // The security level stays OpenSSL's default, as nginx's does (`proxy_ssl_ciphers DEFAULT`).
        return o
    }

    /// TLS 1.3 down to 1.0, one handshake each at security level 0 (so that
    /// this client can speak what the server speaks), as the user's client names it.
    static func probeVersions(_ server: Endpoint, host: String, options: TLSClientOptions, timeout: Duration) async -> [VersionProbe] {
        let versions = ["TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1"]
        return await withTaskGroup(of: (Int, VersionProbe?).self) { group in
            for (index, version) in versions.enumerated() {
                var pinned = options
                pinned.minVersion = version
                pinned.maxVersion = version
                pinned.securityLevel = 0
                group.addTask {
                    guard let context = try? SSLContext(pinned) else { return (index, nil) }
                    let a = await HandshakeLoop.attempt(HandshakeSpec(server: server, host: host, variant: .asClient, context: context, timeout: timeout))
                    let message = Message(.versionProbeLine, ["version": .string(version), "outcome": a.outcomeMessage.value])
                    return (index, VersionProbe(version: version, accepted: a.established, message: message, localPort: a.conversation?.client.port))
                }
            }
            var out: [(Int, VersionProbe)] = []
            for await (index, probe) in group { if let probe { out.append((index, probe)) } }
            return out.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// The `openssl s_client` options that make its handshake this step's.
    static func openSSLOptions(_ o: TLSClientOptions) -> [String] {
        var out: [String] = []
        if let ca = o.caFile { out += ["-CAfile", ca] }
        if let cert = o.clientCertificate { out += ["-cert", cert, "-key", o.clientKey ?? cert] }
        if let depth = o.verifyDepth { out += ["-verify_depth", String(depth)] }
        let flags = ["TLSv1": "-tls1", "TLSv1.1": "-tls1_1", "TLSv1.2": "-tls1_2", "TLSv1.3": "-tls1_3"]
        let order = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
        if let min = o.minVersion, min == o.maxVersion, let flag = flags[min] {
            out.append(flag)
        } else if let max = o.maxVersion, let top = order.firstIndex(of: max) {
            // The versions above the client's highest, switched off as it does (nginx 1.22: no TLS 1.3).
            out += order[(top + 1)...].map { "-no_" + flags[$0]!.dropFirst() }
        }
        return out
    }

    /// Each attempt's messages, the failing ones first (the report shows the first lines).
    func transcript(_ attempts: [HandshakeAttempt]) -> String {
        let english = TextTable.english
        return (attempts.filter { !$0.established } + attempts.filter(\.established)).map { a in
            var lines = ["# \(a.command)", "# \(english.render(a.outcomeMessage))"]
            for m in a.messages {
                lines.append("\(TextFormat.rightAligned(TextFormat.fixed(m.atMs, 2), 8)) ms  \(m.sender == .client ? "client →" : "← server") \(m.description)")
            }
            if a.messageCount > a.messages.count { lines.append("… \(a.messageCount - a.messages.count) more messages not listed") }
            if let f = a.failure { lines.append("openssl: error:\(f.code): \(f.text)") }
            for (i, c) in a.chain.enumerated() {
                lines.append("cert \(i): subject=\(c.subject) issuer=\(c.issuer) notBefore=\(ISO8601.string(c.notBefore)) notAfter=\(ISO8601.string(c.notAfter))")
            }
            return lines.joined(separator: "\n")
        }.joined(separator: "\n\n")
    }
}
