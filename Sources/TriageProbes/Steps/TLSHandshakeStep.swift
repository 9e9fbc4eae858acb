import Foundation
import TriageKit
import TriageWire

/// `tls.handshake`: an OpenSSL handshake per address × SNI variant.
///
/// Inputs: `host`, `port` (443), `addresses` (default: what the name
/// resolves to; a list or a comma-separated string), `sni` (`as-client`,
/// `none`, `ip` or a name; default both as-client and none), `min_version`,
/// `max_version`, `ca_file`, `client_cert`, `client_key`, `alpn`, `timeout`
/// (per connection, default 5s).
///
/// Keeps, per attempt: connect and handshake time, version, cipher, ALPN,
/// every handshake message and alert with its sender, the verify result, the
/// CA names of a CertificateRequest, the peer chain (`chain-*.pem`), and the
/// `openssl s_client` command. Every connection is also written byte for
/// byte to `handshake.pcapng`, with the TLS secrets in `sslkeylog.txt`.
///
/// Outputs: `attempts`, `alert` (the first fatal alert: code, name, sender,
/// variant, address), `chain` (PEM list of the chain seen with SNI),
/// `chains` (every distinct chain with the address and variants that saw it),
/// `established` (some attempt completed), `verified` (some attempt completed
/// with a certificate that verifies).
public struct TLSHandshakeStep: StepKind {
    public let name = "tls.handshake"
    public let summary = "OpenSSL handshake per address × SNI variant: messages, alerts, verify result, chain, self-capture"
    public let inputs: [InputDeclaration] = [
        .init("host", .string, required: true, "the server name (SNI as-client, hostname check)"),
        .init("port", .integer, "the TCP port (default 443)"),
        .init("addresses", .stringOrList, "addresses to try (default: what host resolves to)"),
        .init("sni", .stringOrList, "SNI variants: as-client, none, ip, or a name (default [as-client, none])"),
        .init("min_version", .string, "lowest TLS version to offer, e.g. TLSv1.2"),
        .init("max_version", .string, "highest TLS version to offer"),
        .init("ca_file", .string, "trust this CA bundle instead of the system store"),
        .init("client_cert", .string, "client certificate (PEM)"),
        .init("client_key", .string, "client key (PEM; default: client_cert)"),
        .init("alpn", .stringOrList, "ALPN protocols to offer, e.g. [h2, http/1.1]"),
        .init("timeout", .duration, "per connection: connect + handshake (default 5s)"),
    ]

    public init() {}

    public func run(_ context: StepContext) async throws -> StepOutcome {
        guard let host = context.string("host") else { throw StepFailure("tls.handshake: 'host' is empty") }
        let port = context.string("port").flatMap(Int.init) ?? 443
        var options = TLSClientOptions()
        options.caFile = context.string("ca_file")
        options.clientCertificate = context.string("client_cert")
        options.clientKey = context.string("client_key")
        options.minVersion = context.string("min_version")
        options.maxVersion = context.string("max_version")
        options.alpn = context.strings("alpn")
        options.timeout = min(context.duration("timeout") ?? .seconds(5), context.remaining)
        var addresses = context.strings("addresses").flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        var resolvedFrom = "the addresses input"
        if addresses.isEmpty {
            let answer = HostAddresses.resolve(host)
            addresses = answer.addresses
            resolvedFrom = answer.source
        }
        guard !addresses.isEmpty else {
            let finding = Finding(.dnsFailure, summary: "\(host) resolves to no address", subject: host,
                                  facts: [Fact("host", .string(host))])
            return StepOutcome(summary: "\(host) resolves to no address; nothing to connect to", command: "getent ahosts \(host)",
                               findings: [finding])
        }
        // Duplicates collapse: a proxy's SNI equal to the host is the as-client variant.
        var variants: [SNIVariant] = []
        for variant in (context.strings("sni").isEmpty ? ["as-client", "none"] : context.strings("sni")).map(SNIVariant.init) {
            let normalised = variant == .name(host) ? .asClient : variant
            if !variants.contains(normalised) { variants.append(normalised) }
        }
        let clientContext = try TLSClientContext(options)
        let attemptOptions = options
        let plan = addresses.flatMap { address in variants.map { (address, $0) } }
        let attempts = await withTaskGroup(of: (Int, HandshakeAttempt).self) { group in
            for (index, (address, variant)) in plan.enumerated() {
                group.addTask {
                    (index, await onThread { cancel in
                        TLSConnection.attempt(clientContext, address: address, port: port, host: host, variant: variant,
                                              options: attemptOptions, cancel: cancel)
                    })
                }
            }
            var out: [(Int, HandshakeAttempt)] = []
            for await result in group { out.append(result) }
            return out.sorted { $0.0 < $1.0 }.map(\.1)
        }
        try Task.checkCancellation()
        let evidence = try writeEvidence(attempts, context: context)
        let findings = HandshakeFindings(attempts: attempts, host: host, now: context.runStartedAt).findings
        return StepOutcome(
            summary: attempts.map { "\($0.addressPort) \($0.variant): \($0.outcomeText)" }.joined(separator: "; "),
            command: attempts.map { $0.command }.joined(separator: "\n"),
            facts: facts(attempts, resolvedFrom: resolvedFrom),
            outputs: outputs(attempts, chainFiles: evidence),
            findings: findings,
            transcript: transcript(attempts))
    }

