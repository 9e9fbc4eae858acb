/// The connections a case observed, as the diagnosis reasons about them:
/// the user's client (curl: SNI as the URL's host, verifies), and — when a
/// proxy is in the story — the proxy's own upstream connection, with the
/// SNI and verification it really uses (from its nginx.conf, `--proxy-sni`,
/// or nginx's defaults when only `--via` is known).
public struct RequestStory: Sendable, Hashable {
    public enum Source: String, Sendable, Hashable {
        /// Read from the proxy's configuration (nginx.config step).
        case configuration
        /// Given with `--proxy-sni`.
        case input
        /// nginx's defaults (no SNI, no verification): only `--via` is known.
        case assumed
    }

    public struct Proxy: Sendable, Hashable {
        public var sni: SNIVariant
        public var verifies: Bool
        public var source: Source
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

    /// The story of a recorded run: its target, its `--via`, and what its
    /// nginx.config step (or `proxy_sni` input) says the proxy sends.
    public init(_ record: CaseRecord) {
        let host = record.target.flatMap { URLPart.host.extract(from: $0).stringValue }
        self.host = host
        via = record.via
        func variant(_ text: String) -> SNIVariant {
            SNIVariant(text == "none" ? "none" : "name:\(text)").normalised(host: host ?? "")
        }
        if let nginx = record.steps.first(where: { $0.uses == "nginx.config" && $0.status == .ok }),
           let sni = nginx.outputs["sni"]?.stringValue {
            proxy = Proxy(sni: variant(sni), verifies: nginx.outputs["verify"]?.boolValue ?? false, source: .configuration)
        } else if let given = record.inputs["proxy_sni"]?.stringValue, !given.isEmpty {
            proxy = Proxy(sni: variant(given), verifies: false, source: .input)
        } else if record.via != nil {
            proxy = Proxy(sni: SNIVariant.none.normalised(host: host ?? ""), verifies: false, source: .assumed)
        } else {
            proxy = nil
        }
    }

    /// Whom a finding affects, from the connection it was seen on.
    public func affects(_ finding: Finding) -> Set<Client> {
        var out: Set<Client> = []
        switch finding.path {
        case .all:
            out = [.user]
            if proxy != nil { out.insert(.proxy) }
        case .handshake(let v):
            if v == .asClient { out.insert(.user) }
            if let proxy, proxy.sni == v { out.insert(.proxy) }
            if v == .none, proxy?.sni != SNIVariant.none { out.insert(.withoutSNI) }
        case .chain(let variants):
            // Certificates matter to the clients that verify them.
            if variants.isEmpty || variants.contains(.asClient) { out.insert(.user) }
            if let proxy, proxy.verifies, variants.contains(proxy.sni) || variants.isEmpty { out.insert(.proxy) }
            if variants == [.none], proxy?.sni != SNIVariant.none { out.insert(.withoutSNI) }
        case .http(.direct):
            out.insert(.user)
        case .http(.via), .proxyLog:
            out.insert(.proxy)
        case .capture(let sni):
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
