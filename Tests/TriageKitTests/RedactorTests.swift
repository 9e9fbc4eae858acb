import Testing
import TriageKit

@Suite struct RedactorTests {
    @Test func secretsNeverSurvive() {
        let text = """
            > GET /v1?user=1&access_token=abc123&x=2 HTTP/1.1
            > Authorization: Bearer eyJhbGciOi.secret
            > Cookie: session=deadbeef
            < Set-Cookie: id=42; HttpOnly
            proxy: https://bob:hunter2@proxy.test:3128/
            -----BEGIN RSA PRIVATE KEY-----
            MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu
            -----END RSA PRIVATE KEY-----
            """
        let out = Redactor.redact(text)
        for secret in ["abc123", "eyJhbGciOi", "deadbeef", "id=42", "hunter2", "MIIBOgIBAAJBAKj3"] {
            #expect(!out.contains(secret), "\(secret) leaked")
        }
        #expect(out.contains("access_token=[REDACTED]&x=2"))
        #expect(out.contains("> Authorization: [REDACTED]"))
        #expect(out.contains("https://bob:[REDACTED]@proxy.test:3128/"))
        #expect(Redactor.redact("nothing to see") == "nothing to see")
    }

    /// A proxy as curl takes one, its scheme left out or not: the password, percent-decoded, and
    /// the `Proxy-Authorization: Basic` text curl makes of it.
    @Test func aProxysCredentialsWithOrWithoutItsScheme() {
        let basic = "YWxpY2U6cEBzcy13MHJk"   // base64("alice:p@ss-w0rd")
        for proxy in ["alice:p%40ss-w0rd@proxy.test:3128", "http://alice:p%40ss-w0rd@proxy.test:3128/", "socks5h://alice:p%40ss-w0rd@proxy.test"] {
            let found = Redactor.proxySecrets(proxy)
            #expect(found.contains("p%40ss-w0rd") && found.contains("p@ss-w0rd") && found.contains(basic), "\(proxy): \(found)")
        }
        #expect(Redactor.proxySecrets("proxy.test:3128").isEmpty)
    }

