import ArgumentParser
import Foundation
import Synchronization
import TriageFleet
import TriageKit
import TriageProbes
import TriageWire
#if canImport(Glibc)
import Glibc
#endif

struct ScanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "The TLS checks of the default runbook on many endpoints: one JSON line each, problems first on a terminal.",
        discussion: """
        Targets: HOST, HOST:PORT or https:// URLs, as arguments or one per line in --targets FILE (- for stdin; # comments).
        Every address a name resolves to is checked. Exit 1 if any endpoint has a problem, 0 if none, 2 for a bad target line.
        """)

    @Argument(help: ArgumentHelp("Endpoints to check.", valueName: "TARGET"))
    var targets: [String] = []

    @Option(name: .customLong("targets"), help: ArgumentHelp("A file of targets, one per line ('-': stdin).", valueName: "FILE"))
    var targetsFiles: [String] = []
    /// One file: a second `--targets` is refused, not read in place of the first.
    var targetsFile: String? { targetsFiles.first }

    @Option(name: [.customLong("ca-file"), .customLong("cacert")], help: ArgumentHelp("Trust this CA bundle instead of the system store.", valueName: "PEM"))
    var caFile: String?

    @Option(name: [.customLong("cert"), .customShort("E")], help: ArgumentHelp("A client certificate (PEM) to present.", valueName: "PEM"))
    var cert: String?

    @Option(help: ArgumentHelp("The client certificate's key (PEM).", valueName: "PEM"))
    var key: String?

    // (.unconditional: `-5` is a value to refuse with its reason, not an option that is missing one.)
    @Option(parsing: .unconditional, help: "Endpoints checked at once.")
    var concurrency = 256

    @Option(help: "Output: jsonl (one object per endpoint as each finishes), table (sorted by urgency) or csv. Default: table on a terminal, jsonl otherwise.")
    var format: Format?

    @Flag(help: "Also try without SNI (as nginx does by default) and report what that gets.")
    var sniVariants = false

    @Option(parsing: .unconditional, help: "A certificate of the chain expiring within this many days is the warning cert-expires-soon.")
    var warnDays = ChainRules.defaultWarnDays

    @Option(parsing: .unconditional, help: ArgumentHelp("Judge certificates as of this time instead of now: 2027-01-15, 2027-01-15T09:30:00Z, or +30d.", valueName: "DATE"))
    var at: String?

    @Option(name: .customLong("trust-store"), help: ArgumentHelp("Also verify every chain against this trust store (PEM or PKCS#12); repeatable.", valueName: "NAME=FILE"))
    var trustStores: [String] = []

    @Option(parsing: .unconditional, help: ArgumentHelp("Deadline of each handshake, e.g. 3s.", valueName: "DURATION"))
    var timeout = "5s"

    typealias Format = Scan.Format

    func validate() throws {
        guard (1...10_000).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 10000") }
        guard (0...3650).contains(warnDays) else { throw ValidationError("--warn-days \(warnDays) is not a number of days between 0 and 3650") }
        do {
            _ = try DurationParser.deadline(timeout)
        } catch {
            throw ValidationError("--timeout '\(Sink.echo(timeout, limit: 40))': \(error)")
        }
        guard !targets.isEmpty || targetsFile != nil else { throw ValidationError("give targets as arguments or with --targets FILE") }
        guard targetsFiles.count <= 1 else {
            throw ValidationError("--targets is given \(targetsFiles.count) times: give one file (several: --targets <(cat FILE1 FILE2))")
        }
        if key != nil, cert == nil { throw ValidationError("--key needs --cert") }
    }

    func run() async throws {
        let console = Console()
        if let shortage = ProcessTuning.descriptorShortage(for: "a scan") {
            console.error(shortage)
            throw Reported(status: ExitStatus.usage)
        }
        var options = EndpointProbe.Options()
        do {
            // Made stable first (a pipe gives its bytes once; they are read more than once).
            options.caFile = try caFile.map { path throws(StableInput.Problem) in try StableInput.caFile(path) }
            if let cert {
                let identity = try ClientIdentity.stable(certificate: cert, key: key)
                options.clientCertificate = identity.certificate
                options.clientKey = identity.key
            }
        } catch {
            console.error(String(describing: error))
            throw Reported(status: ExitStatus.usage)
        }
        options.withoutSNI = sniVariants
        options.warnDays = warnDays
        if let at {
            guard let date = JudgeTime.parse(at) else {
                console.error(JudgeTime.problem(at))
                throw Reported(status: ExitStatus.usage)
            }
            options.at = date
        }
        if let problem = TrustStore.repeatedNameProblem(trustStores) {
            console.error(problem)
            throw Reported(status: ExitStatus.usage)
        }
        // PKCS#12 stores become PEM bundles in a folder of their own, removed when the scan ends (or triage leaves).
        let scratch = TrustStore.scratchFolder()
        defer { TemporaryFolders.remove(scratch) }
        for spec in trustStores {
            do { options.trustStores.append(try TrustStore.loadAsGiven(spec, scratch: scratch).store) }
            catch {
                console.error(error.description)
                throw Reported(status: ExitStatus.usage)
            }
        }
        options.timeout = (try? DurationParser.deadline(timeout)) ?? .seconds(5)
        let probe: EndpointProbe
        do {
            probe = try EndpointProbe(options)
        } catch {
            console.error("cannot set up TLS: \(error)")
            throw Reported(status: ExitStatus.usage)
        }
        let format = format ?? (isatty(STDOUT_FILENO) == 1 ? .table : .jsonl)
        let source: TargetSource
        do { source = try TargetSource(arguments: targets, file: targetsFile) } catch {
            for line in error.lines { console.diagnostics(line) }
            throw Reported(status: ExitStatus.usage)
        }
        // The handshake loops are made before the first probe takes descriptors (see the exporter).
        HandshakeLoops.start()
        let output = Scan.Output(result: { console.result($0) }, diagnostic: { console.diagnostics($0) },
                                 progress: { console.progressLine("scan", $0) })
        let scan = Scan(probe: probe, concurrency: concurrency, format: format, output: output, total: source.count)
        let started = ContinuousClock.now
        let badLines = await scan.run(source)
        let elapsed = (ContinuousClock.now - started).seconds
        let tally = scan.tally.withLock { $0 }
        if format == .table { scan.printTable() }
        if tally.endpoints == 0, badLines == 0 {
            // An empty list checked nothing: not "healthy", and no summary of nothing before saying so.
            console.error(console.table.render(.scanNothing))
            throw Reported(status: ExitStatus.usage)
        }
        console.progress(console.table.render(.scanSummary, [
            "count": .int(tally.endpoints), "seconds": .string(TextFormat.fixed(elapsed, 1)),
            "rate": .string(TextFormat.fixed(Double(tally.endpoints) / max(elapsed, 0.001), 0)),
            "problems": .int(tally.problems), "warnings": .int(tally.warnings),
        ]))
        if tally.untested > 0 { console.progress(console.table.render(.scanUntried, ["count": .int(tally.untested)])) }
        throw Reported(status: badLines > 0 ? ExitStatus.usage : tally.problems > 0 ? ExitStatus.problem
                       : tally.untested > 0 ? ExitStatus.inconclusive : ExitStatus.healthy)
    }
}


extension Scan.Format: ExpressibleByArgument {}
