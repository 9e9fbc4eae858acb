import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import TriageKit
import TriageProbes

/// One module's way to probe: the TLS checks, and an HTTP GET if it asks.
public struct ModuleProbe: Sendable {
    public let module: ExporterConfig.Module
    let endpoint: EndpointProbe

    /// What the module's probes are asked (its `at` as `ahead` or `at`, its stores, its timeout).
    public var options: EndpointProbe.Options { endpoint.options }

    /// `scratch`: where PKCS#12 stores become PEM bundles (removed when triage leaves, by default).
    public init(_ module: ExporterConfig.Module, scratch: URL = TrustStore.scratchFolder()) throws {
        self.module = module
        var options = EndpointProbe.Options()
        options.caFile = module.caFile
        options.clientCertificate = module.clientCertificate
        options.clientKey = module.clientKey ?? module.clientCertificate
        options.withoutSNI = module.sniVariants
        options.warnDays = module.warnDays
        // `at: +14d` is 14 days from each scrape; a date or a time is that date at every scrape.
        if let at = module.at {
            if let ahead = JudgeTime.offset(at) { options.ahead = ahead } else { options.at = JudgeTime.parse(at) }
        }
        for (name, file) in module.trustStores.sorted(by: { $0.key < $1.key }) {
            options.trustStores.append(try TrustStore.load("\(name)=\(file)", scratch: scratch))
        }
        options.timeout = module.timeout
        endpoint = try EndpointProbe(options)
    }

    public func run(_ target: Target, timeout: Duration) async -> ProbeMetrics {
        let start = ContinuousClock.now
        let probe = endpoint.with(timeout: timeout)
        // Verifying each chain against trust stores is OpenSSL's work of a millisecond or more (a store's
        // first load far more): on the cooperative pool, not on the event loop that reads the requests.
        let results = module.trustStores.isEmpty ? await probe.probe(target)
            : await withTaskExecutorPreference(globalConcurrentExecutor) { await probe.probe(target) }
        var status: Int?
        var httpFindings: [Finding] = []
        if module.http, !Task.isCancelled {
            // The target's own path and query when it has one (`target=https://api.test/health?deep=1`, as
            // blackbox_exporter's http prober takes it), else the module's `path`.
            var request = HTTPRequest(url: target.rest.isEmpty || target.rest == "/" ? target.with(path: module.path) : target.url)
            request.caFile = module.caFile
            request.clientCertificate = module.clientCertificate
            request.clientKey = module.clientKey
            request.proxy = .none
            // curl verifies as of the time the handshake was judged at (a module's `at`).
            if endpoint.options.judgesAnotherTime { request.verifyTime = endpoint.options.judgedAt() }
            request.connectTimeout = timeout
            request.timeout = timeout
            // Judged as `run` judges its request: a body cut short, a timeout after the headers, a 5xx are
            // causes (the status alone called a 200 whose body was reset a success).
            switch await request.fetch(by: start + timeout) {
            case .fetched(let fetched):
                status = fetched.exchange.status
                httpFindings = Self.requestFindings(HTTPRules(exchange: fetched.exchange, compare: nil).findings, besides: results.flatMap(\.findings))
            case .unavailable:
                status = 0
            case .noThread:
                // The handshake's verdict stands when it found a problem (a dead target stays probe_success 0
                // under load); else the probe is untried, the exporter's state.
                var metrics = ProbeMetrics(results: results, httpStatus: nil, duration: ContinuousClock.now - start)
                metrics.httpUntried = !results.contains(where: \.problem)
                return metrics
            }
        }
        var metrics = ProbeMetrics(results: results, httpStatus: status, duration: ContinuousClock.now - start)
        metrics.httpFindings = httpFindings
        return metrics
    }

    /// The request's findings that add to the handshake's checks: curl's verdict on a connection stage
    /// (name, address, handshake, certificate) the checks already judged a problem is the coarser one
    /// (its "certificate has expired" for an intermediate read as the leaf's cert-expired).
    public static func requestFindings(_ request: [Finding], besides checks: [Finding]) -> [Finding] {
        let judged = Set(checks.filter { $0.severity == .problem }.map(\.cause.stage))
        return request.filter { !($0.cause.stage <= 3 && judged.contains($0.cause.stage)) }
    }
}

