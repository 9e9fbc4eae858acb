import Foundation
import Yams

/// `triage exporter --config FILE`: the probe modules, each a way to probe
/// a target, chosen with `/probe?target=…&module=NAME` (blackbox_exporter's
/// idea). Validated like a runbook: every problem as FILE:LINE:COLUMN.
///
/// ```yaml
/// modules:
///   default:            # used when the scrape names no module
///     sni_variants: false # true: also one handshake without SNI per address
///   https_get:
///     http: true        # also GET the target and report probe_http_status_code
///     path: /healthz
///     timeout: 5s
///     ca_file: /etc/ssl/private-ca.pem
///     client_cert: /etc/triage/client.pem
///     client_key: /etc/triage/client.key
///     warn_days: 14
/// ```
public struct ExporterConfig: Sendable {
    public struct Module: Sendable, Equatable {
        /// One handshake per address, as curl makes it; `true` adds one without SNI (its own metric).
        public var sniVariants = false
        public var http = false
        public var path = "/"
        public var timeout: Duration = .seconds(5)
        public var caFile: String?
        public var clientCertificate: String?
        public var clientKey: String?
        public var warnDays = ChainRules.defaultWarnDays
        /// `at:` — judge certificates as of this time (`+14d`: what breaks in two weeks).
        public var at: String?
        /// `trust_stores: {NAME: FILE}`: each chain also verified against these.
        public var trustStores: [String: String] = [:]
        /// Where the module and its files are in the config (`module`, `ca_file`, `client_cert`,
        /// `client_key`, `trust_stores.NAME`): a file that cannot be used is said at its line.
        public var origins: [String: SourceLocation] = [:]
        public init() {}
    }

    public var modules: [String: Module]

    /// Without a file: one module, `default`, with `--ca-file` if given.
    public static func standard(caFile: String?) -> ExporterConfig {
        var module = Module()
        module.caFile = caFile
        return ExporterConfig(modules: ["default": module])
    }

    public static func load(contentsOf path: String, caFile: String?) throws(RunbookError) -> ExporterConfig {
        try loaded(read(contentsOf: path, caFile: caFile))
    }

    public static func load(yaml: String, source: String, caFile: String?) throws(RunbookError) -> ExporterConfig {
        try loaded(read(yaml: yaml, source: source, caFile: caFile))
    }

    private static func loaded(_ read: (config: ExporterConfig?, problems: [Diagnostic])) throws(RunbookError) -> ExporterConfig {
        guard read.problems.isEmpty, let config = read.config else { throw RunbookError(read.problems) }
        return config
    }

