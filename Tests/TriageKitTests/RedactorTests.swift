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
}
