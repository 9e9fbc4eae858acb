import Foundation
import Testing
import TriageDemo
import TriageFleet
import TriageKit
import TriageProbes
import TriageTestSupport
import TriageWire

/// Each path judged as its real client behaves, from the evidence: a real
/// nginx (Debian's) in front of fixture upstreams, once with its
/// configuration given and once with only its error log; curl's fallback
/// over a name's addresses; certificates judged by purpose and anchors.
@Suite(.serialized) struct ClientProfileTests {
    typealias F = TLSFixtures

    func run(_ upstream: Int, nginx: NginxRunner, conf: Bool, ca: String? = nil, extra: [String] = []) async throws -> NginxCase {
        try await NginxCase.run(upstream, nginx: nginx, conf: conf, ca: ca, extra: extra)
    }

    func nginx(upstream: Int, _ extra: String = "") throws -> NginxRunner { try NginxCase.nginx(upstream: upstream, extra) }

    // MARK: - nginx checks the name it is configured (or defaults) to check

    /// `proxy_ssl_verify on` with the default `proxy_ssl_name` ($proxy_host: the
    /// upstream block's name): nginx checks "middleground_backend" against a
    /// certificate for the real name and answers 502. The replay checks the same
    /// name (never `verify 0 (ok)` beside that 502); the log says it too.
    @Test(arguments: [true, false]) func verifyingWithTheDefaultProxySSLName(conf: Bool) async throws {
        let root = try F.root()
        let leaf = try F.leaf(issuer: root)
        let upstream = try F.server(chain: [leaf], key: leaf)
        defer { upstream.stop() }
        let ca = try F.file(root.certificatePEM)
        let nginx = try nginx(upstream: upstream.port, "proxy_ssl_verify on;\nproxy_ssl_trusted_certificate \(ca);")
        defer { nginx.stop() }
        let c = try await run(upstream.port, nginx: nginx, conf: conf, ca: ca)
        #expect(c.result.status == 1, "\(c.result.stderr)")
        #expect(c.doc.directCause?.cause == .proxyError)
        #expect(c.doc.rootCause?.cause == .hostnameMismatch, "\(c.doc.findings.map { "\($0.cause) \($0.summary)" })")
        #expect(c.doc.rootCause?.remedy.contains("proxy_ssl_name") == true)
        let log = try #require(c.doc.findings.first { $0.cause == .hostnameMismatch && $0.fact(.nameChecked) != nil })
        #expect(log.fact(.nameChecked) == "middleground_backend")
        if conf {
            // The replay checks what nginx checks: it fails the same way.
            let replay = try #require(c.doc.steps.first { $0.id == "proxy-handshake" })
            #expect(replay.status == .problem)
            #expect(c.doc.rootCause?.summary.contains("middleground_backend") == true || c.doc.rootCause?.fact(.host) == "middleground_backend",
                    "\(c.doc.rootCause?.summary ?? "")")
            // "Why" names the name nginx checks, not the SNI it sends (it blamed "no SNI").
            let why = c.markdown.split(separator: "\n").first { $0.hasPrefix("**Why:**") }.map(String.init) ?? ""
            #expect(why.contains("checks the upstream's certificate against the name middleground\\_backend"), "\(why)")
        }
    }

    /// Without --nginx-conf, on the machine where nginx runs: triage finds the nginx listening on the
    /// --via port (/proc: the socket's inode, its worker, the master's `-c`), reads that configuration
    /// and judges as if it had been given — the fix is a diff of the real file.
    @Test func theRunningNginxIsFoundByItsPort() async throws {
        let root = try F.root()
        let leaf = try F.leaf(issuer: root)
        let upstream = try F.server(chain: [leaf], key: leaf)
        defer { upstream.stop() }
        let ca = try F.file(root.certificatePEM)
        let nginx = try nginx(upstream: upstream.port, "proxy_ssl_verify on;\nproxy_ssl_trusted_certificate \(ca);")
        defer { nginx.stop() }
        let c = try await NginxCase.run(upstream.port, nginx: nginx, conf: false, discover: true, ca: ca)
        #expect(c.result.status == 1, "\(c.result.stderr)")
        let step = try #require(c.doc.steps.first { $0.id == "nginx" })
        #expect(step.status == .ok, "\(step.summary)")
        #expect(String(describing: step.facts["note"]).contains("the configuration of the nginx running here"), "\(step.facts)")
        #expect(String(describing: step.facts["note"]).contains(nginx.configuration.path))
        #expect(c.doc.steps.first { $0.id == "proxy" }?.status == .skipped)
        #expect(c.doc.rootCause?.cause == .hostnameMismatch, "\(c.said)")
        #expect(c.doc.steps.first { $0.id == "proxy-handshake" }?.status == .problem)
        #expect(c.markdown.contains("+++ \(nginx.configuration.path)"), "\(c.markdown.prefix(1500))")
        // Started with -p PREFIX (its pid file and logs relative to it): the reload to paste says it too,
        // else `nginx -s reload` looks for the pid file under the compiled-in prefix and fails.
        let prefix = nginx.configuration.deletingLastPathComponent().path, conf = nginx.configuration.path
        #expect(c.markdown.contains("nginx -t -p \(prefix) -c \(conf) && nginx -s reload -p \(prefix) -c \(conf)"), "\(c.markdown)")
    }

    /// No nginx listens on the --via port here (a plain server does): nothing read, no error, the
    /// profile from the version's defaults.
    @Test func noNginxOnTheViaPortIsNotAnError() async throws {
        let root = try F.root()
        let leaf = try F.leaf(issuer: root)
        let upstream = try F.server(chain: [leaf], key: leaf)
        defer { upstream.stop() }
        let proxy = try PlainTCPServer(.ok)
        defer { proxy.stop() }
        let out = TestPaths.temporaryFolder("no-nginx")
        let r = try await Command.triage(["run", "https://\(F.host):\(upstream.port)/", "--via", "http://127.0.0.1:\(proxy.port)/",
                                          "--set", "addresses=127.0.0.1", "--cacert", try F.file(root.certificatePEM), "--out", out.path])
        let doc = try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json")))
        let step = try #require(doc.steps.first { $0.id == "nginx" })
        #expect(step.status == .ok)
        #expect(step.summary == "no nginx listens on port \(proxy.port) on this machine: the proxy's behaviour comes from its version's defaults and what it answers")
        #expect(doc.steps.first { $0.id == "proxy" }?.status == .ok, "\(r.stderr)")
    }

    /// nginx verifies; the upstream's certificate expired. Without its configuration the
    /// default profile says nginx does not verify, but its log and its captured connection
    /// (alert 45 from nginx, the client) show it does: cert-expired, never proxy-error.
    @Test(arguments: [true, false]) func verifyingAnExpiredUpstream(conf: Bool) async throws {
        let root = try F.root()
        let notAfter = F.midnight(-9)
        let leaf = try F.leaf(notBefore: F.midnight(-200), notAfter: notAfter, issuer: root)
        let upstream = try F.server(chain: [leaf], key: leaf)
        defer { upstream.stop() }
        let ca = try F.file(root.certificatePEM)
        let nginx = try nginx(upstream: upstream.port, "proxy_ssl_verify on;\nproxy_ssl_trusted_certificate \(ca);\nproxy_ssl_name \(F.host);")
        defer { nginx.stop() }
        let c = try await run(upstream.port, nginx: nginx, conf: conf, ca: ca)
        #expect(c.result.status == 1, "\(c.result.stderr)")
        #expect(c.doc.rootCause?.cause == .certExpired, "\(c.doc.findings.map { "\($0.cause) \($0.summary)" })")
        #expect(c.doc.rootCause?.date(.notAfter) == notAfter || c.doc.findings.contains { $0.cause == .certExpired && $0.date(.notAfter) == notAfter })
        #expect(c.doc.findings.contains { $0.cause == .certExpired && $0.fact(.event) == "verify-error-10" })
        if !conf {
            // Seen: nginx's own connection in the capture completes the handshake and is closed by nginx
            // without a request — a verifying client refusing the certificate — and its chain expired.
            let groups = c.doc.steps.first { $0.id == "capture-decode" }?.facts["group"]?.listValue?.compactMap(\.stringValue) ?? []
            #expect(groups.contains { $0.contains("handshake completed, then the client closed without a request") && !$0.contains("triage's own") }, "\(groups)")
            #expect(c.doc.findings.contains { $0.cause == .certExpired && $0.step == "capture-decode" && $0.severity == .problem },
                    "\(c.doc.findings.map { "\($0.cause) \($0.step) \($0.summary)" })")
        }
    }

    /// A leaf sent without its intermediate, nginx trusting the root: the anchor set is
    /// nginx's trusted certificate, so the server must send the intermediate.
    @Test(arguments: [true, false]) func verifyingALeafWithoutItsIntermediate(conf: Bool) async throws {
        let root = try F.root()
        let intermediate = try F.intermediate("triage test intermediate", issuer: root)
        let leaf = try F.leaf(issuer: intermediate)
        let upstream = try F.server(chain: [leaf], key: leaf)
        defer { upstream.stop() }
        let ca = try F.file(root.certificatePEM)
        let nginx = try nginx(upstream: upstream.port, "proxy_ssl_verify on;\nproxy_ssl_trusted_certificate \(ca);\nproxy_ssl_name \(F.host);")
        defer { nginx.stop() }
        let c = try await run(upstream.port, nginx: nginx, conf: conf, ca: ca)
        #expect(c.result.status == 1, "\(c.result.stderr)")
        #expect(c.doc.rootCause?.cause == .incompleteChain, "\(c.doc.findings.map { "\($0.cause) \($0.summary)" })")
        #expect(c.doc.findings.contains { $0.cause == .incompleteChain && $0.fact(.event) == "verify-error-21" })
    }

    /// The same without nginx: `--cacert ROOT` is the anchor set; the issuer neither in it nor sent.
    @Test func leafWithoutItsIntermediateAgainstTheGivenAnchors() async throws {
        let root = try F.root()
        let intermediate = try F.intermediate("triage test intermediate", issuer: root)
        let leaf = try F.leaf(issuer: intermediate)
        let upstream = try F.server(chain: [leaf], key: leaf)
        defer { upstream.stop() }
        let run = try await DefaultRunbook.run(port: upstream.port, caFile: try F.file(root.certificatePEM))
        #expect(run.root?.cause == .incompleteChain, "\(run.document.findings.map(\.summary))")
        #expect(run.root?.fact(.missingIssuer) == "CN=triage test intermediate,O=triage fixture")
        #expect(run.root?.remedy.contains("intermediate") == true)
    }

    // MARK: - nginx's version and configuration

    /// Debian's nginx 1.22 offers TLSv1–1.2 to upstreams by default; a TLS 1.3-only upstream
    /// answers alert 70. The profile's version comes from `nginx -v` on this machine.
    @Test(arguments: [true, false]) func nginx122AgainstATLS13OnlyUpstream(conf: Bool) async throws {
        let root = try F.root()
        let leaf = try F.leaf(issuer: root)
        let upstream = try F.server(chain: [leaf], key: leaf) { $0.minVersion = "TLSv1.3" }
        defer { upstream.stop() }
        let nginx = try nginx(upstream: upstream.port, "proxy_ssl_server_name on;\nproxy_ssl_name \(F.host);")
        defer { nginx.stop() }
        let c = try await run(upstream.port, nginx: nginx, conf: conf, ca: try F.file(root.certificatePEM))
        #expect(c.result.status == 1, "\(c.result.stderr)")
        #expect(c.doc.rootCause?.cause == .protocolVersion, "\(c.doc.findings.map { "\($0.cause) \($0.summary)" })")
        let profileStep = try #require(c.doc.steps.first { $0.id == (conf ? "nginx" : "proxy") })
        let version = profileStep.fact(.proxyVersion)?.stringValue ?? ""
        #expect(version.contains("nginx 1.22") && version.contains("-v` on this machine"), "\(version)")
        if conf {
            let replay = try #require(c.doc.steps.first { $0.id == "proxy-handshake" })
            #expect(replay.status == .problem)
            #expect(replay.command?.contains("-noservername") == false)
        }
        #expect(c.doc.findings.contains { $0.cause == .protocolVersion && $0.fact(.event) == "alert-70" })
    }

    /// No `proxy_ssl_certificate` against an upstream that requires a client certificate:
    /// over TLS 1.2 the upstream answers alert 40; what the handshakes saw (its
    /// CertificateRequest) makes that client-cert-required, not a cipher problem.
    @Test(arguments: [true, false]) func noClientCertificateForAnUpstreamThatRequiresOne(conf: Bool) async throws {
        let root = try F.root()
        let leaf = try F.leaf(issuer: root)
        let upstream = try F.server(chain: [leaf], key: leaf) { $0.clientCAPEM = root.certificatePEM }
        defer { upstream.stop() }
        let nginx = try nginx(upstream: upstream.port, "proxy_ssl_server_name on;\nproxy_ssl_name \(F.host);")
        defer { nginx.stop() }
        let c = try await run(upstream.port, nginx: nginx, conf: conf, ca: try F.file(root.certificatePEM))
        #expect(c.result.status == 1, "\(c.result.stderr)")
        #expect(c.doc.rootCause?.cause == .clientCertRequired, "\(c.doc.findings.map { "\($0.cause) \($0.summary)" })")
        #expect(c.doc.rootCause?.remedy.contains("proxy_ssl_certificate") == true)
        #expect(c.doc.findings.contains { $0.cause == .clientCertRequired && $0.fact(.event) == "alert-40" })
    }

    // MARK: - Found trying profiles the first tests did not cover

    /// Two intermediates under the root nginx trusts, and nginx's default proxy_ssl_verify_depth 1:
    /// nginx logs 20 (no local issuer); the replay with nginx's depth says the chain is too long.
    @Test func verifyDepthOfOne() async throws {
        let root = try F.root()
        let int1 = try F.intermediate("triage intermediate 1", issuer: root)
        let int2 = try F.intermediate("triage intermediate 2", issuer: int1)
        let leaf = try F.leaf(issuer: int2)
        let upstream = try F.server(chain: [leaf, int2, int1], key: leaf)
        defer { upstream.stop() }
        let ca = try F.file(root.certificatePEM)
        let nginx = try nginx(upstream: upstream.port, "proxy_ssl_verify on;\nproxy_ssl_trusted_certificate \(ca);\nproxy_ssl_name \(F.host);")
        defer { nginx.stop() }
        let c = try await run(upstream.port, nginx: nginx, conf: true, ca: ca)
        #expect(c.result.status == 1, "\(c.result.stderr)")
        #expect(c.doc.rootCause?.cause == .certInvalid, "\(c.doc.findings.map { "\($0.cause) \($0.summary)" })")
        #expect(c.doc.rootCause?.remedy.contains("proxy_ssl_verify_depth 2;") == true, "\(c.doc.rootCause?.remedy ?? "")")
        #expect(c.markdown.contains("+            proxy_ssl_verify_depth 2;"))
    }

    /// The upstream's leaf comes straight from another root that nginx does not trust (the user's
    /// bundle holds both): an untrusted root, not a missing intermediate.
    @Test(arguments: [true, false]) func upstreamFromARootNginxDoesNotTrust(conf: Bool) async throws {
        let rootA = try F.root("triage root A"), rootB = try F.root("triage root B")
        let leaf = try F.leaf(issuer: rootB)
        let upstream = try F.server(chain: [leaf], key: leaf)
        defer { upstream.stop() }
        let nginx = try nginx(upstream: upstream.port, "proxy_ssl_verify on;\nproxy_ssl_trusted_certificate \(try F.file(rootA.certificatePEM, named: "a.pem"));\nproxy_ssl_name \(F.host);")
        defer { nginx.stop() }
        let c = try await run(upstream.port, nginx: nginx, conf: conf, ca: try F.file(rootA.certificatePEM + rootB.certificatePEM, named: "ab.pem"))
        #expect(c.result.status == 1, "\(c.result.stderr)")
        #expect(c.doc.rootCause?.cause == .untrustedIssuer, "\(c.doc.findings.map { "\($0.cause) \($0.summary)" })")
        #expect(c.doc.rootCause?.summary.contains("CN=triage root B") == true, "\(c.doc.rootCause?.summary ?? "")")
    }

    /// nginx sends SNI (its configuration is not given): the upstream's expired certificate for clients
    /// without SNI is a warning — nginx answered 200, and its captured connection carried SNI.
    @Test func aHealthyProxyInFrontOfAnSNILessDefault() async throws {
        let root = try F.root()
        let good = try F.leaf(issuer: root)
        let old = try F.leaf(notBefore: F.midnight(-400), notAfter: F.midnight(-20), issuer: root)
        let upstream = try F.server(chain: [good], key: good) { $0.sni = .defaultCertificate(chainPEM: old.certificatePEM, keyPEM: old.keyPEM) }
        defer { upstream.stop() }
        let nginx = try nginx(upstream: upstream.port, "proxy_ssl_server_name on;\nproxy_ssl_name \(F.host);")
        defer { nginx.stop() }
        let out = TestPaths.temporaryFolder("profile-case")
        let r = try await Command.triage(["run", "https://\(F.host):\(upstream.port)/xxx/xxx", "--via", "http://127.0.0.1:\(nginx.port)/test",
                                          "--set", "addresses=127.0.0.1", "--cacert", try F.file(root.certificatePEM), "--out", out.path])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let doc = try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json")))
        #expect(doc.findings.contains { $0.cause == .defaultCertWithoutSNI && $0.severity == .warning })
    }

    /// `proxy_pass https://127.0.0.1:PORT` with verification: nginx checks "127.0.0.1" as a name
    /// (X509_check_host), so the certificate's IP SAN never matches; the replay checks it the same way,
    /// and the fix names the certificate's DNS name.
    @Test func verifyingAnAddressAsNginxDoes() async throws {
        let root = try F.root()
        let leaf = try F.leaf(sans: [F.host, "IP:127.0.0.1"], issuer: root)
        let upstream = try F.server(chain: [leaf], key: leaf)
        defer { upstream.stop() }
        let ca = try F.file(root.certificatePEM)
        let nginx = try NginxRunner(http: """
            server {
                listen LISTEN;
                location /test {
                    proxy_pass https://127.0.0.1:\(upstream.port)/;
                    proxy_ssl_verify on;
                    proxy_ssl_trusted_certificate \(ca);
                }
            }
            """, prefix: TestPaths.temporaryFolder("nginx"))
        defer { nginx.stop() }
        let out = TestPaths.temporaryFolder("profile-case")
        let r = try await Command.triage(["run", "--via", "http://127.0.0.1:\(nginx.port)/test", "--nginx-conf", nginx.configuration.path,
                                          "--cacert", ca, "--out", out.path])
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        let doc = try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json")))
        #expect(doc.rootCause?.cause == .hostnameMismatch, "\(doc.findings.map { "\($0.cause) \($0.summary)" })")
        let md = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(md.contains("+        proxy_ssl_name \(F.host);"), "\(md.prefix(1500))")
        #expect(!md.contains("with SNI 127.0.0.1"))
    }

    /// `proxy_ssl_name $host` with the request's Host an address: nginx sends no SNI at all (never an
    /// address), so an upstream that aborts without SNI is what it meets.
    @Test func anAddressIsNeverSentAsSNI() async throws {
        let root = try F.root()
        let leaf = try F.leaf(issuer: root)
        let upstream = try F.server(chain: [leaf], key: leaf) { $0.sni = .abortWithoutSNI }
        defer { upstream.stop() }
        let nginx = try nginx(upstream: upstream.port, "proxy_ssl_server_name on;\nproxy_ssl_name $host;")
        defer { nginx.stop() }
        let c = try await run(upstream.port, nginx: nginx, conf: true, ca: try F.file(root.certificatePEM))
        #expect(c.result.status == 1, "\(c.result.stderr)")
        #expect(c.doc.rootCause?.cause == .alertWithoutSNI, "\(c.doc.findings.map { "\($0.cause) \($0.summary)" })")
        #expect(c.doc.steps.first { $0.id == "proxy-handshake" }?.command?.contains("-noservername") == true)
    }

    /// `set $up middleground_backend; proxy_pass https://$up/…`: the variable is known, nginx answers 200.
    @Test func aSetVariableInProxyPass() async throws {
        let root = try F.root()
        let leaf = try F.leaf(issuer: root)
        let upstream = try F.server(chain: [leaf], key: leaf)
        defer { upstream.stop() }
        let nginx = try NginxRunner(http: """
            upstream middleground_backend { server 127.0.0.1:\(upstream.port); }
            server {
                listen LISTEN;
                location /test {
                    set $up middleground_backend;
                    proxy_pass https://$up/xxx;
                }
            }
            """, prefix: TestPaths.temporaryFolder("nginx"))
        defer { nginx.stop() }
        let c = try await run(upstream.port, nginx: nginx, conf: true, ca: try F.file(root.certificatePEM))
        #expect(c.result.status == 0, "\(c.result.stdout)\(c.result.stderr)")
        #expect(c.doc.steps.first { $0.id == "nginx" }?.fact(.proxyPass) == "https://middleground_backend/xxx")
    }

    /// nginx presents a client certificate the upstream's CA did not issue: alert 48, seen with its
    /// certificate sent — rejected, not missing.
    @Test func aClientCertificateFromAnotherCA() async throws {
        let root = try F.root(), clientCA = try F.root("triage client CA"), otherCA = try F.root("other client CA")
        let leaf = try F.leaf(issuer: root)
        let client = try F.leaf("nginx client", issuer: otherCA)
        let upstream = try F.server(chain: [leaf], key: leaf) { $0.clientCAPEM = clientCA.certificatePEM }
        defer { upstream.stop() }
        let cert = try F.file(client.certificatePEM, named: "client.pem"), key = try F.file(client.keyPEM, named: "client.key")
        let nginx = try nginx(upstream: upstream.port, "proxy_ssl_certificate \(cert);\nproxy_ssl_certificate_key \(key);")
        defer { nginx.stop() }
        let c = try await run(upstream.port, nginx: nginx, conf: true, ca: try F.file(root.certificatePEM))
        #expect(c.result.status == 1, "\(c.result.stderr)")
        #expect(c.doc.rootCause?.cause == .clientCertRejected, "\(c.doc.findings.map { "\($0.cause) \($0.summary)" })")
    }

    /// No TARGET: the URL comes from nginx's configuration with the name nginx itself sends as SNI,
    /// so the direct request is made as nginx's is (an SNI-only upstream is healthy).
    @Test func theTargetFromTheConfigurationKeepsNginxsName() async throws {
        let root = try F.root()
        let leaf = try F.leaf(issuer: root)
        let upstream = try F.server(chain: [leaf], key: leaf) { $0.sni = .abortWithoutSNI }
        defer { upstream.stop() }
        let nginx = try nginx(upstream: upstream.port, "proxy_ssl_server_name on;\nproxy_ssl_name \(F.host);")
        defer { nginx.stop() }
        let out = TestPaths.temporaryFolder("profile-case")
        let r = try await Command.triage(["run", "--via", "http://127.0.0.1:\(nginx.port)/test", "--nginx-conf", nginx.configuration.path,
                                          "--cacert", try F.file(root.certificatePEM), "--out", out.path])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let doc = try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json")))
        #expect(doc.target == "https://\(F.host):\(upstream.port)/xxx/xxx", "\(doc.target ?? "")")
    }

    // MARK: - Certificates judged as clients judge them

    /// A server certificate whose Extended Key Usage is clientAuth only: curl refuses it
    /// (verify error 26, unsupported purpose); so does triage.
    @Test func serverCertificateForClientsOnly() async throws {
        let root = try F.root()
        let leaf = try F.leaf(extendedKeyUsage: "clientAuth", issuer: root)
        let upstream = try F.server(chain: [leaf], key: leaf)
        defer { upstream.stop() }
        let run = try await DefaultRunbook.run(port: upstream.port, caFile: try F.file(root.certificatePEM))
        #expect(run.document.verdict == .problem)
        #expect(run.root?.cause == .certWrongPurpose, "\(run.document.findings.map(\.summary))")
        #expect(run.root?.fact(.verifyCode) == 26)
    }

    // MARK: - Addresses as curl uses them

    /// `localhost` with 127.0.0.1 and ::1, the server on IPv4 only: curl falls back and
    /// gets 200, so the run is healthy with an address-unreachable warning.
    @Test func healthyDualStackName() async throws {
        let root = try F.root()
        let leaf = try F.leaf("localhost", sans: ["localhost"], issuer: root)
        let upstream = try F.server(chain: [leaf], key: leaf, address: "127.0.0.1")
        defer { upstream.stop() }
        let out = TestPaths.temporaryFolder("dual-healthy")
        let r = try await Command.triage(["run", "https://localhost:\(upstream.port)/", "--cacert", try F.file(root.certificatePEM), "--out", out.path],
                                         hosts: "127.0.0.1 localhost\n::1 localhost\n")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let doc = try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json")))
        #expect(doc.verdict == .healthy)
        #expect(doc.findings.contains { $0.cause == .addressUnreachable && $0.severity == .warning && $0.subject == "[::1]:\(upstream.port)" })
        #expect(!doc.findings.contains { $0.severity == .problem })
        // The diagram draws the request to each address: the refused one, and the 200 that came.
        let markdown = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        let diagram = try #require(MarkdownChecks.mermaidBlocks(markdown).first).joined(separator: "\n")
        #expect(diagram.contains("U-->>C: HTTP 200 OK"), "\(diagram)")
        #expect(diagram.contains("→ 127.0.0.1:\(upstream.port)"), "\(diagram)")
        // What held says which checks held with a warning, not that everything held.
        let held = markdown.split(separator: "\n").first { $0.hasPrefix("**What held:**") }.map(String.init) ?? ""
        let parts = held.components(separatedBy: "; with a warning (see the other findings): ")
        #expect(parts.count == 2 && parts[1].hasPrefix("handshake (tls.handshake), direct-"), "\(held)")
        #expect(parts.first?.contains("dns (dns.resolve), direct-") == true, "\(held)")
    }

    /// The same name in front of an upstream that aborts SNI-less handshakes: the SNI
    /// finding is the root cause, not the refusing ::1.
    @Test func dualStackNameInFrontOfAnSNIOnlyUpstream() async throws {
        let root = try F.root()
        let leaf = try F.leaf("localhost", sans: ["localhost"], issuer: root)
        let upstream = try F.server(chain: [leaf], key: leaf, address: "127.0.0.1") { $0.sni = .abortWithoutSNI }
        defer { upstream.stop() }
        let out = TestPaths.temporaryFolder("dual-sni")
        let r = try await Command.triage(["run", "https://localhost:\(upstream.port)/", "--cacert", try F.file(root.certificatePEM), "--out", out.path],
                                         hosts: "127.0.0.1 localhost\n::1 localhost\n")
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        let doc = try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json")))
        #expect(doc.rootCause?.cause == .alertWithoutSNI, "\(doc.findings.map(\.cause))")
    }

    // MARK: - SNI-less failures matter to SNI-less clients

    /// A server that rejects clients without SNI, no proxy in the story: the root cause,
    /// saying curl-like clients succeed, with both ways out.
    @Test func serverRejectingClientsWithoutSNI() async throws {
        let root = try F.root()
        let leaf = try F.leaf(issuer: root)
        let upstream = try F.server(chain: [leaf], key: leaf) { $0.sni = .abortWithoutSNI }
        defer { upstream.stop() }
        let run = try await DefaultRunbook.run(port: upstream.port, caFile: try F.file(root.certificatePEM))
        #expect(run.document.verdict == .problem)
        #expect(run.root?.cause == .alertWithoutSNI)
        let remedy = run.root?.remedy ?? ""
        #expect(remedy.contains("curl, browsers") && remedy.contains("proxy_ssl_server_name on;") && remedy.contains("default certificate"), "\(remedy)")
    }

    // MARK: - Captures judged by the name asked for and the anchors

    /// A ClientHello without SNI gets the default certificate, for another name; the
    /// client (verifying the name it wants) answers 42. The chain verifies against the
    /// given CA: the name is the cause, not the issuer.
    @Test func defaultCertificateForAnotherNameInACapture() async throws {
        let root = try F.root()
        let good = try F.leaf(issuer: root)
        let other = try F.leaf("default.example.test", issuer: root)
        let upstream = try F.server(chain: [good], key: good) {
            $0.sni = .defaultCertificate(chainPEM: other.certificatePEM, keyPEM: other.keyPEM)
        }
        defer { upstream.stop() }
        let ca = try F.file(root.certificatePEM)
        let (file, _) = try await ClientCapture.sClient(port: upstream.port, [
            ["-tls1_2", "-servername", F.host, "-CAfile", ca],
            ["-tls1_2", "-noservername", "-verify_return_error", "-verify_hostname", F.host, "-CAfile", ca],
        ])
        let out = TestPaths.temporaryFolder("default-42")
        let r = try await Command.triage(["analyze", file, "--ca-file", ca, "--out", out.path])
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        let doc = try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json")))
        #expect([.defaultCertWithoutSNI, .hostnameMismatch].contains(doc.rootCause?.cause), "\(doc.findings.map { "\($0.cause) \($0.summary)" })")
        #expect(!doc.findings.contains { $0.cause == .untrustedIssuer }, "\(doc.findings.map { "\($0.cause) \($0.summary)" })")
    }
}

