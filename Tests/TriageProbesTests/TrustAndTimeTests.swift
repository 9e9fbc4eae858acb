import Foundation
import Testing
import TriageDemo
import TriageFleet
import TriageKit
import TriageProbes
import TriageTestSupport
import TriageWire

/// Which date a chain is judged at, and what expiring soon means: a warning
/// in run, scan and the exporter (exit 0, probe_success 1), on every element
/// of the chain; `--at` to ask what breaks on a given day; a clock that is
/// behind named as the likely cause of a certificate that is not valid yet.
@Suite(.serialized) struct TrustAndTimeTests {
    typealias F = TLSFixtures

    func run(_ port: Int, ca: String, _ extra: [String] = []) async throws -> (CommandResult, ReportDocument, String) {
        let out = TestPaths.temporaryFolder("time-case")
        let r = try await Command.triage(["run", "https://\(F.host):\(port)/", "--resolve", "\(F.host):\(port):127.0.0.1", "--cacert", ca,
                                          "--out", out.path] + extra)
        let doc = try ReportDocument.decode(Data(contentsOf: out.appendingPathComponent("report.json")))
        return (r, doc, try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8))
    }

    func scan(_ port: Int, ca: String, _ extra: [String] = []) async throws -> (CommandResult, [String: Any]) {
        let r = try await Command.triage(["scan", "127.0.0.1:\(port)", "--cacert", ca, "--format", "jsonl"] + extra)
        let line = try #require(r.stdout.split(separator: "\n").first, "\(r.stderr)")
        return (r, try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]))
    }

    /// A leaf expiring in 5 days: a warning everywhere, never a page.
    @Test func expiringInFiveDaysIsAWarning() async throws {
        let root = try F.root()
        let notAfter = F.midnight(5)
        let leaf = try F.leaf(sans: [F.host, "127.0.0.1"], notAfter: notAfter, issuer: root)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let ca = try F.file(root.certificatePEM)
        let (r, doc, markdown) = try await run(server.port, ca: ca)
        #expect(r.status == 0, "\(doc.findings.map(\.summary))")
        // A healthy report says what held, never "What failed".
        #expect(markdown.contains("**What held:** every check that ran completed and held: dns (dns.resolve), handshake (tls.handshake)"), "\(markdown.prefix(500))")
        #expect(!markdown.contains("What failed"))
        let soon = try #require(doc.findings.first { $0.cause == .certExpiresSoon })
        #expect(soon.severity == .warning)
        #expect(soon.date(.notAfter) == notAfter)
        let (s, line) = try await scan(server.port, ca: ca)
        #expect(s.status == 0, "\(s.stdout)")
        #expect(line["ok"] as? Bool == true)
        #expect((line["causes"] as? [String])?.contains("cert-expires-soon") == true, "\(line)")
        // The exporter's reading of the same probe.
        let probe = try EndpointProbe({ var o = EndpointProbe.Options(); o.caFile = ca; return o }())
        let metrics = ProbeMetrics(results: await probe.probe(try Target("127.0.0.1:\(server.port)")), duration: .milliseconds(1)).text
        #expect(metrics.contains("probe_success 1"), "\(metrics)")
        #expect(metrics.contains("triage_probe_cause{cause=\"cert-expires-soon\",severity=\"warning\"} 1"), "\(metrics)")
        // --warn-days 3: not yet.
        let (quiet, quietDoc, _) = try await run(server.port, ca: ca, ["--warn-days", "3"])
        #expect(quiet.status == 0)
        #expect(!quietDoc.findings.contains { $0.cause == .certExpiresSoon })
    }

    /// An intermediate that expires before the leaf is the one named; the exporter's last-chain expiry
    /// is the verified chain's earliest notAfter (blackbox_exporter's meaning): the intermediate's.
    @Test func anIntermediateExpiringFirstIsNamed() async throws {
        let root = try F.root()
        let intermediateEnd = F.midnight(4)
        let intermediate = try F.intermediate("short-lived intermediate", notAfter: intermediateEnd, issuer: root)
        let leaf = try F.leaf(sans: [F.host, "127.0.0.1"], notAfter: F.midnight(300), issuer: intermediate)
        let server = try F.server(chain: [leaf, intermediate], key: leaf)
        defer { server.stop() }
        let ca = try F.file(root.certificatePEM)
        let (r, doc, _) = try await run(server.port, ca: ca)
        #expect(r.status == 0)
        let soon = try #require(doc.findings.first { $0.cause == .certExpiresSoon }, "\(doc.findings.map(\.summary))")
        #expect(soon.subject == "CN=short-lived intermediate,O=triage fixture")
        #expect(soon.date(.notAfter) == intermediateEnd)
        let probe = try EndpointProbe({ var o = EndpointProbe.Options(); o.caFile = ca; return o }())
        let metrics = ProbeMetrics(results: await probe.probe(try Target("127.0.0.1:\(server.port)")), duration: .milliseconds(1)).text
        #expect(metrics.contains("probe_ssl_last_chain_expiry_timestamp_seconds \(Int(intermediateEnd.timeIntervalSince1970))"), "\(metrics)")
    }

    /// The trust anchor (not sent by the server, from the client's store) expiring in 10 days, under a
    /// leaf good for 200: a warning in run, scan and the exporter, naming the anchor and its date, with
    /// a remedy that is not "renew the leaf". (Nothing was said: ok, no cause, exit 0.)
    @Test func anAnchorExpiringSoonIsAWarning() async throws {
        let rootEnd = F.midnight(10)
        let root = try CertificateMint.mint(.init(commonName: "short-lived root", notBefore: F.midnight(-3650), notAfter: rootEnd, isCA: true))
        let leaf = try F.leaf(sans: [F.host, "127.0.0.1"], notAfter: F.midnight(200), issuer: root)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let ca = try F.file(root.certificatePEM)
        let (r, doc, markdown) = try await run(server.port, ca: ca)
        #expect(r.status == 0, "\(doc.findings.map(\.summary))")
        let soon = try #require(doc.findings.first { $0.cause == .certExpiresSoon }, "\(doc.findings.map(\.summary))")
        #expect(soon.severity == .warning)
        #expect(soon.subject == "CN=short-lived root,O=triage fixture")
        #expect(soon.date(.notAfter) == rootEnd)
        #expect(markdown.contains("is not sent by the server: it comes from this client's trust store"), "\(markdown)")
        let (s, line) = try await scan(server.port, ca: ca)
        #expect(s.status == 0, "\(s.stdout)")
        #expect((line["causes"] as? [String])?.contains("cert-expires-soon") == true, "\(line)")
        let probe = try EndpointProbe({ var o = EndpointProbe.Options(); o.caFile = ca; return o }())
        let metrics = ProbeMetrics(results: await probe.probe(try Target("127.0.0.1:\(server.port)")), duration: .milliseconds(1)).text
        #expect(metrics.contains("probe_success 1"), "\(metrics)")
        #expect(metrics.contains("triage_probe_cause{cause=\"cert-expires-soon\",severity=\"warning\"} 1"), "\(metrics)")
    }

    /// `--at` across a notAfter: 20 days on, the leaf that has 10 days left has expired; 5 days on, it expires soon.
    @Test func atADateAcrossTheNotAfter() async throws {
        let root = try F.root()
        let notAfter = F.midnight(10)
        let leaf = try F.leaf(sans: [F.host, "127.0.0.1"], notAfter: notAfter, issuer: root)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let ca = try F.file(root.certificatePEM)
        let later = F.midnight(20)
        let (r, doc, markdown) = try await run(server.port, ca: ca, ["--at", ISO8601.string(later)])
        #expect(r.status == 1)
        #expect(doc.rootCause?.cause == .certExpired, "\(doc.findings.map(\.summary))")
        #expect(doc.rootCause?.date(.notAfter) == notAfter)
        #expect(doc.judgedAt == later)
        // The handshake as of that date does not verify, so the runbook does not reproduce over HTTP;
        // and curl itself, asked as of that date, verifies as of it (60, verify 10), as of today not.
        #expect(doc.steps.first { $0.id == "direct" }?.status == .skipped)
        var request = HTTPRequest(url: "https://\(F.host):\(server.port)/")
        request.resolve = ["\(F.host):\(server.port):127.0.0.1"]
        request.caFile = ca
        request.proxy = .none
        let today = try #require(await request.fetch()).exchange
        #expect(today.curlCode == 0 && today.status == 200, "\(today.curlMessage)")
        request.verifyTime = later
        let then = try #require(await request.fetch()).exchange
        #expect(then.curlCode == 60, "\(then.curlMessage)")
        #expect(then.verifyResult == 10)
        #expect(markdown.contains("Certificates are judged as of \(ISO8601.string(later)) (--at)"), "\(markdown.prefix(400))")
        // The proof verifies as of that date too: pasted, it fails now (verify error 10), as the run judged
        // (without -attime it passed today and proved nothing).
        let proof = try #require(markdown.split(separator: "\n").first { $0.contains("-verify_return_error") && $0.contains("-attime \(Int(later.timeIntervalSince1970))") },
                                 "\(markdown)")
        let pasted = try await Command.run(["/bin/sh", "-c", String(proof).trimmingCharacters(in: .whitespaces)])
        #expect(pasted.status != 0 && pasted.stderr.contains("certificate has expired"), "\(proof): \(pasted.stdout) \(pasted.stderr)")
        let (soon, soonDoc, _) = try await run(server.port, ca: ca, ["--at", "+5d"])
        #expect(soon.status == 0)
        #expect(soonDoc.steps.first { $0.id == "direct-1" }?.status == .ok)
        #expect(soonDoc.findings.contains { $0.cause == .certExpiresSoon })
        let (s, line) = try await scan(server.port, ca: ca, ["--at", "+20d"])
        #expect(s.status == 1)
        #expect(line["cause"] as? String == "cert-expired", "\(line)")
        // Days left as of the date judged, as the cause is: no "expired" beside a positive count.
        #expect((line["days_left"] as? Int).map { $0 < 0 } == true, "\(line)")
        let bad = try await Command.triage(["run", "https://\(F.host):\(server.port)/", "--at", "next tuesday"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--at 'next tuesday' is not a date"), "\(bad.stderr)")
    }

    /// A leaf valid from an hour from now, served by a server whose Date is two hours ahead: the clock,
    /// not the certificate, is the likely cause, and the server's clock is said beside it.
    @Test func aClockBehindIsNamed() async throws {
        let root = try F.root()
        let notBefore = Date().addingTimeInterval(3600).timeIntervalSince1970.rounded(.down)
        let leaf = try F.leaf(sans: [F.host, "127.0.0.1"], notBefore: Date(timeIntervalSince1970: notBefore), notAfter: F.midnight(300), issuer: root)
        let ahead = ServerDate.format(Date().addingTimeInterval(7200))
        let server = try F.server(chain: [leaf], key: leaf) { _ in } handler: { c, _ in
            _ = c.readRequest()
            c.write("HTTP/1.1 200 OK\r\nDate: \(ahead)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        }
        defer { server.stop() }
        let (_, doc, _) = try await run(server.port, ca: try F.file(root.certificatePEM), ["-k"])
        let early = try #require(doc.findings.first { $0.cause == .certNotYetValid }, "\(doc.findings.map(\.summary))")
        #expect(early.remedy.contains("a clock that is behind"), "\(early.remedy)")
        // Under a day away, the finding counts hours as its remedy does (it said "1 day(s) after this run").
        #expect(early.summary.contains(" h after this run") && !early.summary.contains("day(s)"), "\(early.summary)")
        let notes = early.facts(.note).compactMap(\.stringValue) + [early.fact(.note)?.stringValue ?? ""]
        #expect(notes.contains { $0.contains("min ahead of this machine's clock") }, "\(early.facts)")
    }
}

extension TrustAndTimeTests {
    /// An exporter module's `at: +14d` judges each scrape 14 days after it (it was parsed once, at the
    /// exporter's start, so after a week the module looked one week ahead): a leaf with 10 days left has
    /// expired by then, in OpenSSL's verification of the handshake (10) and in the metrics; at `+3d` it
    /// expires soon, a warning.
    @Test func aModuleLooksAheadFromEachScrape() async throws {
        #expect(JudgeTime.offset("+14d") == 1_209_600)
        #expect(JudgeTime.offset("-12h") == -43_200)
        #expect(JudgeTime.offset("2027-01-15") == nil)
        // A day that no month has is refused, not moved into the next month (February 30th was March 2nd).
        #expect(JudgeTime.parse("2027-02-30") == nil && JudgeTime.parse("2027-04-31") == nil)
        #expect(JudgeTime.parse("2027-02-30T00:00:00Z") == nil)
        #expect(JudgeTime.parse("2028-02-29") == Date(timeIntervalSince1970: 1_835_395_200))
        let root = try F.root()
        let leaf = try F.leaf(sans: [F.host, "127.0.0.1"], notAfter: F.midnight(10), issuer: root)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let ca = try F.file(root.certificatePEM)
        let target = try Target("127.0.0.1:\(server.port)")
        // From each scrape: the module keeps the offset, not a date fixed when it was read.
        let module = try ModuleProbe(try #require(try ExporterConfig.load(yaml: "modules:\n  m:\n    at: +14d\n", source: "m.yaml", caFile: ca).modules["m"]))
        #expect(module.options.ahead == 1_209_600)
        #expect(module.options.at == nil)
        let t = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(module.options.judgedAt(now: t) == t.addingTimeInterval(1_209_600))
        #expect(module.options.judgedAt(now: t.addingTimeInterval(7 * 86_400)) == t.addingTimeInterval(21 * 86_400))
        let probe = try EndpointProbe({ var o = EndpointProbe.Options(); o.caFile = ca; o.ahead = 14 * 86_400; return o }())
        #expect(await probe.probe(target).flatMap(\.attempts).map(\.verifyCode) == [10])
        let config = try ExporterConfig.load(yaml: "modules:\n  ahead:\n    at: +14d\n  soon:\n    at: +3d\n", source: "modules.yaml", caFile: ca)
        let ahead = try await ModuleProbe(try #require(config.modules["ahead"])).run(target, timeout: .seconds(5)).text
        #expect(ahead.contains("probe_success 0"), "\(ahead)")
        #expect(ahead.contains("triage_probe_cause{cause=\"cert-expired\",severity=\"problem\"} 1"), "\(ahead)")
        let soon = try await ModuleProbe(try #require(config.modules["soon"])).run(target, timeout: .seconds(5)).text
        #expect(soon.contains("probe_success 1"), "\(soon)")
        #expect(soon.contains("triage_probe_cause{cause=\"cert-expires-soon\",severity=\"warning\"} 1"), "\(soon)")
    }

    /// Let's Encrypt's 2021 case, minted: the server sends leaf, R3 and ISRG Root X1 cross-signed by DST
    /// Root CA X3, which has expired. A store with ISRG (PEM, and the same as PKCS#12, Java's format)
    /// builds leaf → R3 → ISRG and trusts it; a store with only DST builds the cross-signed path to the
    /// expired root — the finding names that store and the certificate that expired on its path.
    @Test func aCrossSignLeadsAnOldStoreToAnExpiredRoot() async throws {
        let dst = try CertificateMint.mint(.init(commonName: "DST Root CA X3 (fixture)", notBefore: F.midnight(-3650), notAfter: F.midnight(-30), isCA: true))
        let isrg = try CertificateMint.mint(.init(commonName: "ISRG Root X1 (fixture)", notBefore: F.midnight(-2000), notAfter: F.midnight(3000), isCA: true))
        let crossSigned = try isrg.crossSigned(by: dst)
        let r3 = try F.intermediate("R3 (fixture)", issuer: isrg)
        let leaf = try F.leaf(sans: [F.host, "127.0.0.1"], issuer: r3)
        let server = try F.server(chain: [leaf, r3, crossSigned], key: leaf)
        defer { server.stop() }
        let modern = try F.file(isrg.certificatePEM, named: "modern.pem")
        let legacy = try F.file(dst.certificatePEM, named: "legacy.pem")
        let p12 = URL(fileURLWithPath: modern).deletingLastPathComponent().appendingPathComponent("java.p12").path
        let export = try await Command.run(["openssl", "pkcs12", "-export", "-nokeys", "-in", modern, "-out", p12, "-passout", "pass:changeit"])
        #expect(export.status == 0, "\(export.stderr)")
        let (r, doc, _) = try await run(server.port, ca: modern, ["--trust-store", "modern=\(modern)", "--trust-store", "legacy=\(legacy)",
                                                                  "--trust-store", "java=\(p12)"])
        #expect(r.status == 1, "\(r.stderr)")
        let finding = try #require(doc.findings.first { $0.fact(.trustStore) != nil }, "\(doc.findings.map(\.summary))")
        #expect(finding.cause == .intermediateExpired)
        #expect(finding.summary.hasPrefix("the chain does not verify against 1 of 3 trust store(s): legacy builds a path through CN=DST Root CA X3 (fixture),O=triage fixture, expired on \(ISO8601.string(F.midnight(-30)))"),
                "\(finding.summary)")
        let lines = finding.facts(.trustStore).compactMap(\.stringValue) + (finding.fact(.trustStore)?.listValue?.compactMap(\.stringValue) ?? [])
        #expect(lines.contains("modern: ok — \(F.host) → R3 (fixture) → ISRG Root X1 (fixture)"), "\(lines)")
        #expect(lines.contains("java: ok — \(F.host) → R3 (fixture) → ISRG Root X1 (fixture)"), "\(lines)")
        #expect(lines.contains { $0.hasPrefix("legacy: 10 certificate has expired (depth 3) — \(F.host) → R3 (fixture) → ISRG Root X1 (fixture) → DST Root CA X3 (fixture)") },
                "\(lines)")
        // The expired root as the only anchor: every client with only that root fails (found by a helper
        // comparing with sslyze and testssl.sh: this once exited 0).
        let (old, oldDoc, _) = try await run(server.port, ca: legacy)
        #expect(old.status == 1)
        #expect(oldDoc.findings.contains { $0.cause == .intermediateExpired && $0.subject == "CN=DST Root CA X3 (fixture),O=triage fixture" },
                "\(oldDoc.findings.map(\.summary))")
        let bad = try await Command.triage(["run", "https://\(F.host):\(server.port)/", "--resolve", "\(F.host):\(server.port):127.0.0.1",
                                            "--trust-store", "nameless"])
        #expect(bad.stderr.contains("is not NAME=FILE"), "\(bad.stderr)")
        // The PKCS#12 store's certificates become a PEM bundle in a folder of its own while they are used,
        // and the folder is removed after, by run and by scan (each left one in /tmp before).
        let tmp = TestPaths.temporaryFolder("stores-tmp")
        let runs = [["run", "https://\(F.host):\(server.port)/", "--resolve", "\(F.host):\(server.port):127.0.0.1", "--cacert", modern,
                     "--trust-store", "java=\(p12)", "--out", tmp.appendingPathComponent("case").path],
                    ["scan", "127.0.0.1:\(server.port)", "--cacert", modern, "--trust-store", "java=\(p12)", "--format", "jsonl"]]
        for arguments in runs {
            let r = try await Command.run(["env", "TMPDIR=\(tmp.path)", TestPaths.triageBinary.path] + arguments)
            #expect(r.status == 0, "\(arguments[0]): \(r.stderr.suffix(300))")
            let left = try FileManager.default.contentsOfDirectory(atPath: tmp.path).filter { $0.hasPrefix("triage-stores-") }
            #expect(left.isEmpty, "\(arguments[0]) left \(left)")
        }
    }
}

extension TrustAndTimeTests {
    /// Stores are told apart and their files are their own. Two exporter modules that each name a
    /// PKCS#12 store `java` (one with the server's root, one with another) judge by their own store: both
    /// were written to one file, and the module loaded last decided for both. On the command line one
    /// name given twice is refused (exit 2). A run whose deadline abandons the step holding a store, with
    /// its AIA fetch hanging on a silent server, leaves no folder behind.
    @Test func storesAreTheirOwnAndLeaveNothingBehind() async throws {
        let root = try F.root(), other = try F.root("another root")
        let leaf = try F.leaf(sans: [F.host, "127.0.0.1"], issuer: root)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let folder = TestPaths.temporaryFolder("same-name-stores")
        func p12(_ identity: CertificateMint.Identity, _ name: String) async throws -> String {
            let pem = folder.appendingPathComponent("\(name).pem"), out = folder.appendingPathComponent("\(name).p12")
            try identity.certificatePEM.write(to: pem, atomically: true, encoding: .utf8)
            let r = try await Command.run(["openssl", "pkcs12", "-export", "-nokeys", "-in", pem.path, "-out", out.path, "-passout", "pass:changeit"])
            #expect(r.status == 0, "\(r.stderr)")
            return out.path
        }
        let right = try await p12(root, "right"), wrong = try await p12(other, "wrong")
        let ca = try F.file(root.certificatePEM)
        let config = try ExporterConfig.load(yaml: "modules:\n  a:\n    trust_stores: {java: \(right)}\n  b:\n    trust_stores: {java: \(wrong)}\n",
                                             source: "modules.yaml", caFile: ca)
        let scratch = TrustStore.scratchFolder()
        defer { TemporaryFolders.remove(scratch) }
        let a = try ModuleProbe(try #require(config.modules["a"]), scratch: scratch)
        let b = try ModuleProbe(try #require(config.modules["b"]), scratch: scratch)
        let target = try Target("127.0.0.1:\(server.port)")
        let metricsA = await a.run(target, timeout: .seconds(5)).text, metricsB = await b.run(target, timeout: .seconds(5)).text
        #expect(metricsA.contains("probe_success 1"), "\(metricsA)")
        #expect(metricsB.contains("probe_success 0"), "\(metricsB)")
        for command in ["run", "scan"] {
            let target = command == "run" ? "https://\(F.host):\(server.port)/" : "127.0.0.1:\(server.port)"
            let r = try await Command.triage([command, target, "--cacert", ca, "--trust-store", "java=\(right)", "--trust-store", "java=\(wrong)"])
            #expect(r.status == 2, "\(command): \(r.stderr)")
            #expect(r.stderr.contains("--trust-store java is given twice"), "\(command): \(r.stderr)")
        }
        // The run's deadline passes while the dates step waits on the AIA server.
        let silent = try PlainTCPServer(.silent)
        defer { silent.stop() }
        let intermediate = try F.intermediate("unsent intermediate", issuer: root)
        let alone = try F.leaf(sans: [F.host], issuer: intermediate)
            .extended(caIssuersURL: "http://127.0.0.1:\(silent.port)/intermediate.crt", issuer: intermediate)
        let incomplete = try F.server(chain: [alone], key: alone)
        defer { incomplete.stop() }
        let tmp = TestPaths.temporaryFolder("deadline-tmp")
        let r = try await Command.run(["env", "TMPDIR=\(tmp.path)", TestPaths.triageBinary.path, "run", "https://\(F.host):\(incomplete.port)/",
                                       "--resolve", "\(F.host):\(incomplete.port):127.0.0.1", "--cacert", ca, "--trust-store", "java=\(right)",
                                       "--fetch-aia", "--max-time", "4s", "--out", tmp.appendingPathComponent("case").path])
        #expect(r.status == 3, "\(r.stderr.suffix(300))")
        // The step holding the store was running, waiting on the AIA server (5 s), when the deadline came.
        let doc = try ReportDocument.decode(Data(contentsOf: tmp.appendingPathComponent("case/report.json")))
        #expect(doc.steps.first { $0.id == "dates" }?.status == .timedOut, "\(doc.steps.map { "\($0.id) \($0.status)" })")
        let left = try FileManager.default.contentsOfDirectory(atPath: tmp.path).filter { $0.hasPrefix("triage-stores-") }
        #expect(left.isEmpty, "left \(left)")
    }
}

extension TrustAndTimeTests {
    enum Staple: String, CaseIterable { case good, revoked, stale, staleMustStaple, mustStapleWithout }

    /// The stapled OCSP response, read and verified: good is fine; revoked is cert-revoked; stale is a
    /// warning (exit 0), a problem for a must-staple leaf (exit 1), as is a must-staple leaf without one.
    @Test(arguments: Staple.allCases) func theStapledResponseIsJudged(_ kind: Staple) async throws {
        let root = try F.root()
        var leaf = try F.leaf(sans: [F.host, "127.0.0.1"], issuer: root)
        if kind == .staleMustStaple || kind == .mustStapleWithout { leaf = try leaf.extended(mustStaple: true, issuer: root) }
        let now = Date()
        let revokedAt = F.midnight(-3)
        let response: [UInt8]? = switch kind {
        case .good: try leaf.ocspResponse(.good, thisUpdate: now.addingTimeInterval(-3600), nextUpdate: now.addingTimeInterval(86_400), issuer: root)
        case .revoked: try leaf.ocspResponse(.revoked, thisUpdate: now.addingTimeInterval(-3600), nextUpdate: now.addingTimeInterval(86_400),
                                             revokedAt: revokedAt, issuer: root)
        case .stale, .staleMustStaple: try leaf.ocspResponse(.good, thisUpdate: F.midnight(-10), nextUpdate: F.midnight(-3), issuer: root)
        case .mustStapleWithout: nil
        }
        // The revoked leaf is sent alone (its issuer, the root, is only in the trust store): the staple is still read.
        let server = try F.server(chain: kind == .revoked ? [leaf] : [leaf, root], key: leaf) { $0.ocspResponse = response }
        defer { server.stop() }
        let (r, doc, _) = try await run(server.port, ca: try F.file(root.certificatePEM))
        let said = doc.findings.map { "\($0.cause.rawValue) \($0.severity): \($0.summary)" }
        switch kind {
        case .good:
            #expect(r.status == 0, "\(said)")
            #expect(!doc.findings.contains { [.certRevoked, .ocspStale].contains($0.cause) }, "\(said)")
        case .revoked:
            #expect(r.status == 1)
            #expect(doc.rootCause?.cause == .certRevoked, "\(said)")
            #expect(doc.rootCause?.summary.contains("revoked on \(ISO8601.string(revokedAt))") == true, "\(said)")
        case .stale:
            #expect(r.status == 0, "\(said)")
            let stale = try #require(doc.findings.first { $0.cause == .ocspStale }, "\(said)")
            #expect(stale.severity == .warning)
            #expect(stale.summary.contains("nextUpdate was \(ISO8601.string(F.midnight(-3)))"), "\(stale.summary)")
        case .staleMustStaple:
            #expect(r.status == 1, "\(said)")
            #expect(doc.rootCause?.cause == .ocspStale && doc.rootCause?.severity == .problem, "\(said)")
        case .mustStapleWithout:
            #expect(r.status == 1, "\(said)")
            #expect(doc.rootCause?.cause == .ocspStale, "\(said)")
            #expect(doc.rootCause?.summary.contains("must-staple") == true, "\(said)")
        }
    }
}

/// RFC 9110's IMF-fixdate, for a fixture's Date header.
enum ServerDate {
    static func format(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return f.string(from: date)
    }

}

extension TrustAndTimeTests {
    /// `--fetch-ocsp` against OpenSSL's own responder (`openssl ocsp -index`), which parses the request
    /// triage sends (an RFC 5019 GET) and signs its answer with the CA key: good says nothing, revoked is
    /// the root cause with its date; a responder that refuses or a port that says nothing is a warning
    /// (exit 0), never the endpoint's failure.
    @Test(arguments: ["good", "revoked", "refused", "silent", "none"]) func theCAsOCSPResponderIsAsked(state: String) async throws {
        let folder = TestPaths.temporaryFolder("ocsp")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let root = try F.root()
        let port = SocketAddress.freePort()
        let silent = state == "silent" ? try PlainTCPServer(.silent) : nil
        defer { silent?.stop() }
        // OpenSSL's responder reads a GET only at the root: the request is the whole path.
        let url = "http://127.0.0.1:\(silent?.port ?? port)"
        let plain = try F.leaf(sans: [F.host, "127.0.0.1"], notAfter: F.midnight(300), issuer: root)
        let leaf = state == "none" ? plain : try plain.extended(ocspURL: url, issuer: root)
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let ca = try F.file(root.certificatePEM)
        var responder: Process?
        if state == "good" || state == "revoked" {
            let leafFile = folder.appendingPathComponent("leaf.pem"), key = folder.appendingPathComponent("ca.key")
            try leaf.certificatePEM.write(to: leafFile, atomically: true, encoding: .utf8)
            try root.keyPEM.write(to: key, atomically: true, encoding: .utf8)
            let serial = try await Command.run(["openssl", "x509", "-noout", "-serial", "-in", leafFile.path]).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "")
            // index.txt: status, expiry, revocation time, serial, file, subject (tab-separated).
            let line = state == "revoked" ? "R\t301231000000Z\t261201000000Z\t\(serial)\tunknown\t/CN=\(F.host)\n"
                                          : "V\t301231000000Z\t\t\(serial)\tunknown\t/CN=\(F.host)\n"
            let index = folder.appendingPathComponent("index.txt")
            try line.write(to: index, atomically: true, encoding: .utf8)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            p.arguments = ["ocsp", "-index", index.path, "-port", "\(port)", "-rsigner", ca, "-rkey", key.path, "-CA", ca, "-nmin", "60"]
            // Ready when it says so: a probing connect that sends nothing leaves this responder stuck.
            let log = folder.appendingPathComponent("responder.log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            p.standardOutput = handle
            p.standardError = handle
            try p.run()
            responder = p
            let deadline = ContinuousClock.now + .seconds(10)
            while !((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("waiting for OCSP client connections"),
                  ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        }
        // SIGKILL: a responder left spinning (OpenSSL's loops on a connection that sends nothing) must not outlive the test.
        defer { if let responder { kill(responder.processIdentifier, SIGKILL); responder.waitUntilExit() } }
        let (r, doc, markdown) = try await run(server.port, ca: ca, ["--fetch-ocsp"])
        let ocsp = doc.findings.first { $0.cause == .certRevoked || $0.cause == .revocationUnchecked }
        switch state {
        case "good":
            #expect(r.status == 0, "\(doc.findings.map(\.summary))")
            #expect(ocsp == nil)
        case "revoked":
            #expect(r.status == 1, "\(doc.findings.map(\.summary))")
            #expect(doc.rootCause?.cause == .certRevoked)
            #expect(doc.rootCause?.summary == "the CA's OCSP responder (\(url)) says \(F.host) was revoked on 2026-12-01T00:00:00Z", "\(doc.rootCause?.summary ?? "")")
            #expect(markdown.contains("certificate revoked"))
            #expect(markdown.contains("--fetch-ocsp -q"), "the proof asks the responder again: \(markdown)")
        case "none":
            // Asked to check, nothing to ask: revocation not checked, said so.
            #expect(r.status == 0, "\(doc.findings.map(\.summary))")
            #expect(ocsp?.severity == .warning)
            #expect(ocsp?.summary.contains("could not be asked (the certificate names no OCSP responder") == true, "\(ocsp?.summary ?? "")")
        default:
            #expect(r.status == 0, "\(doc.findings.map(\.summary))")
            #expect(ocsp?.cause == .revocationUnchecked)
            #expect(ocsp?.severity == .warning)
            #expect(ocsp?.summary.hasPrefix("revocation of \(F.host) not checked: its CA's OCSP responder \(url) could not be asked (CURLE_") == true,
                    "\(ocsp?.summary ?? "")")
        }
    }
}

extension TrustAndTimeTests {
    /// `openssl ca`'s time form: YYYYMMDDHHMMSSZ, or YYMMDDHHMMSSZ for index.txt.
    static func caTime(_ date: Date, short: Bool = false) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = short ? "yyMMddHHmmss'Z'" : "yyyyMMddHHmmss'Z'"
        return f.string(from: date)
    }

    /// `--fetch-crl` against a CRL OpenSSL's own `openssl ca -gencrl` signs, served at the URL the leaf's
    /// cRLDistributionPoints names: not listed says nothing; listed is the root cause with its date; a
    /// CRL past its nextUpdate, or one another CA signed, is a warning (exit 0), never the endpoint's failure.
    @Test(arguments: ["good", "revoked", "stale", "forged"]) func theCAsCRLIsRead(state: String) async throws {
        let folder = TestPaths.temporaryFolder("crl")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let root = try F.root()
        let signer = state == "forged" ? try F.root() : root
        // The URL first (the leaf names it), the server with the CRL's bytes after.
        let port = SocketAddress.freePort()
        let url = "http://127.0.0.1:\(port)/root.crl"
        let leaf = try F.leaf(sans: [F.host, "127.0.0.1"], notAfter: F.midnight(300), issuer: root).extended(crlURL: url, issuer: root)
        let leafFile = folder.appendingPathComponent("leaf.pem"), key = folder.appendingPathComponent("ca.key"), cert = folder.appendingPathComponent("ca.pem")
        try leaf.certificatePEM.write(to: leafFile, atomically: true, encoding: .utf8)
        try signer.keyPEM.write(to: key, atomically: true, encoding: .utf8)
        try signer.certificatePEM.write(to: cert, atomically: true, encoding: .utf8)
        let serial = try await Command.run(["openssl", "x509", "-noout", "-serial", "-in", leafFile.path]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "")
        let revokedAt = F.midnight(-5)
        let index = state == "revoked" || state == "forged"
            ? "R\t301231000000Z\t\(Self.caTime(revokedAt, short: true))\t\(serial)\tunknown\t/CN=\(F.host)\n" : ""
        try index.write(to: folder.appendingPathComponent("index.txt"), atomically: true, encoding: .utf8)
        try "01\n".write(to: folder.appendingPathComponent("crlnumber"), atomically: true, encoding: .utf8)
        try "[ca]\ndefault_ca = d\n[d]\ndatabase = \(folder.path)/index.txt\ncrlnumber = \(folder.path)/crlnumber\ndefault_md = sha256\n"
            .write(to: folder.appendingPathComponent("ca.cnf"), atomically: true, encoding: .utf8)
        let next = state == "stale" ? F.midnight(-1) : F.midnight(7)
        let pem = folder.appendingPathComponent("root.crl.pem"), der = folder.appendingPathComponent("root.crl")
        let made = try await Command.run(["openssl", "ca", "-config", folder.appendingPathComponent("ca.cnf").path, "-gencrl",
                                          "-keyfile", key.path, "-cert", cert.path, "-out", pem.path,
                                          "-crl_lastupdate", Self.caTime(F.midnight(-3)), "-crl_nextupdate", Self.caTime(next)])
        #expect(made.status == 0, "\(made.stderr)")
        // DER as CAs serve it; PEM (some do) for the warnings.
        _ = try await Command.run(["openssl", "crl", "-in", pem.path, "-outform", "DER", "-out", der.path])
        let crl = state == "good" || state == "revoked" ? der : pem
        let served = try PlainTCPServer(.body(Array(try Data(contentsOf: crl))), port: port)
        defer { served.stop() }
        let server = try F.server(chain: [leaf], key: leaf)
        defer { server.stop() }
        let (r, doc, markdown) = try await run(server.port, ca: try F.file(root.certificatePEM), ["--fetch-crl"])
        let found = doc.findings.first { $0.cause == .certRevoked || $0.cause == .revocationUnchecked }
        switch state {
        case "good":
            #expect(r.status == 0, "\(doc.findings.map(\.summary))")
            #expect(found == nil, "\(found?.summary ?? "")")
        case "revoked":
            #expect(r.status == 1, "\(doc.findings.map(\.summary))")
            #expect(doc.rootCause?.cause == .certRevoked)
            #expect(doc.rootCause?.summary == "its CA's CRL (\(url)) lists \(F.host) as revoked on \(Self.iso(revokedAt))", "\(doc.rootCause?.summary ?? "")")
            // Its proof is the CRL asked again, not the dates command (which passes today).
            #expect(markdown.contains("triage run https://\(F.host):\(server.port)/ --cacert "), "\(markdown)")
            #expect(markdown.contains("--fetch-crl -q"), "\(markdown)")
            // The CRL as served, beside the report: the bytes that were read.
            let kept = doc.steps.flatMap(\.artifacts).first { $0.path.hasSuffix("/crl.der") }
            #expect(kept?.bytes == (try Data(contentsOf: der)).count, "\(doc.steps.flatMap(\.artifacts).map(\.path))")
            #expect(markdown.contains("certificate revoked"))
        case "stale":
            #expect(r.status == 0, "\(doc.findings.map(\.summary))")
            #expect(found?.severity == .warning)
            #expect(found?.summary == "revocation of \(F.host) not checked: its CA's CRL \(url) is past its nextUpdate (\(Self.iso(F.midnight(-1))))", "\(found?.summary ?? "")")
            #expect(found?.remedy.hasPrefix("The CA's CRL could not tell") == true, "\(found?.remedy ?? "")")
        default:
            // Listed, but by a CRL the leaf's CA did not sign: not believed, said so.
            #expect(r.status == 0, "\(doc.findings.map(\.summary))")
            #expect(found?.severity == .warning)
            #expect(found?.summary == "revocation of \(F.host) not checked: its CA's CRL \(url) is not signed by the leaf's issuer", "\(found?.summary ?? "")")
        }
    }

    static func iso(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: date)
    }
}

extension TrustAndTimeTests {
    /// A self-signed certificate given as the anchor (`--cacert` it, as people do) that fails for its name,
    /// or for its dates on the date judged: that is the finding; "self-signed and not in the bundle" would be false.
    @Test func aSelfSignedAnchorFailsForItsNameOrDatesAlone() async throws {
        let other = try CertificateMint.mint(.init(commonName: "other.example", subjectAltNames: ["other.example"],
                                                   notBefore: F.midnight(-1), notAfter: F.midnight(90)))
        let server = try F.server(chain: [other], key: other)
        defer { server.stop() }
        let (r, doc, _) = try await run(server.port, ca: try F.file(other.certificatePEM))
        #expect(r.status == 1)
        #expect(doc.rootCause?.cause == .hostnameMismatch, "\(doc.findings.map(\.cause))")
        #expect(!doc.findings.contains { $0.cause == .selfSigned }, "\(doc.findings.map { "\($0.cause): \($0.summary)" })")

        let mine = try CertificateMint.mint(.init(commonName: F.host, subjectAltNames: [F.host], notBefore: F.midnight(-1), notAfter: F.midnight(90)))
        let matching = try F.server(chain: [mine], key: mine)
        defer { matching.stop() }
        let (r2, doc2, _) = try await run(matching.port, ca: try F.file(mine.certificatePEM), ["--at", "+400d"])
        #expect(r2.status == 1)
        #expect(doc2.rootCause?.cause == .certExpired, "\(doc2.findings.map(\.cause))")
        #expect(!doc2.findings.contains { $0.cause == .selfSigned }, "\(doc2.findings.map { "\($0.cause): \($0.summary)" })")
    }
}
