import Foundation

/// Removes secrets from text before it reaches a report or an evidence file:
/// Authorization / Proxy-Authorization / Cookie / Set-Cookie header values,
/// credentials in URLs, token-like query parameters and PEM private keys.
public enum Redactor {
    public static let mask = "[REDACTED]"

    public static func redact(_ text: String) -> String {
        guard mayContainSecret(text) else { return text }
        var out = text
        out.replace(privateKey) { _ in "-----BEGIN PRIVATE KEY-----\n\(mask)\n-----END PRIVATE KEY-----" }
        out.replace(secretHeader) { m in "\(m.output.1)\(mask)" }
        out.replace(queryToken) { m in "\(m.output.1)\(mask)" }
        out.replace(userInfo) { m in "\(m.output.1)\(mask)@" }
        return out
    }

    /// The secret values a text carries (what `redact` would mask), so that
    /// the same values can be found again where no pattern marks them: the
    /// value of an `Authorization:` header and its token, a URL password, a
    /// token-like query value, each cookie's value.
    public static func secretValues(in text: String) -> [String] {
        guard mayContainSecret(text) else { return [] }
        var out: [String] = []
        for m in text.matches(of: secretHeader) {
            let value = String(m.output.0.dropFirst(m.output.1.count)).trimmingCharacters(in: .whitespaces)
            out.append(value)
            // "Bearer abc" → also "abc"; "a=1; b=2" → "1", "2".
            if let space = value.firstIndex(of: " ") { out.append(String(value[value.index(after: space)...])) }
            for pair in value.split(separator: ";") {
                if let eq = pair.firstIndex(of: "=") { out.append(String(pair[pair.index(after: eq)...]).trimmingCharacters(in: .whitespaces)) }
            }
        }
        for m in text.matches(of: queryToken) { out.append(String(m.output.0.dropFirst(m.output.1.count))) }
        for m in text.matches(of: userInfo) { out.append(String(m.output.0.dropFirst(m.output.1.count).dropLast())) }
        return out.filter { $0.count >= 4 && $0 != mask }
    }

    /// A cheap pre-check so the common case (a handshake transcript, a
    /// certificate table) never pays for the regular expressions: every
    /// pattern below needs one of these markers.
    private static func mayContainSecret(_ text: String) -> Bool {
        let lower = text.lowercased()
        if lower.contains("://"), lower.contains("@") { return true }
        return markers.contains { lower.contains($0) }
    }

    private static let markers = [
        "authorization", "cookie", "private key", "api-key", "auth-token", "token=", "key=", "secret=", "password=",
        "passwd=", "pwd=", "sig=", "signature=", "credential=", "session=", "sessionid=", "auth=",
    ]

    nonisolated(unsafe) private static let privateKey =
        #/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/#
    nonisolated(unsafe) private static let secretHeader =
        #/(?im)((?:^|[\s>"'])(?:proxy-)?(?:authorization|cookie|set-cookie|x-api-key|x-auth-token)\s*:\s*)[^\r\n]+/#
    nonisolated(unsafe) private static let queryToken =
        #/(?i)([?&;](?:access_token|refresh_token|id_token|token|api_key|apikey|key|secret|client_secret|password|passwd|pwd|sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|session|sessionid|auth)=)[^&#\s"'<>]+/#
    nonisolated(unsafe) private static let userInfo =
        #/([a-z][a-z0-9+.-]*://[^/@\s:]*:)[^/@\s]+@/#
}
