import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TriageKit
internal import COpenSSL
internal import CTriageShims

/// Verifies a chain the way a client would, with OpenSSL's X509_STORE:
/// every problem (not just the first), and which certificates of the path
/// came from the trust store rather than from the server.
enum ChainVerifier {
    /// `name`: the name the client checks (OpenSSL's X509_check_host while verifying); `depth`: the
    /// client's verify depth (nginx's proxy_ssl_verify_depth); purpose serverAuth, as every TLS client.
    static func check(_ chain: CertificateChain, caFile: String?, at time: Date, name: String? = nil, depth: Int? = nil,
                      addressAsName: Bool = false) -> ChainCheck {
        let (verification, built) = verify(chain.certificates, caFile: caFile, at: time, name: name, depth: depth, addressAsName: addressAsName)
        let sent = Set(chain.certificates.map(\.sha256))
        // The path's last element is the trust anchor; anything else the server
        // did not send is an intermediate it should have sent.
        let supplied = verification.trusted ? built.dropLast().filter { !sent.contains($0.sha256) && !$0.isSelfSigned } : []
        var check = ChainCheck(chain: chain, verification: verification, storeSupplied: Array(supplied), caFile: caFile, name: name)
        check.path = built
        return check
    }

    /// `chain` leaf first, against `caFile` or the system store, at `time`.
    static func verify(_ chain: [Certificate], caFile: String?, at time: Date, name: String? = nil, depth: Int? = nil,
                       addressAsName: Bool = false) -> (ChainVerification, [Certificate]) {
        guard let leafCert = chain.first, let leaf = try? X509Certificate(der: leafCert.der) else {
            return (ChainVerification(problems: []), [])
        }
        let untrusted = chain.dropFirst().compactMap { try? X509Certificate(der: $0.der) }
        var codes = [Int32](repeating: 0, count: 16), depths = [Int32](repeating: 0, count: 16)
        var built: OpaquePointer?
        let n = leaf.withPointer { leafX509 in
            X509Certificate.withStack(untrusted) { stack in
                triage_verify_chain(leafX509, stack, Self.store(caFile)?.pointer, Int64(time.timeIntervalSince1970), Self.bare(name), Int32(clamping: depth ?? -1),
                                    addressAsName ? 1 : 0, &codes, &depths, 16, &built)
            }
        }
        defer { triage_sk_x509_pop_free(built) }
        OpenSSLError.clear()
        guard n >= 0 else {
            return (ChainVerification(problems: [.init(error: .other, code: -1, depth: 0, text: "cannot load the trust store \(caFile ?? "(system)")")]), [])
        }
        var seen = Set<ChainVerification.Problem>()
        let problems = (0..<Int(n)).map { i in
            ChainVerification.Problem(error: Self.name(codes[i]), code: Int(codes[i]), depth: Int(depths[i]),
                                      text: String(cString: X509_verify_cert_error_string(Int(codes[i]))))
        }.filter { seen.insert($0).inserted }
        return (ChainVerification(problems: problems), X509Certificate.certificates(of: built))
    }

    /// A host as OpenSSL checks it: without the brackets of an IPv6 literal or the root dot of an absolute name.
    static func bare(_ name: String) -> String {
        SNIVariant.withoutRootDot(name.hasPrefix("[") && name.hasSuffix("]") ? String(name.dropFirst().dropLast()) : name)
    }

    static func bare(_ name: String?) -> String? {
        guard let name, !name.isEmpty else { return nil }
        return bare(name)
    }

    static func name(_ code: Int) -> X509VerifyError { X509VerifyError(code: code) }
    static func name(_ code: Int32) -> X509VerifyError { X509VerifyError(code: Int(code)) }

    static func text(_ code: Int) -> String { String(cString: X509_verify_cert_error_string(code)) }