/// The exporter: a SwiftNIO HTTP/1 server that answers `/probe` with one
/// fresh probe, scheduled fairly between targets (`FairScheduler`), and
/// `/metrics` at once, never behind probes. A request keeps its scrape
/// deadline while it waits; a probe whose client hung up is dropped; a
/// half-sent request is closed after the header timeout, an idle keep-alive
/// connection after the idle timeout, and at the connection cap the oldest
/// idle connection is closed to admit a new one — so a real scrape is
/// answered whatever else is connected.
public final class ExporterServer: Sendable {
    public struct Limits: Sendable {
        /// Probes at once.
        public var concurrency = 64
        /// From the first byte of a request to its complete head.
        public var headerTimeout: Duration = .seconds(3)
        /// A keep-alive connection with no request in flight.
        public var idleTimeout: Duration = .seconds(30)
        /// Connections at once; past it the oldest idle one is closed.
        public var maxConnections = 1024
        /// When malloc's free memory goes back to the system after the last probe request is
        /// answered: a second later (what the probes freed), and again once the threads the burst
        /// woke have left (libdispatch's after 5 s idle, the blocking pool's after 10 s), whose caches
        /// return to the arenas only then: a 1,000-client burst of silent probes kept 2-4 MB more
        /// without the second.
        public var releaseDelays: [Duration] = [.seconds(1), .seconds(12)]
        public init() {}
    }

    /// The exporter's own counts: probe requests by result (a dropped one's client left, or its
    /// deadline passed while it waited), connections closed by the timeouts and the cap.
    public struct Counters: Sendable {
        public var success = 0
        public var failure = 0
        public var dropped = 0
        public var seconds = 0.0
        public var inFlight = 0
        public var errors = 0
        public var closedHeaderTimeout = 0
        public var closedIdle = 0
        public var closedAtCap = 0
    }

    let probes: [String: ModuleProbe]
    let router: ExporterRouter
    let limits: Limits
    let scheduler: FairScheduler
    let counters = Mutex(Counters())
    let connections: ConnectionTable
    /// Probe requests being answered (waiting for a slot or probing), and how many times their
    /// number fell to zero: a release of free memory is for the latest quiet spell only.
    struct Load {
        var answering = 0
        var quietSpells = 0
    }
    let load = Mutex(Load())
    /// Stopping: requests from now on are refused, and every answer closes its connection.
    let draining = Mutex(false)

    /// Stops taking probe requests (kept-alive connections still send them: 503, and closed).
    public func beginDrain() { draining.withLock { $0 = true } }
    public var isDraining: Bool { draining.withLock { $0 } }

    /// Gives malloc's free memory back to the system (a test counts the calls).
    let releaseFreeMemory: @Sendable () -> Void

    public init(probes: [String: ModuleProbe], limits: Limits = Limits(),
                releaseFreeMemory: @escaping @Sendable () -> Void = ProcessTuning.releaseFreeMemory) {
        self.probes = probes
        router = ExporterRouter(modules: probes.mapValues(\.module.timeout))
        self.limits = limits
        self.releaseFreeMemory = releaseFreeMemory
        scheduler = FairScheduler(limit: limits.concurrency)
        // Each probe of an HTTP module holds a thread of the blocking pool for its transfer: as many as
        // may run at once (and a few for name lookups), or the probes past 64 waited for a thread,
        // past their deadline, where --concurrency let them run.
        if probes.values.contains(where: \.module.http) { BlockingPool.shared.raiseLimit(to: limits.concurrency + 8) }
        connections = ConnectionTable(cap: max(2, limits.maxConnections))
    }

    public var snapshot: Counters { counters.withLock { $0 } }

    /// A probe request begins.
    func began() { load.withLock { $0.answering += 1 } }

    /// A probe request is answered; the last of a burst schedules the release of malloc's free memory
    /// back to the system (at `releaseDelays`, unless a probe request came since), so the resident set
    /// returns to its baseline.
    func answered() {
        let spell: Int? = load.withLock { l in
            l.answering -= 1
            guard l.answering == 0 else { return nil }
            l.quietSpells += 1
            return l.quietSpells
        }
        guard let spell else { return }
        Task.detached(priority: .background) { [self] in
            var waited = Duration.zero
            for delay in limits.releaseDelays {
                try? await Task.sleep(for: delay - waited)
                waited = delay
                // A probe request since: the end of its burst has its own release.
                guard load.withLock({ $0.answering == 0 && $0.quietSpells == spell }) else { return }
                releaseFreeMemory()
            }
        }
    }