    /// The modules that could be read, and every problem found (the modules beside a problem are still
    /// read: the exporter checks their files too, so a config's problems are all said at once).
    public static func read(contentsOf path: String, caFile: String?) -> (config: ExporterConfig?, problems: [Diagnostic]) {
        let data: Data
        do { data = try Readable.contents(path, limit: 16 << 20) } catch {
            return (nil, [Diagnostic(SourceLocation(file: path, line: 1, column: 1), "cannot read the file: \(error)")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            return (nil, [Diagnostic(SourceLocation(file: path, line: 1, column: 1), "the file is not UTF-8 text")])
        }
        return read(yaml: text, source: path, caFile: caFile)
    }

    public static func read(yaml: String, source: String, caFile: String?) -> (config: ExporterConfig?, problems: [Diagnostic]) {
        let yaml = YAMLSyntax.withoutBOM(yaml)
        func at(_ node: Node?) -> SourceLocation {
            SourceLocation(file: source, line: node?.mark?.line ?? 1, column: node?.mark?.column ?? 1)
        }
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch {
            return (nil, [YAMLSyntax.diagnostic(error, file: source, lines: YAMLSyntax.lines(yaml))])
        }
        var problems: [Diagnostic] = []
        guard let root, case .mapping(let top) = root else {
            return (nil, [Diagnostic(at(root), "expected a mapping with 'modules'")])
        }
        for (key, _) in top where key.string != "modules" {
            problems.append(Diagnostic(at(key), "unknown key '\(key.string ?? "?")': expected modules"))
        }
        var modules: [String: Module] = [:]
        if let node = top["modules"] {
            if case .mapping(let entries) = node {
                for (nameNode, body) in entries {
                    guard let name = nameNode.string, !name.isEmpty else { problems.append(Diagnostic(at(nameNode), "a module name must be a string")); continue }
                    guard case .mapping(let fields) = body else { problems.append(Diagnostic(at(body), "module '\(name)': expected a mapping")); continue }
                    var m = Module()
                    m.caFile = caFile
                    m.origins["module"] = at(nameNode)
                    for (fieldNode, value) in fields {
                        let field = fieldNode.string ?? ""
                        func bool() -> Bool? {
                            guard let b = value.bool else { problems.append(Diagnostic(at(value), "\(field): expected true or false")); return nil }
                            return b
                        }
                        func string() -> String? {
                            guard let s = value.string, case .scalar = value else { problems.append(Diagnostic(at(value), "\(field): expected a string")); return nil }
                            return s
                        }
                        switch field {
                        case "sni_variants": m.sniVariants = bool() ?? m.sniVariants
                        case "http": m.http = bool() ?? m.http
                        case "path":
                            if let p = string() {
                                if !p.hasPrefix("/") {
                                    problems.append(Diagnostic(at(value), "path: expected a path starting with '/'"))
                                } else if p.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }) {
                                    // curl would refuse it (every probe failing with no cause) or send a header of its own.
                                    problems.append(Diagnostic(at(value), "path: a space or control character (CR, LF, tab) cannot go in a request line: percent-encode it (%20)"))
                                } else {
                                    m.path = p
                                    m.origins[field] = at(value)
                                }
                            }
                        case "timeout":
                            if let t = string() {
                                do {
                                    let timeout = try DurationParser.deadline(t)
                                    // Less than the slot a probe needs (every scrape without the header was a 503).
                                    if timeout < .milliseconds(100) {
                                        problems.append(Diagnostic(at(value), "timeout: '\(Sink.echo(t, limit: 40))' is shorter than a probe can run in: at least 100ms"))
                                    } else {
                                        m.timeout = timeout
                                    }
                                } catch { problems.append(Diagnostic(at(value), "timeout: \(error)")) }
                            }
                        case "ca_file": m.caFile = string(); m.origins[field] = at(value)
                        case "client_cert": m.clientCertificate = string(); m.origins[field] = at(value)
                        case "client_key": m.clientKey = string(); m.origins[field] = at(value)
                        case "warn_days":
                            if let n = value.int, (0...3650).contains(n) { m.warnDays = n } else {
                                problems.append(Diagnostic(at(value), "warn_days: expected a number of days between 0 and 3650"))
                            }
                        case "trust_stores":
                            guard case .mapping(let stores) = value, !stores.isEmpty else {
                                problems.append(Diagnostic(at(value), "trust_stores: expected a mapping of NAME: FILE"))
                                break
                            }
                            for (k, v) in stores {
                                guard let name = k.string, let file = v.string, !name.isEmpty, !file.isEmpty else {
                                    problems.append(Diagnostic(at(v), "trust_stores: expected NAME: FILE"))
                                    continue
                                }
                                m.trustStores[name] = file
                                m.origins["trust_stores.\(name)"] = at(v)
                            }
                        case "at":
                            if let text = string(), JudgeTime.parse(text) != nil { m.at = text } else {
                                problems.append(Diagnostic(at(value), "at: expected a date (2027-01-15), a time (2027-01-15T09:30:00Z) or an offset from now (+14d)"))
                            }
                        default:
                            problems.append(Diagnostic(at(fieldNode), "module '\(name)': unknown key '\(field)': expected one of sni_variants, http, path, timeout, ca_file, client_cert, client_key, warn_days, at, trust_stores"))
                        }
                    }
                    // Keys that count only beside another are said, not ignored.
                    if m.clientKey != nil, m.clientCertificate == nil, let origin = m.origins["client_key"] {
                        problems.append(Diagnostic(origin, "module '\(name)': client_key without client_cert: the key goes with a client certificate"))
                    }
                    if !m.http, let origin = m.origins["path"] {
                        problems.append(Diagnostic(origin, "module '\(name)': path is the HTTP request's: it needs http: true"))
                    }
                    modules[name] = m
                }
            } else {
                problems.append(Diagnostic(at(node), "modules: expected a mapping of module names"))
            }
        } else {
            problems.append(Diagnostic(at(root), "missing 'modules'"))
        }
        if modules["default"] == nil, problems.isEmpty { modules["default"] = standard(caFile: caFile).modules["default"] }
        return (ExporterConfig(modules: modules), problems)
    }
}