    /// A stapled OCSP response for `leaf`, issued by `issuer`: its status and times, and whether its
    /// signature verifies against the issuer and `caFile` (or the system store).
    static func staple(_ response: [UInt8], leaf: Certificate, issuer: Certificate, caFile: String?) -> OCSPStaple {
        var status: Int32 = -1, verified: Int32 = 0
        var thisUpdate: Int64 = 0, nextUpdate: Int64 = 0, revokedAt: Int64 = 0
        let rc = response.withUnsafeBufferPointer { r in
            leaf.der.withUnsafeBufferPointer { l in
                issuer.der.withUnsafeBufferPointer { i in
                    triage_ocsp_status(r.baseAddress, r.count, l.baseAddress, l.count, i.baseAddress, i.count, Self.store(caFile)?.pointer,
                                       &status, &thisUpdate, &nextUpdate, &revokedAt, &verified)
                }
            }
        }
        func date(_ t: Int64) -> Date? { t > 0 ? Date(timeIntervalSince1970: TimeInterval(t)) : nil }
        let kind: OCSPStaple.Status = switch (rc, status) {
        case (0, 0): .good
        case (0, 1): .revoked
        case (0, 2): .unknown
        default: .unusable
        }
        return OCSPStaple(status: kind, thisUpdate: date(thisUpdate), nextUpdate: date(nextUpdate), revokedAt: date(revokedAt), verified: verified == 1)
    }

    /// A CRL (DER or PEM) read for `leaf`: revoked or good, its this and next update, and whether it
    /// is the leaf's issuer's and signed with its key (`unusable` when the bytes are not a CRL).
    static func crl(_ bytes: [UInt8], leaf: Certificate, issuer: Certificate) -> OCSPStaple {
        var revoked: Int32 = 0, verified: Int32 = 0
        var thisUpdate: Int64 = 0, nextUpdate: Int64 = 0, revokedAt: Int64 = 0
        let rc = bytes.withUnsafeBufferPointer { r in
            leaf.der.withUnsafeBufferPointer { l in
                issuer.der.withUnsafeBufferPointer { i in
                    triage_crl_status(r.baseAddress, r.count, l.baseAddress, l.count, i.baseAddress, i.count,
                                      &revoked, &thisUpdate, &nextUpdate, &revokedAt, &verified)
                }
            }
        }
        func date(_ t: Int64) -> Date? { t > 0 ? Date(timeIntervalSince1970: TimeInterval(t)) : nil }
        let kind: OCSPStaple.Status = rc != 0 ? .unusable : revoked == 1 ? .revoked : .good
        return OCSPStaple(status: kind, thisUpdate: date(thisUpdate), nextUpdate: date(nextUpdate), revokedAt: date(revokedAt), verified: verified == 1)
    }

    /// A loaded trust store, kept for the process's lifetime: loading a bundle (or the system's
    /// paths) once instead of for every chain is what lets a scan or the exporter verify thousands
    /// of chains a second, and keeps them from opening a file per chain.
    final class Store: @unchecked Sendable {
        // X509_STORE is safe to share for verification once loaded (OpenSSL 3).
        let pointer: OpaquePointer
        init(_ pointer: OpaquePointer) { self.pointer = pointer }
        deinit { triage_store_free(pointer) }
    }

    private static let stores = Mutex<[String: Store]>([:])

    /// The store for `caFile` (nil: the system's), loaded on first use (and again when the file
    /// changes: its size and modification time are part of the key); nil when it cannot be loaded.
    static func store(_ caFile: String?) -> Store? {
        var key = caFile ?? ""
        if let caFile {
            var st = stat()
            if stat(caFile, &st) == 0 { key += "\u{0}\(st.st_size)\u{0}\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)" }
        }
        if let store = stores.withLock({ $0[key] }) { return store }
        guard let loaded = triage_store_load(caFile) else { return nil }
        let store = Store(loaded)
        return stores.withLock { cache in
            if let existing = cache[key] { return existing }
            if cache.count >= 64 { cache.removeAll() }
            cache[key] = store
            return store
        }
    }
}
