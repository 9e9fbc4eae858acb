import TriageWire

/// A URL typed `http://` for a port that speaks TLS: triage's own handshake
/// with that port worked, so what the plain request met (an empty reply, a
/// reset, a 400 "plain HTTP request was sent to HTTPS port") is the scheme,
/// not the server. Through a proxy the proxy's configuration says which
/// scheme it uses (`ProxyCase.plainToTLS`); this reads the user's own URL.
/// A port that speaks no TLS to an `http://` URL is what the URL says: the
/// handshake's findings about it are dropped, the plain request is judged.
public enum PlainURLToTLSPort {
    static func apply(_ findings: [Finding], evidence: CaseEvidence) -> [Finding] {
        guard evidence.via == nil, let target = evidence.target, URLPart.scheme.extract(from: target).stringValue == "http",
              let port = URLPart.port.extract(from: target).intValue else { return findings }
        let attempts = evidence.matrices.filter { $0.value.profile == nil }
            .flatMap { m in m.value.attempts.map { (step: m.step, attempt: $0) } }.filter { Int($0.attempt.server.port) == port }
        guard let tls = attempts.first(where: { $0.attempt.established }) else {
            // No TLS on the port, as the URL says: what the handshake met is no finding, nor is a capture's
            // "answered non-TLS bytes" about triage's own ClientHellos; the plain request tells the story.
            guard !attempts.isEmpty else { return findings }
            return findings.filter { f in
                switch f.path {
                case .handshake: false
                case .capture(_, let byProxy): byProxy || f.cause != .notTLS
                default: true
                }
            }
        }
        let url = Redactor.redact(target)
        let https = "https://" + url.dropFirst("http://".count)
        let direct = evidence.exchanges(.direct).first
        let finding = Finding(.plainHTTPToTLSPort,
                              summary: Message(.findingURLPlainToTLS, ["url": .string(url), "address": .typed(.endpoint(tls.attempt.server)),
                                                                       "version": .string(tls.attempt.version ?? "TLS")]),
                              subject: url,
                              facts: [Fact(.url, .string(url)), Fact(.server, .typed(.endpoint(tls.attempt.server))),
                                      Fact(.version, .string(tls.attempt.version ?? "TLS"))]
                                  + (direct.map { [Fact(.curlCode, .int($0.value.curlCode)), Fact(.status, .int($0.value.status))] } ?? []),
                              remedy: Message(.remedyURLScheme, ["https": .string(https)]),
                              step: tls.step).on(.all)
        // On the handshake (its evidence: the port speaks TLS), for every client of this URL: it explains
        // what the plain request met (that stays the symptom), before any certificate finding (its stage).
        return findings + [finding]
    }
}