/// `scan` and the exporter judge a target as a curl-like client gets it.
@Suite struct ProbeAsAClientTests {
    typealias F = TLSFixtures

    /// Two addresses of one target, one refusing: the client falls back, so the probe succeeds;
    /// the refusing address has its own result and is a warning.
    @Test func aRefusingAddressBesideAWorkingOneIsAWarning() async throws {
        let root = try F.root()
        let leaf = try F.leaf("localhost", sans: ["localhost"], issuer: root)
        let server = try F.server(chain: [leaf], key: leaf, address: "127.0.0.1")
        defer { server.stop() }
        let closed = SocketAddress.freePort()
        var options = EndpointProbe.Options()
        options.caFile = try F.file(root.certificatePEM)
        let probe = try EndpointProbe(options)
        let target = try Target("localhost:\(server.port)")
        let good = await probe.probe(target, Endpoint(IPAddress("127.0.0.1")!, port: UInt16(server.port)))
        let refused = await probe.probe(target, Endpoint(IPAddress("127.0.0.2")!, port: UInt16(closed)))
        let judged = EndpointProbe.asClientsUseThem([good, refused])
        #expect(!judged[1].ok)
        #expect(!judged[1].problem)
        #expect(judged[1].findings.contains { $0.cause == .addressUnreachable && $0.severity == .warning })
        let metrics = ProbeMetrics(results: judged, duration: .milliseconds(5)).text
        #expect(metrics.contains("probe_success 1"), "\(metrics)")
        #expect(metrics.contains("triage_probe_address_success{address=\"127.0.0.2\"} 0"))
        #expect(metrics.contains("triage_probe_cause{cause=\"address-unreachable\",severity=\"warning\"} 1"))
    }
}
