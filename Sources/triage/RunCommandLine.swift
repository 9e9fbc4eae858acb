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
        /// A value; `unconditional`: taken even when it starts with `-` (as the parser's `.unconditional`);
        /// false from the setter: not a value the option takes.
        case value(unconditional: Bool, @Sendable (inout RunCommand, String) -> Bool)
        /// A repeatable value, all of them set at once at the end (appending through the property
        /// wrapper one by one copied the array each time).
        case values(@Sendable (inout RunCommand, [String]) -> Void)

        /// Any text, as the next word (unless it looks like an option) or after `=`.
        static func text(unconditional: Bool = false, _ set: @escaping @Sendable (inout RunCommand, String) -> Void) -> Slot {
            .value(unconditional: unconditional) { set(&$0, $1); return true }
        }
    }

    /// Every option of `run` under all its names (the argument parser's spelling: camelCase
    /// properties become kebab-case long names).
    private static let options: [(names: [String], slot: Slot)] = [
        (["--runbook"], .text { $0.runbook = $1 }),
        (["--set"], .values { $0.settings = $1 }),
        (["--via"], .text { $0.via = $1 }),
        (["--ca-file", "--cacert"], .text { $0.caFile = $1 }),
        (["-k", "--insecure"], .flag { $0.insecure = true }),
        (["--resolve"], .values { $0.resolve = $1 }),
        (["--connect-to"], .values { $0.connectTo = $1 }),
        (["--cert", "-E"], .text { $0.cert = $1 }),
        (["--key"], .text { $0.key = $1 }),
        (["-x", "--proxy"], .text { $0.proxy = $1 }),
        (["--noproxy"], .text { $0.noProxy = $1 }),
        (["-H", "--header"], .values { $0.headers = $1 }),
        (["-v", "--verbose"], .flag { $0.verbose = true }),
        (["-q", "--quiet"], .flag { $0.quiet = true }),
        (["--json"], .flag { $0.json = true }),
        (["--max-time"], .text(unconditional: true) { $0.maxTime = $1 }),
        (["--proxy-sni"], .text { $0.proxySni = $1 }),
        (["--proxy-version"], .text { $0.proxyVersion = $1 }),
        (["--nginx-conf"], .text { $0.nginxConf = $1 }),
        (["--no-nginx-discovery"], .flag { $0.noNginxDiscovery = true }),
        (["--location"], .text { $0.location = $1 }),
        (["--nginx-error-log"], .text { $0.nginxErrorLog = $1 }),
        (["--proxy-log"], .text { $0.proxyLog = $1 }),
        (["--proxy-backend"], .text { $0.proxyBackend = $1 }),
        (["--since"], .text { $0.since = $1 }),
        (["--dns-server"], .text { $0.dnsServer = $1 }),
        (["--no-keylog"], .flag { $0.noKeylog = true }),
        (["--warn-days"], .value(unconditional: true) { command, text in
            guard let days = Int(text) else { return false }
            command.warnDays = days
            return true
        }),
        (["--at"], .text(unconditional: true) { $0.at = $1 }),
        (["--trust-store"], .values { $0.trustStores = $1 }),
        (["--fetch-aia"], .flag { $0.fetchAia = true }),
        (["--fetch-ocsp"], .flag { $0.fetchOcsp = true }),
        (["--fetch-crl"], .flag { $0.fetchCrl = true }),
        (["--out"], .text { $0.out = $1 }),
        (["--force"], .flag { $0.force = true }),
        (["--lang"], .text { $0.lang = $1 }),
        (["--template"], .text { $0.template = $1 }),
        (["--format"], .text { $0.format = $1 }),
        (["--step-timeout"], .text(unconditional: true) { $0.stepTimeout = $1 }),
    ]

    /// Each name to its option's place in `options`.
    private static let optionIndex: [String: Int] = Dictionary(uniqueKeysWithValues: options.enumerated().flatMap { i, o in o.names.map { ($0, i) } })

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
        // Options given once (under any of their names), and the values of the repeatable ones.
        var given = Set<Int>()
        var lists: [Int: [String]] = [:]
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
            guard let option = optionIndex[name] else { return nil }
            /// The option's value: after `=`, or the next word unless it looks like an option.
            func value(unconditional: Bool = false) -> String? {
                if let attached { return attached }
                guard index < arguments.count, unconditional || !arguments[index].hasPrefix("-") else { return nil }
                index += 1
                return arguments[index - 1]
            }
            switch options[option].slot {
            case .flag(let set):
                // Twice, or under two names (`-k --insecure`): the parser's to judge.
                guard attached == nil, given.insert(option).inserted else { return nil }
                set(&command)
            case .value(let unconditional, let set):
                guard given.insert(option).inserted, let text = value(unconditional: unconditional), set(&command, text) else { return nil }
            case .values:
                guard let text = value() else { return nil }
                lists[option, default: []].append(text)
            }
        }
        for (option, values) in lists {
            if case .values(let set) = options[option].slot { set(&command, values) }
        }
        guard (try? command.validate()) != nil else { return nil }
        return command
    }
}
