/// The connections a case observed, as the diagnosis reasons about them:
/// the user's client (curl: SNI as the URL's host, verifies), and — when a
/// proxy is in the story — the proxy's own upstream connection, as its
/// client profile says it is made (its configuration, its version's
/// defaults, `--proxy-sni`), corrected by what the proxy was seen to do
/// (its error log names a certificate check; its captured connection
/// rejects a certificate).
public struct RequestStory: Sendable, Hashable {
    public enum Source: String, Sendable, Hashable {
        /// Read from the proxy's configuration (nginx.config step).
        case configuration
        /// Given with `--proxy-sni`.
        case input
        /// The proxy's defaults for its version: only `--via` is known.
        case assumed
        /// Seen: the proxy's log or its captured connection shows it verifying.
        case observed
    }

    public struct Proxy: Sendable, Hashable {
        public var sni: SNIVariant
        public var verifies: Bool
        public var source: Source
        /// The full profile (versions, anchors, name checked, timeouts).
        public var profile: ClientProfile?
        /// A handshake step replayed this profile: its outcome is the proxy's.
        public var replayed: Bool

        public init(sni: SNIVariant, verifies: Bool, source: Source, profile: ClientProfile? = nil, replayed: Bool = false) {
            self.sni = sni
            self.verifies = verifies
            self.source = source
            self.profile = profile
            self.replayed = replayed
        }
    }

    /// Who a finding affects.
    public enum Client: String, Sendable, Hashable, Comparable {
        /// The user's client: curl, a browser — SNI, verification.
        case user
        /// The proxy's upstream connection.
        case proxy
        /// Clients that send no SNI (nginx without proxy_ssl_server_name, some Java and Go clients).
        case withoutSNI = "without-sni"

        public static func < (a: Client, b: Client) -> Bool { a.order < b.order }
        var order: Int { switch self { case .user: 1; case .proxy: 0; case .withoutSNI: 2 } }
    }

    public var host: String?
    public var via: String?
    public var proxy: Proxy?

    public init(host: String?, via: String?, proxy: Proxy?) {
        self.host = host
        self.via = via
        self.proxy = proxy
    }

    public init(_ record: CaseRecord) { self.init(CaseEvidence(record)) }

    /// The story of a case: its target, its `--via`, and the proxy's profile.
    public init(_ evidence: CaseEvidence) {
        host = evidence.host
        via = evidence.via
        let host = evidence.host ?? ""
        guard evidence.via != nil || evidence.proxyConfig != nil || evidence.profiledProxy != nil else {
            proxy = nil
            return
        }
        let profile = evidence.profiledProxy
            ?? ClientProfile.nginx(config: evidence.proxyConfig, version: nil, proxySNI: evidence.proxySNI, host: host)
        var source: Source = switch profile.source {
        case .configuration: .configuration
        case .input: .input
        case .defaults, .builtIn: .assumed
        }
        var verifies = profile.verifies
        if !verifies, Self.proxyWasSeenVerifying(evidence) {
            verifies = true
            source = .observed
        }
        var sni = profile.sni
        // Its defaults guessed the SNI; its captured connections show it.
        if source == .assumed || source == .observed, let seen = Self.proxySNISeen(evidence) {
            sni = seen.map { SNIVariant.name($0).normalised(host: host) } ?? SNIVariant.none.normalised(host: host)
            source = .observed
        }
        proxy = Proxy(sni: sni, verifies: verifies, source: source, profile: profile, replayed: !evidence.replays.isEmpty && sni == profile.sni)
    }

    /// The proxy's log names a certificate check, or its captured connection sent a certificate alert.
    static func proxyWasSeenVerifying(_ evidence: CaseEvidence) -> Bool {
        if let log = evidence.proxyLog?.value, log.lines.contains(where: {
            if case .nameMismatch = $0.event { return true }
            if case .verifyError = $0.event { return true }
            return false
        }) { return true }
        return evidence.captures.contains { capture in
            capture.value.digest.groups.contains { g in
                g.first.origin == .other && (g.first.closedWithoutRequest
                    || g.first.fatalAlert.map { $0.sender == .client && AlertMeaning.isCertificateRejection($0.code) } == true)
            }
        }
    }

    /// The SNI the proxy's own captured connections carried (nil inside: they carried none); nil when none was captured.
    static func proxySNISeen(_ evidence: CaseEvidence) -> String?? {
        for capture in evidence.captures {
            if let c = capture.value.digest.groups.map(\.first).first(where: { $0.origin == .other }) { return .some(c.sni) }
        }
        return nil
    }

    /// Whom a finding affects, from the connection it was seen on.
    public func affects(_ finding: Finding) -> Set<Client> {
        var out: Set<Client> = []
        // The proxy's own handshake is judged by its replay when one ran, else by the variant it sends.
        let proxyByVariant = proxy.map { !$0.replayed } ?? false
        switch finding.path {
        case .all:
            out = [.user]
            if proxy != nil { out.insert(.proxy) }
        case .handshake(let v):
            if v == .asClient { out.insert(.user) }
            if let proxy, proxyByVariant, proxy.sni == v { out.insert(.proxy) }
            if v == .none, proxy?.sni != SNIVariant.none { out.insert(.withoutSNI) }
        case .replay:
            // The replay stands for the proxy unless the proxy was seen connecting otherwise.
            if proxy?.replayed == true { out.insert(.proxy) }
        case .chain(let variants):
            // Certificates matter to the clients that verify them.
            if variants.isEmpty || variants.contains(.asClient) { out.insert(.user) }
            if let proxy, proxy.verifies, !proxy.replayed || proxy.source == .observed, variants.contains(proxy.sni) || variants.isEmpty {
                out.insert(.proxy)
            }
            if variants == [.none], proxy?.sni != SNIVariant.none { out.insert(.withoutSNI) }
        case .http(.direct):
            out.insert(.user)
            // An upstream that never finishes answering the request hangs for the proxy that forwards it too
            // (nginx's 504): that explains the proxy's answer better than "the proxy failed".
            if finding.cause == .httpTimeout, proxy != nil { out.insert(.proxy) }
        case .http(.via), .proxyLog:
            out.insert(.proxy)
        case .capture(let sni, let byProxy):
            // The proxy's own connection: what broke it, and its certificate only if the proxy checks certificates.
            if byProxy, let proxy {
                if finding.cause.stage != 3 || proxy.verifies { out.insert(.proxy) }
                break
            }
            let withoutSNI = SNIVariant.none.normalised(host: host ?? "")
            if sni || withoutSNI == .asClient { out.insert(.user) }
            if !sni {
                if proxy?.sni == withoutSNI { out.insert(.proxy) } else if withoutSNI != .asClient { out.insert(.withoutSNI) }
            }
        }
        return out
    }

    /// The clients of this story that really made a request (the others are hypothetical).
    public var observed: Set<Client> { proxy == nil ? [.user] : [.user, .proxy] }
}
