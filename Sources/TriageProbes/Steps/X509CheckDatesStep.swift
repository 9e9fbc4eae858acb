import Foundation
import TriageKit

/// `x509.check-dates`: every certificate of a chain — subject, issuer,
/// serial, notBefore / notAfter (ISO 8601 UTC), days left, expired or not
/// yet valid at the run's start, SANs and the host match, key, signature,
/// self-signed — and whether the chain reaches a trusted root, or reaches
/// it only through an intermediate the server did not send.
///
/// A chain seen only without SNI while another is served with SNI is listed
/// but raises no certificate finding: tls.handshake reports it as
/// `default-cert-without-sni`. Command: `openssl s_client … | openssl x509 -noout -dates`.
public struct X509CheckDatesStep: StepKind {
    public let name = "x509.check-dates"
    public let summary = "dates, names, keys and trust of every certificate of a chain"
    public let inputs: [InputDeclaration] = [
        .init("chains", .typed(.list(.chain)), "the chains output of tls.handshake"),
        .init("chain", .any, "one chain: the chain output of tls.handshake, a list of PEM certificates, PEM text, or a PEM file path"),
        .init("host", .string, "the name the leaf must match"),
        .init("ca_file", .string, "trust this CA bundle instead of the system store"),
        .init("trust_stores", .stringOrList, "NAME=FILE trust stores (PEM bundles or PKCS#12, password changeit unless FILE:PASSWORD): each one's verdict on the chain and the path it builds"),
        .init("fetch_crl", .boolean, "fetch the leaf's CA's CRL (its cRLDistributionPoints URL; 5 s, at most 16 MiB) and look for the leaf's serial: listed is a problem, no usable CRL a warning (default false)"),
        .init("fetch_ocsp", .boolean, "ask the leaf's CA's OCSP responder (its AIA OCSP URL; 5 s, at most 64 KiB) whether it is revoked: revoked is a problem, no usable answer a warning (default false)"),
        .init("fetch_aia", .boolean, "when a chain's issuer is unknown here, fetch it from the top certificate's AIA caIssuers URL (5 s, at most 64 KiB) to decide between a missing intermediate and an untrusted CA (default false)"),
        .init("warn_days", .integer, "warn when a certificate of the chain expires within this many days (default 21)"),
    ]
    public let outputs: [OutputDeclaration] = [
        .init("certificates", .list(.certificate), "every certificate checked, chains in order"),
        .init("not_after", .date, "the first chain's leaf notAfter"),
        .init("days_left", .integer, "days from the run's start to that notAfter (negative: expired)"),
        .init("trusted", .boolean, "every chain verified, without help from the trust store's intermediates"),
    ]

    public init() {}

    /// Why a file could not be had from a CA's server (curl's error, the HTTP status).
    struct CAFetchFailure: Error { var reason: String }

    /// A CA's file — an issuer, an OCSP response, a CRL — over http or https: 5 s to connect and to
    /// finish, at most `limit` bytes, no proxy; the body of a 2xx answer.
    static func fetchFromCA(_ url: String, caFile: String?, limit: Int, accept: String? = nil) async throws(CAFetchFailure) -> [UInt8] {
        var request = HTTPRequest(url: url)
        if let accept { request.headers = ["Accept: \(accept)"] }
        request.connectTimeout = .seconds(5)
        request.timeout = .seconds(5)
        request.bodyLimit = limit
        request.caFile = caFile
        guard let result = await request.fetch() else { throw CAFetchFailure(reason: "libcurl is not available") }
        let e = result.exchange
        guard e.succeeded, (200..<300).contains(e.status) else {
            throw CAFetchFailure(reason: e.succeeded ? "HTTP \(e.status)" : "\(e.curlName): \(e.curlMessage)")
        }
        return result.bodyBytes
    }

    static func isHTTP(_ url: String) -> Bool {
        URLPart.scheme.extract(from: url).stringValue.map { ["http", "https"].contains($0.lowercased()) } ?? false
    }

    /// The leaf's issuer: the next certificate the server sent, else the next on the path OpenSSL built.
    static func leafIssuer(_ check: ChainCheck) -> Certificate? {
        check.chain.certificates.count > 1 ? check.chain.certificates[1] : check.path.dropFirst().first
    }

    /// The issuer a chain lacks, from its top certificate's AIA caIssuers URL (http or https, a deadline, a
    /// size bound), DER or PEM; and whether the chain verifies with it against the same anchors.
    static func fetchIssuer(_ check: ChainCheck, caFile: String?, at now: Date, name: String?) async -> ChainCheck.FetchedIssuer? {
        let v = check.verification
        guard v.has(.unableToGetIssuerCertLocally) || v.has(.unableToVerifyLeafSignature) || v.has(.unableToGetIssuerCert),
              let top = check.chain.certificates.last, let url = top.caIssuersURL, isHTTP(url) else { return nil }
        let bytes: [UInt8]
        do { bytes = try await fetchFromCA(url, caFile: caFile, limit: 65_536) } catch {
            return .init(url: url, certificate: nil, completes: false, error: error.reason)
        }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let issuer = (try? Certificate(der: bytes)) ?? (text.contains("-----BEGIN CERTIFICATE-----") ? (try? Certificate.chain(pem: text))?.first : nil) else {
            return .init(url: url, certificate: nil, completes: false, error: "\(bytes.count) bytes that are not a certificate (DER or PEM)")
        }
        var completed = check.chain
        completed.certificates.append(issuer)
        let with = ChainVerifier.check(completed, caFile: caFile, at: now, name: name)
        let error = with.verification.problems.first.map { "\($0.code) \($0.text)" }
        return .init(url: url, certificate: issuer, completes: with.verification.trusted, error: with.verification.trusted ? nil : error)
    }

