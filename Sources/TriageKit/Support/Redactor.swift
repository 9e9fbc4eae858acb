import Foundation

/// Removes secrets from text before it reaches a report or an evidence file:
/// Authorization / Proxy-Authorization / Cookie / Set-Cookie header values,
/// credentials in URLs, token-like query parameters and PEM private keys.
public enum Redactor {
    public static let mask = "[REDACTED]"

    /// Line by line: only a line that holds one of the markers pays for the
    /// regular expressions, so a megabyte of curl trace costs a scan, not a
    /// regex pass (Swift's regular expressions are slow on large text).
    public static func redact(_ text: String) -> String {
        var source = text
        if source.withUTF8Bytes({ ByteSearch.contains($0, privateKeyMarker, foldingASCII: true) }) {
            source.replace(privateKey) { _ in "-----BEGIN PRIVATE KEY-----\n\(mask)\n-----END PRIVATE KEY-----" }
        }
        guard mayContainSecret(source) else { return source }
        var out = ""
        out.reserveCapacity(source.utf8.count)
        var first = true
        for line in source.utf8.split(separator: 0x0A, omittingEmptySubsequences: false) {
            if !first { out += "\n" }
            first = false
            let text = Substring(line)
            out += lineMayContainSecret(text) ? redactLine(String(text)) : String(text)
        }
        return out
    }

    static func redactLine(_ line: String) -> String {
        var out = line
        out.replace(quotedSecretHeader) { m in "\(m.output.1)\(mask)" }
        out.replace(secretHeader) { m in "\(m.output.1)\(mask)" }
        out.replace(queryToken) { m in "\(m.output.1)\(mask)" }
        out.replace(userInfo) { m in "\(m.output.1)\(mask)@" }
        out.replace(userOnly) { m in "\(m.output.1)\(mask)@" }
        return out
    }

    /// The markers, as lower-case bytes, and a case-insensitive search for them.
    static let markerBytes: [[UInt8]] = markers.map { Array($0.utf8) }
    static let schemeSeparator = Array("://".utf8)
    static let privateKeyMarker = Array("private key-----".utf8)

    static func lineMayContainSecret(_ line: Substring) -> Bool {
        line.utf8.count >= 4 && line.withUTF8Bytes(hasMarker)
    }

    /// Every pattern below needs one of the markers, or a URL with a user (`://` and `@`).
    /// (Foundation's `contains` would bridge each call to NSString: a report's thousand short strings paid for that.)
    static func hasMarker(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        if bytes.contains(0x40), ByteSearch.contains(bytes, schemeSeparator) { return true }
        return markerBytes.contains { ByteSearch.contains(bytes, $0, foldingASCII: true) }
    }

    /// The secret values a text carries (what `redact` would mask), so that
    /// the same values can be found again where no pattern marks them: the
    /// value of an `Authorization:` header and its token, a URL password, a
    /// token-like query value, each cookie's value.
    public static func secretValues(in text: String) -> [String] {
        guard mayContainSecret(text) else { return [] }
        var out: [String] = []
        for m in text.matches(of: quotedSecretHeader) { out += headerSecrets(String(m.output.0.dropFirst(m.output.1.count))) }
        for m in text.matches(of: secretHeader) { out += headerSecrets(String(m.output.0.dropFirst(m.output.1.count))) }
        for m in text.matches(of: queryToken) {
            let value = String(m.output.0.dropFirst(m.output.1.count))
            // `code=` is also an ordinary parameter (`?code=2024`): its value is looked for elsewhere only when it looks like a token.
            if m.output.1.lowercased().hasSuffix("code=") && !looksLikeToken(value) { continue }
            out.append(value)
        }
        for m in text.matches(of: userInfo) {
            let password = String(m.output.0.dropFirst(m.output.1.count).dropLast())
            let user = m.output.1.split(separator: "://", maxSplits: 1).last.map { String($0.dropLast()) } ?? ""
            out.append(password)
            out += basicCredentials(user: user, password: password)
        }
        // A user name alone is usually a name (`admin@`, `git@`), masked in its URL but looked for elsewhere only when it is a token.
        for m in text.matches(of: userOnly) {
            let value = String(m.output.0.dropFirst(m.output.1.count).dropLast())
            if looksLikeToken(value) { out += [value] + basicCredentials(user: value, password: "") }
        }
        return out.filter { $0.count >= 4 && $0 != mask }
    }

    /// The secrets of a proxy as curl takes one (`-x`, `HTTPS_PROXY`): a URL whose scheme may be left
    /// out (`user:password@proxy:3128`, curl's default `http://`); its password goes out as
    /// `Proxy-Authorization: Basic base64(user:password)`, which a proxy may echo.
    public static func proxySecrets(_ proxy: String) -> [String] {
        secretValues(in: proxy.contains("://") ? proxy : "http://" + proxy)
    }

