/// The follow-up action item of a report: the alert that would have caught the root cause before
/// users did — `triage exporter` probing the target and a Prometheus rule on what it exports
/// (`triage_probe_cause`, `triage_probe_days_left`). Only causes an endpoint probe sees have one:
/// a proxy's own configuration or an HTTP answer is not what the exporter measures.
enum FollowUp {
    /// Dates: the rule fires two weeks before the next expiry, not at it.
    static let dated: Set<Cause> = [.certExpired, .intermediateExpired, .certExpiresSoon]

    /// What a probe of the endpoint reports as `triage_probe_cause`.
    static let probed: Set<Cause> = [
        .dnsFailure, .connectionRefused, .timeout, .addressUnreachable, .mixedBackends, .notTLS,
        .alertWithoutSNI, .defaultCertWithoutSNI, .clientCertRequired, .clientCertRejected, .protocolVersion, .noSharedCipher,
        .handshakeTooLarge, .connectionReset, .tlsProtocolError, .tlsAlert, .certNotYetValid, .certRevoked, .selfSigned,
        .incompleteChain, .untrustedIssuer, .hostnameMismatch, .certWrongPurpose, .weakKey, .certInvalid,
    ]

    /// Whether a probe of the endpoint meets what `finding` was seen on: any client, the handshake or
    /// the chain as curl or a client without SNI gets them (the exporter tries both). Not the proxy's
    /// own replay, log or captured connection: a probe does not connect as the proxy does.
    static func probeSees(_ finding: Finding) -> Bool {
        switch finding.path {
        case .all, .handshake, .chain, .http(.direct): true
        default: false
        }
    }

    /// The PromQL expression for the root cause on the probe target `instance` (host:port), or nil:
    /// dates whatever path they were seen on; anything else only when a probe meets it too.
    static func rule(for root: Finding, among findings: [Finding], instance: String) -> String? {
        let cause = root.cause
        let label = "instance=\"\(Sink.prometheusLabel(instance))\""
        if dated.contains(cause) { return "triage_probe_days_left{\(label)} < 14" }
        guard probed.contains(cause), findings.contains(where: { $0.cause == cause && probeSees($0) }) else { return nil }
        return "triage_probe_cause{\(label),cause=\"\(cause.code)\"} == 1"
    }

    /// `host:port` of a URL (the scheme's port when it names none), as the exporter's target.
    static func instance(of url: String) -> String? {
        guard let host = URLPart.host.extract(from: url).stringValue, !host.isEmpty,
              let port = URLPart.port.extract(from: url).intValue else { return nil }
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
