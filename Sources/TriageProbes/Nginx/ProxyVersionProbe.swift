import Foundation
import TriageKit

/// Which nginx release the proxy runs, from the best witness at hand: the
/// version given, `nginx -v` of the nginx on this machine when the proxy
/// runs here, the `Server:` header of its answer, a start-up line of its
/// error log. nil: nothing told it (the profile then assumes, and says so).
enum ProxyVersionProbe {
    static func detect(explicit: String?, onThisMachine: Bool, serverHeader: String?, errorLog: String?) async -> ProxyVersion? {
        if let explicit, let v = NginxVersion(explicit) { return ProxyVersion(v, source: .input) }
        if onThisMachine, let (v, path) = await binary() { return ProxyVersion(v, source: .binary(path)) }
        if let serverHeader, serverHeader.lowercased().hasPrefix("nginx/"), let v = NginxVersion(serverHeader) {
            return ProxyVersion(v, source: .serverHeader(String(serverHeader.prefix(100))))
        }
        if let errorLog, let (v, line) = fromLog(errorLog) { return ProxyVersion(v, source: .errorLog(line)) }
        return nil
    }

    /// `nginx -v` prints `nginx version: nginx/1.22.1` on stderr; two seconds at most.
    static func binary() async -> (NginxVersion, String)? {
        let candidates = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin").split(separator: ":").map { "\($0)/nginx" }
            + ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"]
        guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return nil }
        let outcome = await withDeadline(.seconds(2)) { try await Subprocess([path, "-v"]).run() }
        guard case .finished(.success(let r)) = outcome else { return nil }
        let text = String(decoding: r.stderr + r.stdout, as: UTF8.self)
        return NginxVersion(text).map { ($0, path) }
    }

    /// nginx logs `nginx/1.22.1` at start when its error log's level is notice or lower.
    static func fromLog(_ file: String) -> (NginxVersion, String)? {
        guard let handle = FileHandle(forReadingAtPath: file) else { return nil }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: size > 4 << 20 ? size - (4 << 20) : 0)
        let text = String(decoding: (try? handle.read(upToCount: 4 << 20)) ?? Data(), as: UTF8.self)
        for line in text.split(whereSeparator: \.isNewline).reversed() where line.contains(": nginx/") {
            if let v = NginxVersion(String(line)) { return (v, Redactor.redact(String(line.prefix(200)))) }
        }
        return nil
    }
}
