import Foundation
import Testing
import TriageKit
import TriageTestSupport
import TriageWire

/// One test per row of templates/explain-patterns.txt: a real error text of
/// that client or proxy, the row it matches, the causes and the alert or
/// verify error it names, and the command to run next.
@Suite struct ClientPatternTests {
    struct Sample: Sendable, CustomStringConvertible {
        var row: String
        var text: String
        var causes: [Cause]
        var alert: UInt8? = nil
        var verify: Int? = nil
        var next: String? = nil
        var description: String { row }
    }

    static let samples: [Sample] = [
        Sample(row: "java-pkix", text: "javax.net.ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target",
               causes: [.untrustedIssuer, .incompleteChain, .selfSigned]),
        Sample(row: "java-received-alert", text: "javax.net.ssl.SSLHandshakeException: Received fatal alert: handshake_failure",
               causes: [.noSharedCipher, .alertWithoutSNI, .clientCertRequired, .clientCertRejected, .tlsAlert], alert: 40),
        Sample(row: "java-expired", text: "java.security.cert.CertificateExpiredException: NotAfter: Sat Mar 01 00:00:00 UTC 2025", causes: [.certExpired]),
        Sample(row: "java-no-san", text: "java.security.cert.CertificateException: No subject alternative DNS name matching api.example.test found.",
               causes: [.hostnameMismatch], next: "openssl s_client -connect api.example.test:443 -servername api.example.test </dev/null | openssl x509 -noout -ext subjectAltName"),
        Sample(row: "go-expired", text: #"Get "https://api.example.test/": x509: certificate has expired or is not yet valid: current time 2026-12-01T10:00:00Z is after 2026-11-01T00:00:00Z"#,
               causes: [.certExpired, .certNotYetValid]),
        Sample(row: "go-unknown-authority", text: #"Get "https://10.0.0.1/": tls: failed to verify certificate: x509: certificate signed by unknown authority"#,
               causes: [.untrustedIssuer, .incompleteChain, .selfSigned]),
        Sample(row: "go-hostname", text: #"x509: certificate is valid for a.example.test, b.example.test, not api.example.test"#,
               causes: [.hostnameMismatch], next: "openssl s_client -connect api.example.test:443 -servername api.example.test </dev/null | openssl x509 -noout -ext subjectAltName"),
        Sample(row: "go-remote-error", text: "remote error: tls: unrecognized name", causes: [.hostnameMismatch, .alertWithoutSNI, .tlsAlert], alert: 112),
        Sample(row: "envoy-tls", text: "upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: TLS error: 268436536:SSL routines:OPENSSL_internal:TLSV1_ALERT_INTERNAL_ERROR",
               causes: [.alertWithoutSNI, .tlsAlert], alert: 80, next: "triage run https://HOST/ --proxy-sni none"),
        Sample(row: "python-verify", text: "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired (_ssl.c:1006)",
               causes: [.certExpired], verify: 10),
        Sample(row: "node-leaf", text: "Error: unable to verify the first certificate\n    at TLSSocket.onConnectSecure (node:_tls_wrap:1659:34) { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }",
               causes: [.incompleteChain]),
        Sample(row: "node-altname", text: "Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: Host: api.example.test. is not in the cert's altnames: DNS:a.example.test",
               causes: [.hostnameMismatch]),
        Sample(row: "node-expired", text: "Error: certificate has expired { code: 'CERT_HAS_EXPIRED' }", causes: [.certExpired]),
        Sample(row: "node-self-signed", text: "Error: self-signed certificate { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }", causes: [.selfSigned]),
        Sample(row: "haproxy-handshake", text: #"Server be_api/srv1 is DOWN, reason: Layer6 invalid response, info: "SSL handshake failure", check duration: 3ms"#,
               causes: [.alertWithoutSNI, .untrustedIssuer, .protocolVersion, .tlsProtocolError]),
        // nginx names the name it checked and the upstream it connected to: the command connects there, on its port.
        Sample(row: "nginx-cert-name", text: #"2026/12/06 09:11:10 [error] 4242#4242: *1 upstream SSL certificate does not match "backend" while SSL handshaking to upstream, client: 127.0.0.1, server: _, request: "GET / HTTP/1.1", upstream: "https://10.0.0.5:8443/", host: "127.0.0.1:8080""#,
               causes: [.hostnameMismatch], next: "openssl s_client -connect 10.0.0.5:8443 -servername backend </dev/null | openssl x509 -noout -ext subjectAltName"),
        // HAProxy's HTTP log format (configuration manual, "Logging"), the termination states of a connect
        // timeout, a body stalled past timeout server, a response HAProxy refused; and bare, as pasted.
        Sample(row: "haproxy-sc-timeout", text: #"10.0.1.2:33317 [06/Dec/2026:09:12:01.655] fe_https~ be_api/srv1 0/0/-1/-1/5002 503 217 - - sC-- 3/3/0/0/3 0/0 "GET /v1/health HTTP/1.1""#,
               causes: [.proxyTimeout, .timeout]),
        Sample(row: "haproxy-sc-timeout", text: "sC--", causes: [.proxyTimeout, .timeout]),
        Sample(row: "haproxy-sd-timeout", text: #"10.0.1.2:33318 [06/Dec/2026:09:12:02.100] fe_https~ be_api/srv1 0/0/1/3/50004 200 1024 - - sD-- 3/3/0/0/0 0/0 "GET /big HTTP/1.1""#,
               causes: [.httpTimeout, .proxyTimeout]),
        Sample(row: "haproxy-ph", text: #"10.0.1.2:33319 [06/Dec/2026:09:12:03.200] fe_https~ be_api/srv1 0/0/1/2/3 502 215 - - PH-- 3/3/0/0/0 0/0 "GET /v1/health HTTP/1.1""#,
               causes: [.httpProtocolError, .upstreamProtocolMismatch, .upstreamHeaderTooBig]),
        // nginx 1.22's own line (ProxyHTTPTests: a handshake delayed past proxy_connect_timeout).
        Sample(row: "nginx-timeout-handshake", text: #"2026/12/05 10:00:00 [error] 4242#4242: *7 upstream timed out (110: Connection timed out) while SSL handshaking to upstream, client: 127.0.0.1, server: _, request: "GET / HTTP/1.1", upstream: "https://127.0.0.1:8443/", host: "127.0.0.1:8080""#,
               causes: [.proxyTimeout, .timeout]),
        Sample(row: "dotnet-revoked", text: "System.Security.Authentication.AuthenticationException: The remote certificate is invalid because of errors in the certificate chain: Revoked",
               causes: [.certRevoked]),
    ]

