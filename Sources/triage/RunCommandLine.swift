import Foundation

/// `triage run`'s command line read without the argument parser. Building
/// the parser's command tree reflects over every option of every command and
/// looks protocol conformances up at run time (each first lookup scans the
/// binary's 7,000 conformance records): about 8 ms of CPU before the first
/// step, a third of a whole run against a local upstream.
///
/// Only a command line read here in full is run from here. Anything else — a
/// help flag, an unknown, repeated or bundled option, a missing value, a value
/// that looks like an option, a second TARGET, a line `validate()` refuses —
/// returns nil and goes to the argument parser, whose messages stay the only
/// ones. `TRIAGE_ARGUMENT_PARSER=1` sends every line there; a test compares
/// what both make of the same lines.
extension RunCommand {
    private enum Slot: Sendable {
        case flag(@Sendable (inout RunCommand) -> Void)
        /// A value; `unconditional`: taken even when it starts with `-` (as the parser's `.unconditional`).
        case value(unconditional: Bool, @Sendable (inout RunCommand, String) -> Bool)
        /// A repeatable value: `list` names the property; all its values are set at once at the end
        /// (appending through the property wrapper one by one copied the array each time).
        case values(list: String, @Sendable (inout RunCommand, [String]) -> Void)
    }

    /// Every option of `run` under every name it has (the argument parser's
    /// spelling: camelCase properties become kebab-case long names).
    private static let slots: [String: Slot] = [
        "--runbook": .value(unconditional: false) { $0.runbook = $1; return true },
        "--set": .values(list: "settings") { $0.settings = $1 },
        "--via": .value(unconditional: false) { $0.via = $1; return true },
        "--ca-file": .value(unconditional: false) { $0.caFile = $1; return true },
        "--cacert": .value(unconditional: false) { $0.caFile = $1; return true },
        "-k": .flag { $0.insecure = true },
        "--insecure": .flag { $0.insecure = true },
        "--resolve": .values(list: "resolve") { $0.resolve = $1 },
        "--connect-to": .values(list: "connectTo") { $0.connectTo = $1 },
        "--cert": .value(unconditional: false) { $0.cert = $1; return true },
        "-E": .value(unconditional: false) { $0.cert = $1; return true },
        "--key": .value(unconditional: false) { $0.key = $1; return true },
        "-x": .value(unconditional: false) { $0.proxy = $1; return true },
        "--proxy": .value(unconditional: false) { $0.proxy = $1; return true },
        "--noproxy": .value(unconditional: false) { $0.noProxy = $1; return true },
        "-H": .values(list: "headers") { $0.headers = $1 },
        "--header": .values(list: "headers") { $0.headers = $1 },
        "-v": .flag { $0.verbose = true },
        "--verbose": .flag { $0.verbose = true },
        "-q": .flag { $0.quiet = true },
        "--quiet": .flag { $0.quiet = true },
        "--json": .flag { $0.json = true },
        "--max-time": .value(unconditional: true) { $0.maxTime = $1; return true },
        "--proxy-sni": .value(unconditional: false) { $0.proxySni = $1; return true },
        "--proxy-version": .value(unconditional: false) { $0.proxyVersion = $1; return true },
        "--nginx-conf": .value(unconditional: false) { $0.nginxConf = $1; return true },
        "--no-nginx-discovery": .flag { $0.noNginxDiscovery = true },
        "--location": .value(unconditional: false) { $0.location = $1; return true },
        "--nginx-error-log": .value(unconditional: false) { $0.nginxErrorLog = $1; return true },
        "--proxy-log": .value(unconditional: false) { $0.proxyLog = $1; return true },
        "--proxy-backend": .value(unconditional: false) { $0.proxyBackend = $1; return true },
        "--since": .value(unconditional: false) { $0.since = $1; return true },
        "--dns-server": .value(unconditional: false) { $0.dnsServer = $1; return true },
        "--no-keylog": .flag { $0.noKeylog = true },
        "--warn-days": .value(unconditional: true) { command, text in
            guard let days = Int(text) else { return false }
            command.warnDays = days
            return true
        },
        "--at": .value(unconditional: false) { $0.at = $1; return true },
        "--trust-store": .values(list: "trustStores") { $0.trustStores = $1 },
        "--fetch-aia": .flag { $0.fetchAia = true },
        "--fetch-ocsp": .flag { $0.fetchOcsp = true },
        "--fetch-crl": .flag { $0.fetchCrl = true },
        "--out": .value(unconditional: false) { $0.out = $1; return true },
        "--force": .flag { $0.force = true },
        "--lang": .value(unconditional: false) { $0.lang = $1; return true },
        "--template": .value(unconditional: false) { $0.template = $1; return true },
        "--format": .value(unconditional: false) { $0.format = $1; return true },
        "--step-timeout": .value(unconditional: true) { $0.stepTimeout = $1; return true },
    ]

