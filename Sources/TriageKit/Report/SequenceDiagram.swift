/// The request's path as observed, as a Mermaid sequence diagram (GitHub
/// and GitLab draw it): through the proxy first — the user's request, the
/// proxy's upstream handshake as triage replayed it (or a capture saw it),
/// the proxy's answer — then the direct path, as curl takes it.
struct SequenceDiagram {
    let record: CaseRecord
    let story: RequestStory
    let table: TextTable
    let clean: (String) -> String

    /// Every arrow is one observation; nil when the case observed none.
    var mermaid: String? {
        let observations = record.steps.flatMap(\.observations)
        guard !observations.isEmpty else { return nil }
        let via = observations.first { $0.path == .http(.via) }
        let upstream = observations.first { $0.to == .upstream }?.server
        let resolver = observations.first { $0.to == .resolver }
        var lines = ["sequenceDiagram"]
        lines.append("    participant C as \(label(.diagramClient, [:]))")
        if let via { lines.append("    participant P as \(label(.diagramProxy, ["server": .string(via.server)]))") }
        if let resolver { lines.append("    participant R as \(label(.diagramResolver, ["server": .string(resolver.server)]))") }
        lines.append("    participant U as \(label(.diagramUpstream, ["server": .string(upstream ?? story.host ?? "?")]))")
        if let via {
            lines.append("    Note over C,U: \(label(.diagramThroughProxy, [:]))")
            lines.append(arrow("C", "P", via.request))
            if let hop = proxyHop(observations) {
                lines.append(arrow("P", "U", hop.observation.request, suffix: hop.how))
                lines.append(answer("U", "P", hop.observation))
            } else {
                lines.append("    Note over P,U: \(label(.diagramProxyHopUnseen, [:]))")
            }
            lines.append(answer("P", "C", via))
            lines.append("    Note over C,U: \(label(.diagramDirect, [:]))")
        }
        if let resolver {
            lines.append(arrow("C", "R", resolver.request))
            lines.append(answer("R", "C", resolver))
        }
        // The direct path: the client's own handshake (one per address at most two), then its HTTP request.
        var hellos = observations.filter { $0.path == .handshake(.asClient) }
        // An http:// URL to a port that speaks no TLS: the handshake only asked whether it does; the client never sends one.
        if record.target.flatMap({ URLPart.scheme.extract(from: $0).stringValue }) == "http", !hellos.contains(where: \.ok) { hellos = [] }
        for hello in Self.representatives(hellos) {
            lines.append(arrow("C", "U", hello.request, suffix: hellos.count > 1 ? " → \(hello.server)" : ""))
            lines.append(answer("U", "C", hello))
        }
        // The request too, per address: a name whose IPv6 address refuses and IPv4 answers draws both
        // (it drew only the first, the refused one, for a healthy dual-stack name).
        let directs = observations.filter { $0.path == .http(.direct) }
        for direct in Self.representatives(directs) {
            lines.append(arrow("C", "U", direct.request, suffix: directs.count > 1 ? " → \(direct.server)" : ""))
            lines.append(answer("U", "C", direct))
        }
        return lines.count > 3 ? lines.joined(separator: "\n") : nil
    }

    /// The proxy's upstream connection: what a capture saw of it, else
    /// triage's replay with the SNI the proxy sends.
    func proxyHop(_ observations: [Observation]) -> (observation: Observation, how: String)? {
        guard let proxy = story.proxy else { return nil }
        let sends = proxy.sni != .none && proxy.sni.normalised(host: story.host ?? "") != SNIVariant.none
        // A capture holds triage's own connections too (its handshake without SNI, its replay of the proxy's):
        // the proxy's leg is a connection without SNI that is not triage's own, when the proxy sends none.
        if !sends, let captured = observations.first(where: { $0.path == .capture(sni: false, byProxy: true) }) {
            return (captured, " " + label(.diagramCaptured, [:]))
        }
        // The replay of the proxy's handshake (its SNI, versions, anchors) before the client's handshake with the same
        // SNI: that one verified against the run's anchors, and drew "verify 0 (ok)" on a leg nginx refused.
        let replays = proxy.replayed ? observations.filter { $0.path == .replay } : []
        if let replayed = replays.first(where: { !$0.ok }) ?? replays.first
            ?? observations.first(where: { $0.path == .handshake(proxy.sni) && !$0.ok })
            ?? observations.first(where: { $0.path == .handshake(proxy.sni) }) {
            return (replayed, " " + label(.diagramReplayed, [:]))
        }
        return nil
    }

    /// At most two attempts of one variant: the first failing and the first succeeding.
    static func representatives(_ attempts: [Observation]) -> [Observation] {
        let failing = attempts.first { !$0.ok }
        let working = attempts.first { $0.ok }
        return [failing, working].compactMap { $0 }
    }

    func label(_ key: MessageKey, _ args: [String: Value]) -> String { Self.escape(clean(table.render(key, args))) }

    func arrow(_ from: String, _ to: String, _ message: Message, suffix: String = "") -> String {
        "    \(from)->>\(to): \(Self.escape(clean(table.render(message)) + suffix))"
    }

    /// A failure ends in a cross (`--x`), an answer in an open arrow (`-->>`); a client that ended the
    /// exchange with its own alert is drawn sending it (`C-xU`), not as the server's answer.
    func answer(_ from: String, _ to: String, _ o: Observation) -> String {
        if o.endedByClient, !o.ok { return "    \(to)-x\(from): \(Self.escape(clean(table.render(o.answer))))" }
        return "    \(from)\(o.ok ? "-->>" : "--x")\(to): \(Self.escape(clean(table.render(o.answer))))"
    }

    static func escape(_ text: String) -> String { Mermaid.label(text) }
}

/// Text on a Mermaid diagram's arrow, as the report's sink for it.
public enum Mermaid {
    /// Mermaid ends a statement at `;` and a line break, reads `#…;` as an entity, `%%` as a comment and
    /// `<…>` as HTML: text on an arrow keeps none of them live (entities `#35;`, `#59;`, `#lt;`, `#gt;`).
    public static func label(_ text: String) -> String {
        var out = Sink.terminalLine(text)
        if out.count > 120 { out = String(out.prefix(117)) + "…" }
        return Sink.replacing(out) { entities[$0] }
    }

    /// The characters a label keeps as entities, and their entities.
    public static let entities: [Unicode.Scalar: String] = ["#": "#35;", ";": "#59;", "%": "#37;", "<": "#lt;", ">": "#gt;"]
}