    /// The variables curl reads a proxy from (`HTTP_PROXY` upper case too: whatever it holds is a
    /// credential wherever it comes back).
    public static let proxyVariables = ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]

    /// What curl makes of a URL's user and password: they go out percent-decoded, as
    /// `Authorization: Basic base64(user:password)`, which a server may echo (httpbin's JSON, a
    /// header of its own): the decoded password and that base64 text are secrets too.
    private static func basicCredentials(user: String, password: String) -> [String] {
        let user = user.removingPercentEncoding ?? user, decoded = password.removingPercentEncoding ?? password
        return (decoded == password ? [] : [decoded]) + [Data("\(user):\(decoded)".utf8).base64EncodedString()]
    }

    /// A secret header's value, and its parts: "Bearer abc" → also "abc"; "a=1; b=2" → "1", "2".
    private static func headerSecrets(_ raw: String) -> [String] {
        let value = raw.trimmingCharacters(in: .whitespaces)
        var out = [value]
        if let space = value.firstIndex(of: " ") { out.append(String(value[value.index(after: space)...])) }
        for pair in value.split(separator: ";") {
            if let eq = pair.firstIndex(of: "=") { out.append(String(pair[pair.index(after: eq)...]).trimmingCharacters(in: .whitespaces)) }
        }
        return out
    }

    /// A value that is a credential rather than a word: long, or letters and digits mixed (`ghp_…`, an OAuth code).
    static func looksLikeToken(_ value: String) -> Bool {
        value.count >= 20 || (value.count >= 8 && value.contains(where: \.isLetter) && value.contains(where: \.isNumber))
    }

    /// A cheap pre-check so the common case (a handshake transcript, a
    /// certificate table) never pays for the regular expressions.
    private static func mayContainSecret(_ text: String) -> Bool {
        text.utf8.count >= 4 && text.withUTF8Bytes(hasMarker)
    }

    private static let markers = [
        "authorization", "cookie", "private key", "api-key", "auth-token", "token", "key=", "secret", "passw",
        "pwd=", "sig=", "signature", "credential", "session=", "sessionid=", "session_", "session-", "auth=", "code=", "jwt",
    ]

    nonisolated(unsafe) private static let privateKey =
        #/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/#
    /// A header as a line of its own or after a space (`> Authorization: …` in curl's trace): to the end of the line.
    nonisolated(unsafe) private static let secretHeader =
        #/(?im)((?:^|[\s>])(?:proxy-)?(?:authorization|cookie|set-cookie|x-api-key|x-auth-token)\s*:\s*)[^\r\n]+/#
    /// A header in quotes (`-H 'Authorization: …'` in a command to paste): to the closing quote, so the rest of
    /// the command stays (the shell's `'\''` and `\"` are inside the value).
    nonisolated(unsafe) private static let quotedSecretHeader =
        #/(?im)((['"])(?:proxy-)?(?:authorization|cookie|set-cookie|x-api-key|x-auth-token)\s*:\s*)(?:'\\''|\\.|(?!\2)[^\r\n])+/#
    /// A query (or fragment) parameter whose name says it carries a credential, in any of the spellings
    /// APIs use: one that holds `token`, `secret`, `passw`, `credential`, `jwt`, `signature`, `session`
    /// or an API key (`accessToken`, `client-secret`, `session_id`, `X-Amz-Security-Token`, `api-key`),
    /// or ends in `key`, `sig`, `auth` or `pwd` (`subscription-key`, `aws_secret_access_key`, `oauth`),
    /// or is `code` (OAuth's). A `?keyword=` or `?author=` stays.
    nonisolated(unsafe) private static let queryToken =
        #/(?i)([?&;#](?:[a-z0-9_.\-]*(?:token|secret|passw|credential|jwt|signature|session|api[_\-]?key)[a-z0-9_.\-]*|[a-z0-9_.\-]*(?:key|sig|auth|pwd)|code)=)(?:[^&#\s"'<>:]|:(?![\s]|$))+/#
    /// `https://user:PASSWORD@host`: the password.
    nonisolated(unsafe) private static let userInfo =
        #/((?i)[a-z][a-z0-9+.-]*://[^/@\s:]*:)[^/@\s]+@/#
    /// `https://TOKEN@host` (a personal access token as the user name, git's and many APIs' form): all of it.
    nonisolated(unsafe) private static let userOnly =
        #/((?i)[a-z][a-z0-9+.-]*://)[^/@\s:?#\[]+@/#
}
