import Foundation
import TriageWire

/// Reads whatever an engineer pastes — `80`, `internal_error`,
/// `SSL alert number 80`, `554`, `error:0A000438:SSL routines::…`, a whole
/// nginx error-log line, `curl: (35) …` — and explains every code in it.
public enum Explainer {
    public struct NotUnderstood: Error, CustomStringConvertible {
        public var input: String
        public var description: String {
            "cannot tell what '\(input)' is: expected a TLS alert number or name (80, internal_error), 'SSL alert number N', an OpenSSL error (error:0A000438:…), a curl exit code (curl: (35), CURLE_…) or an nginx error-log line"
        }
    }

    /// What is read of a paste: a log line or an `openssl s_client` output is a few kilobytes; the
    /// patterns cost time in a line's length, so a megabyte on one line took 30 s.
    static let lineLimit = 4_096
    static let textLimit = 64 * 1_024

    /// The first `textLimit` bytes, each line cut at `lineLimit` (a cut at a character's boundary).
    static func bounded(_ input: String) -> String {
        guard input.utf8.count > lineLimit else { return input }
        var out = ""
        for line in input.prefix(textLimit).split(separator: "\n", omittingEmptySubsequences: false) {
            if !out.isEmpty { out += "\n" }
            out += line.utf8.count > lineLimit ? String(line.prefix(lineLimit)) : String(line)
            if out.utf8.count >= textLimit { break }
        }
        return out
    }