    /// Probe requests not answered yet: what a graceful stop waits for.
    public var probesUnanswered: Int { load.withLock { $0.answering } }

    /// Binds and returns the bound port and the serving loop (runs until the channel closes).
    public func bind(host: String, port: Int) async throws -> (port: Int, channel: Channel) {
        let server = self
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.backlog, value: 512)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            // Out of descriptors (EMFILE on accept), the listening socket stays readable: without a back-off
            // the loop retried at once, a core's worth of CPU for as long as connections waited.
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(AcceptBackoffHandler()) }
            }
            // A client that closes its side after its request (`nc -N`, `socat`, HTTP/1.0 tools) still
            // gets the answer (SwiftNIO closed the whole connection at that end of input).
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = ExporterHandler(server: server, executor: EventLoopTaskExecutor(channel.eventLoop))
                    try channel.pipeline.syncOperations.addHandler(FirstByteWatcher(handler: handler))
                    // SwiftNIO's error handler (a 400 for a request that cannot be read), after a filter that
                    // keeps it from answering bytes after a request that asked to close.
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: false)
                    try channel.pipeline.syncOperations.addHandler(DataAfterCloseFilter())
                    try channel.pipeline.syncOperations.addHandler(HTTPServerProtocolErrorHandler())
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .bind(host: host, port: port).get()
        return (channel.localAddress?.port ?? port, channel)
    }

    /// The answer to one request: a status and a body; probes wait their turn here.
    func respond(method: String, uri: String, scrapeTimeout: String?, arrived: ContinuousClock.Instant) async -> (HTTPResponseStatus, String) {
        if isDraining { return (.serviceUnavailable, "the exporter is stopping\n") }
        let route = router.route(method: method, uri: uri, scrapeTimeout: scrapeTimeout)
        switch route {
        case .refused(let status, let body):
            return (HTTPResponseStatus(statusCode: status), body)
        case .probe(let target, let module, let budget, let patience):
            guard let probe = probes[module] else { return (.internalServerError, "no module '\(Sink.echo(module))'\n") }
            began()
            defer { answered() }
            let deadline = arrived + patience
            guard await scheduler.acquire(target.url, deadline: deadline) else {
                counters.withLock { $0.dropped += 1 }
                return (.serviceUnavailable, "probe dropped: the scrape's deadline passed while it waited for a slot (\(limits.concurrency) probes at once)\n")
            }
            let remaining = deadline - .now
            guard remaining >= .milliseconds(100), !Task.isCancelled else {
                await scheduler.release(target.url)
                counters.withLock { $0.dropped += 1 }
                return (.serviceUnavailable, "probe dropped: no time left of the scrape's deadline\n")
            }
            // The whole budget unless the wait for a slot ate into what the scrape allows.
            let timeout = min(budget, remaining)
            counters.withLock { $0.inFlight += 1 }
            var metrics = await probe.run(target, timeout: timeout)
            await scheduler.release(target.url)
            let cancelled = Task.isCancelled
            let untried = metrics.results.contains(where: \.untested) || metrics.httpUntried
            counters.withLock { c in
                c.inFlight -= 1
                if cancelled || untried { c.dropped += 1 }
                else if metrics.success { c.success += 1 } else { c.failure += 1 }
                c.seconds += metrics.duration.seconds
            }
            // The client closed the connection (or its side of it) while the probe waited or ran: nobody
            // (or not Prometheus, which gave up) reads a probe cut short, and it is no verdict on the target.
            if cancelled { return (.serviceUnavailable, "probe dropped: the client closed the connection while it ran\n") }
            // Out of descriptors is this exporter's state, not the target's: a failed scrape, not probe_success 0.
            if metrics.httpUntried {
                return (.serviceUnavailable, "probe dropped: no thread was free for its HTTP request before the scrape's deadline "
                        + "(raise TRIAGE_BLOCKING_THREADS, or lower --concurrency)\n")
            }
            if untried {
                return (.serviceUnavailable, "probe dropped: no file descriptor was free for its connection as long as it could wait "
                        + "(raise the exporter's limit: `ulimit -n`, LimitNOFILE=; or lower --max-connections or --concurrency)\n")
            }
            // A probe the wait shortened still says whether the target answered in the time it had (a dead
            // target stays probe_success 0 under load, for the alerts on it); how long it waited is said beside it.
            metrics.queueWait = patience - remaining
            metrics.timeout = timeout
            return (.ok, metrics.text)
        case .metrics:
            return (.ok, await metricsText)
        case .index:
            return (.ok, "triage exporter\n/probe?target=HOST:PORT[&module=NAME]\n/metrics\nmodules: \(probes.keys.sorted().joined(separator: ", "))\n")
        }
    }

    var metricsText: String {
        get async {
            let c = counters.withLock { $0 }
            let (running, waiting) = await scheduler.state
            return """
                # HELP triage_exporter_probes_total Probe requests answered, by result: success, failure, dropped (the client left, or the scrape's deadline passed while it waited).
                # TYPE triage_exporter_probes_total counter
                triage_exporter_probes_total{result="success"} \(c.success)
                triage_exporter_probes_total{result="failure"} \(c.failure)
                triage_exporter_probes_total{result="dropped"} \(c.dropped)
                # HELP triage_exporter_probe_duration_seconds Time spent probing.
                # TYPE triage_exporter_probe_duration_seconds summary
                triage_exporter_probe_duration_seconds_sum \(TextFormat.fixed(c.seconds, 6))
                triage_exporter_probe_duration_seconds_count \(c.success + c.failure)
                # HELP triage_exporter_probes_in_flight Probes running now.
                # TYPE triage_exporter_probes_in_flight gauge
                triage_exporter_probes_in_flight \(running)
                # HELP triage_exporter_probes_waiting Probe requests waiting for a slot.
                # TYPE triage_exporter_probes_waiting gauge
                triage_exporter_probes_waiting \(waiting)
                # HELP triage_exporter_connections_closed_total Connections the exporter closed, by reason.
                # TYPE triage_exporter_connections_closed_total counter
                triage_exporter_connections_closed_total{reason="header-timeout"} \(c.closedHeaderTimeout)
                triage_exporter_connections_closed_total{reason="idle"} \(c.closedIdle)
                triage_exporter_connections_closed_total{reason="cap"} \(c.closedAtCap)
                # HELP triage_exporter_connection_errors_total Connections that ended in an error.
                # TYPE triage_exporter_connection_errors_total counter
                triage_exporter_connection_errors_total \(c.errors)

                """
        }
    }
}