    func facts(_ attempts: [HandshakeAttempt], resolvedFrom: String) -> [Fact] {
        var facts = [Fact("addresses", .string(Array(Set(attempts.map(\.address))).sorted().joined(separator: ", ") + " (from \(resolvedFrom))"))]
        for a in attempts {
            var text = a.outcomeText
            if let c = a.connectMs, let h = a.handshakeMs { text += "; connect \(TextFormat.fixed(c, 1)) ms, handshake \(TextFormat.fixed(h, 1)) ms" }
            facts.append(Fact("\(a.addressPort) \(a.variant)", .string(text)))
            if !a.acceptableCAs.isEmpty {
                facts.append(Fact("\(a.addressPort) \(a.variant) acceptable CAs", .string(a.acceptableCAs.joined(separator: "; "))))
            }
        }
        return facts
    }

    func outputs(_ attempts: [HandshakeAttempt], chainFiles: [String: String]) -> [String: Value] {
        let alert = attempts.first { $0.fatalAlert?.sender == .server } ?? attempts.first { $0.fatalAlert != nil }
        let withSNI = attempts.first { $0.variant != .none && !$0.chain.isEmpty } ?? attempts.first { !$0.chain.isEmpty }
        var chains: [Value] = []
        var seen: [String: Int] = [:]
        for a in attempts where !a.chain.isEmpty {
            let key = a.chain.map(\.sha256).joined(separator: "/")
            if let i = seen[key], case .object(var o) = chains[i] {
                o["variants"] = .list((o["variants"]?.listValue ?? []) + [.string(a.variant.description)])
                o["addresses"] = .list((o["addresses"]?.listValue ?? []) + [.string(a.addressPort)])
                chains[i] = .object(o)
                continue
            }
            seen[key] = chains.count
            chains.append(["address": .string(a.addressPort), "addresses": [.string(a.addressPort)],
                           "variants": [.string(a.variant.description)], "sni": a.serverName.map(Value.string) ?? .null,
                           "pem": .list(a.chain.map { .string($0.pem) }), "file": chainFiles[key].map(Value.string) ?? .null])
        }
        return [
            "attempts": .list(attempts.map(\.asValue)),
            "alert": alert.flatMap { a in a.fatalAlert.map { a.alertValue($0) } } ?? .null,
            "chain": .list(withSNI?.chain.map { .string($0.pem) } ?? []),
            "chains": .list(chains),
            "established": .bool(attempts.contains { $0.established }),
            "verified": .bool(attempts.contains { $0.established && $0.verifyCode == 0 }),
        ]
    }

    /// handshake.pcapng, sslkeylog.txt and one PEM file per distinct chain.
    func writeEvidence(_ attempts: [HandshakeAttempt], context: StepContext) throws -> [String: String] {
        var writer = PcapngWriter()
        // In the order the connections started, as a capture would show them.
        let started = attempts.filter { $0.conversation != nil }.sorted { ($0.conversation?.events.first?.microseconds ?? 0) < ($1.conversation?.events.first?.microseconds ?? 0) }
        for a in started {
            a.conversation?.write(into: &writer, comment: "triage tls.handshake \(a.addressPort) sni=\(a.variant) (\(a.serverName ?? "no server_name")): \(a.outcomeText)")
        }
        if attempts.contains(where: { $0.conversation != nil }) {
            try context.evidence.write("handshake.pcapng", data: Data(writer.bytes),
                                       description: "every connection of this step, as sent and received (open in Wireshark)")
        }
        let keyLog = attempts.flatMap(\.keyLog)
        if !keyLog.isEmpty {
            try context.evidence.write("sslkeylog.txt", data: Data((keyLog.joined(separator: "\n") + "\n").utf8),
                                       description: "TLS secrets (NSS key log) to decrypt handshake.pcapng in Wireshark")
        }
        var files: [String: String] = [:]
        for a in attempts where !a.chain.isEmpty {
            let key = a.chain.map(\.sha256).joined(separator: "/")
            guard files[key] == nil else { continue }
            let name = "chain-\(a.address.replacingOccurrences(of: ":", with: "_"))-\(a.variant.description.replacingOccurrences(of: ":", with: "_")).pem"
            let artifact = try context.evidence.write(name, text: a.chain.map(\.pem).joined(),
                                                      description: "certificate chain sent by \(a.addressPort) (sni \(a.variant))")
            files[key] = artifact.path
        }
        return files
    }

    func transcript(_ attempts: [HandshakeAttempt]) -> String {
        attempts.map { a in
            var lines = ["# \(a.command)", "# \(a.outcomeText)"]
            for m in a.messages {
                lines.append("\(TextFormat.rightAligned(TextFormat.fixed(m.atMs, 2), 8)) ms  \(m.sender == .client ? "client →" : "← server") \(m.description)")
            }
            for e in a.errors { lines.append("openssl: \(e)") }
            for (i, c) in a.chain.enumerated() {
                lines.append("cert \(i): subject=\(c.subject) issuer=\(c.issuer) notBefore=\(ISO8601.string(c.notBefore)) notAfter=\(ISO8601.string(c.notAfter))")
            }
            return lines.joined(separator: "\n")
        }.joined(separator: "\n\n")
    }
}
