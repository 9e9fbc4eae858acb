import Foundation
import TriageKit
import TriageWire

/// `dns.resolve`: A, AAAA and the CNAME chain with TTLs from the resolvers
/// of /etc/resolv.conf (or `server`), next to what getaddrinfo returns — the
/// addresses nginx and curl actually get, /etc/hosts included.
///
/// Never sends a query for an IP literal, a name /etc/hosts answers, or a
/// special-use name (RFC 6761: localhost, .localhost, .test, .invalid,
/// .example). With an explicit `server`, getaddrinfo is not asked (it would
/// go to the system's resolvers instead). A truncated UDP answer is asked
/// again over TCP. Commands: `dig +noall +answer …`, `getent ahosts HOST`.
public struct DNSResolveStep: StepKind {
    public let name = "dns.resolve"
    public let summary = "A, AAAA and CNAME chain with TTLs from the resolvers (TCP after a truncated answer), next to getaddrinfo and /etc/hosts"
    public let inputs: [InputDeclaration] = [
        .init("host", .string, required: true, "the name to resolve"),
        .init("server", .string, "ask this resolver (ADDR or ADDR:PORT) instead of /etc/resolv.conf's"),
        .init("timeout", .duration, "per question, UDP and TCP together (default 2s)"),
        .init("addresses", .stringOrList, "use these addresses instead of resolving (list or comma-separated)"),
    ]
    public let outputs: [OutputDeclaration] = [
        .init("addresses", .list(.address), "the addresses, A before AAAA"),
        .init("cname_chain", .list(.string), "name → target (ttl N), from the question"),
        .init("source", .string, "where the addresses came from: input, literal, /etc/hosts, special-use, or the resolver ADDR:PORT"),
    ]

    public init() {}

    public func run(_ context: StepContext) async throws -> StepOutcome {
        guard let host = context.string("host")?.lowercased() else { throw StepFailure(.inputEmpty, ["step": .string(name), "input": "host"]) }
        let server = context.string("server")
        let timeout = min(try context.duration("timeout") ?? .seconds(2), context.remaining)
        let given = context.strings("addresses", splitCommas: true)
        if !given.isEmpty {
            var parsed: [IPAddress] = []
            for text in given {
                guard let a = IPAddress(text.hasPrefix("[") ? String(text.dropFirst().dropLast()) : text) else {
                    throw StepFailure(.inputNotAddress, ["input": "addresses", "value": .string(text)])
                }
                if !parsed.contains(a) { parsed.append(a) }
            }
            return local(host, parsed, source: "input", why: Message(.dnsPinned, ["host": .string(host), "addresses": .list(parsed.map { .typed(.address($0)) })]))
        }
        if let literal = IPAddress(host) {
            return local(host, [literal], source: "literal", why: Message(.dnsLiteral, ["host": .string(host)]))
        }
        let hosts = HostAddresses.lookupHostsFile(host, path: "/etc/hosts")
        if !hosts.isEmpty {
            return local(host, hosts, source: "/etc/hosts", why: Message(.dnsHostsFile, ["host": .string(host), "addresses": .list(hosts.map { .typed(.address($0)) })]))
        }
        if HostAddresses.isSpecialUse(host) {
            let answer = await HostAddresses.resolve(host, deadline: context.deadline)
            guard !answer.addresses.isEmpty else {
                return StepOutcome(summary: Message(.dnsSpecialUseNone, ["host": .string(host)]), command: "getent ahosts \(host)",
                                   facts: [Fact(.addressSource, Message(.sourceSpecialUse))],
                                   outputs: ["addresses": [], "cname_chain": [], "source": "special-use"],
                                   evidence: [.unresolved(Unresolved(host: host, source: Message(.sourceSpecialUse).value, specialUse: true))])
            }
            return local(host, answer.addresses, source: "special-use", why: Message(.dnsSpecialUse, ["host": .string(host)]))
        }
        let servers = server.map { [$0] } ?? DNSClient.systemServers()
        guard let client = servers.lazy.compactMap({ DNSClient(server: $0, timeout: timeout) }).first else {
            throw StepFailure(.dnsNoResolver, ["server": .string(server ?? "—"), "system": .list(servers.map(Value.string))])
        }
        let lookups = await onPool { cancel in [DNSMessage.RecordType.a, .aaaa].map { client.lookup(host, type: $0, cancel: cancel) } }
        try Task.checkCancellation()
        // getaddrinfo asks the system's resolvers: only when the user named none.
        let system: [IPAddress]? = server == nil
            ? await { let a = await HostAddresses.resolve(host, deadline: context.deadline); return a.addresses }() : nil
        let resolution = DNSResolution(host: host, server: client.server, lookups: lookups, system: system)
        let rules = DNSRules(resolution)
        let addresses = rules.addresses
        let dig = client.server.port == 53 ? "@\(client.server.address)" : "@\(client.server.address) -p \(client.server.port)"
        // What to say in the summary when there is no address (the diagnosis says it too, from the same answers).
        let why = rules.findings.first?.summary
        return StepOutcome(
            summary: addresses.isEmpty ? Message(.dnsNoAddress, ["host": .string(host), "why": why?.value ?? Message(.noAnswer).value])
                : Message(.dnsSummary, ["host": .string(host), "addresses": .list(addresses.map { .typed(.address($0)) }),
                                        "cnames": .int(rules.cnameChain.count), "server": .typed(.endpoint(client.server))]),
            command: ["dig +noall +answer \(dig) \(host) A", "dig +noall +answer \(dig) \(host) AAAA", "getent ahosts \(host)"].joined(separator: "\n"),
            facts: rules.facts,
            outputs: ["addresses": .list(addresses.map { .typed(.address($0)) }), "cname_chain": .list(rules.cnameChain.map(Value.string)),
                      "source": .string(client.server.description)],
            evidence: [.resolution(resolution)],
            transcript: rules.transcript,
            observations: [Observation(path: .all, from: .client, to: .resolver,
                                       request: Message(.observeDNSQuestion, ["host": .string(host)]),
                                       answer: addresses.isEmpty ? (why ?? Message(.noAnswer))
                                           : Message(.observeDNSAnswer, ["addresses": .list(addresses.map { .typed(.address($0)) })]),
                                       ok: !addresses.isEmpty, server: client.server.description)])
    }

    /// The `source` output's code, as the report's fact says it (in its language).
    static func sourceLabel(_ source: String) -> Value {
        switch source {
        case "input": Message(.sourceInput).value
        case "literal": Message(.sourceLiteral).value
        case "/etc/hosts": Message(.sourceHostsFile).value
        case "special-use": Message(.sourceSpecialUse).value
        default: .string(source)
        }
    }

    func local(_ host: String, _ addresses: [IPAddress], source: String, why: Message) -> StepOutcome {
        // Pinned by the user (`--resolve`, `--set addresses`): nothing was looked up, and the name may be in no
        // resolver at all (`getent` then exits 2): no command to repeat.
        StepOutcome(summary: why, command: source == "input" ? nil : "getent ahosts \(host)",
                    facts: [Fact(.addresses, .list(addresses.map { .typed(.address($0)) })), Fact(.addressSource, Self.sourceLabel(source))],
                    outputs: ["addresses": .list(addresses.map { .typed(.address($0)) }), "cname_chain": [], "source": .string(source)])
    }
}
