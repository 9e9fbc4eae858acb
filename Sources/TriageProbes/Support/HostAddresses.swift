import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The addresses a host name stands for, the way a client finds them —
/// without ever sending a DNS query for an IP literal, a name /etc/hosts
/// answers, or a special-use name (RFC 6761: localhost, .test, .invalid,
/// .example, .localhost).
public enum HostAddresses {
    public struct Answer: Sendable {
        public var addresses: [String]
        /// `literal`, `/etc/hosts`, `special-use`, or `resolver`.
        public var source: String
    }

    public static func isIPLiteral(_ host: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    public static func isSpecialUse(_ host: String) -> Bool {
        let name = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "."))
        if name == "localhost" { return true }
        return [".localhost", ".test", ".invalid", ".example"].contains { name.hasSuffix($0) }
            || ["test", "invalid", "example"].contains(name)
    }

    public static func resolve(_ host: String, hostsFile: String = "/etc/hosts") -> Answer {
        if isIPLiteral(host) { return Answer(addresses: [host], source: "literal") }
        let fromHosts = lookupHostsFile(host, path: hostsFile)
        if !fromHosts.isEmpty { return Answer(addresses: fromHosts, source: hostsFile) }
        if isSpecialUse(host) {
            let local = host.lowercased() == "localhost" || host.lowercased().hasSuffix(".localhost") ? ["127.0.0.1"] : []
            return Answer(addresses: local, source: "special-use")
        }
        return Answer(addresses: getaddrinfo(host), source: "resolver")
    }

    static func lookupHostsFile(_ host: String, path: String) -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        var out: [String] = []
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: "#", maxSplits: 1).first?.split(whereSeparator: \.isWhitespace) ?? []
            guard fields.count >= 2 else { continue }
            if fields.dropFirst().contains(where: { $0.lowercased() == host.lowercased() }) {
                let address = String(fields[0])
                if !out.contains(address) { out.append(address) }
            }
        }
        return out
    }

    static func getaddrinfo(_ host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(Glibc.SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard Glibc.getaddrinfo(host, nil, &hints, &result) == 0 else { return [] }
        defer { freeaddrinfo(result) }
        var out: [String] = []
        var cursor = result
        while let info = cursor?.pointee {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(info.ai_addr, info.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if !out.contains(text) { out.append(text) }
            }
            cursor = info.ai_next
        }
        return out
    }
}
