/// A chain verified against a trust store: what OpenSSL said, and which
/// certificates of the path it built came from the store rather than from
/// the server (an intermediate the server should have sent).
public struct ChainCheck: Sendable {
    /// An issuer fetched from an AIA caIssuers URL.
    public struct FetchedIssuer: Sendable {
        public var url: String
        public var certificate: Certificate?
        /// With it, the chain verifies against the same anchors.
        public var completes: Bool
        /// Why it could not be fetched or read, or what the verification said with it.
        public var error: String?

        public init(url: String, certificate: Certificate?, completes: Bool, error: String?) {
            self.url = url
            self.certificate = certificate
            self.completes = completes
            self.error = error
        }
    }

    /// The leaf's status asked of its CA's OCSP responder (`--fetch-ocsp`) or read from its CRL (`--fetch-crl`).
    public struct FetchedOCSP: Sendable {
        public var url: String
        /// The response, read and verified as a staple is; nil when none usable came.
        public var response: OCSPStaple?
        /// Why the responder could not be asked or its answer not read.
        public var error: String?
        /// The bytes that came (the OCSP response, the CRL), kept as evidence.
        public var raw: [UInt8]?

        public init(url: String, response: OCSPStaple?, error: String?, raw: [UInt8]? = nil) {
            self.url = url
            self.response = response
            self.error = error
            self.raw = raw
        }
    }

    public var chain: CertificateChain
    public var verification: ChainVerification
    /// Non-root certificates of the verified path that the server did not send.
    public var storeSupplied: [Certificate]
    /// The trust store used: a CA file, or nil for the system's.
    public var caFile: String?
    /// The name OpenSSL checked the leaf against while verifying (nil: none was checked).
    public var name: String?
    /// The path OpenSSL built, leaf to anchor (as far as it got).
    public var path: [Certificate] = []
    /// The issuer fetched from the top certificate's AIA caIssuers URL (`--fetch-aia`), and what it decided.
    public var fetched: FetchedIssuer?
    /// The leaf's status from its CA's OCSP responder (`--fetch-ocsp`).
    public var ocsp: FetchedOCSP?
    /// The leaf's status from its CA's CRL (`--fetch-crl`): the same reading (good or revoked, this and
    /// next update, whether the CRL's signature is the issuer's).
    public var crl: FetchedOCSP?
    /// The same chain against each named trust store (`--trust-store NAME=FILE`): which clients trust it.
    public var stores: [StoreVerdict] = []

    /// One trust store's verdict on the chain, with the path it built.
    public struct StoreVerdict: Sendable {
        public var name: String
        public var file: String
        public var verification: ChainVerification
        /// The path OpenSSL built against this store, leaf to anchor (as far as it got).
        public var path: [Certificate]

        public init(name: String, file: String, verification: ChainVerification, path: [Certificate]) {
            self.name = name
            self.file = file
            self.verification = verification
            self.path = path
        }

        /// `NAME: ok — A → B → C` or `NAME: 10 certificate has expired (depth 3) — A → B → C`.
        public var line: String {
            let route = path.map(\.displayName).joined(separator: " → ")
            let verdict = verification.trusted ? "ok" : verification.problems.map { "\($0.code) \($0.text) (depth \($0.depth))" }.joined(separator: "; ")
            return "\(name): \(verdict) — \(route)"
        }
    }

    public init(chain: CertificateChain, verification: ChainVerification, storeSupplied: [Certificate] = [], caFile: String?, name: String? = nil) {
        self.chain = chain
        self.verification = verification
        self.storeSupplied = storeSupplied
        self.caFile = caFile
        self.name = name
    }
}