/// The open connections, oldest first, and what each is doing: at the cap, the oldest idle one goes,
/// else the oldest waiting on its client (a slow head, a body announced and never sent, answers left
/// unread), so a real scrape is answered; when every one is answering a request, the new one is closed.
final class ConnectionTable: Sendable {
    /// `waiting`: on the client: for the rest of its request, or for it to read the answers before.
    enum State { case idle, waiting, answering }
    private struct Entry { let channel: Channel; var state: State }
    private let entries = Mutex<[ObjectIdentifier: Entry]>([:])
    private let order = Mutex<[ObjectIdentifier]>([])
    let cap: Int

    init(cap: Int) { self.cap = cap }

    /// Adds a connection; returns one to close (the oldest idle, else the oldest waiting, else this
    /// new one) when over the cap.
    func add(_ channel: Channel) -> Channel? {
        let id = ObjectIdentifier(channel)
        entries.withLock { $0[id] = Entry(channel: channel, state: .idle) }
        return order.withLock { order -> Channel? in
            order.append(id)
            guard order.count > cap else { return nil }
            let all = entries.withLock { $0 }
            for wanted in [State.idle, .waiting] {
                if let victim = order.first(where: { $0 != id && all[$0]?.state == wanted }) { return all[victim]?.channel }
            }
            return channel
        }
    }

    func remove(_ channel: Channel) {
        let id = ObjectIdentifier(channel)
        entries.withLock { $0[id] = nil }
        order.withLock { $0.removeAll { $0 == id } }
    }

    func set(_ channel: Channel, _ state: State) {
        entries.withLock { $0[ObjectIdentifier(channel)]?.state = state }
    }
}

