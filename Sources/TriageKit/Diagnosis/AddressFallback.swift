import TriageWire

/// Addresses as clients use them: curl races a name's addresses (Happy
/// Eyeballs, RFC 8305) and takes the first that connects; nginx retries the
/// next server on a connection error. triage reproduces each address on its
/// own, so an address that refuses beside one that works is what the user's
/// client falls back from — a warning (`address-unreachable`), not the
/// cause; the findings on the working address stay the root cause.
public enum AddressFallback {
    public static let connectCauses: Set<Cause> = [.connectionRefused, .addressUnreachable, .timeout]

    static func apply(_ findings: [Finding], evidence: CaseEvidence) -> [Finding] {
        let direct = evidence.exchanges(.direct).map(\.value)
        guard direct.count > 1 else { return findings }
        let working = direct.filter(\.connected).compactMap(\.endpoint)
        guard !working.isEmpty else { return findings }
        return findings.map { f in
            guard f.path == .http(.direct), f.severity == .problem, connectCauses.contains(f.cause),
                  let e = direct.first(where: { !$0.connected && Redactor.redact($0.url) == f.subject && $0.endpoint != nil })?.endpoint,
                  !working.contains(e) else { return f }
            return warning(from: f, endpoint: e, working: working).on(f.path)
        }
    }

    /// The warning a client that falls back sees for an address that failed to connect.
    public static func warning(from f: Finding, endpoint e: Endpoint, working: [Endpoint]) -> Finding {
        Finding(.addressUnreachable, severity: .warning,
                summary: Message(.findingAddressUnreachable, ["address": .typed(.endpoint(e)), "what": f.summary.value,
                                                              "family": .string(e.address.family.rawValue),
                                                              "working": .list(working.map { .typed(.endpoint($0)) })]),
                subject: e.description, facts: f.facts + [Fact(.family, .string(e.address.family.rawValue))],
                remedyArgs: ["address": .typed(.endpoint(e))], step: f.step)
    }
}

extension HTTPExchange {
    /// The TCP connection was made (curl got past connect).
    public var connected: Bool { code != .couldntConnect && timings.connect > 0 }

    /// The endpoint this request went to: the address it was pinned to, else curl's primary one.
    public var endpoint: Endpoint? {
        if let pinned, let port = URLPart.port.extract(from: url).intValue { return Endpoint(pinned, port: UInt16(clamping: port)) }
        return primary
    }
}
