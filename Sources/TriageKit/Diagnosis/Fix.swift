import TriageWire

/// The fix for the root cause as the exact change, when triage knows the
/// file to change (the proxy's nginx.conf), and the commands that prove it
/// worked once applied.
public struct Fix: Sendable, Hashable {
    /// A change to a configuration file, shown as a unified diff.
    public struct ConfigChange: Sendable, Hashable {
        public enum Line: Sendable, Hashable {
            case same(String), added(String), removed(String)
        }

        public var file: String
        /// The file's line number of the first line shown.
        public var firstLine: Int
        public var lines: [Line]

        /// `--- … +++ … @@ … @@` and the lines with three lines of context
        /// around the changes: what `diff -u` would show.
        public var unifiedDiff: String {
            let changed = lines.indices.filter { if case .same = lines[$0] { false } else { true } }
            guard let firstChange = changed.first, let lastChange = changed.last else { return "" }
            let shown = lines[max(0, firstChange - 3)...min(lines.count - 1, lastChange + 3)]
            // The old file's line number of the first line shown.
            let start = firstLine + lines[..<shown.startIndex].filter { if case .added = $0 { false } else { true } }.count
            let old = shown.filter { if case .added = $0 { false } else { true } }.count
            let new = shown.filter { if case .removed = $0 { false } else { true } }.count
            var out = ["--- \(file)", "+++ \(file)", "@@ -\(start),\(old) +\(start),\(new) @@"]
            for line in shown {
                switch line {
                case .same(let t): out.append(" " + t)
                case .added(let t): out.append("+" + t)
                case .removed(let t): out.append("-" + t)
                }
            }
            return out.joined(separator: "\n")
        }
    }

    public var change: ConfigChange?
    /// Run after the change: they show it worked.
    public var proof: [String]
    /// What the proof shows when the fix worked.
    public var expectation: Message?
}

extension Fix {
    /// The fix for a diagnosis: a config diff when the root cause sits on
    /// the proxy's upstream connection and its nginx.conf was read, and the
    /// commands that prove the fix.
    public init?(_ diagnosis: Diagnosis, record: CaseRecord) {
        guard let root = diagnosis.rootCause else { return nil }
        let story = diagnosis.story
        let evidence = CaseEvidence(record)
        let onProxy = story.proxy != nil && story.affects(root).contains(.proxy)
        var change: ConfigChange?
        if onProxy, let source = evidence.proxyConfig?.source, let host = story.host {
            // The name nginx should send and check: the URL's host, or for an address the certificate's first DNS name
            // (nginx checks names only, and never sends an address as SNI).
            let leaf = evidence.matrices.flatMap(\.value.attempts).first { !$0.chain.isEmpty }?.chain.first
            let dnsName = leaf?.alternativeNames.lazy.compactMap { if case .dns(let n) = $0, !n.contains("*") { n } else { nil } }.first
            // A name the certificate does not cover is no fix for a name mismatch: the certificate is.
            // An absolute name (`api.internal.`) is checked and sent without its root dot.
            if let name = IPAddress(host) == nil ? SNIVariant.withoutRootDot(host) : dnsName, root.cause != .hostnameMismatch || leaf?.covers(name) == true {
                change = Self.nginxChange(for: root, host: name, source: source)
            }
        }
        var proof: [String] = []
        var expectation: Message?
        if change != nil {
            // The nginx that was read: started with `-c FILE` elsewhere than Debian's default, `nginx -s reload`
            // alone would test and signal another one.
            let c = evidence.proxyConfig?.configOption ?? ""
            proof.append("nginx -t\(c) && nginx -s reload\(c)")
        }
        var rootCommand = record.steps.first { $0.id == root.step }?.command
        if root.remedy.key == MessageKey.remedyURLScheme.rawValue, let url = root.facts[.url]?.stringValue,
           let request = record.steps.first(where: { $0.uses == "http.request" && $0.command?.contains(url) == true })?.command {
            // The scheme's proof is the user's request asked in TLS, not the handshake that found the port speaks it.
            rootCommand = request
        }
        if let via = record.via, onProxy {
            proof.append("curl -sS -o /dev/null -w '%{http_code}\\n' \(ShellQuote.quote(Redactor.redact(via)))")
            if let direct = evidence.exchanges(.direct).first(where: { $0.value.status > 0 })?.value.status {
                // The upstream's own error answer is the cause: once fixed, neither it nor the proxy gives that status.
                let upstreamsOwn = direct >= 400 && change == nil && root.cause == .httpError
                expectation = upstreamsOwn ? Message(.fixExpectUpstreamFixed, ["status": .int(direct)])
                    : Message(change == nil ? .fixExpectViaFixed : .fixExpectVia, ["status": .int(direct)])
            } else {
                // No direct request got an answer: nothing says what the upstream answers once fixed, only what the proxy must stop answering.
                let via = evidence.exchanges(.via).first(where: { $0.value.status > 0 })?.value.status
                expectation = via.map { Message(change == nil ? .fixExpectViaFixedUnseen : .fixExpectViaUnseen, ["status": .int($0)]) } ?? Message(.fixExpectCheck)
            }
        }
        if let revoked = Self.revocationProof(root, record: record) {
            // The dates command passes today: what proves a new certificate is the revocation check that found it.
            proof += [revoked]
            if expectation == nil { expectation = Message(.fixExpectCheck) }
        } else if let rootCommand, change == nil || proof.count < 2 {
            var lines = Self.proofLines(rootCommand, for: root).map { Self.verifying($0, for: root, record: record, proxyConfig: evidence.proxyConfig) }
            if root.remedy.key == MessageKey.remedyURLScheme.rawValue, let https = root.remedy.args["https"]?.stringValue,
               let url = root.facts[.url]?.stringValue {
                // The user's URL typed http:// for a TLS port: the proof asks it in TLS.
                lines = lines.map { $0.replacingOccurrences(of: url, with: https) }
            }
            proof += lines
            if expectation == nil { expectation = Message(.fixExpectCheck) }
        }
        guard change != nil || !proof.isEmpty else { return nil }
        self.init(change: change, proof: proof, expectation: expectation)
    }

