import Foundation
import Synchronization
import TriageKit
import TriageWire

/// The TLS checks of the default runbook for one endpoint, without a case
/// folder: the handshake (as curl sends it, and without SNI if asked), the
/// chain's verification and dates, the same findings and cause codes. What
/// `triage scan` runs per address and `triage exporter` per probe.
public struct EndpointProbe: Sendable {
    public struct Options: Sendable {
        public var caFile: String?
        public var clientCertificate: String?
        public var clientKey: String?
        /// Also try without SNI (nginx's default) and report that variant.
        public var withoutSNI = false
        public var warnDays = ChainRules.defaultWarnDays
        /// `--at`: certificates judged as of this time instead of now.
        public var at: Date?
        /// Judged this far from each probe's start instead (an exporter module's `at: +14d`); `at` wins.
        public var ahead: TimeInterval?
        /// `--trust-store NAME=FILE`: each chain is also verified against these.
        public var trustStores: [TrustStore] = []
        /// Per handshake attempt, from its start.
        public var timeout: Duration = .seconds(5)
        /// How long a chain that verified is remembered for the same certificates and name.
        public var verifyMemory: Duration = .seconds(60)
        public init() {}

        /// The time a probe starting now judges certificates at.
        public func judgedAt(now: Date = Date()) -> Date { at ?? now.addingTimeInterval(ahead ?? 0) }
        /// Whether that is another time than now (`--at`, a module's `at`).
        public var judgesAnotherTime: Bool { at != nil || ahead != nil }
    }

    /// One address of one target.
    public struct Result: Sendable {
        public var target: String
        public var host: String
        public var endpoint: Endpoint?
        public var attempts: [HandshakeAttempt]
        public var findings: [Finding]
        /// The leaf the client (as curl) was shown, else any.
        public var leaf: Certificate?
        public var chains: [CertificateChain]
        /// The paths OpenSSL verified, leaf to anchor (the store's intermediates and root included).
        public var verifiedPaths: [[Certificate]] = []
        public var duration: Duration
        /// Why nothing could be tried (no address).
        public var error: Message?

        /// This address passed: the handshake as a curl-like client makes it completed and nothing broke it.
        public var ok: Bool {
            !findings.contains { $0.severity == .problem } && attempts.contains { $0.variant == .asClient && $0.established }
        }
        /// Not tried (no descriptor was free here as long as it could wait): neither ok nor a problem.
        public var untested: Bool { attempts.contains { if case .noDescriptor = $0.outcome { true } else { false } } }
        /// Something a curl-like client meets is broken here (after falling back over the target's
        /// addresses: a refusing address beside a working one is a warning).
        public var problem: Bool { findings.contains { $0.severity == .problem } }
        /// The problem a client such as curl meets first along its connection
        /// (name, address, handshake, certificate).
        public var cause: Finding? {
            let order = { (f: Finding) in (f.cause.stage, f.cause.rank) }
            return findings.filter { $0.severity == .problem }.min { order($0) < order($1) }
        }
        /// Without SNI (nginx's default, some Java and Go clients): established, when that variant was tried.
        public var withoutSNI: Bool? {
            let tried = attempts.filter { $0.variant == .none }
            return tried.isEmpty ? nil : tried.allSatisfy(\.established) && !findings.contains { Self.onlyWithoutSNI($0) }
        }
        static func onlyWithoutSNI(_ f: Finding) -> Bool {
            RequestStory(host: nil, via: nil, proxy: nil).affects(f) == [.withoutSNI]
        }
        /// The earliest notAfter of the chain served with SNI.
        public var earliestExpiry: Date? { chains.first { !$0.seenOnlyWithoutSNI }?.certificates.map(\.notAfter).min() }
    }

    public let options: Options
    let context: SSLContext

    public init(_ options: Options) throws(OpenSSLError) {
        self.options = options
        var tls = TLSClientOptions()
        tls.caFile = options.caFile
        tls.clientCertificate = options.clientCertificate
        tls.clientKey = options.clientKey
        tls.keyLog = false   // a probe keeps no secrets
        tls.verifyMemory = options.verifyMemory
        context = try Self.context(tls)
    }

    /// The contexts alive, by what they were made from: probes with the same trust, client identity and
    /// verification memory share one (each loads its CA bundle: 500 exporter modules of the system's held
    /// 441 MB). Held weakly: a context goes when its last probe does.
    private static let contexts = Mutex<[TLSClientOptions: WeakContext]>([:])
    private final class WeakContext: @unchecked Sendable {
        weak var context: SSLContext?
        init(_ context: SSLContext) { self.context = context }
    }

    static func context(_ tls: TLSClientOptions) throws(OpenSSLError) -> SSLContext {
        try contexts.withLock { (cache: inout [TLSClientOptions: WeakContext]) throws(OpenSSLError) -> SSLContext in
            if let alive = cache[tls]?.context { return alive }
            let made = try SSLContext(tls)
            cache = cache.filter { $0.value.context != nil }
            cache[tls] = WeakContext(made)
            return made
        }
    }

    /// Chain verifications so far: answered from memory (the same chain for the same name, verified
    /// successfully within the last minute and still inside its validity), and run by OpenSSL.
    public var verifications: (remembered: Int, verified: Int) { context.verifications }

    /// The same probe with another per-attempt deadline (a scrape's timeout).
    public func with(timeout: Duration) -> EndpointProbe {
        var options = self.options
        options.timeout = timeout
        return EndpointProbe(options: options, context: context)
    }

    init(options: Options, context: SSLContext) {
        self.options = options
        self.context = context
    }

