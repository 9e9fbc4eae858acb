import TriageWire

/// One question asked of a resolver and how it went.
public struct DNSLookup: Sendable {
    public enum Failure: Error, Sendable, Hashable {
        /// No answer within the deadline (UDP, and TCP when it was tried).
        case timedOut
        /// ICMP port unreachable / RST: nothing listens on the resolver's port.
        case refused
        case network(String)
        /// An answer that is not a DNS message, or not an answer to the question.
        case malformed(String)
    }

    public var type: DNSMessage.RecordType
    public var result: Result<DNSMessage, Failure>
    /// The UDP answer had the TC bit and the question was asked again over TCP (RFC 7766).
    public var retriedOverTCP: Bool

    public init(type: DNSMessage.RecordType, result: Result<DNSMessage, Failure>, retriedOverTCP: Bool = false) {
        self.type = type
        self.result = result
        self.retriedOverTCP = retriedOverTCP
    }
}

/// Every lookup of one `dns.resolve` run.
public struct DNSResolution: Sendable {
    public var host: String
    public var server: Endpoint
    public var lookups: [DNSLookup]
    /// What getaddrinfo returned (nil when it was not asked: an explicit resolver).
    public var system: [IPAddress]?

    public init(host: String, server: Endpoint, lookups: [DNSLookup], system: [IPAddress]?) {
        self.host = host
        self.server = server
        self.lookups = lookups
        self.system = system
    }
}