    public static func explain(_ input: String) throws(NotUnderstood) -> [Explanation] {
        // (Not with Foundation's CharacterSet, a tenth of `triage explain 80`'s start, nor `reversed()`:
        // unspecialised generic code, and conformance lookups.)
        let text = String(bounded(input).trimmed())
        // A paste of many lines (openssl s_client's output) naming the alert it received: the line that
        // says so explains it; the rest ("no peer certificate available") follows from the alert.
        if text.contains("\n"), let line = text.split(separator: "\n").first(where: { $0.contains(#/(?i)alert number \d+/#) }),
           let explained = try? explain(String(line)) {
            return explained
        }
        var out: [Explanation] = []
        // A bare alert name is that alert, even where a client's text would contain it.
        if let a = AlertDescription.named(text) { return [.alert(a)] }
        // A bare number (an alert, a curl code) is no client's text: the patterns are not even compiled for it.
        let bareNumber = !text.isEmpty && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
        // (No pattern below matches digits alone: a bare number goes straight to what numbers mean.)
        if bareNumber, let number = Self.number(text) { return number }
        if !bareNumber, let m = ClientPattern.match(text) {
            out.append(client(m))
            // nginx's own line: its phase and upstream as well.
            if m.pattern.client == "nginx", let nginx = nginxContext(text) { out.append(nginx) }
            if let a = m.alert { out.append(.alert(a, level: .fatal, sender: m.alertSender)) }
            if let code = m.verifyCode, X509VerifyCode.describe(code) != nil { out.append(.x509(code)) }
            return out
        }
        if let nginx = nginxContext(text) { out.append(nginx) }
        let sender: Peer? = out.isEmpty ? receivedAlertSender(text) : .server

        if let hex = firstMatch(#/(?i)error:([0-9a-f]{8})(?::|\b)/#, text), let e = openSSL(hex, sender: sender) {
            out += e
        }
        if !out.contains(where: { $0.kind == .alert }),
           let n = firstMatch(#/(?i)alert number (\d+)/#, text), let code = UInt8(n), let a = AlertDescription.named(code) {
            out.append(.alert(a, level: .fatal, sender: sender))
        }
        if let n = firstMatch(#/curl: \((\d+)\)/#, text) ?? firstMatch(#/(?i)curl (?:exit(?: code| status)?|error)\s*:?\s*(\d+)/#, text)
            ?? firstMatch(#/(?i)^exit (?:code|status)\s*:?\s*(\d+)$/#, text),
           let code = Int(n), let e = CurlError.named(code) {
            out.append(.curl(e))
        }
        if let name = firstMatch(#/(?i)\b(CURLE_[A-Z0-9_]+)\b/#, text), let e = CurlError.named(name) {
            out.append(.curl(e))
        }
        // OpenSSL's verify result as nginx (`verify error: (10:…)`), s_client (`verify error:num=20:`,
        // `Verify return code: 21 (…)`), callbacks (`err=62`) and x509 (`error 10 at 2 depth lookup:`) print it.
        let verify = firstMatch(#/verify error:\s*\((\d+):/#, text) ?? firstMatch(#/verify error:num=(\d+)/#, text)
            ?? firstMatch(#/(?i)verify return code: (\d+) \(/#, text) ?? firstMatch(#/\berr=(\d+)\b/#, text)
        let depthError = text.firstMatch(of: #/error (\d+) at (\d+) depth lookup/#)
        if let v = verify ?? depthError.map({ String($0.output.1) }), let code = Int(v), code != 0, X509VerifyCode.describe(code) != nil {
            out.append(.x509(code, depth: depthError.flatMap { Int($0.output.2) }))
        }
        if !out.isEmpty { return out }

        if let number = Self.number(text) { return number }
        if let a = AlertDescription.named(text) { return [.alert(a)] }
        throw NotUnderstood(input: text)
    }

    /// A bare number: an alert (and, when both name it, a curl code), an alert as level × 256 + code, a curl code.
    static func number(_ text: String) -> [Explanation]? {
        var out: [Explanation] = []
        if let n = Int(text) {
            if (0...255).contains(n), let a = AlertDescription.named(UInt8(n)) {
                out.append(.alert(a))
                if let e = CurlError.named(n) {
                    var curl = Explanation.curl(e)
                    curl.heading = Message(.explainOrCurl, ["heading": curl.heading.value])
                    out.append(curl)
                }
                return out
            }
            // curl and some logs print an alert as level × 256 + description.
            if (256...767).contains(n), let level = AlertLevel(rawValue: UInt8(n / 256)), let a = AlertDescription.named(UInt8(n % 256)) {
                var e = Explanation.alert(a, level: level)
                e.facts.insert(Fact(.note, Message(.explainLevelTimes256, ["value": .int(n), "level": .int(Int(level.rawValue)),
                                                                           "code": .int(Int(a.code)), "levelName": .string(level.name)])), at: 0)
                return [e]
            }
            if let e = CurlError.named(n) { return [.curl(e)] }
        }
        return nil
    }

    /// OpenSSL packs library and reason into one code. In OpenSSL 3 the
    /// reason is the low 23 bits (`0A000438` → 0x438 = 1080); in 1.1 the low
    /// 12 bits (`14094438` → 1080). Reasons 1000 + N are "received alert N".
    static func openSSL(_ hex: String, sender: Peer?) -> [Explanation]? {
        guard let packed = UInt32(hex, radix: 16) else { return nil }
        let isV3 = (packed & 0x7F_F000) == 0
        let reason = isV3 ? Int(packed & 0x7F_FFFF) : Int(packed & 0xFFF)
        var facts = [Fact(.opensslError, .string(hex.uppercased())), Fact(.note, .string(isV3 ? "OpenSSL 3" : "OpenSSL 1.1")),
                     Fact(.opensslReason, .int(reason))]
        if reason >= 1000, reason < 1256, let a = AlertDescription.named(UInt8(reason - 1000)) {
            facts.append(Fact(.meaning, Message(.explainReceivedAlert, ["code": .int(Int(a.code)), "name": .string(a.name)])))
            return [Explanation(kind: .openssl, heading: Message(.explainOpenSSLAlertHeading, ["error": .string(hex.uppercased()), "code": .int(Int(a.code))]),
                                facts: facts, likelyCauses: []),
                    .alert(a, level: .fatal, sender: sender)]
        }
        guard let causes = sslReasons[reason] else { return nil }
        let meaning = Message(raw: "openssl.reason.\(reason)").value
        facts.append(Fact(.meaning, meaning))
        var e = Explanation(kind: .openssl, heading: Message(.explainOpenSSLHeading, ["error": .string(hex.uppercased()), "meaning": meaning]),
                            facts: facts, likelyCauses: [])
        e.causes = causes
        return [e]
    }

    /// OpenSSL's SSL reason codes (ssl/ssl_err.c) that show up in pasted errors, with the causes they
    /// name; what each means is the text tables' `openssl.reason.N`.
    public static var sslReasonCodes: [Int] { sslReasons.keys.sorted() }

    static let sslReasons: [Int: [Cause]] = [
        118: [.noSharedCipher],
        134: [.certInvalid, .untrustedIssuer, .certExpired, .incompleteChain, .hostnameMismatch],
        156: [.plainHTTPToTLSPort],
        191: [.protocolVersion],
        193: [.noSharedCipher],
        198: [.notTLS],
        199: [.clientCertRequired],
        252: [.notTLS],
        258: [.protocolVersion],
        267: [.notTLS],
        294: [.connectionReset],
        333: [.protocolVersion],
        338: [.tlsProtocolError],
        394: [.weakKey],
        397: [.weakKey],
        399: [.weakKey],
        152: [.handshakeTooLarge],
        235: [.upstreamProtocolMismatch],
        398: [.weakKey],
    ]

    /// A client's or proxy's error text: who wrote it, what it means, the
    /// causes in triage's vocabulary and the command to run next.
    static func client(_ m: ClientPattern.Match) -> Explanation {
        let meaning = Message(raw: "pattern.\(m.pattern.id)")
        let host = m.host ?? "HOST"
        // What the causes' remedies name: the host, its address, the alert.
        let port = m.port ?? 443
        var args: [String: Value] = ["host": .string(host), "address": .string(host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"), "port": .int(port)]
        if let a = m.alert { args["code"] = .int(Int(a.code)); args["name"] = .string(a.name) }
        let facts = m.causes.map { Fact(.cause, .string($0.code)) } + [Fact(.nextCommand, .string(m.next))]
        var e = Explanation(kind: .client, heading: Message(.explainClientHeading, ["client": .string(m.pattern.client), "meaning": meaning.value]),
                           facts: facts,
                           likelyCauses: m.causes.map { Message(.explainCauseLine, ["code": .string($0.code), "title": Message(cause: $0, .title).value,
                                                                                     "remedy": (Message.proxyRemedy($0, proxy: m.pattern.client, args) ?? Message(cause: $0, .remedy, args)).value]) })
        e.causes = m.causes
        return e
    }

    /// An nginx error-log line: the phase and the upstream it talked to.
    static func nginxContext(_ text: String) -> Explanation? {
        guard text.contains("upstream") || text.contains("[crit]") || text.contains("[error]"),
              let phase = firstMatch(#/\) (while [^,]+)/#, text) ?? firstMatch(#/(while [^,]+),/#, text) else { return nil }
        var facts: [Fact] = [Fact(.phase, .string(phase))]
        var address: String?
        if let upstream = firstMatch(#/upstream: "([^"]+)"/#, text) {
            facts.append(Fact(.upstream, .string(upstream)))
            if let host = URLPart.host.extract(from: upstream).stringValue, let port = URLPart.port.extract(from: upstream).intValue {
                let endpoint = IPAddress(host).map { Endpoint($0, port: UInt16(clamping: port)).description } ?? "\(host):\(port)"
                address = endpoint
                facts.append(Fact(.address, Endpoint(endpoint).map { .typed(.endpoint($0)) } ?? .string(endpoint)))
            }
        }
        if let call = firstMatch(#/(\w+\(\) failed)/#, text) { facts.append(Fact(.call, .string(call))) }
        if let host = firstMatch(#/host: "([^"]+)"/#, text) { facts.append(Fact(.hostHeader, .string(host))) }
        if let request = firstMatch(#/request: "([^"]+)"/#, text) { facts.append(Fact(.request, .string(Redactor.redact(request)))) }
        let upstream: Value = address.map(Value.string) ?? Message(.theUpstream).value
        var causes: [Message] = []
        if phase.contains("SSL handshaking") {
            causes.append(Message(.explainNginxHandshakeFailed, ["upstream": upstream]))
            causes.append(Message(.explainNginxNoSNI, ["upstream": upstream]))
        }
        return Explanation(kind: .nginx, heading: Message(.explainNginxHeading, ["upstream": upstream]), facts: facts, likelyCauses: causes)
    }

    /// "SSL alert number N" / "tlsv1 alert …" in an OpenSSL error means the
    /// alert was received from the peer; in nginx's upstream errors the peer
    /// is the upstream server.
    static func receivedAlertSender(_ text: String) -> Peer? {
        text.range(of: "upstream") != nil ? .server : nil
    }

    /// The causes a set of explanations names, the likeliest first (at most five): a client's or proxy's own
    /// text, then a verify result, nginx's phase, OpenSSL's reason, the alert, and curl's code, which says the least.
    public static func causes(_ explanations: [Explanation]) -> [Cause] {
        let order: [Explanation.Kind] = [.client, .x509, .nginx, .openssl, .alert, .curl]
        var out: [Cause] = []
        for kind in order {
            for e in explanations where e.kind == kind {
                for c in e.causes where !out.contains(c) { out.append(c) }
            }
        }
        return Array(out.prefix(5))
    }

    static func firstMatch(_ regex: some RegexComponent<(Substring, Substring)>, _ text: String) -> String? {
        text.firstMatch(of: regex).map { String($0.output.1) }
    }
}