    /// The leaf's status from its CA's OCSP responder: an RFC 5019 GET (the request's base64 in the
    /// path), the answer read and verified as a staple is.
    static func fetchOCSP(_ check: ChainCheck, caFile: String?) async -> ChainCheck.FetchedOCSP? {
        guard let leaf = check.chain.certificates.first else { return nil }
        // Asked to check and nothing to ask: said, as revocation not checked.
        guard let url = leaf.ocspURL else { return .init(url: "—", response: nil, error: "the certificate names no OCSP responder (no authorityInfoAccess OCSP URL)") }
        guard isHTTP(url) else { return .init(url: url, response: nil, error: "not an http or https URL") }
        guard let issuer = leafIssuer(check), let der = leaf.ocspRequest(issuer: issuer) else {
            return .init(url: url, response: nil, error: "the issuer of the leaf is not known here")
        }
        let encoded = Data(der).base64EncodedString().addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let bytes: [UInt8]
        do {
            bytes = try await fetchFromCA((url.hasSuffix("/") ? url : url + "/") + encoded, caFile: caFile, limit: 65_536, accept: "application/ocsp-response")
        } catch {
            return .init(url: url, response: nil, error: error.reason)
        }
        let response = ChainVerifier.staple(bytes, leaf: leaf, issuer: issuer, caFile: caFile)
        guard response.status != .unusable else {
            return .init(url: url, response: nil, error: "\(bytes.count) bytes that are not an OCSP response for this certificate", raw: bytes)
        }
        return .init(url: url, response: response, error: nil, raw: bytes)
    }

    /// The leaf's status from its CA's CRL: the distribution point's URL fetched (http/https, 5 s, at most
    /// 16 MiB: CAs' CRLs run to megabytes), the CRL read and its signature checked against the issuer.
    static func fetchCRL(_ check: ChainCheck, caFile: String?) async -> ChainCheck.FetchedOCSP? {
        guard let leaf = check.chain.certificates.first else { return nil }
        guard let url = leaf.crlURL else { return .init(url: "—", response: nil, error: "the certificate names no CRL (no cRLDistributionPoints URI)") }
        guard isHTTP(url) else { return .init(url: url, response: nil, error: "not an http or https URL") }
        guard let issuer = leafIssuer(check) else { return .init(url: url, response: nil, error: "the issuer of the leaf is not known here") }
        let bytes: [UInt8]
        do { bytes = try await fetchFromCA(url, caFile: caFile, limit: 16 << 20) } catch {
            return .init(url: url, response: nil, error: error.reason)
        }
        let status = ChainVerifier.crl(bytes, leaf: leaf, issuer: issuer)
        guard status.status != .unusable else { return .init(url: url, response: nil, error: "\(bytes.count) bytes that are not a CRL", raw: bytes) }
        return .init(url: url, response: status, error: nil, raw: bytes)
    }