    /// A revoked certificate's proof: the check that found it, once the certificate is replaced —
    /// the CRL or the CA's responder asked again, the staple read again.
    static func revocationProof(_ root: Finding, record: CaseRecord) -> String? {
        guard root.cause == .certRevoked, let target = record.target else { return nil }
        let url = ShellQuote.quote(Redactor.redact(target))
        let ca = record.inputs["ca_file"]?.stringValue.flatMap { $0.isEmpty ? nil : " --cacert \(ShellQuote.quote($0))" } ?? ""
        switch root.summary.key {
        case MessageKey.findingCRLRevoked.rawValue: return "triage run \(url)\(ca) --fetch-crl -q"
        case MessageKey.findingOCSPRevoked.rawValue: return "triage run \(url)\(ca) --fetch-ocsp -q"
        case MessageKey.findingStapleRevoked.rawValue:
            guard let host = URLPart.host.extract(from: target).stringValue, let port = URLPart.port.extract(from: target).intValue else { return nil }
            let authority = IPAddress(host)?.isV6 == true ? "[\(host)]:\(port)" : "\(host):\(port)"
            let sni = IPAddress(host) == nil ? " -servername \(ShellQuote.quote(host))" : ""
            return "openssl s_client -connect \(ShellQuote.quote(authority))\(sni) -status </dev/null 2>/dev/null | grep -A1 'Cert Status'"
        default: return nil
        }
    }

    /// The causes whose proof is OpenSSL's verification of the chain: a pipeline that prints the
    /// certificate's dates exits 0 while the chain still fails, so it proves nothing for them.
    static let verifiedByOpenSSL: Set<Cause> = [.incompleteChain, .hostnameMismatch, .selfSigned, .untrustedIssuer, .weakKey,
                                                .certInvalid, .certWrongPurpose, .intermediateExpired, .certExpired, .certNotYetValid]

