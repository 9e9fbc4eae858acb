import Foundation
import TriageKit
import TriageProbes
import TriageWire

/// One probe of `triage exporter`, in Prometheus' text exposition format:
/// blackbox_exporter's names where they mean the same, and what it cannot
/// say — the cause of each finding, per SNI variant, per address.
public struct ProbeMetrics: Sendable {
    public var results: [EndpointProbe.Result]
    public var httpStatus: Int?
    /// What the HTTP request met (a module with `http: true`), judged as `run` judges its request.
    public var httpFindings: [Finding] = []
    /// The HTTP request could not start before the deadline (no thread of the blocking pool was free):
    /// the exporter's state, answered as a dropped probe, not as the target's failure.
    public var httpUntried = false
    public var duration: Duration
    /// The exporter's: how long the probe waited for a slot, and the time it then had.
    public var queueWait: Duration?
    public var timeout: Duration?

    public init(results: [EndpointProbe.Result], httpStatus: Int? = nil, duration: Duration) {
        self.results = results
        self.httpStatus = httpStatus
        self.duration = duration
    }

    /// What a client such as curl gets: it reaches an address (falling back from one that refuses),
    /// the handshake completes, nothing it meets is broken (and HTTP answered below 400 when asked).
    /// Per-address and without-SNI results have their own metrics.
    public var success: Bool {
        results.contains(where: \.ok) && !results.contains(where: \.problem) && (httpStatus.map { (200..<400).contains($0) } ?? true)
            && !httpFindings.contains { $0.severity == .problem } && !httpUntried
    }

    public var text: String {
        // Appended piece by piece into room made once (interpolated lines were built and copied again).
        var out = ""
        out.reserveCapacity(2048)
        func metric(_ name: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            guard !samples.isEmpty else { return }
            out += "# HELP "
            out += name
            out += " "
            out += help
            out += "\n# TYPE "
            out += name
            out += " gauge\n"
            for s in samples {
                out += name
                if !s.labels.isEmpty { out += "{"; out += s.labels; out += "}" }
                out += " "
                out += s.value
                out += "\n"
            }
        }
        func number(_ d: Double) -> String { d.rounded() == d && abs(d) < 1e15 ? String(Int64(d)) : String(d) }
        metric("probe_success", "Whether the probe succeeded as a curl-like client gets it (falling back over addresses, TLS with SNI, certificates valid)",
               [("", success ? "1" : "0")])
        metric("probe_duration_seconds", "How long the probe took", [("", TextFormat.fixed(duration.seconds, 6))])
        let chains = results.flatMap(\.chains).filter { !$0.seenOnlyWithoutSNI }
        if let earliest = chains.flatMap(\.certificates).map(\.notAfter).min() {
            metric("probe_ssl_earliest_cert_expiry", "Earliest notAfter of any certificate sent (Unix time)",
                   [("", number(earliest.timeIntervalSince1970.rounded()))])
        }
        // As blackbox_exporter: of each verified chain (leaf to anchor) its earliest notAfter, and the latest of those.
        if let last = results.flatMap(\.verifiedPaths).compactMap({ $0.map(\.notAfter).min() }).max() {
            metric("probe_ssl_last_chain_expiry_timestamp_seconds", "Earliest notAfter of the verified chain, leaf to anchor (Unix time)",
                   [("", number(last.timeIntervalSince1970.rounded()))])
        }
        let versions = Set(results.flatMap(\.attempts).filter { $0.variant == .asClient }.compactMap(\.version))
        metric("probe_tls_version_info", "The TLS version negotiated", versions.sorted().map { ("version=\"\(Self.blackboxVersion($0))\"", "1") })
        if let httpStatus { metric("probe_http_status_code", "HTTP status of the response (0: none)", [("", String(httpStatus))]) }
        var causes: [(String, String)] = []
        for f in results.flatMap(\.findings) + httpFindings where !causes.contains(where: { $0 == (f.cause.code, f.severity.rawValue) }) {
            causes.append((f.cause.code, f.severity.rawValue))
        }
        metric("triage_probe_cause", "1 for each cause triage found (cause codes as in triage's reports), by severity: problem or warning",
               causes.map { ("cause=\"\($0.0)\",severity=\"\($0.1)\"", "1") })
        var variants: [SNIVariant: Bool] = [:]
        for a in results.flatMap(\.attempts) { variants[a.variant] = (variants[a.variant] ?? true) && a.established }
        metric("triage_probe_sni_variant_success", "Whether the handshake completed with this SNI variant on every address",
               variants.keys.sorted().map { ("variant=\"\($0.description)\"", variants[$0]! ? "1" : "0") })
        metric("triage_probe_address_success", "Whether this address of the target passed",
               results.compactMap { r in r.endpoint.map { ("address=\"\(Self.escape($0.address.description))\"", r.ok ? "1" : "0") } })
        if let days = chains.flatMap(\.certificates).map(\.notAfter).min().map({ Certificate.days(from: Date(), to: $0) }) {
            metric("triage_probe_days_left", "Days until the earliest notAfter", [("", String(days))])
        }
        if let queueWait {
            metric("triage_probe_queue_wait_seconds", "How long the probe waited for a slot (--concurrency) before it ran",
                   [("", TextFormat.fixed(queueWait.seconds, 3))])
        }
        if let timeout {
            metric("triage_probe_timeout_seconds", "The time the probe had: the module's timeout, or what the wait left of the scrape's",
                   [("", TextFormat.fixed(timeout.seconds, 3))])
        }
        return out
    }

    /// blackbox_exporter writes `TLS 1.3` where OpenSSL says `TLSv1.3`.
    static func blackboxVersion(_ openssl: String) -> String {
        openssl.hasPrefix("TLSv") ? "TLS " + openssl.dropFirst(4) : openssl
    }

    static func escape(_ s: String) -> String { Sink.prometheusLabel(s) }
}