/// Sees the first raw byte of each request, before the HTTP decoder: the header timeout starts there.
final class FirstByteWatcher: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    // Only touched on the channel's event loop.
    private let handler: ExporterHandler

    init(handler: ExporterHandler) { self.handler = handler }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        handler.bytesArrived(context.channel)
        context.fireChannelRead(data)
    }
}

/// One connection: requests answered in order, keep-alive honoured; its timers and its probe task.
final class ExporterHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    // Everything below is touched only on the channel's event loop.
    private let server: ExporterServer
    private let executor: EventLoopTaskExecutor
    private var head: HTTPRequestHead?
    private var arrived: ContinuousClock.Instant = .now
    private var busy = false
    private var waitingForHead = false
    private var timer: Scheduled<Void>?
    private var task: Task<Void, Never>?
    /// A complete request held while the client does not read the answers before it (the channel is
    /// not writable): answers are not piled up in memory for a client that pipelines and never reads.
    private var held: HTTPRequestHead?
    /// The client closed its side: the connection closes after the answer being written.
    private var inputClosed = false
    /// The last answer's write: done when it has gone to the socket.
    private var lastWrite: EventLoopFuture<Void>?

    init(server: ExporterServer, executor: EventLoopTaskExecutor) {
        self.server = server
        self.executor = executor
    }

    func channelActive(context: ChannelHandlerContext) {
        if let victim = server.connections.add(context.channel) {
            server.counters.withLock { $0.closedAtCap += 1 }
            victim.close(promise: nil)
        }
        armIdle(context.channel)
        context.fireChannelActive()
    }

    /// The client sent its last byte (shut its side, or closed): what is being answered is still
    /// written, then the connection closes. A probe waiting or running is dropped, as when the client
    /// leaves: a FIN is all a Prometheus that gave up on the scrape sends too (Go's server, under
    /// blackbox_exporter, cancels the request at that end of input as well). `/metrics`, `/` and a
    /// refusal are answered.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            inputClosed = true
            if busy, held == nil {
                task?.cancel()
            } else {
                // Answers already written but not yet sent (a slow reader's) go first: a close now would drop
                // them. A client that never reads them is closed by the idle timer.
                let channel = context.channel
                if let lastWrite { lastWrite.whenComplete { _ in channel.close(promise: nil) } } else { context.close(promise: nil) }
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        // The client is gone: its probe (waiting or running) is dropped.
        task?.cancel()
        server.connections.remove(context.channel)
        context.fireChannelInactive()
    }

    /// The first bytes of a request: from now, the request (its head, and a body it announces) must be
    /// complete within the header timeout.
    func bytesArrived(_ channel: Channel) {
        guard !busy, !waitingForHead else { return }
        waitingForHead = true
        server.connections.set(channel, .waiting)
        close(channel, after: server.limits.headerTimeout, counted: \.closedHeaderTimeout)
    }

    /// The connection's one timer: closes it after `delay`, counted under `reason`.
    private func close(_ channel: Channel, after delay: Duration, counted reason: WritableKeyPath<ExporterServer.Counters, Int> & Sendable) {
        timer?.cancel()
        timer = channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(delay.seconds * 1e9))) { [server] in
            server.counters.withLock { $0[keyPath: reason] += 1 }
            channel.close(promise: nil)
        }
    }

    private func armIdle(_ channel: Channel) {
        timer?.cancel()
        waitingForHead = false
        server.connections.set(channel, .idle)
        close(channel, after: server.limits.idleTimeout, counted: \.closedIdle)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            // The header timeout runs on to the request's end: a head that announces a body and never
            // sends it is closed as a slow head is. (A pipelined request read earlier starts its own.)
            bytesArrived(context.channel)
            head = h
            arrived = .now
        case .body:
            break
        case .end:
            guard let request = head, !busy else { return }
            head = nil
            timer?.cancel()
            timer = nil
            busy = true
            waitingForHead = false
            guard context.channel.isWritable else {
                // The answers before it are still unread: this one waits for the client to read them
                // (or for the idle timeout, which closes a client that never does).
                held = request
                server.connections.set(context.channel, .waiting)
                close(context.channel, after: server.limits.idleTimeout, counted: \.closedIdle)
                return
            }
            start(request, context: context)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let request = held {
            held = nil
            timer?.cancel()
            timer = nil
            start(request, context: context)
        }
        context.fireChannelWritabilityChanged()
    }

    /// Answers a complete request: its probe runs in a task, the answer is written on the event loop.
    private func start(_ request: HTTPRequestHead, context: ChannelHandlerContext) {
        let channel = context.channel
        server.connections.set(channel, .answering)
        // HTTP/1.1 asks for exactly one Host (RFC 9112, 3.2): without it, or with two, the request is
        // refused as Go's server (blackbox_exporter's) and nginx refuse it.
        // Written on the loop's next turn, as every answer is: written here, its flush delivered the next
        // pipelined request into this function again, one stack frame deeper per Host-less request.
        if request.version.major == 1, request.version.minor >= 1, request.headers["Host"].count != 1 {
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.execute {
                let (handler, context) = loopBound.value
                handler.write(status: .badRequest, body: "an HTTP/1.1 request names its Host exactly once\n", request: request, context: context, close: true)
            }
            return
        }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let server = self.server
        let arrived = self.arrived
        let timeoutHeader = request.headers["X-Prometheus-Scrape-Timeout-Seconds"].first
        task = Task(executorPreference: executor) {
            let (status, body) = await server.respond(method: request.method.rawValue, uri: request.uri, scrapeTimeout: timeoutHeader, arrived: arrived)
            channel.eventLoop.execute {
                let (handler, context) = loopBound.value
                handler.write(status: status, body: body, request: request, context: context)
            }
        }
    }

    /// `close`: the connection ends with this answer whatever the request asked.
    private func write(status: HTTPResponseStatus, body: String, request: HTTPRequestHead, context: ChannelHandlerContext, close: Bool = false) {
        busy = false
        task = nil
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: status == .ok ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8")
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        if status == .methodNotAllowed { headers.add(name: "Allow", value: "GET, HEAD") }
        // Stopping: the connection ends with this answer (Prometheus' kept-alive ones sent more probes).
        let keepAlive = request.isKeepAlive && !server.isDraining && !inputClosed && !close
        if !keepAlive {
            headers.add(name: "Connection", value: "close")
        } else if request.version.major == 1, request.version.minor == 0 {
            // An HTTP/1.0 client that asked to keep the connection assumes it closes unless told.
            headers.add(name: "Connection", value: "keep-alive")
        }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil)
        if request.method != .HEAD { context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil) }
        let channel = context.channel
        // Idle from here, before the flush: the flush can deliver a pipelined request, which starts at once
        // (armed after it, the idle timer ran during that request's probe).
        if keepAlive { armIdle(channel) }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        lastWrite = written
        written.whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A request cut off by the connection's close (the header timeout's, or the client's) is the HTTP
        // decoder's error on the way out: already counted under its reason, not an error of its own.
        // So is one the client cut short by shutting its side (the channel stays active then; the decoder
        // says so before the end of input reaches this handler).
        let cutByTheClient = inputClosed || (error as? HTTPParserError) == .invalidEOFState
        if context.channel.isActive, !cutByTheClient { server.counters.withLock { $0.errors += 1 } }
        context.close(promise: nil)
    }
}

/// Runs a connection's probe task on the connection's own event loop: the request is read there and
/// its answer written there, and a probe's own work between its waits (the route, the rules on the
/// handshake's outcome, the metrics' text: tens of microseconds) is done there too, not handed to the
/// cooperative pool and back (two thread wake-ups a probe, about a twentieth of its CPU under `make
/// bench`). A handshake's waits are the handshake loop's (HandshakeLoop), never the event loop's; a
/// transfer and a name lookup are the blocking pool's; a module with trust stores probes on the
/// cooperative pool (ModuleProbe.run). What is left on the loop that can take longer: loading a CA
/// file the first time a chain the handshake did not verify is checked against it (cached after).
final class EventLoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop

    init(_ loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

/// Bytes after a request that asked to close the connection (HTTP/1.0 without keep-alive,
/// `Connection: close`) are an error to the parser; the connection closes after that request's
/// answer, so they get no answer of their own (SwiftNIO's error handler wrote a 400 after the 200).
final class DataAfterCloseFilter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { context.fireChannelRead(data) }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let parser = error as? HTTPParserError, parser == .closedConnection { return }
        context.fireErrorCaught(error)
    }
}