    /// The markers are looked for in the string's own bytes, any case, at any offset of a slice.
    @Test func markersFoundInPlace() {
        let line = "…  > COOKIE: sid=s3cr3t-value"
        #expect(Redactor.redact(line) == "…  > COOKIE: [REDACTED]")
        let slice = ("xx\n" + line).split(separator: "\n")[1]
        #expect(Redactor.redact(String(slice)) == "…  > COOKIE: [REDACTED]")
        #expect(Redactor.redact("a\n-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\nb")
                == "a\n-----BEGIN PRIVATE KEY-----\n[REDACTED]\n-----END PRIVATE KEY-----\nb")
        // Three bytes: shorter than any marker, returned as it is.
        #expect(Redactor.redact("@:/") == "@:/")
    }

    @Test func includesComparesBytes() {
        let text = "upstream: https://a.test/é"
        #expect(text.includes("://"))
        #expect(text.dropFirst(10).includes("https"))
        #expect(!text.dropFirst(11).includes("https"))
        #expect(text.includes("é") && !text.includes("e\u{301}"))
        #expect(text.includes("") && !"".includes("a"))
    }

    /// A token as a URL's user name, in a fragment (OAuth's implicit flow), an authorization
    /// code, Google's signed URLs: masked too, and found again where no pattern marks them.
    /// A secret header inside a quoted argument (the curl command a report gives to paste) is masked
    /// to its closing quote: the URL, `--resolve` and `--cacert` after it stay (they were cut off,
    /// leaving an open quote).
    @Test func aQuotedHeaderKeepsTheRestOfTheCommand() {
        #expect(Redactor.redact("curl -v -H 'Authorization: Bearer BEARERSECRET' --resolve 'a.test:443:127.0.0.1' 'https://a.test/'")
            == "curl -v -H 'Authorization: [REDACTED]' --resolve 'a.test:443:127.0.0.1' 'https://a.test/'")
        #expect(Redactor.redact(#"curl -H "Cookie: sid=\"abc\"; t=XYZ123" https://a.test/"#) == #"curl -H "Cookie: [REDACTED]" https://a.test/"#)
        #expect(Redactor.redact("curl -H 'Authorization: Bearer ab'\\''cd' --cacert ca.pem") == "curl -H 'Authorization: [REDACTED]' --cacert ca.pem")
        #expect(Redactor.redact("> Authorization: Bearer x y z") == "> Authorization: [REDACTED]")
        #expect(Redactor.secretValues(in: "curl -H 'Authorization: Bearer BEARERSECRET' https://a.test/").contains("BEARERSECRET"))
    }

    /// A header value given with -H that holds a single quote is masked in the command a report gives
    /// too, where the shell's quoting writes it `a'\''b` (it leaked there, redacted everywhere else).
    @Test func aSecretWithAQuoteIsMaskedInItsShellForm() {
        let secrets = SecretSet(["a'b SECRET8"])
        #expect(secrets.redact("curl -v -H 'X-Api: a'\\''b SECRET8' https://a.test/") == "curl -v -H 'X-Api: [REDACTED]' https://a.test/")
        #expect(secrets.redact("X-Api: a'b SECRET8") == "X-Api: [REDACTED]")
    }

    /// A token at the end of a URL in a sentence keeps the sentence's colon ("URL: HTTP 200"); a colon
    /// inside the value is masked with it.
    @Test func aQueryTokenStopsBeforeTheSentencesColon() {
        #expect(Redactor.redact("https://a.test/?token=abc123: HTTP 200 in 1.0 ms") == "https://a.test/?token=[REDACTED]: HTTP 200 in 1.0 ms")
        #expect(Redactor.redact("https://a.test/?token=abc:def&x=1") == "https://a.test/?token=[REDACTED]&x=1")
        #expect(Redactor.redact("https://a.test/?sig=abc:") == "https://a.test/?sig=[REDACTED]:")
    }

    /// The names APIs give their keys and tokens, not only the usual dozen: each value masked, in the
    /// text and among the values looked for elsewhere (a capture's bytes); ordinary parameters stay.
    @Test func tokenParametersInTheirManySpellings() {
        let names = ["api-key", "x-api-key", "access-token", "auth_token", "accessToken", "authToken", "refreshToken", "idToken",
                     "client-secret", "secret_key", "private_key", "aws_secret_access_key", "subscription-key",
                     "Ocp-Apim-Subscription-Key", "session_id", "jwt_token", "my_token", "X-Amz-Security-Token", "passwordHash", "oauth"]
        for (i, name) in names.enumerated() {
            let value = "V\(i)x9Q7secretvalue"
            let url = "https://api.test/v1?page=2&\(name)=\(value)&keyword=tls&author=ann&design=x"
            let out = Redactor.redact(url)
            #expect(!out.contains(value), "\(name): \(out)")
            #expect(out.contains("\(name)=[REDACTED]&keyword=tls&author=ann&design=x"), "\(name): \(out)")
            #expect(Redactor.secretValues(in: url).contains(value), "\(name)")
        }
        // Names the pre-check must let through to the pattern.
        #expect(Redactor.redact("https://a.test/?sessionHandle=abc12345&apiKeyId=qqqq1111") == "https://a.test/?sessionHandle=[REDACTED]&apiKeyId=[REDACTED]")
        // An ordinary value under a name that only may carry a credential is masked in its URL, not everywhere
        // (the rest of a case would lose every "true" and "3600").
        let ordinary = "https://api.test/items?sort_key=created_at&include_session=true&session_timeout=3600&code=2024"
        #expect(Redactor.redact(ordinary) == "https://api.test/items?sort_key=[REDACTED]&include_session=[REDACTED]&session_timeout=[REDACTED]&code=[REDACTED]")
        #expect(Redactor.secretValues(in: ordinary).isEmpty, "\(Redactor.secretValues(in: ordinary))")
        // A long run of name characters is read in linear time (the pattern's names are bounded).
        let hostile = "X: ?" + String(repeating: "token", count: 20_000)
        #expect(Redactor.redact(hostile) == hostile)
        // A long run of scheme letters before `://` (a scheme is at most 32 of them here): still masked, still linear.
        let longScheme = "token " + String(repeating: "a", count: 100_000) + "://bob:hunter22@h.test/"
        #expect(Redactor.redact(longScheme).hasSuffix("://bob:[REDACTED]@h.test/"))
    }

    @Test func tokensInOtherPlacesOfAURL() {
        let text = """
            url: https://ghp_TOKENSECRET20@git.example.test/org/repo.git
            callback: https://app.example.test/cb#access_token=FRAGSECRET1&state=ok
            redirect: https://app.example.test/cb?code=AUTHCODE99&state=ok
            signed: https://storage.example.test/o?X-Goog-Signature=GOOGSIG77&X-Goog-Credential=GOOGCRED88
            """
        let out = Redactor.redact(text)
        for secret in ["ghp_TOKENSECRET20", "FRAGSECRET1", "AUTHCODE99", "GOOGSIG77", "GOOGCRED88"] {
            #expect(!out.contains(secret), "\(secret) leaked: \(out)")
        }
        #expect(out.contains("https://[REDACTED]@git.example.test/org/repo.git"))
        #expect(out.contains("cb#access_token=[REDACTED]&state=ok"))
        #expect(out.contains("cb?code=[REDACTED]&state=ok"))
        // curl's trace names the user alone ("Server auth using Basic with user '…'"): the value is known.
        #expect(Redactor.secretValues(in: text).contains("ghp_TOKENSECRET20"))
        // A password form keeps its user name; an address literal's brackets are no user name.
        #expect(Redactor.redact("https://bob:hunter2@h.test/") == "https://bob:[REDACTED]@h.test/")
        #expect(Redactor.redact("see https://[::1]:8443/ and x@y") == "see https://[::1]:8443/ and x@y")
        // An upper-case scheme hides no password.
        #expect(Redactor.redact("HTTPS://bob:hunter2@h.test/") == "HTTPS://bob:[REDACTED]@h.test/")
        // A plain user name or an ordinary code is masked in its URL, but not looked for everywhere
        // else (a report would lose every "admin" and every "2024").
        let plain = Redactor.secretValues(in: "https://admin@h.test/x?code=2024 ssh://git@h.test/")
        #expect(!plain.contains("admin") && !plain.contains("2024") && !plain.contains("git"), "\(plain)")
        #expect(Redactor.redact("https://admin@h.test/") == "https://[REDACTED]@h.test/")
    }
}