    public func run(_ context: StepContext) async throws -> StepOutcome {
        let chains = try Self.chains(context)
        guard let first = chains.first, let leaf = first.leaf else { throw StepFailure(.x509NothingToCheck) }
        let host = context.string("host")
        let caFile = context.string("ca_file")
        let warnDays = context.int("warn_days") ?? ChainRules.defaultWarnDays
        let now = context.judgedAt
        // A chain seen only without SNI is "the default certificate" only when another was seen with SNI.
        let hasSNIChain = chains.contains { !$0.seenOnlyWithoutSNI }
        var facts: [Fact] = []
        var checks: [ChainCheck] = []
        var tables: [String] = []
        var allTrusted = true
        var stores: [TrustStore] = []
        let scratch = TrustStore.scratchFolder()
        defer { TemporaryFolders.remove(scratch) }
        for spec in context.strings("trust_stores") where !spec.isEmpty {
            do { stores.append(try TrustStore.load(spec, scratch: scratch)) }
            catch { throw StepFailure(.errorText, ["text": .string(error.description)]) }
        }
        for chain in chains {
            // The name a client checks: the host, except for a chain seen only with another SNI name (a proxy's).
            var check = ChainVerifier.check(chain, caFile: caFile, at: now, name: host)
            if context.bool("fetch_aia") == true { check.fetched = await Self.fetchIssuer(check, caFile: caFile, at: now, name: host) }
            // The chain a client meets (with SNI), once.
            if context.bool("fetch_ocsp") == true, !(hasSNIChain && chain.seenOnlyWithoutSNI) { check.ocsp = await Self.fetchOCSP(check, caFile: caFile) }
            if context.bool("fetch_crl") == true, !(hasSNIChain && chain.seenOnlyWithoutSNI) { check.crl = await Self.fetchCRL(check, caFile: caFile) }
            // What the CA's servers answered, beside the report (`openssl crl -inform DER -text`, `openssl ocsp -respin`).
            if let raw = check.ocsp?.raw, !raw.isEmpty {
                _ = try? context.evidence.write("ocsp-response.der", data: Data(raw), description: Message(.evidenceOCSPResponse, ["url": .string(check.ocsp?.url ?? "")]))
            }
            if let raw = check.crl?.raw, !raw.isEmpty {
                _ = try? context.evidence.write("crl.der", data: Data(raw), description: Message(.evidenceCRL, ["url": .string(check.crl?.url ?? "")]))
            }
            check.stores = stores.map { store in
                let c = ChainVerifier.check(chain, caFile: store.pem, at: now, name: host)
                return ChainCheck.StoreVerdict(name: store.name, file: store.file, verification: c.verification, path: c.path)
            }
            checks.append(check)
            var rules = ChainRules(check: check, host: host, now: now, warnDays: warnDays)
            rules.atGiven = context.judgedAt != context.runStartedAt
            let defaultOnly = hasSNIChain && chain.seenOnlyWithoutSNI
            if !defaultOnly { allTrusted = allTrusted && check.verification.trusted && check.storeSupplied.isEmpty }
            facts += rules.facts
            let label = "\(chain.servers.map(\.description).joined(separator: ", ")) sni=\(chain.variants.map(\.description).joined(separator: ","))"
            tables.append("# \(label)\(defaultOnly ? " (served only without SNI)" : "")\n" + rules.table)
        }
        let target = first.servers.first.map { server in
            "openssl s_client -connect \(server)\(first.serverName.map { " -servername \($0)" } ?? " -noservername") </dev/null 2>/dev/null | openssl x509 -noout -subject -issuer -dates"
        }
        let state: Message = leaf.isExpired(at: now) ? Message(.leafExpired, ["date": .typed(.date(leaf.notAfter))])
            : Message(.leafValidUntil, ["date": .typed(.date(leaf.notAfter))])
        return StepOutcome(
            summary: Message(.x509Summary, ["count": .int(chains.map(\.certificates.count).reduce(0, +)), "chains": .int(chains.count),
                                            "leaf": .string(leaf.displayName), "state": state.value]),
            command: target ?? "openssl x509 -noout -subject -issuer -dates -in chain.pem",
            facts: facts,
            outputs: ["certificates": .list(chains.flatMap(\.certificates).map { .typed(.certificate($0)) }),
                      "not_after": .typed(.date(leaf.notAfter)), "days_left": .int(leaf.daysLeft(at: now)),
                      "trusted": .bool(allTrusted)],
            evidence: [.chains(ChainReview(checks: checks, host: host, warnDays: warnDays, at: now))],
            transcript: tables.joined(separator: "\n\n"),
            events: Self.events(chains, now: now))
    }

    /// The validity of every leaf, and of any certificate outside its
    /// validity at the run: when it started, when it ends or ended.
    static func events(_ chains: [CertificateChain], now: Date) -> [TimelineEvent] {
        var out: [TimelineEvent] = []
        var seen = Set<String>()
        for chain in chains {
            for (index, c) in chain.certificates.enumerated() where index == 0 || c.isExpired(at: now) || c.notBefore > now {
                guard seen.insert(c.sha256).inserted else { continue }
                let name = Value.string(c.displayName)
                // When a certificate was issued says something only when it is recent (a renewal, an installation)
                // or still ahead; its end always does.
                if c.notBefore > now.addingTimeInterval(-7 * 86_400) {
                    out.append(TimelineEvent(at: c.notBefore, Message(.eventNotBefore, ["name": name])))
                }
                out.append(TimelineEvent(at: c.notAfter, Message(c.notAfter < now ? .eventExpired : .eventNotAfter, ["name": name])))
            }
        }
        return out
    }

    /// The chains to check: typed chains from tls.handshake, or one chain from PEM.
    static func chains(_ context: StepContext) throws -> [CertificateChain] {
        var out: [CertificateChain] = []
        for value in context.typed("chains") { if case .chain(let c) = value { out.append(c) } }
        switch context["chain"] {
        case .typed(.chain(let c)):
            out.append(c)
        case .list(let items):
            let typed = items.compactMap { if case .typed(.certificate(let c)) = $0 { c } else { nil } }
            let certificates = typed.isEmpty ? try Certificate.chain(pem: items.map(\.text).joined()) : typed
            out.append(CertificateChain(certificates: certificates))
        case .string(let text) where text.contains("-----BEGIN"):
            out.append(CertificateChain(certificates: try Certificate.chain(pem: text)))
        case .string(let path) where !path.isEmpty:
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw StepFailure(.cannotRead, ["file": .string(path)]) }
            out.append(CertificateChain(certificates: try Certificate.chain(pem: text)))
        default:
            break
        }
        return out.filter { !$0.certificates.isEmpty }
    }
}
