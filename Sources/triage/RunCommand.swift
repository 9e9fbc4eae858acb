import ArgumentParser
import Foundation
import TriageKit
import TriageProbes

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a runbook against a URL and write the case folder (report.md, report.json, evidence/).",
        discussion: """
        TARGET is a URL, HOST or HOST:PORT (https, port 443 unless given); IPv6 goes in brackets: https://[2001:db8::1]:8443/.
        stdout gets the result: the report's path, then the verdict line (root cause: …, no problem found, inconclusive: …),
        or report.json with --json. Progress goes to stderr. The runbook's inputs (for --set KEY=VALUE) follow
        this help: those of --runbook NAME when given, else of the default runbook (tls-upstream).
        """)

    /// `triage run [--runbook NAME] --help`: the command's help, then that runbook's inputs. Read only
    /// when help is asked for — every start of triage would otherwise parse the runbook.
    static func helpWithInputs(_ arguments: [String]) -> String {
        let name = arguments.firstIndex(of: "--runbook").flatMap { arguments.indices.contains($0 + 1) ? arguments[$0 + 1] : nil }
            ?? arguments.first { $0.hasPrefix("--runbook=") }.map { String($0.dropFirst("--runbook=".count)) } ?? "tls-upstream"
        return helpMessage() + "\n\nINPUTS of \(name) (--set KEY=VALUE):\n" + inputsHelp(name)
    }

    /// A runbook's inputs, wrapped here (the help formatter would wrap them without indenting).
    static func inputsHelp(_ name: String, width: Int = 78) -> String {
        let source: Bundled.Source
        do { source = try Bundled.runbook(name) } catch { return "  \(error)" }
        let runbook: Runbook
        do { runbook = try RunbookLoader(catalog: .standard).load(yaml: source.text, source: source.origin) } catch { return "  \(error.description)" }
        let indent = 19
        return runbook.inputs.map { input in
            var lines: [String] = []
            var line = "  " + input.name.padding(toLength: indent - 3, withPad: " ", startingAt: 0) + " "
            // The type, when it is not just text: what --set must give.
            let type = input.type == .string ? "" : "(\(input.type.rawValue)) "
            for word in (type + (input.description ?? "")).split(separator: " ") {
                if line.count + word.count + 1 > width, line.count > indent {
                    lines.append(line)
                    line = String(repeating: " ", count: indent)
                }
                line += (line.count == indent || line.hasSuffix(" ") ? "" : " ") + word
            }
            lines.append(line)
            return lines.joined(separator: "\n")
        }.joined(separator: "\n")
    }

    @Argument(help: ArgumentHelp("The URL that fails: a URL, HOST or HOST:PORT (sets the runbook input 'url').", valueName: "TARGET"))
    var url: String?

    @Option(help: "A bundled runbook name or a runbook file.")
    var runbook: String = "tls-upstream"

    @Option(name: .customLong("set"), help: ArgumentHelp("Set a runbook input.", valueName: "KEY=VALUE"))
    var settings: [String] = []

    @Option(help: ArgumentHelp("The proxy URL that answers the error (sets input 'via').", valueName: "URL"))
    var via: String?

    @Option(name: [.customLong("ca-file"), .customLong("cacert")],
            help: ArgumentHelp("Trust this CA bundle instead of the system store (curl --cacert; input 'ca_file').", valueName: "PEM"))
    var caFile: String?

    @Flag(name: [.customShort("k"), .customLong("insecure")], help: "Do not verify certificates in the HTTP reproduction (curl -k; input 'insecure').")
    var insecure = false

    @Option(name: .customLong("resolve"), help: ArgumentHelp("Test ADDR for HOST:PORT instead of resolving it (curl --resolve; repeatable).", valueName: "HOST:PORT:ADDR"))
    var resolve: [String] = []

    @Option(name: .customLong("connect-to"), help: ArgumentHelp("Connect to HOST2:PORT2 for HOST:PORT (curl --connect-to).", valueName: "HOST:PORT:HOST2:PORT2"))
    var connectTo: [String] = []

    @Option(name: [.customLong("cert"), .customShort("E")], help: ArgumentHelp("Client certificate (PEM), presented by every step that connects (curl --cert).", valueName: "PEM"))
    var cert: String?

    @Option(name: .customLong("key"), help: ArgumentHelp("The client certificate's key (PEM; curl --key).", valueName: "PEM"))
    var key: String?

    @Option(name: [.customShort("x"), .customLong("proxy")], help: ArgumentHelp("Send the HTTP reproduction through this proxy (curl -x).", valueName: "URL"))
    var proxy: String?

    @Option(name: .customLong("noproxy"), help: ArgumentHelp("'*': ignore HTTPS_PROXY and friends for the HTTP reproduction (curl --noproxy).", valueName: "*"))
    var noProxy: String?

    @Option(name: [.customShort("H"), .customLong("header")], help: ArgumentHelp("An extra request header, redacted in every output (curl -H; repeatable).", valueName: "NAME: VALUE"))
    var headers: [String] = []

    @Flag(name: [.customShort("v"), .customLong("verbose")], help: "Stream each step's evidence (command, facts, trace) as it runs.")
    var verbose = false

    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Print only the verdict line.")
    var quiet = false

    @Flag(help: "Print report.json to stdout instead of the verdict line.")
    var json = false

    // (.unconditional: `-1s` is a value to refuse with its reason, not an option that is missing one.)
    @Option(parsing: .unconditional, help: ArgumentHelp("The deadline of the whole run, e.g. 30s (curl --max-time).", valueName: "DURATION"))
    var maxTime: String?

    @Option(help: ArgumentHelp("The SNI the proxy sends upstream: a name, or none (sets input 'proxy_sni').", valueName: "NAME|none"))
    var proxySni: String?

    @Option(help: ArgumentHelp("The proxy's nginx version, e.g. 1.22.1, when it cannot be learned (default: nginx -v here, its Server header, its error log; sets input 'proxy_version').", valueName: "VERSION"))
    var proxyVersion: String?

    @Option(help: ArgumentHelp("The proxy's nginx.conf: replay its upstream handshake (sets input 'nginx_conf'; gives the URL when none is given).", valueName: "FILE"))
    var nginxConf: String?

    @Flag(help: "Without --nginx-conf, do not read the configuration of the nginx running here that listens on the --via port (sets input 'discover_nginx' to false).")
    var noNginxDiscovery = false

    @Option(help: ArgumentHelp("The request path whose nginx location to replay (default: the --via URL's path).", valueName: "PATH"))
    var location: String?

    @Option(help: ArgumentHelp("The proxy's error.log: quote and decode its lines about the upstream.", valueName: "FILE"))
    var nginxErrorLog: String?

    @Option(help: ArgumentHelp("Another proxy's log: HAProxy's log or Envoy's access log (nginx's error log too); its failures upstream become causes with the proxy named (sets input 'proxy_log').", valueName: "FILE"))
    var proxyLog: String?

    @Option(help: ArgumentHelp("The proxy's name for the upstream in --proxy-log: HAProxy's backend or backend/server (sets input 'proxy_backend').", valueName: "NAME"))
    var proxyBackend: String?

    @Option(help: ArgumentHelp("Read the error log from this time on instead of its last 64 MiB: 2026-12-05T09:00:00Z, nginx's 2026/12/05 09:00:00 (local time), or a duration back such as 2h (sets input 'since').", valueName: "TIME"))
    var since: String?

    @Option(help: ArgumentHelp("Ask this resolver instead of /etc/resolv.conf's; nothing else is asked (sets input 'dns_server').", valueName: "ADDR[:PORT]"))
    var dnsServer: String?

    @Flag(help: "Do not keep sslkeylog.txt (the TLS secrets that decrypt the self-capture).")
    var noKeylog = false

    @Option(parsing: .unconditional, help: ArgumentHelp("A certificate of the chain expiring within this many days is the warning cert-expires-soon (default 21; input 'warn_days').", valueName: "N"))
    var warnDays: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Judge certificates as of this time instead of now: 2027-01-15, 2027-01-15T09:30:00Z, or +30d.", valueName: "DATE"))
    var at: String?

    @Option(name: .customLong("trust-store"), help: ArgumentHelp("Also verify every chain against this trust store: a PEM bundle or PKCS#12 (Java cacerts; password changeit unless FILE:PASSWORD); repeatable (input 'trust_stores').", valueName: "NAME=FILE"))
    var trustStores: [String] = []

    @Flag(help: "When a chain's issuer is unknown here, fetch it from the leaf's AIA caIssuers URL (5 s) to decide between a missing intermediate and an untrusted CA (input 'fetch_aia').")
    var fetchAia = false

    @Flag(help: "Ask the leaf's CA's OCSP responder (the URL the certificate names; 5 s) whether it is revoked: revoked is a problem, no usable answer a warning (input 'fetch_ocsp').")
    var fetchOcsp = false

    @Flag(help: "Fetch the leaf's CA's CRL (its cRLDistributionPoints URL; 5 s, at most 16 MiB) and look for the leaf: listed is a problem, no usable CRL a warning (input 'fetch_crl').")
    var fetchCrl = false

    @Option(help: ArgumentHelp("The case folder (default: incidents/<UTC yyyymmdd-HHMMSS>-<host>/).", valueName: "DIR"))
    var out: String?

    @Flag(help: "Replace an earlier case in --out (default: an earlier case is kept and this run goes beside it, DIR-2).")
    var force = false

    @Option(help: "Report and terminal language: en or zh.")
    var lang: String = "en"

    @Option(help: ArgumentHelp("A Mustache template for report.md instead of the bundled one.", valueName: "FILE"))
    var template: String?

    @Option(help: ArgumentHelp("Which reports to write, comma-separated: md, json, jira (report.jira: Jira wiki markup).", valueName: "md,json"))
    var format: String = "md,json"

    @Option(parsing: .unconditional, help: ArgumentHelp("The deadline of every step, overriding the runbook's timeouts, e.g. 30s (default: each step's own, else 10s).", valueName: "DURATION"))
    var stepTimeout: String?

    func validate() throws {
        for s in settings where !s.contains("=") || s.hasPrefix("=") {
            throw ValidationError("--set expects KEY=VALUE, got '\(s)'")
        }
        guard CaseFolder.Format.parse(format) != nil else {
            throw ValidationError("--format expects a comma-separated list of md, json, jira, got '\(format)'")
        }
        for (flag, value) in [("--step-timeout", stepTimeout), ("--max-time", maxTime)] {
            guard let value else { continue }
            do {
                guard try DurationParser.parse(value) > .zero else { throw DurationParser.Failure.malformed }
            } catch {
                throw ValidationError("\(flag) '\(Sink.echo(value, limit: 40))' is \((error as? DurationParser.Failure) == .outOfRange ? "out of range (at most 24h)" : "not a duration such as 500ms, 10s or 2m")")
            }
        }
        do {
            if let url { _ = try Target(url) }
            if let via { _ = try Target(via, defaultScheme: "http") }
        } catch {
            throw ValidationError(error.description)
        }
        for r in resolve where Self.resolveEntry(r) == nil {
            throw ValidationError("--resolve expects HOST:PORT:ADDR with ADDR an IP address, got '\(r)'")
        }
        for c in connectTo where Self.connectToEntry(c) == nil {
            throw ValidationError("--connect-to expects HOST:PORT:CONNECT-HOST:CONNECT-PORT (an IPv6 address in brackets, [::1]), got '\(Sink.echo(c, limit: 120))'")
        }
        // Not echoed: a password in it may be too short for the masking to know, or typed where the host goes.
        if let proxy, let why = Self.proxyProblem(proxy) {
            throw ValidationError("-x: \(why) (its text is not repeated here: it may hold a password)")
        }
        // The text may be the secret itself (`-H 'Bearer …'`): not echoed.
        for h in headers where !h.contains(":") {
            throw ValidationError("-H expects 'Name: value': one has no ':' (its text is not repeated here: it may be a secret)")
        }
        if let name = HTTPRequest.headerWithLineBreak(headers) {
            throw ValidationError("-H '\(Sink.echo(name))': its value holds a line break (CR or LF), which would send a header of its own")
        }
        if key != nil, cert == nil { throw ValidationError("--key needs --cert") }
        if verbose && quiet { throw ValidationError("-v and -q cannot go together") }
        guard Bundled.languages.contains(lang) else { throw ValidationError("--lang expects one of \(Bundled.languages.joined(separator: ", ")), got '\(lang)'") }
    }

    var formats: Set<CaseFolder.Format> { CaseFolder.Format.parse(format) ?? [] }

    /// Why curl would refuse `-x` as it is written (`[SCHEME://][USER[:PASSWORD]@]HOST[:PORT][/]`), or nil:
    /// a usage error, not a network verdict about a proxy that was never tried. An empty one is none.
    static func proxyProblem(_ text: String) -> String? {
        guard !text.isEmpty else { return nil }
        var rest = Substring(text)
        if let separator = text.range(of: "://") {
            let scheme = text[..<separator.lowerBound].lowercased()
            guard ["http", "https", "socks4", "socks4a", "socks5", "socks5h"].contains(scheme) else {
                return "the scheme '\(Sink.echo(scheme, limit: 20))' is not a proxy curl speaks (http, https, socks4, socks4a, socks5, socks5h)"
            }
            rest = text[separator.upperBound...]
        }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        if let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
        let host: Substring, port: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return "an IPv6 address needs its closing ']'" }
            host = rest[rest.index(after: rest.startIndex)..<close]
            // A zone (`[fe80::1%25eth0]`) is curl's to take.
            let address = host.split(separator: "%", maxSplits: 1).first.map(String.init) ?? ""
            guard HostAddresses.isIPLiteral(address), address.contains(":") else { return "what is in brackets is not an IPv6 address" }
            let after = rest[rest.index(after: close)...]
            guard after.isEmpty || after.hasPrefix(":") else { return "expected [SCHEME://][USER:PASSWORD@]HOST[:PORT]" }
            port = after.isEmpty ? nil : after.dropFirst()
        } else {
            let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { return "an IPv6 address goes in brackets: http://[ADDRESS]:PORT" }
            host = parts[0]
            port = parts.count == 2 ? parts[1] : nil
        }
        guard !host.isEmpty else { return "it names no host" }
        // An empty port is the scheme's default, as curl reads `http://proxy:`; else digits only.
        if let port, !port.isEmpty, !port.allSatisfy({ $0.isASCII && $0.isNumber }) || Int(port).map({ !(1...65_535).contains($0) }) ?? true {
            return "its port is not a number from 1 to 65535"
        }
        return nil
    }

    /// `HOST:PORT:ADDR` (ADDR may be `[v6]`).
    static func resolveEntry(_ text: String) -> (host: String, port: Int, address: String)? {
        let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let port = Int(parts[1]) else { return nil }
        var address = String(parts[2])
        if address.hasPrefix("["), address.hasSuffix("]") { address = String(address.dropFirst().dropLast()) }
        guard HostAddresses.isIPLiteral(address) else { return nil }
        return (String(parts[0]), port, address)
    }

    /// curl's `--connect-to HOST:PORT:CONNECT-HOST:CONNECT-PORT`: either host may be an IPv6 address in
    /// brackets; an empty HOST or PORT matches any, an empty CONNECT-HOST or CONNECT-PORT keeps the
    /// URL's. Nil for what curl would not parse (`::1` unbracketed, a port that is not a number).
    static func connectToEntry(_ text: String) -> (host: String, port: Int?, connectHost: String, connectPort: Int?)? {
        var rest = Substring(text)
        func host() -> String? {
            if rest.hasPrefix("[") {
                guard let close = rest.firstIndex(of: "]") else { return nil }
                let inside = String(rest[rest.index(after: rest.startIndex)..<close])
                rest = rest[rest.index(after: close)...]
                return HostAddresses.isIPLiteral(inside) ? inside : nil
            }
            let end = rest.firstIndex(of: ":") ?? rest.endIndex
            defer { rest = rest[end...] }
            return String(rest[..<end])
        }
        func colon() -> Bool { rest.first == ":" ? { rest = rest.dropFirst(); return true }() : false }
        func port(last: Bool) -> Int?? {
            let end = last ? rest.endIndex : rest.firstIndex(of: ":") ?? rest.endIndex
            let digits = rest[..<end]
            rest = rest[end...]
            if digits.isEmpty { return .some(nil) }
            guard digits.allSatisfy(\.isASCII), let n = Int(digits), (1...65535).contains(n) else { return nil }
            return .some(n)
        }
        guard let h1 = host(), colon(), let p1 = port(last: false), colon(), let h2 = host(), colon(), let p2 = port(last: true),
              rest.isEmpty, !h2.contains(":") || HostAddresses.isIPLiteral(h2) else { return nil }
        return (h1, p1, h2, p2)
    }

    /// The first `--connect-to` entry curl uses for `url` (its host, or any, and its port, or any), as the
    /// address and port the handshake connects to: its CONNECT-HOST when an address, its CONNECT-PORT when
    /// the host is that address or the URL's own (empty). A CONNECT-HOST that is a name pins nothing.
    static func connectToAddress(_ specs: [String], for url: String?) -> (address: String?, port: Int?)? {
        guard let url, let target = try? Target(url) else { return nil }
        let urlHost = canonicalHost(target.host)
        for spec in specs {
            guard let e = connectToEntry(spec) else { continue }
            let hostMatches = e.host.isEmpty || canonicalHost(e.host) == urlHost
            guard hostMatches, e.port.map({ $0 == target.effectivePort }) ?? true else { continue }
            // curl takes the first that matches; a name there is resolved by the dns step (not pinned here).
            if HostAddresses.isIPLiteral(e.connectHost) { return (e.connectHost, e.connectPort) }
            return e.connectHost.isEmpty ? (nil, e.connectPort) : nil
        }
        return nil
    }

    /// The address and port `--connect-to` sends the URL's request to, as the handshake's too (unless
    /// `--resolve` or `--set addresses` already named them).
    static func pin(_ connectTo: [String], in given: inout [String: Value]) {
        guard given["addresses"] == nil, let pinned = connectToAddress(connectTo, for: given["url"]?.stringValue) else { return }
        if let address = pinned.address { given["addresses"] = .string(address) }
        if let port = pinned.port { given["port"] = .int(port) }
    }

    /// A name as curl compares `--resolve` and `--connect-to` entries with the URL's: lower case, without a
    /// root dot, an international name in its ASCII form, `127.1` as 127.0.0.1 (Target reads a host as it
    /// reads the URL's).
    static func canonicalHost(_ host: String) -> String {
        let bare = SNIVariant.withoutRootDot(host)
        return ((try? Target(bare))?.host ?? bare).lowercased()
    }

    /// The `--resolve` entries curl uses for `url`: those for its host (or `*`) and its port. curl
    /// ignores the others, and so does triage, saying so: a mistyped port must not send every
    /// probe to a port nothing listens on. Without a URL (taken from --nginx-conf later) all are used.
    static func resolveEntries(_ specs: [String], for url: String?) -> (used: [(host: String, port: Int, address: String)], ignored: [String]) {
        let parsed = specs.compactMap { spec in resolveEntry(spec).map { (spec, $0) } }
        guard let url, let target = try? Target(url) else { return (parsed.map(\.1), []) }
        var used: [(host: String, port: Int, address: String)] = [], ignored: [String] = []
        let urlHost = canonicalHost(target.host)
        for (spec, entry) in parsed {
            if (entry.host == "*" || canonicalHost(entry.host) == urlHost), entry.port == target.effectivePort {
                used.append(entry)
            } else {
                ignored.append(spec)
            }
        }
        return (used, ignored)
    }

    /// The runbook inputs the flags set; `--set` wins over nothing, flags win over `--set`.
    func given() throws -> [String: Value] {
        var given: [String: Value] = [:]
        for s in settings {
            let parts = s.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            given[String(parts[0])] = .string(String(parts[1]))
        }
        if let url { given["url"] = .string(try Target(url).url) }
        if let via { given["via"] = .string(try Target(via, defaultScheme: "http").url) }
        // Files read more than once (each step loads them) are made stable first: a pipe gives its bytes once.
        func stable(_ path: String, _ what: String) throws -> String {
            do { return try StableInput.path(path, what: what) } catch { throw ValidationError(error.description) }
        }
        if let caFile {
            do { given["ca_file"] = .string(try StableInput.caFile(caFile)) } catch { throw ValidationError(error.description) }
        }
        if insecure { given["insecure"] = .bool(true) }
        if let proxySni { given["proxy_sni"] = .string(proxySni) }
        if let proxyVersion {
            guard NginxVersion(proxyVersion) != nil else { throw ValidationError("--proxy-version '\(proxyVersion.prefix(40))' is not an nginx version such as 1.22.1") }
            given["proxy_version"] = .string(proxyVersion)
        }
        if let nginxConf { given["nginx_conf"] = .string(nginxConf) }
        if noNginxDiscovery { given["discover_nginx"] = .bool(false) }
        if let location { given["location"] = .string(location) }
        if let nginxErrorLog { given["nginx_error_log"] = .string(nginxErrorLog) }
        if let proxyLog { given["proxy_log"] = .string(proxyLog) }
        if let proxyBackend { given["proxy_backend"] = .string(proxyBackend) }
        if let since { given["since"] = .string(since) }
        if let dnsServer { given["dns_server"] = .string(dnsServer) }
        if let cert {
            do {
                let identity = try ClientIdentity.stable(certificate: cert, key: key)
                given["client_cert"] = .string(identity.certificate)
                given["client_key"] = .string(identity.key)
            } catch { throw ValidationError(error.description) }
        }
        if !headers.isEmpty { given["headers"] = .list(headers.map(Value.string)) }
        if let proxy { given["proxy"] = .string(proxy) }
        if noProxy == "*" { given["proxy"] = "none" }
        if noKeylog { given["keylog"] = .bool(false) }
        if fetchAia { given["fetch_aia"] = .bool(true) }
        if fetchOcsp { given["fetch_ocsp"] = .bool(true) }
        if fetchCrl { given["fetch_crl"] = .bool(true) }
        if !trustStores.isEmpty {
            // Refused before anything runs: a store that cannot be read would leave a verdict missing.
            if let problem = TrustStore.repeatedNameProblem(trustStores) { throw ValidationError(problem) }
            let scratch = TrustStore.scratchFolder()
            defer { TemporaryFolders.remove(scratch) }
            var stableSpecs: [String] = []
            for spec in trustStores {
                do {
                    stableSpecs.append(try TrustStore.loadAsGiven(spec, scratch: scratch).spec)
                } catch { throw ValidationError(error.description) }
            }
            given["trust_stores"] = .list(stableSpecs.map(Value.string))
        }
        if let warnDays {
            guard (0...3650).contains(warnDays) else { throw ValidationError("--warn-days \(warnDays) is not a number of days between 0 and 3650") }
            given["warn_days"] = .int(warnDays)
        }
        let entries = Self.resolveEntries(resolve, for: given["url"]?.stringValue).used
        if !entries.isEmpty {
            given["addresses"] = .string(entries.map(\.address).joined(separator: ","))
            if let port = entries.first?.port { given["port"] = .int(port) }
        }
        if !connectTo.isEmpty {
            given["connect_to"] = .list(connectTo.map(Value.string))
            Self.pin(connectTo, in: &given)
        }
        // The same files given with --set (`--set ca_file=<(…)`): made stable too (a flag's already are).
        for (key, what) in [("ca_file", "the CA file"), ("client_cert", "the client certificate"), ("client_key", "the client key")] {
            if let path = given[key]?.stringValue, !path.isEmpty, !Readable.isRegular(path) {
                given[key] = .string(try stable(path, what))
            }
        }
        return given
    }

    func run() async throws {
        let console = Console(language: lang, verbosity: quiet ? .quiet : verbose ? .verbose : .normal)
        let caseRun: CaseRun
        do {
            var given = try given()
            if let url = given["url"]?.stringValue, let target = try? Target(url) {
                for spec in Self.resolveEntries(resolve, for: url).ignored {
                    console.error("--resolve \(Sink.echo(spec, limit: 120)) is not for \(target.host):\(target.effectivePort), the URL's host and port: not used (curl ignores it too)")
                }
            }
            if let nginxConf {
                // Refuse a config nginx would not load before anything runs, and
                // take the upstream URL from it when none was given.
                let view = try NginxProxyView.view(try NginxConfig(contentsOf: nginxConf),
                                                   path: location ?? via.flatMap { URLPart.path.extract(from: $0).stringValue } ?? "/",
                                                   request: given["via"]?.stringValue)
                if given["url"] == nil, let url = view.upstreamURL {
                    given["url"] = .string(url)
                    // The URL is known only now: a --connect-to for it pins what it names.
                    Self.pin(connectTo, in: &given)
                    if view.servers.allSatisfy({ HostAddresses.isIPLiteral($0.host) }), given["addresses"] == nil {
                        given["addresses"] = .string(view.servers.map(\.host).joined(separator: ","))
                    }
                }
            }
            var request = CaseRun.Request(
                runbook: try Bundled.runbook(runbook), values: given, out: out.map { URL(fileURLWithPath: $0) },
                language: lang, templatePath: template, formats: formats,
                stepTimeout: stepTimeout.flatMap { try? DurationParser.parse($0) })
            request.maxTime = maxTime.flatMap { try? DurationParser.parse($0) }
            request.force = force
            if let at {
                guard let date = JudgeTime.parse(at) else { throw ValidationError(JudgeTime.problem(at)) }
                request.judgedAt = date
            }
            request.progress = console.progressLine
            caseRun = try CaseRun(request, catalog: .standard)
        } catch let error as RunbookError {
            console.diagnostics(error.description)
            throw Reported(status: ExitStatus.usage)
        } catch let error as InputError {
            error.problems.forEach(console.error)
            throw Reported(status: ExitStatus.usage)
        } catch {
            console.error(String(describing: error))
            throw Reported(status: ExitStatus.usage)
        }
        throw Reported(status: await CaseExecution.execute(caseRun, console: console, json: json))
    }
}