    /// Every address of `target`, each probed; the name lookup has the attempt's deadline.
    public func probe(_ target: Target, now given: Date? = nil) async -> [Result] {
        let now = given ?? options.judgedAt()
        let start = ContinuousClock.now
        let addresses: [IPAddress]
        if let literal = IPAddress(target.host) {
            addresses = [literal]
        } else {
            addresses = await HostAddresses.resolve(target.host, deadline: start + options.timeout).addresses
        }
        guard !addresses.isEmpty else {
            let finding = Finding(.dnsFailure, summary: Message(.findingNoAddress, ["host": .string(target.host)]), subject: target.host,
                                  facts: [Fact(.host, .string(target.host))])
            return [Result(target: target.url, host: target.host, endpoint: nil, attempts: [], findings: [finding], leaf: nil, chains: [],
                           duration: ContinuousClock.now - start, error: finding.summary)]
        }
        let port = UInt16(clamping: target.effectivePort)
        let results = await orderedConcurrently(addresses) { await self.probe(target, Endpoint($0, port: port), now: now) }
        return Self.asClientsUseThem(results)
    }

    /// The target's addresses as a curl-like client uses them: it falls back from one that
    /// refuses or cannot be reached to one that connects, so such an address beside a working
    /// one is a warning (`address-unreachable`); what only clients without SNI meet is a
    /// warning here too (its own field and metric say it).
    public static func asClientsUseThem(_ results: [Result]) -> [Result] {
        let working = results.filter { r in r.attempts.contains { $0.variant == .asClient && $0.connected } }.compactMap(\.endpoint)
        return results.map { r in
            var r = r
            r.findings = r.findings.map { f in
                if f.severity == .problem, Result.onlyWithoutSNI(f) {
                    var f = f
                    f.severity = .warning
                    return f
                }
                guard f.severity == .problem, AddressFallback.connectCauses.contains(f.cause), let e = r.endpoint, !working.isEmpty,
                      !working.contains(e) else { return f }
                return AddressFallback.warning(from: f, endpoint: e, working: working)
            }
            return r
        }
    }

    /// The handshake as curl makes it already verified this chain for this name with the same
    /// anchors and time: its verified path stands for a second verification (a probe's dearest
    /// step after the handshake itself). Anything else is verified again, every error collected.
    static func verifiedInHandshake(_ chain: CertificateChain, attempts: [HandshakeAttempt], options: Options, host: String) -> ChainCheck? {
        guard options.trustStores.isEmpty,
              let attempt = attempts.first(where: { $0.variant == .asClient && $0.established && $0.verifyCode == 0 && $0.nameMatches == true
                  && !$0.verifiedChain.isEmpty && $0.chain.map(\.sha256) == chain.certificates.map(\.sha256) }) else { return nil }
        let sent = Set(chain.certificates.map(\.sha256))
        let supplied = attempt.verifiedChain.dropLast().filter { !sent.contains($0.sha256) && !$0.isSelfSigned }
        var check = ChainCheck(chain: chain, verification: ChainVerification(problems: []), storeSupplied: Array(supplied),
                               caFile: options.caFile, name: host)
        check.path = attempt.verifiedChain
        return check
    }

    /// One address: the handshake variants, then the checks of every chain seen.
    public func probe(_ target: Target, _ endpoint: Endpoint, now: Date = Date()) async -> Result {
        let start = ContinuousClock.now
        let variants: [SNIVariant] = options.withoutSNI ? [.asClient, SNIVariant.none.normalised(host: target.host)] : [.asClient]
        var unique: [SNIVariant] = []
        for v in variants where !unique.contains(v) { unique.append(v) }
        let specs = unique.map { variant in
            var spec = HandshakeSpec(server: endpoint, host: target.host, variant: variant, context: context, timeout: options.timeout)
            // OpenSSL verifies as of the time the rules judge at (`--at`, a module's `at`, or the probe's
            // start), not the handshake's own clock: at an expiry's second the two would disagree.
            spec.verifyTime = now
            // No case folder, so no self-capture to keep.
            spec.recordConversation = false
            return spec
        }
        var attempts = await orderedConcurrently(specs) { await HandshakeLoop.attempt($0) }
        TLSHandshakeStep.readStaples(&attempts, caFile: options.caFile)
        var findings = HandshakeRules(attempts: attempts, host: target.host, now: now, timeout: options.timeout).findings
        let chains = TLSHandshakeStep.chains(attempts)
        let hasSNIChain = chains.contains { !$0.seenOnlyWithoutSNI }
        var verified: [[Certificate]] = []
        for chain in chains where !(hasSNIChain && chain.seenOnlyWithoutSNI) {
            var check = Self.verifiedInHandshake(chain, attempts: attempts, options: options, host: target.host)
                ?? ChainVerifier.check(chain, caFile: options.caFile, at: now, name: target.host)
            check.stores = options.trustStores.map { store in
                let c = ChainVerifier.check(chain, caFile: store.pem, at: now, name: target.host)
                return ChainCheck.StoreVerdict(name: store.name, file: store.file, verification: c.verification, path: c.path)
            }
            var rules = ChainRules(check: check, host: target.host, now: now, warnDays: options.warnDays)
            rules.atGiven = options.judgesAnotherTime
            findings += rules.findings
            if check.verification.trusted, !check.path.isEmpty { verified.append(check.path) }
        }
        let leaf = (chains.first { !$0.seenOnlyWithoutSNI } ?? chains.first)?.leaf
        // Never tried for want of a descriptor here: said, and judged as untested (not the endpoint's fault).
        let untried = attempts.first { if case .noDescriptor = $0.outcome { true } else { false } }
        var result = Result(target: target.url, host: target.host, endpoint: endpoint, attempts: attempts, findings: findings, leaf: leaf,
                            chains: chains, duration: ContinuousClock.now - start, error: untried?.outcomeMessage)
        result.verifiedPaths = verified
        return result
    }
}