    @Test(arguments: samples) func rowMatchesItsClientsText(sample: Sample) throws {
        let m = try #require(ClientPattern.match(sample.text))
        #expect(m.pattern.id == sample.row)
        #expect(m.causes == sample.causes)
        #expect(m.alert?.code == sample.alert)
        #expect(m.verifyCode == sample.verify)
        if let next = sample.next { #expect(m.next == next) }
        // triage explain says who wrote it, in the cause vocabulary, with the next command.
        let explained = try Explainer.explain(sample.text)
        #expect(explained.first?.kind == .client)
        #expect(explained.first?.facts.all(.cause) == sample.causes.map { .string($0.code) })
        #expect(explained.first?.facts[.nextCommand]?.stringValue == m.next)
        #expect(explained.compactMap { $0.alert?.code } == (sample.alert.map { [$0] } ?? []))
        for cause in explained.first?.likelyCauses ?? [] { #expect(!cause.english.contains("—"), "\(cause.english)") }
    }

    /// A proxy's lines are answered in its own directives: HAProxy's `timeout connect`, not nginx's
    /// `proxy_connect_timeout`; Envoy's cluster `sni`, not `proxy_ssl_server_name`.
    @Test func aProxysRemediesAreInItsOwnDirectives() throws {
        let table = try TextTable.named("en")
        func remedies(_ text: String) throws -> String {
            try Explainer.explain(text).first.map { $0.likelyCauses.map { table.render($0) }.joined(separator: "\n") } ?? ""
        }
        let haproxy = try remedies("sC--")
        #expect(haproxy.contains("`timeout connect`") && !haproxy.contains("proxy_connect_timeout"), "\(haproxy)")
        let envoy = try remedies("upstream connect error or disconnect/reset before headers. reset reason: connection timeout")
        #expect(envoy.contains("`connect_timeout`") && !envoy.contains("proxy_"), "\(envoy)")
    }

    /// The next command holds the line's text only as data: a hostile name is one quoted shell word, and an
    /// upstream that is not an address is not used.
    @Test func theNextCommandQuotesWhatTheLineSays() throws {
        let line = #"2026/12/06 09:11:10 [error] 7#7: *1 upstream SSL certificate does not match "b;id" while SSL handshaking to upstream, client: 127.0.0.1, server: _, request: "GET / HTTP/1.1", upstream: "https://10.0.0.5;id:8443/", host: "x""#
        let m = try #require(ClientPattern.match(line))
        #expect(m.next == "openssl s_client -connect 'b;id':443 -servername 'b;id' </dev/null | openssl x509 -noout -ext subjectAltName", "\(m.next)")
    }

    @Test func everyRowHasASampleAndATextInEveryLanguage() throws {
        let rows = ClientPattern.bundled.map(\.id)
        #expect(rows.count >= 100)
        // Every row is the one that reads some real text: a sample here or a text of the explain corpus.
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/explain-corpus.txt")
        let texts = try String(contentsOf: corpus, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }
            .map { $0.components(separatedBy: " || ")[2] } + Self.samples.map(\.text)
        let used = Set(texts.compactMap { ClientPattern.match($0)?.pattern.id })
        #expect(Set(rows).subtracting(used).sorted() == [])
        for language in ["en", "zh"] {
            let table = try TextTable.named(language)
            for id in rows { #expect(table.entries["pattern.\(id)"] != nil, "\(language): pattern.\(id)") }
        }
    }

    @Test func malformedRowsAreRefusedWithTheirLine() {
        #expect(throws: ClientPattern.Malformed.self) { try ClientPattern.parse("# c\nx || Java || a || no-such-cause || n\n") }
        do {
            _ = try ClientPattern.parse("\n\nx || Java || ( || cert-expired || n\n")
        } catch {
            #expect(error.description == "explain-patterns.txt:3: '(' is not a regular expression")
        }
        do {
            _ = try ClientPattern.parse("x || Java || a\n")
        } catch {
            #expect(error.description == "explain-patterns.txt:1: expected 5 columns separated by ' || ', got 3")
        }
    }
}