    /// Every property at its default: a property neither path set traps when read.
    private static var defaults: RunCommand {
        var c = RunCommand()
        c.url = nil
        c.runbook = "tls-upstream"
        c.settings = []
        c.via = nil
        c.caFile = nil
        c.insecure = false
        c.resolve = []
        c.connectTo = []
        c.cert = nil
        c.key = nil
        c.proxy = nil
        c.noProxy = nil
        c.headers = []
        c.verbose = false
        c.quiet = false
        c.json = false
        c.maxTime = nil
        c.proxySni = nil
        c.proxyVersion = nil
        c.nginxConf = nil
        c.noNginxDiscovery = false
        c.location = nil
        c.nginxErrorLog = nil
        c.proxyLog = nil
        c.proxyBackend = nil
        c.since = nil
        c.dnsServer = nil
        c.noKeylog = false
        c.warnDays = nil
        c.at = nil
        c.trustStores = []
        c.fetchAia = false
        c.fetchOcsp = false
        c.fetchCrl = false
        c.out = nil
        c.force = false
        c.lang = "en"
        c.template = nil
        c.format = "md,json"
        c.stepTimeout = nil
        return c
    }

    /// The command for `arguments` (those after `run`), or nil when the argument parser must read them.
    static func quickParse(_ arguments: [String]) -> RunCommand? {
        var command = defaults
        var seen: [String] = []
        var lists: [String: (values: [String], set: @Sendable (inout RunCommand, [String]) -> Void)] = [:]
        var index = 0
        while index < arguments.count {
            let word = arguments[index]
            index += 1
            guard word.hasPrefix("-") else {
                // TARGET, once.
                guard command.url == nil else { return nil }
                command.url = word
                continue
            }
            var name = word
            var attached: String?
            if word.hasPrefix("--"), let equals = word.firstIndex(of: "=") {
                name = String(word[..<equals])
                attached = String(word[word.index(after: equals)...])
                // `--out=` is `--out` with its value missing to the parser (it takes the next word or refuses).
                guard attached != "" else { return nil }
            }
            guard let slot = slots[name] else { return nil }
            switch slot {
            case .flag(let set):
                guard attached == nil, !seen.contains(name) else { return nil }
                set(&command)
            case .value(let unconditional, let set):
                guard !seen.contains(name) else { return nil }
                let value: String
                if let attached {
                    value = attached
                } else {
                    guard index < arguments.count, unconditional || !arguments[index].hasPrefix("-") else { return nil }
                    value = arguments[index]
                    index += 1
                }
                guard set(&command, value) else { return nil }
            case .values(let list, let set):
                let value: String
                if let attached {
                    value = attached
                } else {
                    guard index < arguments.count, !arguments[index].hasPrefix("-") else { return nil }
                    value = arguments[index]
                    index += 1
                }
                lists[list, default: ([], set)].values.append(value)
            }
            if !seen.contains(name) { seen.append(name) }
        }
        for (values, set) in lists.values { set(&command, values) }
        // Two names for one option (--cacert and --ca-file, -k and --insecure): the parser's to judge.
        let aliases: [[String]] = [["--ca-file", "--cacert"], ["-k", "--insecure"], ["--cert", "-E"], ["-x", "--proxy"],
                                   ["-v", "--verbose"], ["-q", "--quiet"]]
        for names in aliases where names.allSatisfy(seen.contains) { return nil }
        guard (try? command.validate()) != nil else { return nil }
        return command
    }
}
