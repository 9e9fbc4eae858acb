import Foundation
import Synchronization
import TriageKit
import TriageWire
#if canImport(Glibc)
import Glibc
#endif

/// The addresses a host name stands for, the way a client finds them —
/// without ever sending a DNS query for an IP literal, a name /etc/hosts
/// answers, or a special-use name (RFC 6761: localhost, .test, .invalid,
/// .example, .localhost).
public enum HostAddresses {
    public enum Source: Sendable, Hashable {
        case literal, hostsFile, specialUse, resolver, input

        public var message: Message {
            switch self {
            case .literal: Message(.sourceLiteral)
            case .hostsFile: Message(.sourceHostsFile)
            case .specialUse: Message(.sourceSpecialUse)
            case .resolver: Message(.sourceResolver)
            case .input: Message(.sourceInput)
            }
        }
    }

    public struct Answer: Sendable {
        public var addresses: [IPAddress]
        public var source: Source
    }

    public static func isIPLiteral(_ host: String) -> Bool { IPAddress(host) != nil }

    public static func isSpecialUse(_ host: String) -> Bool {
        let name = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "."))
        if name == "localhost" { return true }
        return [".localhost", ".test", ".invalid", ".example"].contains { name.hasSuffix($0) }
            || ["test", "invalid", "example"].contains(name)
    }

    /// What a client gets for `host`: a literal as is, /etc/hosts, a
    /// special-use name's loopback (never a query), else getaddrinfo on the
    /// blocking pool, abandoned at `deadline`.
    public static func resolve(_ host: String, hostsFile: String = "/etc/hosts", deadline: ContinuousClock.Instant) async -> Answer {
        if let literal = IPAddress(host) { return Answer(addresses: [literal], source: .literal) }
        // An absolute name (`localhost.`, `api.internal.`) is the same name to /etc/hosts and RFC 6761, as to curl.
        let name = SNIVariant.withoutRootDot(host)
        let fromHosts = lookupHostsFile(name, path: hostsFile)
        if !fromHosts.isEmpty { return Answer(addresses: fromHosts, source: .hostsFile) }
        if isSpecialUse(name) {
            let lower = name.lowercased()
            let local = lower == "localhost" || lower.hasSuffix(".localhost") ? [IPAddress(v4: 127, 0, 0, 1)] : []
            return Answer(addresses: local, source: .specialUse)
        }
        let outcome = await withDeadline(max(.zero, deadline - .now), handIn: .zero) { await onPool { _ in getaddrinfo(host) } }
        if case .finished(.success(let addresses)) = outcome { return Answer(addresses: addresses, source: .resolver) }
        return Answer(addresses: [], source: .resolver)
    }

    static func lookupHostsFile(_ host: String, path: String) -> [IPAddress] {
        table(path)[host.lowercased()] ?? []
    }

    /// The hosts file as a table, read again only when it changes (its size and modification time):
    /// a scan or the exporter asks it for every target.
    /// What says the file changed: its size and modification time.
    private struct Stamp: Equatable {
        var size: Int
        var seconds: Int
        var nanoseconds: Int
    }
    private static let tables = Mutex<[String: (stamp: Stamp, names: [String: [IPAddress]])]>([:])

    static func table(_ path: String) -> [String: [IPAddress]] {
        var st = stat()
        guard stat(path, &st) == 0 else { return [:] }
        let stamp = Stamp(size: Int(st.st_size), seconds: Int(st.st_mtim.tv_sec), nanoseconds: Int(st.st_mtim.tv_nsec))
        if let cached = tables.withLock({ $0[path] }), cached.stamp == stamp { return cached.names }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var names: [String: [IPAddress]] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: "#", maxSplits: 1).first?.split(whereSeparator: \.isWhitespace) ?? []
            guard fields.count >= 2, let address = IPAddress(String(fields[0])) else { continue }
            for name in fields.dropFirst().map({ $0.lowercased() }) where !(names[name]?.contains(address) ?? false) {
                names[name, default: []].append(address)
            }
        }
        tables.withLock { $0[path] = (stamp, names) }
        return names
    }

    /// The system's answer (nsswitch: /etc/hosts, then DNS). Blocking.
    static func getaddrinfo(_ host: String) -> [IPAddress] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(Glibc.SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard Glibc.getaddrinfo(host, nil, &hints, &result) == 0 else { return [] }
        defer { freeaddrinfo(result) }
        var out: [IPAddress] = []
        var cursor = result
        while let info = cursor?.pointee {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(info.ai_addr, info.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if let address = IPAddress(text), !out.contains(address) { out.append(address) }
            }
            cursor = info.ai_next
        }
        return out
    }
}
