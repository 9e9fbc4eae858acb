import Foundation
import Synchronization
import TriageKit
import TriageProbes

/// What one request to the exporter asks for, read from its method, URI and
/// scrape-timeout header alone (no I/O), so any request — however hostile —
/// is answered by a route or a refusal with a bounded echo: never a trap.
public enum ExporterRoute: Sendable, Equatable {
    /// One probe of `target` with `module`, within `timeout`; the request waits for a slot and
    /// probes within `patience` of its arrival (what the scrape will wait).
    case probe(target: Target, module: String, timeout: Duration, patience: Duration)
    /// The exporter's own metrics.
    case metrics
    /// The short index at `/`.
    case index
    /// An HTTP status and the body saying why.
    case refused(status: Int, body: String)

    /// A scrape timeout as Prometheus writes it (`10`, `9.5`): digits with at most one point, nothing else.
    static func seconds(_ header: String) -> Double? {
        let text = header.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty, text.count <= 32, text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              text.count(where: { $0 == "." }) <= 1 else { return nil }
        return Double(text)
    }

    /// `modules`: each module's name and its own timeout. A scrape-timeout
    /// header (Prometheus says how long it will wait) shortens the probe to
    /// half a second less than it, never below 0.1 s and never above the module's;
    /// that is also the request's patience. Without the header the request may wait
    /// for a slot as long as the module's timeout and still probe for all of it.
    public static func parse(method: String, uri: String, scrapeTimeout header: String?, modules: [String: Duration]) -> ExporterRoute {
        // HEAD is GET without the body (a health checker's `curl -I`), as HTTP servers and blackbox_exporter answer it.
        guard method == "GET" || method == "HEAD" else { return .refused(status: 405, body: "only GET (or HEAD)\n") }
        // A `+` in the query is a space, as Prometheus writes one (Go's url.Values) and blackbox_exporter reads it.
        let components = URLComponents(string: Self.plusAsSpace(uri))
        let items = components?.queryItems ?? []
        // Given twice, a parameter is ambiguous (a relabelling mistake): said, not the first one silently used.
        for name in ["target", "module"] where items.count(where: { $0.name == name }) > 1 {
            return .refused(status: 400, body: "the \(name) parameter is given twice: /probe?target=HOST:PORT&module=NAME\n")
        }
        let query = Dictionary(items.map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { a, _ in a })
        switch components?.path ?? "/" {
        case "/probe":
            // A value whose percent-encoding is not UTF-8 (`%ff`) reads as empty: said as such, not "missing".
            for item in components?.percentEncodedQueryItems ?? [] where item.name == "target" || item.name == "module" {
                if let raw = item.value, !raw.isEmpty, raw.removingPercentEncoding == nil {
                    return .refused(status: 400, body: "the \(item.name) parameter is not percent-encoded UTF-8: '\(Sink.echo(raw, limit: 200))'\n")
                }
            }
            guard let text = query["target"], !text.isEmpty else {
                return .refused(status: 400, body: "the target parameter is missing: /probe?target=HOST:PORT\n")
            }
            let target: Target
            do { target = try Target.forTLS(text) } catch { return .refused(status: 400, body: error.description + "\n") }
            let name = query["module"] ?? "default"
            guard let moduleTimeout = modules[name] else {
                return .refused(status: 400, body: "unknown module '\(Sink.echo(name))': one of \(modules.keys.sorted().joined(separator: ", "))\n")
            }
            // Any text may come in a header (inf, 1e19, NaN, 0x10): only a plain decimal number counts (spaces
            // around it are allowed, as HTTP allows them); the half second is Prometheus's margin, taken from
            // what it will wait, not from the module's own timeout.
            guard let seconds = header.flatMap(Self.seconds), seconds > 0 else {
                return .probe(target: target, module: name, timeout: moduleTimeout, patience: moduleTimeout * 2)
            }
            let patience = Duration.milliseconds(Int64(max(0.1, min(seconds - 0.5, 86_400)) * 1000))
            return .probe(target: target, module: name, timeout: min(moduleTimeout, patience), patience: patience)
        case "/metrics": return .metrics
        case "/": return .index
        default: return .refused(status: 404, body: "not found: /probe?target=HOST:PORT, /metrics\n")
        }
    }

    /// The URI with each `+` of its query as `%20` (a `+` meant as itself comes as `%2B`).
    static func plusAsSpace(_ uri: String) -> String {
        guard let question = uri.firstIndex(of: "?"), uri[question...].contains("+") else { return uri }
        return String(uri[...question]) + uri[uri.index(after: question)...].replacingOccurrences(of: "+", with: "%20")
    }
}

/// One exporter's routes: its modules, and the probe routes already read, by their request (method,
/// URI, scrape-timeout header). Prometheus asks for the same target and module at every scrape; reading
/// one again (the URI's query, its percent-encoding, the target's address forms and IDNA) was about 20 µs
/// of a probe's CPU under `make bench`. At most 4,096 are kept: past that the memory starts again.
public final class ExporterRouter: Sendable {
    public let modules: [String: Duration]
    private struct Request: Hashable {
        let method: String
        let uri: String
        let scrapeTimeout: String?
    }
    private let known = Mutex<[Request: ExporterRoute]>([:])

    public init(modules: [String: Duration]) { self.modules = modules }

    /// What ExporterRoute.parse answers for this request (a refusal is read again each time: it is
    /// rare, and a flood of distinct bad requests does not push the real ones out).
    public func route(method: String, uri: String, scrapeTimeout: String?) -> ExporterRoute {
        let request = Request(method: method, uri: uri, scrapeTimeout: scrapeTimeout)
        if let route = known.withLock({ $0[request] }) { return route }
        let route = ExporterRoute.parse(method: method, uri: uri, scrapeTimeout: scrapeTimeout, modules: modules)
        // Only a request of a plausible size is kept (4,096 URIs of 80 KiB would pin hundreds of MB).
        if case .probe = route, uri.utf8.count <= 1024, (scrapeTimeout?.utf8.count ?? 0) <= 64 {
            known.withLock { known in
                if known.count >= 4096 { known.removeAll(keepingCapacity: true) }
                known[request] = route
            }
        }
        return route
    }

    /// Routes remembered now (a test's view).
    var remembered: Int { known.withLock { $0.count } }
}