    /// `openssl s_client … | openssl x509 …` made a check that fails while the problem is there: the
    /// chain verified (`-verify_return_error`) for the URL's name or address, against the run's CA file,
    /// at security level 2 for a weak key; exit 0 only once fixed.
    static func verifying(_ line: String, for root: Finding, record: CaseRecord, proxyConfig: ProxyConfig?) -> String {
        // An error answer: curl exits 22 while the server still answers it (without --fail, 0 either way).
        if root.cause == .httpError, line.hasPrefix("curl "), !line.contains(" --fail") { return "curl --fail " + line.dropFirst("curl ".count) }
        guard verifiedByOpenSSL.contains(root.cause), line.hasPrefix("openssl s_client "),
              let connect = line.firstMatch(of: /-connect (\S+)/)?.output.1,
              let host = record.target.flatMap({ URLPart.host.extract(from: $0).stringValue }) else { return line }
        // `timeout`: s_client has no deadline of its own, and a server that stalls would hold the proof for good.
        var words = ["timeout", "10", "openssl", "s_client", "-brief", "-connect", String(connect)]
        if let sni = line.firstMatch(of: /-servername (\S+)/)?.output.1 { words += ["-servername", String(sni)] }
        words += ["-verify_return_error", IPAddress(host) == nil ? "-verify_hostname" : "-verify_ip", ShellQuote.quote(host)]
        // The proxy's own verification failed: its anchors (nginx's proxy_ssl_trusted_certificate) are what must
        // accept the chain, not the run's --cacert (with the right CA there, the proof passed before any fix).
        let proxyAnchors: String? = switch root.path {
        case .replay, .proxyLog, .capture(_, byProxy: true):
            proxyConfig?.trustedCertificate
        default: nil
        }
        if let ca = proxyAnchors ?? record.inputs["ca_file"]?.stringValue, !ca.isEmpty { words += ["-CAfile", ShellQuote.quote(ca)] }
        // `--at`: verified as of that time, as the run judged (as of now it would pass, or fail, for another reason).
        if let at = record.judgedAt { words += ["-attime", String(Int64(at.timeIntervalSince1970.rounded(.down)))] }
        if root.cause == .weakKey { words += ["-auth_level", "2"] }
        return words.joined(separator: " ") + " </dev/null"
    }

    /// The lines of a step's command that reproduce this finding (a
    /// handshake step tries every variant; the proof is the failing one).
    static func proofLines(_ command: String, for finding: Finding) -> [String] {
        let lines = command.split(separator: "\n").map(String.init)
        guard lines.count > 1, case .handshake(let variant) = finding.path else { return lines }
        // The fix makes the client send SNI: the proof is the handshake with SNI, which succeeds once it is in.
        if [.alertWithoutSNI, .defaultCertWithoutSNI].contains(finding.cause) {
            let withSNI = lines.filter { $0.contains("-servername") }
            if !withSNI.isEmpty { return Array(withSNI.prefix(2)) }
        }
        let wanted = variant == .none ? "-noservername" : "-servername"
        let matching = lines.filter { $0.contains(wanted) }
        return matching.isEmpty ? lines : Array(matching.prefix(2))
    }

