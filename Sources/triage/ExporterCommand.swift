import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
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

    @Option(help: "Probes run at once; more wait their turn.")
    var concurrency = 64

    func run() async throws {
        let console = Console()
        let modules: ExporterConfig
        do {
            modules = try config.map { path throws(RunbookError) in try ExporterConfig.load(contentsOf: path, caFile: caFile) } ?? .standard(caFile: caFile)
        } catch {
            console.diagnostics(error.description)
            throw Reported(status: ExitStatus.usage)
        }
        var probes: [String: ModuleProbe] = [:]
        for (name, module) in modules.modules {
            do { probes[name] = try ModuleProbe(module) } catch {
                console.error("module '\(name)': \(error)")
                throw Reported(status: ExitStatus.usage)
            }
        }
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else {
            console.error("--listen '\(listen)' is not ADDR:PORT")
            throw Reported(status: ExitStatus.usage)
        }
        let host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let exporter = Exporter(probes: probes, limit: max(1, concurrency))
        let server: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
        do {
            server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(ChannelOptions.backlog, value: 256)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .bind(host: host.isEmpty ? "0.0.0.0" : host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            console.error("cannot listen on \(listen): \(error)")
            throw Reported(status: ExitStatus.usage)
        }
        let bound = server.channel.localAddress?.port ?? port
        console.progress(console.table.render(.exporterListening, ["address": .string("\(host.isEmpty ? "0.0.0.0" : host):\(bound)"),
                                                                   "modules": .string(modules.modules.keys.sorted().joined(separator: ", "))]))
        Signals.onInterrupt { leave(ExitStatus.interrupted) }
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { connections in
                for try await connection in connections {
                    group.addTask { await exporter.serve(connection) }
                }
            }
        }
    }
}

/// One module's way to probe: the TLS checks, and an HTTP GET if it asks.
struct ModuleProbe: Sendable {
    let module: ExporterConfig.Module
    let endpoint: EndpointProbe

    init(_ module: ExporterConfig.Module) throws {
        self.module = module
        var options = EndpointProbe.Options()
        options.caFile = module.caFile
        options.clientCertificate = module.clientCertificate
        options.clientKey = module.clientKey ?? module.clientCertificate
        options.withoutSNI = module.sniVariants
        options.warnDays = module.warnDays
        options.at = module.at.flatMap { JudgeTime.parse($0) }
        for (name, file) in module.trustStores.sorted(by: { $0.key < $1.key }) {
            do { options.trustStores.append(try TrustStore.load("\(name)=\(file)", scratch: FileManager.default.temporaryDirectory.appendingPathComponent("triage-stores-\(getpid())"))) }
            catch { throw ValidationError(error.description) }
        }
        options.timeout = module.timeout
        endpoint = try EndpointProbe(options)
    }

    func run(_ target: Target, timeout: Duration) async -> ProbeMetrics {
        let start = ContinuousClock.now
        let probe = endpoint.with(timeout: timeout)
        let results = await probe.probe(target)
        var status: Int?
        if module.http {
            var request = HTTPRequest(url: target.with(path: module.path))
            request.caFile = module.caFile
            request.clientCertificate = module.clientCertificate
            request.clientKey = module.clientKey
            request.proxy = .none
            request.connectTimeout = timeout
            request.timeout = max(.milliseconds(100), timeout - (ContinuousClock.now - start))
            status = await request.status()
        }
        return ProbeMetrics(results: results, httpStatus: status, duration: ContinuousClock.now - start)
    }
}

/// The exporter's state: its probes, the bound on probes at once, its own metrics.
final class Exporter: Sendable {
    struct Counters: Sendable {
        var probes = 0
        var failures = 0
        var errors = 0
        var seconds = 0.0
        var inFlight = 0
    }

    let probes: [String: ModuleProbe]
    let limiter: Limiter
    let counters = Mutex(Counters())

    init(probes: [String: ModuleProbe], limit: Int) {
        self.probes = probes
        limiter = Limiter(limit)
    }

    /// One connection: requests answered in order, keep-alive honoured.
    func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                for try await part in inbound {
                    switch part {
                    case .head(let h): head = h
                    case .body: break
                    case .end:
                        guard let request = head else { continue }
                        head = nil
                        let (status, body) = await respond(request)
                        var headers = HTTPHeaders()
                        headers.add(name: "Content-Type", value: status == .ok ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8")
                        headers.add(name: "Content-Length", value: String(body.utf8.count))
                        if !request.isKeepAlive { headers.add(name: "Connection", value: "close") }
                        try await outbound.write(.head(HTTPResponseHead(version: request.version, status: status, headers: headers)))
                        try await outbound.write(.body(.byteBuffer(ByteBuffer(string: body))))
                        try await outbound.write(.end(nil))
                        if !request.isKeepAlive { return }
                    }
                }
            }
        } catch {
            counters.withLock { $0.errors += 1 }
        }
    }

    func respond(_ request: HTTPRequestHead) async -> (HTTPResponseStatus, String) {
        let route = ExporterRoute.parse(method: request.method.rawValue, uri: request.uri,
                                        scrapeTimeout: request.headers["X-Prometheus-Scrape-Timeout-Seconds"].first,
                                        modules: probes.mapValues(\.module.timeout))
        switch route {
        case .refused(let status, let body):
            return (HTTPResponseStatus(statusCode: status), body)
        case .probe(let target, let module, let timeout):
            guard let probe = probes[module] else { return (.internalServerError, "no module '\(Sink.echo(module))'\n") }
            await limiter.acquire()
            counters.withLock { $0.inFlight += 1 }
            let metrics = await probe.run(target, timeout: timeout)
            counters.withLock { c in
                c.inFlight -= 1
                c.probes += 1
                if !metrics.success { c.failures += 1 }
                c.seconds += metrics.duration.seconds
            }
            await limiter.release()
            return (.ok, metrics.text)
        case .metrics:
            let c = counters.withLock { $0 }
            return (.ok, """
                # HELP triage_exporter_probes_total Probes answered, by result.
                # TYPE triage_exporter_probes_total counter
                triage_exporter_probes_total{result="success"} \(c.probes - c.failures)
                triage_exporter_probes_total{result="failure"} \(c.failures)
                # HELP triage_exporter_probe_duration_seconds Time spent probing.
                # TYPE triage_exporter_probe_duration_seconds summary
                triage_exporter_probe_duration_seconds_sum \(TextFormat.fixed(c.seconds, 6))
                triage_exporter_probe_duration_seconds_count \(c.probes)
                # HELP triage_exporter_probes_in_flight Probes running now.
                # TYPE triage_exporter_probes_in_flight gauge
                triage_exporter_probes_in_flight \(c.inFlight)
                # HELP triage_exporter_connection_errors_total Connections that ended in an error.
                # TYPE triage_exporter_connection_errors_total counter
                triage_exporter_connection_errors_total \(c.errors)

                """)
        case .index:
            return (.ok, "triage exporter\n/probe?target=HOST:PORT[&module=NAME]\n/metrics\nmodules: \(probes.keys.sorted().joined(separator: ", "))\n")
        }
    }
}

/// At most `limit` holders at once; the others wait in order.
actor Limiter {
    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(_ limit: Int) { free = limit }

    func acquire() async {
        if free > 0 { free -= 1; return }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty { free += 1 } else { waiting.removeFirst().resume() }
    }
}
