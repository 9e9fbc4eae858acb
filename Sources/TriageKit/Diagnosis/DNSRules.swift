import TriageWire

/// What a resolver's answers say: the addresses and CNAME chain, and a
/// `dns-failure` with the precise reason when they give no address.
public struct DNSRules: Sendable {
    public let resolution: DNSResolution
    /// More address records than this is not an answer to follow.
    public static let maximumAddresses = 256
    public static let maximumCNAMEs = 16

    public init(_ resolution: DNSResolution) { self.resolution = resolution }

    var host: String { resolution.host }
    var server: Value { .typed(.endpoint(resolution.server)) }

    /// The addresses, in answer order, A before AAAA.
    public var addresses: [IPAddress] {
        var out: [IPAddress] = []
        for lookup in resolution.lookups {
            guard case .success(let m) = lookup.result, m.rcode == 0 else { continue }
            for r in m.answers where r.type == lookup.type.rawValue {
                if let a = IPAddress(r.data), !out.contains(a) { out.append(a) }
            }
        }
        return Array(out.prefix(Self.maximumAddresses))
    }

    /// `name → target (ttl N)`, followed from the question, at most `maximumCNAMEs` deep.
    public var cnameChain: [String] {
        var byName: [String: DNSMessage.Record] = [:]
        for lookup in resolution.lookups {
            guard case .success(let m) = lookup.result else { continue }
            for r in m.answers where r.type == DNSMessage.RecordType.cname.rawValue { byName[r.name.lowercased()] = r }
        }
        var chain: [String] = []
        var name = host.lowercased()
        var seen: Set<String> = [name]
        while let r = byName[name], chain.count < Self.maximumCNAMEs {
            chain.append("\(r.name) → \(r.data) (ttl \(r.ttl))")
            name = r.data.lowercased()
            guard seen.insert(name).inserted else { break }
        }
        return chain
    }

    var cnameLoops: Bool {
        var byName: [String: String] = [:]
        for lookup in resolution.lookups {
            guard case .success(let m) = lookup.result else { continue }
            for r in m.answers where r.type == DNSMessage.RecordType.cname.rawValue { byName[r.name.lowercased()] = r.data.lowercased() }
        }
        var name = host.lowercased()
        var seen: Set<String> = [name]
        while let next = byName[name] {
            if !seen.insert(next).inserted || seen.count > Self.maximumCNAMEs + 1 { return true }
            name = next
        }
        return false
    }

    var addressRecordCount: Int {
        resolution.lookups.reduce(0) { n, lookup in
            guard case .success(let m) = lookup.result else { return n }
            return n + m.answers.filter { $0.type == lookup.type.rawValue }.count
        }
    }

    public var findings: [Finding] {
        let facts = [Fact(.resolver, server), Fact(.host, .string(host))]
        if cnameLoops {
            return [Finding(.dnsFailure, summary: Message(.findingCNAMELoop, ["host": .string(host), "chain": .list(cnameChain.map(Value.string))]),
                            subject: host, facts: facts + [Fact(.cnameChain, .list(cnameChain.map(Value.string)))])]
        }
        if addressRecordCount > Self.maximumAddresses {
            return [Finding(.dnsFailure, summary: Message(.findingTooManyRecords, ["host": .string(host), "count": .int(addressRecordCount),
                                                                                   "limit": .int(Self.maximumAddresses)]),
                            subject: host, facts: facts)]
        }
        guard addresses.isEmpty else { return [] }
        // No address: say why, from the most telling lookup.
        for lookup in resolution.lookups {
            switch lookup.result {
            case .failure(let failure):
                let (key, detail): (MessageKey, String) = switch failure {
                case .timedOut: (.findingDNSTimeout, "")
                case .refused: (.findingDNSRefused, "")
                case .network(let why): (.findingDNSNetwork, why)
                case .malformed(let why): (.findingDNSMalformed, why)
                }
                return [Finding(.dnsFailure, summary: Message(key, ["host": .string(host), "server": server, "type": .string(lookup.type.name),
                                                                    "detail": .string(detail)]),
                                subject: host, facts: facts + [Fact(.queryType, .string(lookup.type.name))])]
            case .success(let m) where m.rcode != 0:
                let rcode = DNSMessage.rcodeName(m.rcode)
                return [Finding(.dnsFailure, summary: Message(m.rcode == 3 ? .findingNXDOMAIN : .findingRcode,
                                                              ["host": .string(host), "server": server, "rcode": .string(rcode)]),
                                subject: host, facts: facts + [Fact(.rcode, .string(rcode))])]
            default:
                continue
            }
        }
        return [Finding(.dnsFailure, summary: Message(.findingNoAddressRecord, ["host": .string(host), "server": server]), subject: host, facts: facts)]
    }

    public var facts: [Fact] {
        var facts: [Fact] = [Fact(.resolver, server)]
        for lookup in resolution.lookups {
            switch lookup.result {
            case .failure(let f):
                facts.append(Fact(.dnsRecord, .string(";; \(lookup.type.name): \(Self.describe(f))")))
            case .success(let m):
                if m.rcode != 0 { facts.append(Fact(.rcode, .string("\(lookup.type.name) \(DNSMessage.rcodeName(m.rcode))"))) }
                if lookup.retriedOverTCP { facts.append(Fact(.truncated, .bool(true))); facts.append(Fact(.note, Message(.dnsRetriedTCP, ["type": .string(lookup.type.name)]))) }
            }
        }
        if !cnameChain.isEmpty { facts.append(Fact(.cnameChain, .list(cnameChain.map(Value.string)))) }
        facts.append(Fact(.addresses, .list(addresses.map { .typed(.address($0)) })))
        if let system = resolution.system {
            facts.append(Fact(.getaddrinfo, .list(system.map { .typed(.address($0)) })))
            if Set(system) != Set(addresses), !(system.isEmpty && addresses.isEmpty) {
                facts.append(Fact(.note, Message(.dnsSystemDiffers)))
            }
        }
        return facts
    }

    /// The answer as dig prints it.
    public var transcript: String {
        var lines: [String] = []
        for lookup in resolution.lookups {
            switch lookup.result {
            case .failure(let f): lines.append(";; \(lookup.type.name): \(Self.describe(f))")
            case .success(let m):
                if lookup.retriedOverTCP { lines.append(";; \(lookup.type.name): truncated over UDP, asked again over TCP") }
                lines.append(";; \(lookup.type.name): \(DNSMessage.rcodeName(m.rcode)), \(m.answers.count) answer(s)")
                for r in m.answers.prefix(300) {
                    let typeName = DNSMessage.RecordType(rawValue: r.type)?.name ?? "TYPE\(r.type)"
                    lines.append("\(r.name).\t\(r.ttl)\tIN\t\(typeName)\t\(r.data)\(r.type == 5 ? "." : "")")
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    static func describe(_ f: DNSLookup.Failure) -> String {
        switch f {
        case .timedOut: "no answer"
        case .refused: "refused (nothing listens on the resolver's port)"
        case .network(let why): why
        case .malformed(let why): "malformed answer: \(why)"
        }
    }
}
