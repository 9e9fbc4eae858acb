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
/// go to the system's resolvers instead).
///
/// Inputs: `host` (required), `server` (`ADDR` or `ADDR:PORT`), `timeout`
/// (per query, 2s), `addresses` (pins the answer: nothing is resolved). Outputs: `addresses`, `cname_chain`, `source`.
/// Findings: NXDOMAIN, SERVFAIL, no answer, no address → `dns-failure`.
/// Commands: `dig +noall +answer HOST A` / `AAAA`, `getent ahosts HOST`.
public struct DNSResolveStep: StepKind {
    public let name = "dns.resolve"
    public let summary = "A, AAAA and CNAME chain with TTLs from the resolvers, next to getaddrinfo and /etc/hosts"
    public let inputs: [InputDeclaration] = [
        .init("host", .string, required: true, "the name to resolve"),
        .init("server", .string, "ask this resolver (ADDR or ADDR:PORT) instead of /etc/resolv.conf's"),
        .init("timeout", .duration, "per query (default 2s)"),
        .init("addresses", .stringOrList, "use these addresses instead of resolving (list or comma-separated)"),
    ]

    public init() {}

    public func run(_ context: StepContext) async throws -> StepOutcome {
        guard let host = context.string("host")?.lowercased() else { throw StepFailure("dns.resolve: 'host' is empty") }
        let server = context.string("server")
        let timeout = min(context.duration("timeout") ?? .seconds(2), context.remaining)
        let given = context.strings("addresses").flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        if !given.isEmpty {
            return local(host, given, source: "input", why: "\(host) pinned to \(given.joined(separator: ", ")) by the addresses input (no DNS query sent)")
        }
        if HostAddresses.isIPLiteral(host) {
            return local(host, [host], source: "literal", why: "\(host) is an IP address: nothing to resolve")
        }
        let hosts = HostAddresses.lookupHostsFile(host, path: "/etc/hosts")
        if !hosts.isEmpty {
            return local(host, hosts, source: "/etc/hosts", why: "/etc/hosts answers \(host): \(hosts.joined(separator: ", ")) (no DNS query sent)")
        }
        if HostAddresses.isSpecialUse(host) {
            let answer = HostAddresses.resolve(host)
            let why = "\(host) is a special-use name (RFC 6761): no DNS query sent"
            guard !answer.addresses.isEmpty else {
                return StepOutcome(summary: why + "; it has no address", command: "getent ahosts \(host)",
                                   facts: [Fact("source", "special-use")], outputs: ["addresses": [], "cname_chain": [], "source": "special-use"],
                                   findings: [Finding(.dnsFailure, summary: "\(host) is a special-use name that /etc/hosts does not list", subject: host)])
            }
            return local(host, answer.addresses, source: "special-use", why: why)
        }
        let servers = server.map { [$0] } ?? DNSClient.systemServers()
        guard let client = servers.lazy.compactMap({ DNSClient(server: $0, timeout: timeout) }).first else {
            throw StepFailure("dns.resolve: no usable resolver (server input '\(server ?? "")', /etc/resolv.conf: \(servers.joined(separator: ", ")))")
        }
        let lookups = await onThread { cancel in
            [DNSMessage.RecordType.a, .aaaa].map { type in (type, Result { () throws(DNSClient.Failure) in try client.query(host, type: type, cancel: cancel) }) }
        }
        let system = server == nil ? await onThread { _ in HostAddresses.getaddrinfo(host) } : nil
        return DNSReport(host: host, server: client.label, lookups: lookups, system: system).outcome
    }

    func local(_ host: String, _ addresses: [String], source: String, why: String) -> StepOutcome {
        StepOutcome(summary: why, command: "getent ahosts \(host)",
                    facts: [Fact("addresses", .string(addresses.joined(separator: ", "))), Fact("source", .string(source))],
                    outputs: ["addresses": .list(addresses.map(Value.string)), "cname_chain": [], "source": .string(source)])
    }
}

/// The answers of one dns.resolve run, as facts, outputs and findings.
struct DNSReport {
    let host: String
    let server: String
    let lookups: [(DNSMessage.RecordType, Result<DNSMessage, DNSClient.Failure>)]
    let system: [String]?

