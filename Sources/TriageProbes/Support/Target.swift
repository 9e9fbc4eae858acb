import Foundation
import TriageKit
import TriageWire

/// A target as users type it — `https://api.example.com/v1`, `api.example.com`,
/// `api.example.com:8443`, `[2001:db8::1]:443`, `bücher.example` — made into
/// the URL every step uses: a scheme (https unless given), an ASCII host
/// (IDNA for international names), brackets around IPv6, a path.
public struct Target: Sendable, Hashable {
    public struct Invalid: Error, CustomStringConvertible, Sendable {
        public var text: String
        public var reason: String
        /// A URL, but not one this command probes.
        var notTLS = false
        public var description: String {
            // What was typed may carry a password (`user:pw@host`, curl's proxy form, or a URL's): masked.
            let shown = Sink.echo(SecretSet(Redactor.proxySecrets(text)).redact(Redactor.redact(text)))
            return notTLS ? "'\(shown)' is plain HTTP: scan and the exporter probe TLS (give https:// or HOST:PORT)"
                : "'\(shown)' is not a URL or HOST[:PORT]: \(Sink.echo(reason))"
        }
    }

    /// A target for a TLS probe (scan, the exporter): an `http://` URL is refused, not probed with TLS
    /// under a label that says http.
    public static func forTLS(_ typed: String) throws(Invalid) -> Target {
        let target = try Target(typed)
        guard target.scheme == "https" else {
            var invalid = Invalid(text: String(typed.prefix(200)), reason: "plain HTTP")
            invalid.notTLS = true
            throw invalid
        }
        return target
    }

    public var scheme: String
    /// ASCII: an IP literal without brackets, or an IDNA name.
    public var host: String
    /// The host as typed, when IDNA changed it.
    public var unicodeHost: String?
    public var port: Int?
    /// `user[:password]@`, kept as typed.
    public var userInfo: String?
    /// Path, query and fragment, starting with `/` (or empty).
    public var rest: String

    public var isIPLiteral: Bool { IPAddress(host) != nil }
    public var effectivePort: Int { port ?? (scheme == "http" ? 80 : 443) }

    /// This target's URL with another path (an exporter module's).
    public func with(path: String) -> String {
        var copy = self
        copy.rest = path.hasPrefix("/") ? path : "/" + path
        return copy.url
    }