    /// The directives nginx needs for this cause, added after proxy_pass
    /// (an existing contrary directive in the block is replaced).
    static func nginxChange(for root: Finding, host: String, source: ProxyConfig.Source) -> ConfigChange? {
        let (file, first, text) = (source.file, source.line, source.text)
        guard !text.isEmpty else { return nil }
        let wanted: [(name: String, line: String)]
        switch root.cause {
        case .alertWithoutSNI, .defaultCertWithoutSNI, .hostnameMismatch:
            wanted = [("proxy_ssl_server_name", "proxy_ssl_server_name on;"), ("proxy_ssl_name", "proxy_ssl_name \(host);")]
        case .clientCertRequired:
            wanted = [("proxy_ssl_certificate", "proxy_ssl_certificate /etc/nginx/client.pem;"),
                      ("proxy_ssl_certificate_key", "proxy_ssl_certificate_key /etc/nginx/client.key;")]
        case .untrustedIssuer, .selfSigned:
            // With a trusted file already named, the fix is in that file (the remedy says so), not a new path.
            guard !text.contains(where: { $0.contains("proxy_ssl_trusted_certificate") }) else { return nil }
            wanted = [("proxy_ssl_trusted_certificate", "proxy_ssl_trusted_certificate /etc/nginx/upstream-ca.pem;")]
        case .certInvalid where root.remedy.key == MessageKey.remedyVerifyDepth.rawValue:
            wanted = [("proxy_ssl_verify_depth", "proxy_ssl_verify_depth \(root.remedy.args["depth"]?.intValue ?? 2);")]
        case .protocolVersion:
            wanted = [("proxy_ssl_protocols", "proxy_ssl_protocols TLSv1.2 TLSv1.3;")]
        case .upstreamHeaderTooBig:
            guard let size = root.remedy.args["size"]?.stringValue, let count = root.remedy.args["count"]?.intValue else { return nil }
            wanted = [("proxy_buffer_size", "proxy_buffer_size \(size);"), ("proxy_buffers", "proxy_buffers \(count) \(size);")]
        case .proxyTimeout where root.remedy.key == MessageKey.remedyTimeoutRaise.rawValue:
            guard let directive = root.remedy.args["directive"]?.stringValue, let value = root.remedy.args["suggested"]?.stringValue else { return nil }
            wanted = [(directive, "\(directive) \(value);")]
        case .plainHTTPToTLSPort, .tlsToPlainPort:
            // proxy_pass with the scheme the port speaks.
            let (from, to) = root.cause == .plainHTTPToTLSPort ? ("http://", "https://") : ("https://", "http://")
            guard let pass = text.first(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix("proxy_pass \(from)") }) else { return nil }
            wanted = [("proxy_pass", pass.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "proxy_pass \(from)", with: "proxy_pass \(to)"))]
        case .upstreamProtocolMismatch where root.remedy.key == MessageKey.remedyGRPCPass.rawValue:
            // gRPC goes through grpc_pass (no URI part), TLS kept.
            guard let name = root.remedy.args["host"]?.stringValue,
                  let pass = text.first(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix("proxy_pass ") }) else { return nil }
            let scheme = pass.contains("proxy_pass http://") ? "grpc" : "grpcs"
            wanted = [("proxy_pass", "grpc_pass \(scheme)://\(name);")]
        case .upstreamDNSStale:
            guard let name = root.remedy.args["host"]?.stringValue, let resolver = root.remedy.args["resolver"]?.stringValue,
                  let scheme = root.remedy.args["scheme"]?.stringValue, let port = root.remedy.args["port"]?.intValue,
                  let pass = text.first(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix("proxy_pass ") }) else { return nil }
            // The URI part after host[:port] stays as it was.
            let target = pass.trimmingCharacters(in: .whitespaces).dropFirst("proxy_pass ".count).dropLast(pass.hasSuffix(";") ? 1 : 0)
            let afterScheme = target.range(of: "://").map { target[$0.upperBound...] } ?? target
            let uri = afterScheme.firstIndex(of: "/").map { String(afterScheme[$0...]) } ?? ""
            wanted = [("resolver", "resolver \(resolver) valid=30s;"), ("set", "set $upstream_host \(name);"),
                      ("proxy_pass", "proxy_pass \(scheme)://$upstream_host:\(port)\(uri);")]
        default:
            return nil
        }
        let passLine = source.proxyPassLine
        let passIndex = passLine >= first ? passLine - first : text.firstIndex { $0.contains("proxy_pass") } ?? 0
        let anchor = text.indices.contains(passIndex) ? text[passIndex] : text[0]
        let indent = String(anchor.prefix { $0 == " " || $0 == "\t" })
        func directive(_ line: String) -> String? {
            line.trimmingCharacters(in: .whitespaces).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init)
        }
        // A directive already in the block is changed where it is; the rest go after proxy_pass.
        let present = Set(text.compactMap(directive))
        let missing = wanted.filter { !present.contains($0.name) }
        var lines: [ConfigChange.Line] = []
        for (index, line) in text.enumerated() {
            if let name = directive(line), let want = wanted.first(where: { $0.name == name }) {
                if line.trimmingCharacters(in: .whitespaces) == want.line {
                    lines.append(.same(line))
                } else {
                    lines.append(.removed(line))
                    lines.append(.added(String(line.prefix { $0 == " " || $0 == "\t" }) + want.line))
                }
            } else {
                lines.append(.same(line))
            }
            if index == passIndex { lines += missing.map { .added(indent + $0.line) } }
        }
        guard lines.contains(where: { if case .same = $0 { false } else { true } }) else { return nil }
        return ConfigChange(file: file, firstLine: first, lines: lines)
    }
}
