import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import TriageFleet
import TriageKit
import TriageProbes

struct ExporterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exporter",
        abstract: "A Prometheus exporter, blackbox_exporter-style: GET /probe?target=HOST:PORT runs one probe and answers its metrics, with the causes.",
        discussion: """
        Endpoints: /probe?target=HOST:PORT[&module=NAME] (one fresh probe per scrape; its timeout follows the
        X-Prometheus-Scrape-Timeout-Seconds header), /metrics (the exporter's own), / (a short index).
        Modules (SNI variants, HTTP or not, timeouts, CA file, client certificate) come from --config FILE.
        """)

    @Option(help: ArgumentHelp("Where to listen.", valueName: "ADDR:PORT"))
    var listen = "127.0.0.1:9219"

    @Option(name: [.customLong("ca-file"), .customLong("cacert")], help: ArgumentHelp("Trust this CA bundle (the default module's, and any module's without ca_file).", valueName: "PEM"))
    var caFile: String?

    @Option(help: ArgumentHelp("The modules, in YAML (see the README).", valueName: "FILE"))
    var config: String?

    @Option(parsing: .unconditional, help: "Probes run at once; more wait their turn, each target in its own queue and at most its share of the slots.")
    var concurrency = 256

    // (.unconditional: `-1s` is a value to refuse with its reason, not an option that is missing one.)
    @Option(parsing: .unconditional, help: ArgumentHelp("Close a connection whose request head is not complete this long after its first byte (at most 3s by default).", valueName: "DURATION"))
    var headerTimeout = "3s"

    @Option(parsing: .unconditional, help: ArgumentHelp("Close a keep-alive connection idle this long.", valueName: "DURATION"))
    var idleTimeout = "30s"

    @Option(parsing: .unconditional, help: ArgumentHelp("Connections at once; past it the oldest idle one is closed to admit a new one (default: a quarter of the descriptor limit, 8-4096).", valueName: "N"))
    var maxConnections: Int?

    func run() async throws {
        let console = Console()
        // Made stable first: a pipe gives its bytes once, and every module's context reads the bundle.
        let caFile: String?
        do { caFile = try self.caFile.map { path throws(StableInput.Problem) in try StableInput.caFile(path) } } catch {
            console.error(error.description)
            throw Reported(status: ExitStatus.usage)
        }
        // The config's syntax problems, and the files of every module that could be read (each at its line):
        // all said at once, before the exporter serves.
        let read = config.map { ExporterConfig.read(contentsOf: $0, caFile: caFile) } ?? (.standard(caFile: caFile), [])
        var problems = read.problems
        guard let modules = read.config else {
            console.diagnostics(RunbookError(problems).description)
            throw Reported(status: ExitStatus.usage)
        }
        var probes: [String: ModuleProbe] = [:]
        // PKCS#12 stores become PEM bundles in a folder of their own, removed when the exporter stops.
        let scratch = TrustStore.scratchFolder()
        defer { TemporaryFolders.remove(scratch) }
        for (name, given) in modules.modules.sorted(by: { $0.key < $1.key }) {
            let (module, checked) = Self.prepared(given, named: name, config: config ?? "--ca-file", scratch: scratch)
            problems += checked
            guard checked.isEmpty, read.problems.isEmpty else { continue }
            do { probes[name] = try ModuleProbe(module, scratch: scratch) } catch {
                problems.append(Diagnostic(Self.origin(module, "module", config: config), "module '\(name)': \(error)"))
            }
        }
        if !problems.isEmpty {
            console.diagnostics(RunbookError(problems).description)
            throw Reported(status: ExitStatus.usage)
        }
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else {
            console.error("--listen '\(listen)' is not ADDR:PORT")
            throw Reported(status: ExitStatus.usage)
        }
        let host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        // Connections and probes hold descriptors: the soft limit goes up to the hard one first.
        if let shortage = ProcessTuning.descriptorShortage(for: "the exporter") {
            console.error(shortage)
            throw Reported(status: ExitStatus.usage)
        }
        // As scan checks them: 0 or a negative number is a mistake, not "one".
        guard (1...10_000).contains(concurrency) else {
            console.error("--concurrency must be between 1 and 10000")
            throw Reported(status: ExitStatus.usage)
        }
        if let maxConnections, !(2...1_000_000).contains(maxConnections) {
            console.error("--max-connections must be between 2 and 1000000")
            throw Reported(status: ExitStatus.usage)
        }
        // Connections past half the descriptors leave probes none: accept and every probe then fail on EMFILE.
        if let maxConnections, maxConnections > ProcessTuning.openFileLimit / 2 {
            console.error("--max-connections \(maxConnections) is more than this process's descriptors allow (ulimit -n \(ProcessTuning.openFileLimit)): "
                          + "at most \(ProcessTuning.openFileLimit / 2), the other half for probes; raise the limit first")
            throw Reported(status: ExitStatus.usage)
        }
        // The handshake loops (an epoll and an eventfd each) are made now, while descriptors are free: made by the
        // first probe of a burst that had taken them all, they failed for good and every probe after was a 503.
        HandshakeLoops.start()
        if let failed = HandshakeLoops.startFailure {
            console.error("cannot start the handshake loops: \(String(cString: strerror(failed)))")
            throw Reported(status: ExitStatus.internalError)
        }
        var limits = ExporterServer.Limits()
        limits.concurrency = concurrency
        // A quarter of the descriptors, the rest for probes (at `ulimit -n 64` a floor of 64 gave the
        // connections every descriptor, and probes of healthy targets waited until they gave up).
        limits.maxConnections = maxConnections ?? max(8, min(4096, ProcessTuning.openFileLimit / 4))
        func deadline(_ flag: String, _ text: String) throws -> Duration {
            do { return try DurationParser.deadline(text) } catch {
                console.error("\(flag) '\(Sink.echo(text, limit: 40))': \(error)")
                throw Reported(status: ExitStatus.usage)
            }
        }
        limits.headerTimeout = try deadline("--header-timeout", headerTimeout)
        limits.idleTimeout = try deadline("--idle-timeout", idleTimeout)
        let exporter = ExporterServer(probes: probes, limits: limits)
        let bound: (port: Int, channel: Channel)
        do {
            bound = try await exporter.bind(host: host.isEmpty ? "0.0.0.0" : host, port: port)
        } catch {
            // NIO's IOError reads "bind(descriptor:ptr:bytes:): … (errno: 98)": the system's reason is what to say.
            let reason = (error as? IOError).map { String(cString: strerror($0.errnoCode)) } ?? "\(error)"
            console.error("cannot listen on \(listen): \(reason)")
            throw Reported(status: ExitStatus.usage)
        }
        console.progress(console.table.render(.exporterListening, ["address": .string("\(host.isEmpty ? "0.0.0.0" : host.contains(":") ? "[\(host)]" : host):\(bound.port)"),
                                                                   "modules": .string(modules.modules.keys.sorted().joined(separator: ", "))]))
        // Stopped as a daemon is (SIGTERM from systemd, Ctrl-C): no new connection, the probes under way
        // answered (for at most 10 s), then exit 0, as blackbox_exporter does. A second signal leaves at once (130).
        let channel = bound.channel
        Signals.onInterrupt {
            exporter.beginDrain()
            channel.close(promise: nil)
            // On a thread of its own: the signal thread goes back to reading, so a second signal leaves at once.
            Thread.detachNewThread {
                let until = ContinuousClock.now + .seconds(10)
                while exporter.probesUnanswered > 0, ContinuousClock.now < until { usleep(20_000) }
                // The answers' last bytes on their way out.
                usleep(50_000)
                leave(ExitStatus.healthy)
            }
        }
        try await bound.channel.closeFuture.get()
        // Closed by the signal: the handler above answers what is under way and leaves.
        while exporter.isDraining { try await Task.sleep(for: .seconds(60)) }
    }

    static func origin(_ module: ExporterConfig.Module, _ key: String, config: String?) -> SourceLocation {
        module.origins[key] ?? module.origins["module"] ?? SourceLocation(file: config ?? "--ca-file", line: 1, column: 1)
    }

    /// The module with its files made stable (a pipe or FIFO read once: `StableInput`), and what makes
    /// any of them unusable: a CA bundle, a client certificate and key, each trust store.
    static func prepared(_ given: ExporterConfig.Module, named name: String, config: String, scratch: URL) -> (ExporterConfig.Module, [Diagnostic]) {
        var module = given
        var problems: [Diagnostic] = []
        // The module's own ca_file (--ca-file was made stable before the config was read).
        if module.origins["ca_file"] != nil, let caFile = module.caFile {
            do { module.caFile = try StableInput.caFile(caFile) } catch {
                problems.append(Diagnostic(origin(module, "ca_file", config: config), "module '\(name)': ca_file: \(error)"))
            }
        }
        if let cert = module.clientCertificate {
            do {
                let identity = try ClientIdentity.stable(certificate: cert, key: module.clientKey)
                module.clientCertificate = identity.certificate
                module.clientKey = identity.key
            } catch {
                let field = error.inKey && module.clientKey != nil ? "client_key" : "client_cert"
                problems.append(Diagnostic(origin(module, field, config: config), "module '\(name)': \(error)"))
            }
        }
        for (store, file) in module.trustStores.sorted(by: { $0.key < $1.key }) {
            do {
                let spec = try TrustStore.loadAsGiven("\(store)=\(file)", scratch: scratch).spec
                module.trustStores[store] = String(spec.dropFirst(store.count + 1))
            } catch {
                problems.append(Diagnostic(origin(module, "trust_stores.\(store)", config: config), "module '\(name)': trust_stores: \(error)"))
            }
        }
        return (module, problems)
    }
}