    public var url: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "\(scheme)://\(userInfo.map { "\($0)@" } ?? "")\(h)\(port.map { ":\($0)" } ?? "")\(rest.isEmpty ? "/" : rest)"
    }

    /// `defaultScheme`: what a target typed without one gets (https for the
    /// upstream, http for a `--via` proxy).
    /// Longer than this is not a target a person typed (URLs in the wild stay under 2,000).
    public static let maximumLength = 8_192

    public init(_ typed: String, defaultScheme: String = "https") throws(Invalid) {
        func invalid(_ reason: String) -> Invalid { Invalid(text: String(typed.prefix(200)), reason: reason) }
        // Bounded before anything else looks at it: a 10 MB line costs a length check.
        guard typed.utf8.count <= Self.maximumLength else { throw invalid("it is longer than \(Self.maximumLength) bytes") }
        let text = String(typed.trimmed { $0.isWhitespace && !$0.isNewline })
        guard !text.isEmpty else { throw invalid("it is empty") }
        guard !text.contains(where: \.isNewline) else { throw invalid("it holds a line break") }
        guard !text.contains(where: { $0.isWhitespace }) else { throw invalid("it holds spaces") }
        // A control character (an exporter's `target=https://h/%01` arrives decoded) cannot go in a request line.
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { throw invalid("it holds a control character") }
        var authorityAndRest = Substring(text)
        if let range = text.range(of: "://") {
            let scheme = text[..<range.lowerBound].lowercased()
            guard scheme == "https" || scheme == "http" else { throw invalid("the scheme '\(scheme)' is not http or https") }
            self.scheme = scheme
            authorityAndRest = text[range.upperBound...]
        } else if IPAddress(text)?.isV6 == true {
            // A bare IPv6 literal: its colons are not a port. (`::1:8443` is read as that address on 443, as the
            // results show it: refusing every literal whose last group could be a port refused one real
            // address in six — `2001:db8::8a2e:370:7334`, a pod's `fd00:10:244::1:5` — and a port goes in
            // brackets, as the help says.)
            self.scheme = defaultScheme
            authorityAndRest = "[\(text)]"
        } else {
            self.scheme = defaultScheme
        }
        let authorityEnd = authorityAndRest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? authorityAndRest.endIndex
        var authority = authorityAndRest[..<authorityEnd]
        rest = String(authorityAndRest[authorityEnd...])
        if rest.hasPrefix("?") || rest.hasPrefix("#") { rest = "/" + rest }
        userInfo = nil
        if let at = authority.lastIndex(of: "@") {
            userInfo = String(authority[..<at])
            authority = authority[authority.index(after: at)...]
        }
        var hostPart: Substring
        var portPart: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw invalid("an IPv6 address needs its closing ']'") }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("expected ':PORT' after ']'") }
                portPart = after.dropFirst()
            }
            guard IPAddress(String(hostPart))?.isV6 == true else {
                // A link-local address with its zone (`fe80::1%eth0`, `%25` in a URL) is one; its zone is what is not taken.
                if let percent = hostPart.firstIndex(of: "%"), IPAddress(String(hostPart[..<percent]))?.isV6 == true {
                    throw invalid("'\(hostPart)': an IPv6 zone ID (the interface after the %) is not supported: test a global address or a name")
                }
                throw invalid("'\(hostPart)' in brackets is not an IPv6 address")
            }
        } else {
            let pieces = authority.split(separator: ":", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else {
                // Colons in a bare address are IPv6's; after a name, more than one is a second port.
                if IPAddress(String(authority))?.isV6 == true || IPAddress(String(authority[..<(authority.lastIndex(of: ":") ?? authority.endIndex)]))?.isV6 == true {
                    throw invalid("an IPv6 address in a URL goes in brackets: https://[ADDRESS]:PORT/")
                }
                throw invalid("'\(authority)' has more than one ':': expected HOST or HOST:PORT")
            }
            hostPart = pieces[0]
            portPart = pieces.count == 2 ? pieces[1] : nil
        }
        if let portPart {
            // Digits only: Int() also reads `+8443`, which no URL parser does.
            guard portPart.allSatisfy({ $0.isASCII && $0.isNumber }), let p = Int(portPart), (1...65_535).contains(p) else {
                throw invalid("port '\(portPart)' is not a number from 1 to 65535")
            }
            port = p
        } else {
            port = nil
        }
        guard !hostPart.isEmpty else { throw invalid("it names no host") }
        let hostText = String(hostPart).lowercased()
        if IPAddress(hostText) != nil {
            host = hostText
            unicodeHost = nil
            return
        }
        // `127.1`, `0x7f000001`, `0177.0.0.1`: an address in the forms inet_aton and curl read (and the
        // URL standard), not a name to look up.
        if let dotted = Self.shorthandIPv4(hostText) {
            host = dotted
            unicodeHost = hostText
            return
        }
        // One trailing dot is a fully qualified name; a leading one (`.test`) is an empty label.
        let labels = (hostText.hasSuffix(".") ? hostText.dropLast() : Substring(hostText)).split(separator: ".", omittingEmptySubsequences: false)
        // RFC 1035 §2.3.4: a name of at most 253 characters, labels of at most 63.
        guard hostText.utf8.count <= 253 else { throw invalid("the host name is longer than 253 characters") }
        guard !labels.isEmpty, labels.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 63 }) else { throw invalid("'\(hostText)' has an empty or over-long label") }
        guard hostText.allSatisfy({ !$0.isASCII || $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_" }) else {
            throw invalid("'\(hostText)' holds characters a host name cannot")
        }
        // RFC 1123 §2.1: a label neither starts nor ends with '-' (`-rf` in a targets file is a stray flag, not a name).
        guard !labels.contains(where: { $0.hasPrefix("-") || $0.hasSuffix("-") }) else {
            throw invalid("'\(hostText)' has a label that starts or ends with '-' (an option in the wrong place?)")
        }
        do {
            host = try IDNA.ascii(hostText)
        } catch {
            throw invalid(error.reason)
        }
        guard host.utf8.count <= 253 else { throw invalid("the host name is longer than 253 characters in its ASCII form") }
        // Characters IDNA maps to nothing (a soft hyphen, a zero-width space, a BOM) can leave no name at all.
        let mapped = host.hasSuffix(".") ? host.dropLast() : Substring(host)
        guard !mapped.isEmpty, !mapped.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty) else {
            throw invalid(host.isEmpty || host == "." ? "it names no host (its characters map to nothing in IDNA: a soft hyphen, a zero-width space, a BOM?)"
                                                      : "'\(Sink.echo(hostText))' has an empty label once IDNA maps it (a soft hyphen, a zero-width space?)")
        }
        unicodeHost = host == hostText ? nil : hostText
    }

    /// An IPv4 address in inet_aton's forms — one to four parts, each decimal, `0x` hex or `0` octal, the
    /// last filling the bytes left — as a dotted quad; nil for anything else (a name).
    public static func shorthandIPv4(_ text: String) -> String? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...4).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }),
              parts.last?.first?.isNumber == true else { return nil }
        var numbers: [UInt64] = []
        for part in parts {
            let lower = part.lowercased()
            let value: UInt64?
            if lower.hasPrefix("0x") { value = lower.count == 2 ? 0 : UInt64(lower.dropFirst(2), radix: 16) }
            else if lower.count > 1, lower.hasPrefix("0") { value = UInt64(lower.dropFirst(), radix: 8) }
            else { value = UInt64(lower, radix: 10) }
            guard let value else { return nil }
            numbers.append(value)
        }
        let head = numbers.dropLast()
        guard head.allSatisfy({ $0 <= 255 }), let last = numbers.last, last < (UInt64(1) << (8 * (5 - numbers.count))) else { return nil }
        var address = last
        for (i, byte) in head.enumerated() { address |= byte << (8 * (3 - i)) }
        return "\((address >> 24) & 255).\((address >> 16) & 255).\((address >> 8) & 255).\(address & 255)"
    }
}
