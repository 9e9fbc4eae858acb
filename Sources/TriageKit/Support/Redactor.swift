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

    /// Each pattern runs only where its own marker is (Swift's regular expressions are slow, and a server's
    /// 100 KB header line of `?tokentoken…` took minutes through patterns it could not match).
    static func redactLine(_ line: String) -> String {
        var out = line
        if hasHeaderName(line) {
            out.replace(quotedSecretHeader) { m in "\(m.output.1)\(mask)" }
            out.replace(secretHeader) { m in "\(m.output.1)\(mask)" }
        }
        out = maskingQueryTokens(out)
        if hasURLWithUser(out) {
            out.replace(userInfo) { m in "\(m.output.1)\(mask)@" }
            out.replace(userOnly) { m in "\(m.output.1)\(mask)@" }
        }
        return out
    }

    static let headerNames: [[UInt8]] = ["authorization", "cookie", "x-api-key", "x-auth-token"].map { Array($0.utf8) }
    static func hasHeaderName(_ text: String) -> Bool {
        text.withUTF8Bytes { bytes in headerNames.contains { ByteSearch.contains(bytes, $0, foldingASCII: true) } }
    }
    static func hasURLWithUser(_ text: String) -> Bool { text.withUTF8Bytes(hasURLWithUser) }
    /// An `@` and a `://`: what the user-and-password patterns need.
    static func hasURLWithUser(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.contains(0x40) && ByteSearch.contains(bytes, schemeSeparator)
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
        hasURLWithUser(bytes) || markerBytes.contains { ByteSearch.contains(bytes, $0, foldingASCII: true) }
    }

    /// The secret values a text carries (what `redact` would mask), so that
    /// the same values can be found again where no pattern marks them: the
    /// value of an `Authorization:` header and its token, a URL password, a
    /// token-like query value, each cookie's value.
    public static func secretValues(in text: String) -> [String] {
        guard mayContainSecret(text) else { return [] }
        var out: [String] = []
        let headers = hasHeaderName(text), urls = hasURLWithUser(text)
        for m in headers ? text.matches(of: quotedSecretHeader) : [] { out += headerSecrets(String(m.output.0.dropFirst(m.output.1.count))) }
        for m in headers ? text.matches(of: secretHeader) : [] { out += headerSecrets(String(m.output.0.dropFirst(m.output.1.count))) }
        for token in queryTokens(in: text) {
            // A value is looked for everywhere else only when its name certainly carries a credential, or it looks
            // like a token: `?code=2024`, `?sort_key=created_at`, `?include_session=true` are masked in their URL,
            // but "2024", "created_at" and "true" stay in the rest of the case.
            if !Self.credentialNames.contains(token.name) && !looksLikeToken(token.value) { continue }
            out.append(token.value)
        }
        for m in urls ? text.matches(of: userInfo) : [] {
            let password = String(m.output.0.dropFirst(m.output.1.count).dropLast())
            let user = m.output.1.split(separator: "://", maxSplits: 1).last.map { String($0.dropLast()) } ?? ""
            out.append(password)
            out += basicCredentials(user: user, password: password)
        }
        // A user name alone is usually a name (`admin@`, `git@`), masked in its URL but looked for elsewhere only when it is a token.
        for m in urls ? text.matches(of: userOnly) : [] {
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
        "authorization", "cookie", "private key", "api-key", "apikey", "token", "key=", "secret", "passw",
        "pwd=", "sig=", "signature", "credential", "session", "auth=", "code=", "jwt",
    ]

    /// Query parameter names that always carry a credential: their values are secrets wherever they appear.
    static let credentialNames: Set<String> = [
        "access_token", "refresh_token", "id_token", "token", "api_key", "apikey", "api-key", "x-api-key", "key", "secret",
        "client_secret", "password", "passwd", "pwd", "sig", "signature", "x-amz-signature", "x-amz-credential",
        "x-amz-security-token", "x-goog-signature", "x-goog-credential", "session", "sessionid", "auth", "jwt",
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
    /// or is `code` (OAuth's). A `?keyword=` or `?author=` stays. Read by a scanner, not a regular
    /// expression: Swift's took minutes on a 100 KB header line of `?tokentoken…` (a server's to send).
    static func queryTokens(in text: String) -> [(name: String, value: String, valueRange: Range<Int>)] {
        let bytes = Array(text.utf8)
        var out: [(name: String, value: String, valueRange: Range<Int>)] = []
        func isNameByte(_ b: UInt8) -> Bool {
            (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x5F || b == 0x2E || b == 0x2D
        }
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            guard b == UInt8(ascii: "?") || b == UInt8(ascii: "&") || b == UInt8(ascii: ";") || b == UInt8(ascii: "#") else { i += 1; continue }
            var j = i + 1
            while j < bytes.count, isNameByte(bytes[j]) { j += 1 }
            guard j < bytes.count, bytes[j] == UInt8(ascii: "="), j > i + 1 else { i = max(i + 1, j); continue }
            let name = String(decoding: bytes[(i + 1)..<j], as: UTF8.self).lowercased()
            guard credentialName(name) else { i = j; continue }
            // The value: to `&`, `#`, a space, a quote or an angle bracket; a `:` only when more of it follows.
            var k = j + 1
            while k < bytes.count {
                let c = bytes[k]
                if c == UInt8(ascii: "&") || c == UInt8(ascii: "#") || isSpace(c)
                    || c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") || c == UInt8(ascii: "<") || c == UInt8(ascii: ">") { break }
                if c == UInt8(ascii: ":"), k + 1 >= bytes.count || isSpace(bytes[k + 1]) { break }
                k += 1
            }
            if k > j + 1 { out.append((name, String(decoding: bytes[(j + 1)..<k], as: UTF8.self), (j + 1)..<k)) }
            i = k
        }
        return out
    }

    static func credentialName(_ name: String) -> Bool {
        name == "code" || credentialWords.contains { name.contains($0) } || credentialEndings.contains { name.hasSuffix($0) }
    }
    static let credentialWords = ["token", "secret", "passw", "credential", "jwt", "signature", "session", "apikey", "api_key", "api-key"]
    static let credentialEndings = ["key", "sig", "auth", "pwd"]

    /// `line` with every credential-carrying query value masked.
    static func maskingQueryTokens(_ line: String) -> String {
        let tokens = queryTokens(in: line)
        guard !tokens.isEmpty else { return line }
        let bytes = Array(line.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var at = 0
        for token in tokens {
            out += bytes[at..<token.valueRange.lowerBound]
            out += Array(mask.utf8)
            at = token.valueRange.upperBound
        }
        out += bytes[at...]
        return String(decoding: out, as: UTF8.self)
    }
    /// `https://user:PASSWORD@host`: the password.
    nonisolated(unsafe) private static let userInfo =
        #/((?i)[a-z][a-z0-9+.-]{0,31}://[^/@\s:]*:)[^/@\s]+@/#
    /// `https://TOKEN@host` (a personal access token as the user name, git's and many APIs' form): all of it.
    nonisolated(unsafe) private static let userOnly =
        #/((?i)[a-z][a-z0-9+.-]{0,31}://)[^/@\s:?#\[]+@/#
}
