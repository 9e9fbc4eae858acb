import Foundation

/// Everything a case's steps saw, in step order, each item with the step
/// that saw it: what the rules read. A case built by hand (the rule matrix)
/// and a recorded run are judged the same way.
public struct CaseEvidence: Sendable {
    public struct Item: Sendable {
        public var step: String
        public var evidence: Evidence

        public init(step: String, _ evidence: Evidence) {
            self.step = step
            self.evidence = evidence
        }
    }

    /// The URL's host: the name the user's client asks for.
    public var host: String?
    /// The URL the user gave.
    public var target: String?
    /// The proxy URL that answered the symptom (`--via`).
    public var via: String?
    /// `--proxy-sni`, when given.
    public var proxySNI: String?
    /// The time certificates are judged at (the run's start, or `--at`).
    public var now: Date
    /// When the run started (differs from `now` under `--at`): what a server's clock is compared with.
    public var startedAt: Date
    public var items: [Item]

    public init(host: String?, via: String? = nil, proxySNI: String? = nil, now: Date, items: [Item]) {
        self.host = host
        self.via = via
        self.proxySNI = proxySNI
        self.now = now
        startedAt = now
        self.items = items
    }

    public init(_ record: CaseRecord, steps: [StepResult]? = nil) {
        host = record.target.flatMap { URLPart.host.extract(from: $0).stringValue }
        target = record.target
        via = record.via
        proxySNI = record.inputs["proxy_sni"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        now = record.judgedAt ?? record.startedAt
        startedAt = record.startedAt
        items = (steps ?? record.steps).flatMap { step in step.evidence.map { Item(step: step.id, $0) } }
    }

    // MARK: - By kind, each with its step

    public var resolutions: [(step: String, value: DNSResolution)] {
        items.compactMap { if case .resolution(let v) = $0.evidence { ($0.step, v) } else { nil } }
    }

    public var matrices: [(step: String, value: HandshakeMatrix)] {
        items.compactMap { if case .handshakes(let v) = $0.evidence { ($0.step, v) } else { nil } }
    }

    public var exchanges: [(step: String, value: HTTPExchange)] {
        items.compactMap { if case .exchange(let v) = $0.evidence { ($0.step, v) } else { nil } }
    }

    public var chainReviews: [(step: String, value: ChainReview)] {
        items.compactMap { if case .chains(let v) = $0.evidence { ($0.step, v) } else { nil } }
    }

    public var captures: [(step: String, value: CaptureReview)] {
        items.compactMap { if case .capture(let v) = $0.evidence { ($0.step, v) } else { nil } }
    }

    public var proxyConfig: ProxyConfig? {
        items.lazy.compactMap { if case .proxyConfig(let v) = $0.evidence { v } else { nil } }.first
    }

    public var proxyLog: (step: String, value: ProxyLog)? {
        items.lazy.compactMap { if case .proxyLog(let v) = $0.evidence { ($0.step, v) } else { nil } }.first
    }

    /// The proxy's profile as a step worked it out (its version and configuration), if one did.
    public var profiledProxy: ClientProfile? {
        items.lazy.compactMap { if case .profile(let v) = $0.evidence, v.kind != .curl { v } else { nil } }.first
    }

    /// The replays of a client profile (the proxy's handshake, as it makes it).
    public var replays: [(step: String, value: HandshakeMatrix)] { matrices.filter { $0.value.profile != nil } }

    /// The exchanges of one role.
    public func exchanges(_ role: HTTPExchange.Role) -> [(step: String, value: HTTPExchange)] { exchanges.filter { $0.value.role == role } }
}