    var outcome: StepOutcome {
        var facts: [Fact] = [Fact("resolver", .string(server))]
        var addresses: [String] = []
        var chain: [String] = []
        var findings: [Finding] = []
        var lines: [String] = []
        for (type, result) in lookups {
            switch result {
            case .failure(let error):
                facts.append(Fact(type.name, .string(error.description)))
                lines.append(";; \(type.name): \(error.description)")
                findings.append(Finding(.dnsFailure, summary: "\(type.name) query for \(host): \(error.description)", subject: host,
                                        facts: [Fact("resolver", .string(server)), Fact("type", .string(type.name))]))
            case .success(let message):
                let rcode = DNSMessage.rcodeName(message.rcode)
                // A truncated UDP answer is used as it is: triage does not retry over TCP.
                if message.truncated { facts.append(Fact("\(type.name) note", "answer truncated (TC bit); not retried over TCP")) }
                for r in message.answers {
                    let typeName = DNSMessage.RecordType(rawValue: r.type)?.name ?? "TYPE\(r.type)"
                    lines.append("\(r.name).\t\(r.ttl)\tIN\t\(typeName)\t\(r.data)\(r.type == 5 ? "." : "")")
                    if r.type == DNSMessage.RecordType.cname.rawValue, !chain.contains("\(r.name) → \(r.data) (ttl \(r.ttl))") {
                        chain.append("\(r.name) → \(r.data) (ttl \(r.ttl))")
                    }
                    if r.type == type.rawValue, !addresses.contains(r.data) { addresses.append(r.data) }
                }
                let found = message.answers.filter { $0.type == type.rawValue }
                facts.append(Fact(type.name, .string(message.rcode != 0 ? rcode
                    : found.isEmpty ? "no \(type.name) record" : found.map { "\($0.data) (ttl \($0.ttl))" }.joined(separator: ", "))))
                if message.rcode != 0, !findings.contains(where: { $0.facts.contains(Fact("rcode", .string(rcode))) }) {
                    findings.append(Finding(.dnsFailure, summary: "\(server) answers \(rcode) for \(host)\(message.rcode == 3 ? ": the name does not exist" : "")",
                                            subject: host, facts: [Fact("rcode", .string(rcode)), Fact("resolver", .string(server))]))
                }
            }
        }
        if !chain.isEmpty { facts.insert(Fact("CNAME chain", .string(chain.joined(separator: "; "))), at: 1) }
        let answered = lookups.contains { if case .success(let m) = $0.1 { m.rcode == 0 } else { false } }
        if addresses.isEmpty, answered, findings.isEmpty {
            findings.append(Finding(.dnsFailure, summary: "\(server) knows \(host) but returns no A or AAAA record", subject: host,
                                    facts: [Fact("resolver", .string(server))]))
        }
        if let system {
            facts.append(Fact("getaddrinfo", .string(system.isEmpty ? "no address" : system.joined(separator: ", "))))
            if Set(system) != Set(addresses), !(system.isEmpty && addresses.isEmpty) {
                facts.append(Fact("note", .string("getaddrinfo (what curl and nginx get) differs from the DNS answer: check /etc/hosts, nsswitch.conf and search domains")))
            }
        }
        // Addresses came from DNS: a failed AAAA next to a good A is not a failure.
        if !addresses.isEmpty { findings.removeAll { $0.facts.contains(Fact("type", "AAAA")) || $0.facts.contains(Fact("type", "A")) } }
        let at = server.hasSuffix(":53") ? "@\(server.dropLast(3))" : "@\(server.split(separator: ":").first ?? "") -p \(server.split(separator: ":").last ?? "53")"
        return StepOutcome(
            summary: addresses.isEmpty ? "\(host): no address (\(findings.first?.summary ?? "no answer"))"
                : "\(host) → \(addresses.joined(separator: ", "))\(chain.isEmpty ? "" : " via CNAME \(chain.count)") from \(server)",
            command: ["dig +noall +answer \(at) \(host) A", "dig +noall +answer \(at) \(host) AAAA", "getent ahosts \(host)"].joined(separator: "\n"),
            facts: facts,
            outputs: ["addresses": .list(addresses.map(Value.string)), "cname_chain": .list(chain.map(Value.string)), "source": .string(server)],
            findings: findings,
            transcript: lines.joined(separator: "\n"))
    }
}
