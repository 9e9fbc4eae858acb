import Foundation
import Testing
import TriageKit
import TriageWire

/// The rule matrix: hand-built evidence (live handshakes and chains, the
/// replay of the proxy's profile, captures, the proxy's log, HTTP
/// exchanges) for every address family and TLS version, each row asserting
/// the root cause, its severity and whom it affects. No server, no
/// network; the whole matrix runs in well under a second.
@Suite struct RuleMatrixTests {
    typealias B = Build
    typealias Scenario = @Sendable (B.Family, B.Version) -> MatrixRow

    static let scenarios: [(String, Scenario)] = live + proxyLog + replays + captures + http

    /// Every scenario × address family × TLS version.
    static let rows: [MatrixRow] = scenarios.flatMap { name, build in
        B.Family.allCases.flatMap { f in B.Version.allCases.map { v in
            var row = build(f, v)
            row.name = "\(name) [\(f.rawValue), \(v.rawValue)]"
            return row
        } }
    }

    @Test func theMatrixIsLargeEnough() {
        #expect(Self.rows.count >= 150, "\(Self.rows.count) rows")
    }

    @Test(arguments: rows) func row(_ row: MatrixRow) {
        let evidence = CaseEvidence(host: B.host, via: row.via ? "http://127.0.0.1:8080/test" : nil, now: B.now,
                                    items: row.items.enumerated().map { CaseEvidence.Item(step: "s\($0.offset)", $0.element) })
        let book = RuleBook(evidence)
        let judgement = book.judgement
        let d = Diagnosis(findings: judgement.findings, unexplained: judgement.unexplained, story: book.story, evidence: evidence)
        let shown = judgement.findings.map { "\($0.cause.code)/\($0.severity.rawValue)/\($0.path)" }
        if let root = row.root {
            #expect(d.rootCause?.cause == root, "\(row.name): \(shown)")
            #expect(d.rootCause?.severity == .problem, "\(row.name)")
            #expect(d.verdict == .problem, "\(row.name)")
            if row.confirmedBy { #expect(d.rootCause?.facts[.confirmedBy] != nil, "\(row.name): \(d.rootCause?.facts ?? [])") }
            let impact = d.impacts.first { $0.role == .root }
            #expect(impact?.affects == row.affects, "\(row.name): affects \(impact?.affects.map(\.rawValue).sorted() ?? [])")
        } else {
            #expect(d.rootCause == nil, "\(row.name): \(d.rootCause?.cause.code ?? "") \(shown)")
            #expect(d.verdict == .healthy, "\(row.name): \(shown)")
        }
        if let warning = row.warning {
            #expect(d.findings.contains { $0.cause == warning && $0.severity == .warning }, "\(row.name): \(shown)")
        }
        // A step that found something is shown as the case judges it (the table agrees with "what held"): the
        // root cause's step a problem; in a healthy case, the step of a finding the case made a warning, a warning.
        func status(_ step: String) -> StepStatus {
            d.status(of: StepResult(id: step, uses: "test", status: .problem, startedAt: B.now, durationMs: 0, summary: Message(.stepOK)))
        }
        if let root = d.rootCause { #expect(status(root.step) == .problem, "\(row.name)") }
        if row.root == nil, let warning = row.warning, let step = d.findings.first(where: { $0.cause == warning })?.step {
            #expect(status(step) == .warning, "\(row.name): step \(step)")
        }
    }

    /// The address that refuses is set beside one that accepts connections — not one that "works":
    /// the other may reset the handshake, and that is the root cause.
    @Test func anAddressThatRefusesBesideOneThatResets() {
        let good = B.endpoint(.v4), bad = B.endpoint(.v6)
        let items: [Evidence] = [B.matrix([B.attempt(good, .asClient, .tls13, outcome: .reset), B.attempt(bad, .asClient, .tls13, outcome: .refused)])]
        let evidence = CaseEvidence(host: B.host, via: nil, now: B.now, items: items.enumerated().map { CaseEvidence.Item(step: "s\($0.offset)", $0.element) })
        let book = RuleBook(evidence)
        let d = Diagnosis(findings: book.judgement.findings, unexplained: book.judgement.unexplained, story: book.story, evidence: evidence)
        #expect(d.rootCause?.cause == .connectionReset)
        let warning = d.findings.first { $0.cause == .addressUnreachable }
        #expect(warning?.severity == .warning)
        let text = warning.map { TextTable.english.render($0.summary) } ?? ""
        #expect(text.contains(", while \(good) accepts connections;"), "\(text)")
    }

    // MARK: - Live: the handshake matrix and the chain, the user's client

    static let live: [(String, Scenario)] = [
        // A self-signed certificate that is the anchor (--cacert it) fails for its name: the name, not "self-signed".
        ("self-signed anchor, name mismatch", { f, v in
            let e = B.endpoint(f), c = B.cert("other.example", selfSigned: true)
            return MatrixRow(name: "", via: false, items: [B.review([c], problems: [B.problem(.hostnameMismatch)], caFile: "anchor.pem", server: e)],
                             root: .hostnameMismatch, affects: [.user])
        }),
        ("expired leaf", { f, v in
            let e = B.endpoint(f), c = B.cert(notBefore: B.now - 400 * B.day, notAfter: B.now - 9 * B.day)
            return MatrixRow(name: "", via: false, items: [B.matrix([B.attempt(e, .asClient, v, chain: [c], verify: .certHasExpired)]),
                                                          B.review([c], problems: [B.problem(.certHasExpired)], server: e)],
                             root: .certExpired, affects: [.user])
        }),
        ("not yet valid", { f, v in
            let e = B.endpoint(f), c = B.cert(notBefore: B.now + 2 * B.day, notAfter: B.now + 300 * B.day)
            return MatrixRow(name: "", via: false, items: [B.matrix([B.attempt(e, .asClient, v, chain: [c])]),
                                                          B.review([c], problems: [B.problem(.certNotYetValid)], server: e)],
                             root: .certNotYetValid, affects: [.user])
        }),
        ("name mismatch, by OpenSSL's check", { f, v in
            let e = B.endpoint(f), c = B.cert("other.example.test")
            return MatrixRow(name: "", via: false, items: [B.matrix([B.attempt(e, .asClient, v, chain: [c], verify: .hostnameMismatch, nameMatches: false)]),
                                                          B.review([c], problems: [B.problem(.hostnameMismatch)], server: e)],
                             root: .hostnameMismatch, affects: [.user])
        }),
        ("self-signed leaf", { f, v in
            let e = B.endpoint(f), c = B.cert(selfSigned: true)
            return MatrixRow(name: "", via: false, items: [B.review([c], problems: [B.problem(.depthZeroSelfSignedCert)], server: e)],
                             root: .selfSigned, affects: [.user])
        }),
        ("root outside the anchors", { f, v in
            let e = B.endpoint(f), root = B.cert("Other Root", selfSigned: true, ca: true)
            return MatrixRow(name: "", via: false, items: [B.review([B.cert(issuer: "CN=Other Root"), root], problems: [B.problem(.selfSignedCertInChain, depth: 1)], server: e)],
                             root: .untrustedIssuer, affects: [.user])
        }),
        ("issuer neither sent nor among the given anchors", { f, v in
            let e = B.endpoint(f)
            return MatrixRow(name: "", via: false, items: [B.review([B.cert(issuer: "CN=Intermediate")], problems: [B.problem(.unableToVerifyLeafSignature)],
                                                                    caFile: "/tmp/root.pem", server: e)],
                             root: .incompleteChain, affects: [.user])
        }),
        ("missing intermediate, its address in the leaf", { f, v in
            let e = B.endpoint(f)
            return MatrixRow(name: "", via: false, items: [B.review([B.cert(issuer: "CN=Intermediate", aia: "http://ca.example/i.crt")],
                                                                    problems: [B.problem(.unableToGetIssuerCertLocally)], server: e)],
                             root: .incompleteChain, affects: [.user])
        }),
        ("unknown issuer, no AIA, system store", { f, v in
            let e = B.endpoint(f)
            return MatrixRow(name: "", via: false, items: [B.review([B.cert(issuer: "CN=Corp CA")], problems: [B.problem(.unableToGetIssuerCertLocally)], server: e)],
                             root: .untrustedIssuer, affects: [.user])
        }),
        ("certificate for clients only (EKU)", { f, v in
            let e = B.endpoint(f)
            return MatrixRow(name: "", via: false, items: [B.matrix([B.attempt(e, .asClient, v, verify: .invalidPurpose)]),
                                                          B.review([B.cert()], problems: [B.problem(.invalidPurpose)], server: e)],
                             root: .certWrongPurpose, affects: [.user])
        }),
        ("chain longer than the verify depth", { f, v in
            let e = B.endpoint(f)
            return MatrixRow(name: "", via: false, items: [B.review([B.cert()], problems: [B.problem(.certChainTooLong, depth: 2)], server: e)],
                             root: .certInvalid, affects: [.user])
        }),
        ("1024-bit key", { f, v in
            let e = B.endpoint(f)
            return MatrixRow(name: "", via: false, items: [B.review([B.cert(bits: 1024)], server: e)], root: .weakKey, affects: [.user])
        }),
        ("expires in 5 days: a warning", { f, v in
            let e = B.endpoint(f), c = B.cert(notAfter: B.now + 5 * B.day)
            return MatrixRow(name: "", via: false, items: [B.matrix([B.attempt(e, .asClient, v, chain: [c])]), B.review([c], server: e)],
                             root: nil, warning: .certExpiresSoon, affects: [])
        }),
        // The trust anchor, from the store, not sent by the server: its expiry stops the chain as a leaf's does.
        ("the anchor expires in 10 days: a warning", { f, v in
            let e = B.endpoint(f), leaf = B.cert(), root = B.cert("Test CA", notAfter: B.now + 10 * B.day, selfSigned: true, ca: true)
            return MatrixRow(name: "", via: false, items: [B.matrix([B.attempt(e, .asClient, v, chain: [leaf])]), B.review([leaf], server: e, path: [leaf, root])],
                             root: nil, warning: .certExpiresSoon, affects: [])
        }),
        ("server aborts without SNI, no proxy", { f, v in
            let e = B.endpoint(f)
            return MatrixRow(name: "", via: false, items: [B.matrix([B.attempt(e, .asClient, v), B.attempt(e, .none, v, outcome: .alert(B.serverAlert(80)))])],
                             root: .alertWithoutSNI, affects: [.withoutSNI])
        }),
        ("server aborts without SNI, nginx sends SNI: a warning", { f, v in
            let e = B.endpoint(f)
            return MatrixRow(name: "", via: true, items: [B.nginxConfig(["proxy_ssl_server_name": ["on"], "proxy_ssl_name": [B.host]], upstream: e),
                                                         B.exchange(.direct, pinned: e), B.exchange(.via, status: 200),
                                                         B.matrix([B.attempt(e, .asClient, v), B.attempt(e, .none, v, outcome: .alert(B.serverAlert(80)))])],
                             root: nil, warning: .alertWithoutSNI, affects: [])
        }),
        ("server requires a client certificate (116)", { f, v in
            let e = B.endpoint(f)
            return MatrixRow(name: "", via: false, items: [B.matrix([B.attempt(e, .asClient, v, outcome: .alert(B.serverAlert(116)), certificateRequested: true)])],
                             root: .clientCertRequired, affects: [.user])
        }),
        ("TLS 1.2 client certificate required (40 after a CertificateRequest)", { f, v in
            let e = B.endpoint(f)
            return MatrixRow(name: "", via: false, items: [B.matrix([B.attempt(e, .asClient, v, outcome: .alert(B.serverAlert(40)), certificateRequested: true)])],
                             root: .clientCertRequired, affects: [.user])
        }),
        ("no common version (70)", { f, v in
            let e = B.endpoint(f)
            return MatrixRow(name: "", via: false, items: [B.matrix([B.attempt(e, .asClient, v, outcome: .alert(B.serverAlert(70)))])],
                             root: .protocolVersion, affects: [.user])
        }),
        ("no shared cipher (40, no CertificateRequest)", { f, v in
            let e = B.endpoint(f)
            return MatrixRow(name: "", via: false, items: [B.matrix([B.attempt(e, .asClient, v, outcome: .alert(B.serverAlert(40)))])],
                             root: .noSharedCipher, affects: [.user])
        }),
        ("every address refuses", { f, v in
            let e = B.endpoint(f)
            return MatrixRow(name: "", via: false, items: [B.matrix([B.attempt(e, .asClient, v, outcome: .refused)])],
                             root: .connectionRefused, affects: [.user])
        }),
        ("one family refuses, the other works: healthy", { f, v in
            let good = B.endpoint(f), bad = B.endpoint(f == .v4 ? .v6 : .v4)
            return MatrixRow(name: "", via: false, items: [B.matrix([B.attempt(good, .asClient, v), B.attempt(bad, .asClient, v, outcome: .refused)]),
                                                          B.exchange(.direct, pinned: good),
                                                          B.exchange(.direct, status: 0, curl: 7, errno: 111, pinned: bad, connect: 0, tls: 0, firstByte: 0)],
                             root: nil, warning: .addressUnreachable, affects: [])
        }),
        ("one family refuses, the other resets the handshake", { f, v in
            let good = B.endpoint(f), bad = B.endpoint(f == .v4 ? .v6 : .v4)
            return MatrixRow(name: "", via: false, items: [B.matrix([B.attempt(good, .asClient, v, outcome: .reset), B.attempt(bad, .asClient, v, outcome: .refused)])],
                             root: .connectionReset, warning: .addressUnreachable, affects: [.user])
        }),
        ("one family refuses, the other's certificate expired", { f, v in
            let good = B.endpoint(f), bad = B.endpoint(f == .v4 ? .v6 : .v4)
            let c = B.cert(notBefore: B.now - 400 * B.day, notAfter: B.now - 2 * B.day)
            return MatrixRow(name: "", via: false, items: [B.matrix([B.attempt(good, .asClient, v, chain: [c]), B.attempt(bad, .asClient, v, outcome: .refused)]),
                                                          B.review([c], problems: [B.problem(.certHasExpired)], server: good)],
                             root: .certExpired, affects: [.user])
        }),
        ("the answer after the handshake has no HTTP status line (curl code 1)", { f, v in
            let e = B.endpoint(f)
            return MatrixRow(name: "", via: false, items: [B.matrix([B.attempt(e, .asClient, v)]),
                                                          B.exchange(.direct, status: 0, curl: 1, pinned: e, firstByte: 0)],
                             root: .httpProtocolError, affects: [.user])
        }),
        ("curl code 1 with a 3xx answer (a redirect to a scheme curl does not speak): no protocol error", { f, v in
            let e = B.endpoint(f)
            return MatrixRow(name: "", via: false, items: [B.matrix([B.attempt(e, .asClient, v)]),
                                                          B.exchange(.direct, status: 302, curl: 1, pinned: e)],
                             root: nil, affects: [])
        }),
        ("the port speaks plain HTTP", { f, v in
            let e = B.endpoint(f)
            return MatrixRow(name: "", via: false, items: [B.matrix([B.attempt(e, .asClient, v, outcome: .notTLS("'HTTP/1.1 400' (first byte 0x48)"))])],
                             root: .notTLS, affects: [.user])
        }),
        ("reset during the handshake", { f, v in
            let e = B.endpoint(f)
            return MatrixRow(name: "", via: false, items: [B.matrix([B.attempt(e, .asClient, v, outcome: .reset)])],
                             root: .connectionReset, affects: [.user])
        }),
        ("ClientHello never answered", { f, v in
            let e = B.endpoint(f)
            return MatrixRow(name: "", via: false, items: [B.matrix([B.attempt(e, .asClient, v, outcome: .timedOut(.handshake))])],
                             root: .timeout, affects: [.user])
        }),
    ]

    // MARK: - The proxy's own word (its error log), behind a 502

    static func proxied(_ e: Endpoint, _ v: B.Version, log message: String, extra: [Evidence] = []) -> [Evidence] {
        [B.matrix([B.attempt(e, .asClient, v, certificateRequested: message.contains("alert number 40")),
                   B.attempt(e, .none, v, certificateRequested: message.contains("alert number 40"))]),
         B.exchange(.direct, pinned: e), B.exchange(.via, status: 502), B.log(message, upstream: e)] + extra
    }

    /// The same case with another proxy's line in place of nginx's.
    static func proxied(_ e: Endpoint, _ v: B.Version, line: String, format: ProxyLogFormat) -> [Evidence] {
        var items = proxied(e, v, log: "")
        items[items.count - 1] = B.log(line, format: format)
        return items
    }

    static func envoy(_ e: Endpoint, _ flags: String, _ reason: String = "-") -> String {
        "[2026-06-01T12:00:00.000Z] \"GET /test HTTP/1.1\" 503 \(flags) \(reason) 0 91 3 - \"10.0.0.5\" \"curl/8.5.0\" \"r1\" \"gw.example.test\" \"\(e)\""
    }

    static let proxyLog: [(String, Scenario)] = [
        // No alert: nginx reads no HTTP/1.x answer, while the direct request (ALPN h2, as curl offers) got HTTP/2.
        ("nginx log: no valid HTTP/1.0 header, the upstream answers HTTP/2", { f, v in
            let e = B.endpoint(f)
            var items = proxied(e, v, log: "upstream sent no valid HTTP/1.0 header while reading response header from upstream")
            items[1] = B.exchange(.direct, pinned: e, http: "HTTP/2", headers: [("content-type", "application/grpc")])
            return MatrixRow(name: "", via: true, items: items, root: .upstreamProtocolMismatch, affects: [.proxy])
        }),
        ("nginx log: no valid HTTP/1.0 header, the upstream answers HTTP/1.1", { f, v in
            let e = B.endpoint(f)
            return MatrixRow(name: "", via: true, items: proxied(e, v, log: "upstream sent no valid HTTP/1.0 header while reading response header from upstream"),
                             root: .httpProtocolError, affects: [.proxy])
        }),
        // The upstream block caches connections; the upstream's keep-alive is shorter than nginx's: the race.
        ("nginx log: prematurely closed, keep-alive shorter upstream", { f, v in
            let e = B.endpoint(f)
            var items = proxied(e, v, log: "upstream prematurely closed connection while reading response header from upstream")
            items[1] = B.exchange(.direct, pinned: e, headers: [("Keep-Alive", "timeout=2")])
            var config = ProxyConfig(file: "/etc/nginx/nginx.conf", location: "/test", locationWhere: "/etc/nginx/nginx.conf:10", source: nil,
                                     proxyPass: "https://backend/x", scheme: "https", upstreamName: "backend",
                                     servers: [ProxyConfig.Server(host: e.address.description, port: Int(e.port))],
                                     proxyHost: "backend", settings: [:], sslName: nil, hostHeader: nil)
            config.upstreamSettings = ["keepalive": ["16"]]
            return MatrixRow(name: "", via: true, items: items + [.proxyConfig(config)], root: .upstreamClosedEarly, affects: [.proxy])
        }),
        ("Envoy log: UF with no reason", { f, v in
            let e = B.endpoint(f)
            return MatrixRow(name: "", via: true, items: proxied(e, v, line: envoy(e, "UF"), format: .envoy), root: .proxyError, affects: [.proxy])
        }),
        ("Envoy log: CERTIFICATE_VERIFY_FAILED", { f, v in
            let e = B.endpoint(f)
            return MatrixRow(name: "", via: true, items: proxied(e, v, line: envoy(e, "UF", "\"TLS error: 268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED\""), format: .envoy),
                             root: .certInvalid, affects: [.proxy])
        }),
        ("Envoy log: WRONG_VERSION_NUMBER", { f, v in
            let e = B.endpoint(f)
            return MatrixRow(name: "", via: true, items: proxied(e, v, line: envoy(e, "UF", "\"TLS error: 268435703:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER\""), format: .envoy),
                             root: .tlsToPlainPort, affects: [.proxy])
        }),
        ("HAProxy log: connect timeout (sC)", { f, v in
            let line = "Jun  1 12:00:00 lb haproxy[7]: 10.0.0.5:40000 [01/Jun/2026:12:00:00.000] fe be/srv1 0/0/-1/-1/3002 503 217 - - sC-- 1/1/0/0/3 0/0 \"GET /test HTTP/1.1\""
            return MatrixRow(name: "", via: true, items: proxied(B.endpoint(f), v, line: line, format: .haproxy), root: .proxyTimeout, affects: [.proxy])
        }),
        ("log: alert 80, nginx sends no SNI", { f, v in
            let e = B.endpoint(f)
            var items = proxied(e, v, log: "SSL_do_handshake() failed (SSL: error:0A000438:SSL routines::tlsv1 alert internal error:SSL alert number 80) while SSL handshaking to upstream")
            items[0] = B.matrix([B.attempt(e, .asClient, v), B.attempt(e, .none, v, outcome: .alert(B.serverAlert(80)))])
            return MatrixRow(name: "", via: true, items: items, root: .alertWithoutSNI, affects: [.proxy])
        }),
        ("log: name mismatch against $proxy_host", { f, v in
            MatrixRow(name: "", via: true, items: proxied(B.endpoint(f), v, log: "upstream SSL certificate does not match \"backend\" while SSL handshaking to upstream"),
                      root: .hostnameMismatch, affects: [.proxy])
        }),
        ("log: verify error 10", { f, v in
            MatrixRow(name: "", via: true, items: proxied(B.endpoint(f), v, log: "upstream SSL certificate verify error: (10:certificate has expired) while SSL handshaking to upstream"),
                      root: .certExpired, affects: [.proxy])
        }),
        // nginx sends no SNI and gets the default certificate, expired; the one served with SNI is valid. The
        // log's "certificate has expired" is that default certificate's: the cause is the SNI nginx does not
        // send (it was cert-expired "for the host", whose own certificate is valid, and no SNI fix).
        ("log: verify error 10, the default certificate (without SNI) expired", { f, v in
            let e = B.endpoint(f)
            var items = proxied(e, v, log: "upstream SSL certificate verify error: (10:certificate has expired) while SSL handshaking to upstream")
            let old = B.cert("default.invalid", notBefore: B.now - 400 * B.day, notAfter: B.now - 5 * B.day)
            items[0] = B.matrix([B.attempt(e, .asClient, v), B.attempt(e, .none, v, chain: [old], verify: .certHasExpired, nameMatches: false)])
            return MatrixRow(name: "", via: true, items: items, root: .defaultCertWithoutSNI, affects: [.proxy], confirmedBy: true)
        }),
        // The proxy answered 200; a capture holds triage's own SNI-less connections, aborted (alert 80), beside
        // the handshake variant that met the same: a prediction for clients without SNI, a warning (it was
        // alert-without-sni, exit 1, over a proxy that works).
        ("capture: triage's own SNI-less connections aborted, the proxy answers 200", { f, v in
            let e = B.endpoint(f)
            let items: [Evidence] = [
                B.matrix([B.attempt(e, .asClient, v), B.attempt(e, .none, v, outcome: .alert(B.serverAlert(80)))]),
                B.exchange(.direct, pinned: e), B.exchange(.via, status: 200),
                B.capture([B.captured(e, sni: nil, version: v, alerts: [B.serverAlert(80)], origin: .triage),
                           B.captured(e, sni: B.host, version: v, origin: .triage)]),
            ]
            return MatrixRow(name: "", via: true, items: items, root: nil, warning: .alertWithoutSNI, affects: [])
        }),
        ("log: verify error 21", { f, v in
            MatrixRow(name: "", via: true, items: proxied(B.endpoint(f), v, log: "upstream SSL certificate verify error: (21:unable to verify the first certificate) while SSL handshaking to upstream"),
                      root: .incompleteChain, affects: [.proxy])
        }),
        ("log: verify error 26", { f, v in
            MatrixRow(name: "", via: true, items: proxied(B.endpoint(f), v, log: "upstream SSL certificate verify error: (26:unsupported certificate purpose) while SSL handshaking to upstream"),
                      root: .certWrongPurpose, affects: [.proxy])
        }),
        ("log: alert 70", { f, v in
            MatrixRow(name: "", via: true, items: proxied(B.endpoint(f), v, log: "SSL_do_handshake() failed (SSL: error:0A00042E:SSL routines::tlsv1 alert protocol version:SSL alert number 70) while SSL handshaking to upstream"),
                      root: .protocolVersion, affects: [.proxy])
        }),
        ("log: alert 40, the server asks for a certificate", { f, v in
            MatrixRow(name: "", via: true, items: proxied(B.endpoint(f), v, log: "SSL_do_handshake() failed (SSL: error:0A000410:SSL routines::sslv3 alert handshake failure:SSL alert number 40) while SSL handshaking to upstream"),
                      root: .clientCertRequired, affects: [.proxy])
        }),
        ("log: no live upstreams", { f, v in
            MatrixRow(name: "", via: true, items: proxied(B.endpoint(f), v, log: "no live upstreams while connecting to upstream"),
                      root: .noLiveUpstreams, affects: [.proxy])
        }),
        ("log: connect refused", { f, v in
            MatrixRow(name: "", via: true, items: proxied(B.endpoint(f), v, log: "connect() failed (111: Connection refused) while connecting to upstream"),
                      root: .connectionRefused, affects: [.proxy])
        }),
        ("log: header too big", { f, v in
            MatrixRow(name: "", via: true, items: proxied(B.endpoint(f), v, log: "upstream sent too big header while reading response header from upstream"),
                      root: .upstreamHeaderTooBig, affects: [.proxy])
        }),
        ("log: timed out handshaking", { f, v in
            MatrixRow(name: "", via: true, items: proxied(B.endpoint(f), v, log: "upstream timed out (110: Connection timed out) while SSL handshaking to upstream"),
                      root: .proxyTimeout, affects: [.proxy])
        }),
        ("log: plain port (wrong version number)", { f, v in
            MatrixRow(name: "", via: true, items: proxied(B.endpoint(f), v, log: "SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong version number) while SSL handshaking to upstream"),
                      root: .tlsToPlainPort, affects: [.proxy])
        }),
        // The upstream hangs on the request: nginx says 504 and a direct request gets no answer either.
        // The hang explains the proxy's answer (it was ranked below proxy-error), and it hangs for both.
        ("504 and the upstream hangs on a direct request too: http-timeout", { f, v in
            let e = B.endpoint(f)
            return MatrixRow(name: "", via: true, items: [B.matrix([B.attempt(e, .asClient, v), B.attempt(e, .none, v)]),
                                                         B.exchange(.direct, status: 0, curl: 28, pinned: e, firstByte: 0),
                                                         B.exchange(.via, status: 504)],
                             root: .httpTimeout, affects: [.user, .proxy])
        }),
        ("502 and nothing else: proxy-error", { f, v in
            let e = B.endpoint(f)
            return MatrixRow(name: "", via: true, items: [B.matrix([B.attempt(e, .asClient, v), B.attempt(e, .none, v)]), B.exchange(.direct, pinned: e),
                                                         B.exchange(.via, status: 502)],
                             root: .proxyError, affects: [.proxy])
        }),
    ]

    // MARK: - The replay of the proxy's profile

    static let replays: [(String, Scenario)] = [
        ("replay: nginx verifies the upstream block's name", { f, v in
            let e = B.endpoint(f)
            let profile = B.nginxProfile(["proxy_ssl_verify": ["on"], "proxy_ssl_trusted_certificate": ["/etc/nginx/ca.pem"]], upstream: e)
            let check = ChainCheck(chain: CertificateChain(certificates: [B.cert()], servers: [e], variants: [.none]),
                                   verification: ChainVerification(problems: [B.problem(.hostnameMismatch)]), caFile: "/etc/nginx/ca.pem", name: "backend")
            return MatrixRow(name: "", via: true, items: [B.nginxConfig(["proxy_ssl_verify": ["on"], "proxy_ssl_trusted_certificate": ["/etc/nginx/ca.pem"]], upstream: e),
                                                         B.matrix([B.attempt(e, .asClient, v), B.attempt(e, .none, v)]),
                                                         B.exchange(.direct, pinned: e), B.exchange(.via, status: 502),
                                                         B.matrix([B.attempt(e, .none, v, verify: .hostnameMismatch, nameMatches: false)], profile: profile, checks: [check])],
                             root: .hostnameMismatch, affects: [.proxy])
        }),
        ("replay: nginx 1.22 offers up to TLS 1.2, the upstream 1.3 only", { f, v in
            let e = B.endpoint(f)
            let profile = B.nginxProfile(["proxy_ssl_server_name": ["on"]], upstream: e)
            return MatrixRow(name: "", via: true, items: [B.matrix([B.attempt(e, .asClient, .tls13)]),
                                                         B.exchange(.direct, pinned: e), B.exchange(.via, status: 502),
                                                         B.matrix([B.attempt(e, .name("backend"), v, outcome: .alert(B.serverAlert(70)))], profile: profile)],
                             root: .protocolVersion, affects: [.proxy])
        }),
        ("replay: without SNI the server aborts, with SNI it works", { f, v in
            let e = B.endpoint(f)
            let profile = B.nginxProfile(upstream: e, version: NginxVersion(1, 25, 3))
            return MatrixRow(name: "", via: true, items: [B.matrix([B.attempt(e, .asClient, v), B.attempt(e, .none, v, outcome: .alert(B.serverAlert(80)))]),
                                                         B.exchange(.direct, pinned: e), B.exchange(.via, status: 502),
                                                         B.matrix([B.attempt(e, .none, v, outcome: .alert(B.serverAlert(80))), B.attempt(e, .asClient, v)], profile: profile)],
                             root: .alertWithoutSNI, affects: [.proxy])
        }),
        ("replay: no client certificate configured", { f, v in
            let e = B.endpoint(f)
            let profile = B.nginxProfile(upstream: e)
            return MatrixRow(name: "", via: true, items: [B.matrix([B.attempt(e, .asClient, v, outcome: .alert(B.serverAlert(116)), certificateRequested: true)]),
                                                         B.exchange(.via, status: 502),
                                                         B.matrix([B.attempt(e, .none, .tls12, outcome: .alert(B.serverAlert(40)), certificateRequested: true)], profile: profile)],
                             root: .clientCertRequired, affects: [.proxy])
        }),
        ("replay: more intermediates than nginx's verify depth", { f, v in
            let e = B.endpoint(f)
            let settings = ["proxy_ssl_verify": ["on"], "proxy_ssl_trusted_certificate": ["/etc/nginx/ca.pem"]]
            let profile = B.nginxProfile(settings, upstream: e)
            let chain = [B.cert(issuer: "CN=Int 2"), B.cert("Int 2", issuer: "CN=Int 1", ca: true), B.cert("Int 1", issuer: "CN=Root", ca: true)]
            let check = ChainCheck(chain: CertificateChain(certificates: chain, servers: [e], variants: [.none]),
                                   verification: ChainVerification(problems: [B.problem(.certChainTooLong, depth: 2)]), caFile: "/etc/nginx/ca.pem", name: "backend")
            return MatrixRow(name: "", via: true, items: [B.nginxConfig(settings, upstream: e), B.exchange(.direct, pinned: e), B.exchange(.via, status: 502),
                                                         B.matrix([B.attempt(e, .none, v, verify: .certChainTooLong)], profile: profile, checks: [check])],
                             root: .certInvalid, affects: [.proxy])
        }),
        ("log: verify error 20 read with the replay (its verify depth)", { f, v in
            let e = B.endpoint(f)
            let settings = ["proxy_ssl_verify": ["on"], "proxy_ssl_trusted_certificate": ["/etc/nginx/ca.pem"]]
            let profile = B.nginxProfile(settings, upstream: e)
            let chain = [B.cert(issuer: "CN=Int 2"), B.cert("Int 2", issuer: "CN=Int 1", ca: true), B.cert("Int 1", issuer: "CN=Root", ca: true)]
            let check = ChainCheck(chain: CertificateChain(certificates: chain, servers: [e], variants: [.none]),
                                   verification: ChainVerification(problems: [B.problem(.certChainTooLong, depth: 2)]), caFile: "/etc/nginx/ca.pem", name: "backend")
            return MatrixRow(name: "", via: true,
                             items: [B.nginxConfig(settings, upstream: e), B.exchange(.direct, pinned: e), B.exchange(.via, status: 502),
                                     B.matrix([B.attempt(e, .none, v)], profile: profile, checks: [check]),
                                     B.log("upstream SSL certificate verify error: (20:unable to get local issuer certificate) while SSL handshaking to upstream", upstream: e)],
                             root: .certInvalid, affects: [.proxy])
        }),
        ("log: verify error 21, the missing issuer a root other clients trust", { f, v in
            let e = B.endpoint(f)
            let rootB = B.cert("Root B", selfSigned: true, ca: true)
            let leaf = B.cert(issuer: "CN=Root B")
            let userCheck = { () -> Evidence in
                var c = ChainCheck(chain: CertificateChain(certificates: [leaf], servers: [e], variants: [.asClient]),
                                   verification: ChainVerification(problems: []), caFile: "/tmp/ab.pem", name: B.host)
                c.path = [leaf, rootB]
                return .chains(ChainReview(checks: [c], host: B.host, warnDays: 21, at: B.now))
            }()
            let profile = B.nginxProfile(["proxy_ssl_verify": ["on"], "proxy_ssl_trusted_certificate": ["/etc/nginx/a.pem"]], upstream: e)
            let replayCheck = ChainCheck(chain: CertificateChain(certificates: [leaf], servers: [e], variants: [.none]),
                                         verification: ChainVerification(problems: [B.problem(.unableToVerifyLeafSignature)]), caFile: nil, name: "backend")
            return MatrixRow(name: "", via: true,
                             items: [userCheck, B.exchange(.direct, pinned: e), B.exchange(.via, status: 502),
                                     B.matrix([B.attempt(e, .none, v, chain: [leaf])], profile: profile, checks: [replayCheck]),
                                     B.log("upstream SSL certificate verify error: (21:unable to verify the first certificate) while SSL handshaking to upstream", upstream: e)],
                             root: .untrustedIssuer, affects: [.proxy])
        }),
        ("replay predicts a failure, the proxy answered 200: a warning", { f, v in
            let e = B.endpoint(f)
            let profile = B.nginxProfile(upstream: e)
            return MatrixRow(name: "", via: true, items: [B.exchange(.direct, pinned: e), B.exchange(.via, status: 200),
                                                         B.matrix([B.attempt(e, .none, v, outcome: .alert(B.serverAlert(80))), B.attempt(e, .asClient, v)], profile: profile)],
                             root: nil, warning: .alertWithoutSNI, affects: [])
        }),
    ]

    // MARK: - Captures

    static let captures: [(String, Scenario)] = [
        ("capture: nginx refuses an expired certificate (45)", { f, v in
            let e = B.endpoint(f), c = B.cert(notBefore: B.now - 400 * B.day, notAfter: B.now - 9 * B.day)
            return MatrixRow(name: "", via: true, items: [B.exchange(.via, status: 502),
                                                         B.capture([B.captured(e, sni: nil, version: v, alerts: [B.clientAlert(45)], certificates: [c])])],
                             root: .certExpired, affects: [.proxy])
        }),
        ("capture: nginx completes the handshake and closes quietly on an expired certificate", { f, v in
            let e = B.endpoint(f), c = B.cert(notBefore: B.now - 400 * B.day, notAfter: B.now - 9 * B.day)
            let check = ChainCheck(chain: CertificateChain(certificates: [c], servers: [e]), verification: ChainVerification(problems: [B.problem(.certHasExpired)]),
                                   caFile: nil, name: B.host)
            return MatrixRow(name: "", via: true, items: [B.exchange(.via, status: 502),
                                                         B.capture([B.captured(e, sni: nil, version: .tls12, certificates: [c], closedWithoutRequest: true)],
                                                                   checks: [CaptureDigest.chainKey([c]): check])],
                             root: .certExpired, affects: [.proxy])
        }),
        ("capture: server aborts the proxy's SNI-less hello (80)", { f, v in
            let e = B.endpoint(f)
            return MatrixRow(name: "", via: true, items: [B.exchange(.via, status: 502),
                                                         B.capture([B.captured(e, sni: nil, version: v, alerts: [B.serverAlert(80)], serverHello: false)])],
                             root: .alertWithoutSNI, affects: [.proxy])
        }),
        ("capture: the server refuses the certificate the client sent (48)", { f, v in
            let e = B.endpoint(f)
            var c = B.captured(e, sni: B.host, version: .tls12, alerts: [B.serverAlert(48)], certificateRequest: true)
            c.clientCertificateSent = true
            return MatrixRow(name: "", via: false, items: [B.capture([c])], root: .clientCertRejected, affects: [.user])
        }),
        ("capture: SYN answered by RST", { f, v in
            let e = B.endpoint(f)
            return MatrixRow(name: "", via: false, items: [B.capture([B.captured(e, sni: B.host, version: v, serverHello: false, refused: true)])],
                             root: .connectionRefused, affects: [.user])
        }),
        ("capture: client 42 to a chain that verifies: the name", { f, v in
            let e = B.endpoint(f), c = B.cert("default.example.test")
            let check = ChainCheck(chain: CertificateChain(certificates: [c], servers: [e]), verification: ChainVerification(problems: []), caFile: "/ca.pem")
            return MatrixRow(name: "", via: false, items: [B.capture([B.captured(e, sni: B.host, version: v, alerts: [B.clientAlert(42)], certificates: [c])],
                                                                    checks: [CaptureDigest.chainKey([c]): check])],
                             root: .hostnameMismatch, affects: [.user])
        }),
        ("capture: TLS 1.0 negotiated", { f, v in
            let e = B.endpoint(f)
            return MatrixRow(name: "", via: false, items: [B.capture([B.captured(e, sni: B.host, version: v, selected: 0x0301)])],
                             root: .protocolVersion, affects: [.user])
        }),
        ("capture: ClientHello unanswered", { f, v in
            let e = B.endpoint(f)
            return MatrixRow(name: "", via: false, items: [B.capture([B.captured(e, sni: B.host, version: v, serverHello: false, unanswered: true)])],
                             root: .timeout, affects: [.user])
        }),
    ]

    // MARK: - HTTP

    static let http: [(String, Scenario)] = [
        // A gateway's 504 without its log: its own timeout (it was the generic proxy-error), the upstream quick
        // to a direct request.
        ("via: the proxy answers 504, no log", { f, v in
            let e = B.endpoint(f)
            return MatrixRow(name: "", via: true, items: [B.matrix([B.attempt(e, .asClient, v), B.attempt(e, .none, v)]),
                                                         B.exchange(.direct, pinned: e), B.exchange(.via, status: 504)],
                             root: .proxyTimeout, affects: [.proxy])
        }),
        ("direct: 500 from the upstream", { f, v in
            MatrixRow(name: "", via: false, items: [B.exchange(.direct, status: 500, pinned: B.endpoint(f))], root: .httpError, affects: [.user])
        }),
        // Through HTTPS_PROXY: the proxy refuses the connection, or will not open the tunnel.
        ("direct: the proxy from HTTPS_PROXY refuses", { f, v in
            MatrixRow(name: "", via: false, items: [B.exchange(.direct, status: 0, curl: 7, errno: 111, connect: 0, tls: 0, firstByte: 0,
                                                                proxy: ("http://127.0.0.1:3128", "HTTPS_PROXY"))],
                      root: .connectionRefused, affects: [.user])
        }),
        ("direct: the proxy answers CONNECT with 403", { f, v in
            MatrixRow(name: "", via: false, items: [B.exchange(.direct, status: 0, curl: 56, connect: 0.001, tls: 0, firstByte: 0,
                                                                proxy: ("http://127.0.0.1:3128", "HTTPS_PROXY"), connectStatus: 403)],
                      root: .proxyError, affects: [.user])
        }),
        ("direct: TLS works, no answer", { f, v in
            MatrixRow(name: "", via: false, items: [B.exchange(.direct, status: 0, curl: 28, pinned: B.endpoint(f), firstByte: 0)],
                      root: .httpTimeout, affects: [.user])
        }),
        // curl (OpenSSL backend) starts its verify result at 1 and checks the name before it reads OpenSSL's.
        ("direct: curl 60 with verify result 1", { f, v in
            MatrixRow(name: "", via: false, items: [B.exchange(.direct, status: 0, curl: 60, pinned: B.endpoint(f), verifyResult: 1)],
                      root: .hostnameMismatch, affects: [.user])
        }),
        ("direct: redirect loop", { f, v in
            MatrixRow(name: "", via: false, items: [B.exchange(.direct, status: 302, curl: 47, pinned: B.endpoint(f))], root: .redirectLoop, affects: [.user])
        }),
    ]
}
