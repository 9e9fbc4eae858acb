import Foundation
import TriageKit
import TriageWire
#if canImport(Glibc)
import Glibc
#endif

/// What one handshake attempt is asked to do.
struct HandshakeSpec: Sendable {
    var server: Endpoint
    /// The URL's host: the SNI of `as-client`, and the name verified unless `verifyName` says another.
    var host: String
    var variant: SNIVariant
    /// The name the client checks the certificate against (nginx: proxy_ssl_name); nil: `host`.
    var verifyName: String?
    /// Check an address literal as a name (nginx), not against IP SANs (curl).
    var addressAsName = false
    var context: SSLContext
    /// Verify the chain as of this time, not now (the context's own time, if it has one, otherwise).
    var verifyTime: Date?
    /// From the start of the attempt, whatever bytes arrive.
    var timeout: Duration
    /// How long to wait after a TLS 1.3 handshake for the server's first
    /// message (a NewSessionTicket, or the alert a server sends when it
    /// rejects the client's certificate only after the client's Finished).
    var postHandshakeWait: Duration = .milliseconds(300)
    var limits = HandshakeLimits()
    /// Keep the bytes for the self-capture (a scan does not).
    var recordConversation = true
    var cancel: CancelFlag?
}

/// Bounds on what one attempt accepts, so a server that floods (alerts,
/// HelloRequests, an endless certificate) ends the attempt at bounded memory.
struct HandshakeLimits: Sendable {
    var maxBytes = 4 << 20
    var maxMessages = 5_000
    /// Bytes kept for the self-capture; past it they are counted, not kept.
    var maxRecordedBytes = 1 << 20
}

/// One attempt as a state machine the handshake loop drives: a
/// non-blocking connect, the handshake over memory BIOs, a short read
/// after a TLS 1.3 handshake. Transport (the socket), protocol (OpenSSL)
/// and judgement (the diagnosis, later) stay apart.
final class HandshakeSession: SSLConnection.Observer {
    enum State { case idle, connecting, handshaking, afterHandshake(ContinuousClock.Instant), finished }

    enum End {
        case success
        case tlsFailed([OpenSSLError.Entry])
        case closed
        case reset
        case flood(HandshakeAttempt.FloodLimit)
        case connectFailed(Int32)
        case timedOut(HandshakeAttempt.Phase)
        case socketFailed(Int32)
        case noDescriptor(Int32)
        case cancelled
    }

    let spec: HandshakeSpec
    private(set) var attempt: HandshakeAttempt
    private var start = ContinuousClock.now
    private(set) var deadline: ContinuousClock.Instant
    /// Waiting for a descriptor (EMFILE/ENFILE): back-pressure, retried, never the endpoint's verdict.
    private(set) var retryAt: ContinuousClock.Instant?
    private var waitingSince: ContinuousClock.Instant?
    private var descriptorErrno: Int32 = 0
    private let wallStart = Date()
    private(set) var socket: TCPSocket?
    private var connection: SSLConnection?
    private(set) var state: State = .idle
    private var output: [UInt8] = []
    private var outputOffset = 0
    private var conversation: TCPConversation?
    private var recordedBytes = 0
    private var firstBytes: [UInt8] = []
    private var handshakeDone = false
    private var sawServerMessageAfterHandshake = false
    private var handshakeStart: ContinuousClock.Instant?
    private var peerClosed = false
    private var tooManyMessages = false

    init(_ spec: HandshakeSpec) {
        self.spec = spec
        attempt = HandshakeAttempt(server: spec.server, host: spec.host, variant: spec.variant,
                                   serverName: spec.variant.serverName(host: spec.host, address: spec.server.address))
        deadline = ContinuousClock.now + spec.timeout
    }

    private var elapsedMs: Double { (ContinuousClock.now - start).seconds * 1000 }
    private func micros() -> UInt64 { UInt64((wallStart.timeIntervalSince1970 + elapsedMs / 1000) * 1_000_000) }

    var isFinished: Bool { if case .finished = state { true } else { false } }

    /// What the loop last registered with epoll for this session's socket (the loop's own record:
    /// it skips epoll_ctl when the interest has not changed).
    var registered: EventPoll.Interest?

    /// What the loop should wait for next; nil once finished.
    var interest: EventPoll.Interest? {
        switch state {
        case .idle, .finished: nil
        case .connecting: .write
        case .handshaking, .afterHandshake: outputOffset < output.count ? [.read, .write] : .read
        }
    }

    /// The instant the loop must call `expire()`.
    var wakeUp: ContinuousClock.Instant {
        if case .afterHandshake(let until) = state { return min(until, deadline) }
        return deadline
    }

    // MARK: - Driving

    /// Opens the socket and starts connecting. `descriptorFree` false: the loop's budget of
    /// descriptors is spent, which waits exactly as EMFILE does.
    func begin(descriptorFree: Bool = true) {
        let socket: TCPSocket
        do throws(POSIXError) {
            guard descriptorFree else { throw POSIXError(.EMFILE) }
            socket = try TCPSocket(to: spec.server)
        } catch {
            let code = error.code.rawValue
            guard code == EMFILE || code == ENFILE else { finish(.socketFailed(code)); return }
            // Out of descriptors: wait for one (others finish and close theirs), as long as the attempt could have run.
            let now = ContinuousClock.now
            let since = waitingSince ?? now
            waitingSince = since
            descriptorErrno = code
            if now - since >= max(spec.timeout * 4, .seconds(10)) { retryAt = nil; finish(.noDescriptor(code)); return }
            retryAt = now + .milliseconds(10)
            return
        }
        if waitingSince != nil {
            // The attempt starts now: its deadline counts from here.
            start = ContinuousClock.now
            deadline = start + spec.timeout
            waitingSince = nil
        }
        retryAt = nil
        self.socket = socket
        switch socket.connect() {
        case .connected: connected()
        case .inProgress: state = .connecting
        case .failed(let errno): finish(.connectFailed(errno))
        }
    }

    /// Queued behind attempts already waiting for a descriptor: it waits from now (for as long as
    /// `begin` lets an attempt wait), and tries for one when its turn comes.
    func queueForDescriptor() {
        waitingSince = waitingSince ?? .now
        if descriptorErrno == 0 { descriptorErrno = EMFILE }
        retryAt = .now
    }

    /// `buffer`: the loop's one read buffer, lent for this call.
    func handle(readable: Bool, writable: Bool, error: Bool, buffer: inout [UInt8]) {
        switch state {
        case .connecting:
            guard writable || error, let socket else { return }
            let errno = socket.pendingError
            if errno == 0 { connected() } else { finish(.connectFailed(errno)) }
        case .handshaking, .afterHandshake:
            if writable { flush() }
            if readable || error, !isFinished { readAvailable(into: &buffer) }
        case .idle, .finished:
            break
        }
    }

    /// Never started: the loop itself could not be set up (`errno` of epoll or eventfd).
    func refuse(errno code: Int32) {
        guard !isFinished else { return }
        descriptorErrno = code
        finish(code == EMFILE || code == ENFILE ? .noDescriptor(code) : .socketFailed(code))
    }

    /// The deadline passed, or the attempt was cancelled.
    func expire(cancelled: Bool = false) {
        guard !isFinished else { return }
        if cancelled { finish(.cancelled); return }
        switch state {
        case .connecting: finish(.timedOut(.connecting))
        case .afterHandshake: finish(.success)
        default: finish(.timedOut(.handshake))
        }
    }

    private func connected() {
        attempt.connectMs = elapsedMs
        if spec.recordConversation, let local = socket?.local {
            conversation = TCPConversation(client: local, server: spec.server)
            conversation?.record(.connect, at: micros())
        }
        do {
            connection = try SSLConnection(context: spec.context, serverName: attempt.serverName, verifyName: spec.verifyName ?? spec.host,
                                           addressAsName: spec.addressAsName, verifyTime: spec.verifyTime, observer: self)
        } catch {
            attempt.failure = error.entries.primaryFailure
            finish(.tlsFailed(error.entries))
            return
        }
        state = .handshaking
        handshakeStart = .now
        drive()
    }

    /// Runs OpenSSL on what it has and sends what it wrote.
    private func drive() {
        guard let connection else { return }
        switch connection.handshake() {
        case .done:
            queueOutput()
            handshakeDone = true
            attempt.handshakeMs = handshakeStart.map { (ContinuousClock.now - $0).seconds * 1000 }
            if connection.isTLS13, spec.postHandshakeWait > .zero {
                state = .afterHandshake(min(deadline, .now + spec.postHandshakeWait))
                readAfterHandshake()
            } else {
                finish(.success)
            }
        case .wantRead:
            queueOutput()
        case .failed(let entries):
            queueOutput()
            flush()   // the client's own alert, if OpenSSL sent one
            attempt.handshakeMs = handshakeStart.map { (ContinuousClock.now - $0).seconds * 1000 }
            finish(.tlsFailed(entries))
        }
    }

    private func readAfterHandshake() {
        guard let connection else { return }
        while !isFinished {
            switch connection.read() {
            case .data:
                continue
            case .wantRead:
                queueOutput()
                if sawServerMessageAfterHandshake { finish(.success) }
                return
            case .closed(let entries):
                queueOutput()
                flush()
                finish(attempt.fatalAlert != nil ? .tlsFailed(entries) : .success)
                return
            }
        }
    }

    private func queueOutput() {
        guard let bytes = connection?.takeOutput(), !bytes.isEmpty else { return }
        record(.data(.clientToServer, bytes), count: bytes.count)
        if outputOffset == output.count { output = bytes; outputOffset = 0 } else { output += bytes }
        flush()
    }

    private func flush() {
        guard let socket, outputOffset < output.count else { return }
        switch socket.write(output[outputOffset...]) {
        case .success(let n):
            outputOffset += n
            if outputOffset == output.count { output = []; outputOffset = 0 }
        case .failure(let error):
            output = []
            outputOffset = 0
            if !isFinished { finish(error.code == .ECONNRESET || error.code == .EPIPE ? .reset : .socketFailed(error.code.rawValue)) }
        }
    }

    private func readAvailable(into buffer: inout [UInt8]) {
        guard let socket else { return }
        // Bounded per wake-up, so one flooding server cannot starve the others.
        for _ in 0..<16 where !isFinished {
            switch socket.read(into: &buffer) {
            case .data(let n):
                attempt.bytesReceived += n
                if firstBytes.count < 64 { firstBytes += buffer[0..<min(n, 64 - firstBytes.count)] }
                record(.data(.serverToClient, Array(buffer[0..<n])), count: n)
                if attempt.bytesReceived > spec.limits.maxBytes { finish(.flood(.bytes(spec.limits.maxBytes))); return }
                buffer.withUnsafeBytes { connection?.feed(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                if case .afterHandshake = state { readAfterHandshake() } else { drive() }
                if tooManyMessages, !isFinished { finish(.flood(.messages(spec.limits.maxMessages))); return }
            case .wouldBlock:
                return
            case .closed:
                peerClosed = true
                record(.close(.serverToClient), count: 0)
                if case .afterHandshake = state { finish(.success) } else { finish(.closed) }
                return
            case .failed(let errno):
                finish(errno == ECONNRESET ? .reset : .socketFailed(errno))
                return
            }
        }
    }

    /// `event` is built only when a conversation is being recorded.
    private func record(_ event: @autoclosure () -> TCPConversation.Event, count: Int) {
        guard conversation != nil else { return }
        if count > 0 {
            guard recordedBytes + count <= spec.limits.maxRecordedBytes else { return }
            recordedBytes += count
        }
        conversation?.record(event(), at: micros())
    }

    // MARK: - The end

    private func finish(_ end: End) {
        guard !isFinished else { return }
        state = .finished
        if let connection {
            if handshakeDone {
                attempt.version = connection.version
                attempt.cipher = connection.cipher
                attempt.alpn = connection.alpn
                attempt.stapledResponse = connection.stapledResponse
                let verify = connection.verifyResult
                if verify.code == 0 { attempt.verifiedChain = connection.verifiedChain }
                attempt.verifyCode = verify.code
                attempt.verifyError = verify.error
                attempt.verifyText = verify.text
            }
            attempt.chain = connection.peerChain
            attempt.nameMatches = connection.peerMatches(spec.verifyName ?? spec.host, addressAsName: spec.addressAsName)
            attempt.acceptableCAs = connection.acceptableCAs
        }
        attempt.outcome = outcome(end)
        if case .success = end, connection != nil {
            connection?.shutdown()
            queueOutput()
        }
        if socket != nil, case .connectFailed = end {} else if socket != nil {
            if !peerClosed { record(.close(.clientToServer), count: 0) }
            socket?.shutdownWrite()
        }
        attempt.conversation = conversation
        OpenSSLError.clear()
    }

    private func outcome(_ end: End) -> HandshakeAttempt.Outcome {
        switch end {
        case .success:
            return attempt.fatalAlert.map { .alert($0) } ?? .established
        case .tlsFailed(let entries):
            attempt.failure = entries.primaryFailure ?? attempt.failure
            if let alert = attempt.fatalAlert { return .alert(alert) }
            if let preview = Self.notTLS(firstBytes) { return .notTLS(preview) }
            if attempt.failure?.reason == .unexpectedEOF { return .closed }
            return .failed
        case .closed:
            if let alert = attempt.fatalAlert { return .alert(alert) }
            if let preview = Self.notTLS(firstBytes) { return .notTLS(preview) }
            return .closed
        case .reset:
            return attempt.fatalAlert.map { .alert($0) } ?? .reset
        case .flood(let limit):
            return .flood(limit)
        case .connectFailed(let errno):
            attempt.connectMs = elapsedMs
            if errno == ECONNREFUSED { return .refused }
            if errno == ETIMEDOUT { return .timedOut(.connecting) }
            // Accepted, then reset before the handshake began.
            if errno == ECONNRESET || errno == EPIPE { return .reset }
            return .unreachable(errno)
        case .timedOut(let phase):
            if phase == .handshake, let preview = Self.notTLS(firstBytes) { return .notTLS(preview) }
            return .timedOut(phase)
        case .socketFailed(let errno):
            return errno == ECONNRESET || errno == EPIPE ? .reset : .unreachable(errno)
        case .noDescriptor(let errno):
            return .noDescriptor(errno)
        case .cancelled:
            return .timedOut(handshakeStart == nil ? .connecting : .handshake)
        }
    }

    /// A short preview when the first bytes are not a TLS record: printable ASCII as it is, every
    /// other byte written `\xNN` (a binary answer keeps its bytes: `'\x00\xff\x15…'`).
    static func notTLS(_ bytes: [UInt8]) -> String? {
        guard let first = bytes.first else { return nil }
        if (20...23).contains(first), bytes.count < 2 || bytes[1] == 3 { return nil }
        var text = ""
        for byte in bytes.prefix(40) {
            switch byte {
            case 0x0D: text += "\\r"
            case 0x0A: text += "\\n"
            case 0x09: text += "\\t"
            case 0x5C: text += "\\\\"
            case 0x27: text += "\\'"
            case 0x20...0x7E: text.unicodeScalars.append(Unicode.Scalar(byte))
            default: text += "\\x" + TextFormat.hex(byte)
            }
        }
        return "'\(text)' (0x\(TextFormat.hex(first)))"
    }


    // MARK: - What OpenSSL's callbacks report

    override func keyLog(_ line: String) {
        if attempt.keyLog.count < 16 { attempt.keyLog.append(line) }
    }

    override func message(sent: Bool, contentType: UInt8, bytes: UnsafeRawBufferPointer, tls13: Bool) {
        guard let type = ContentType(rawValue: contentType), !bytes.isEmpty else { return }
        attempt.messageCount += 1
        if attempt.messageCount > spec.limits.maxMessages { tooManyMessages = true }
        let sender: Peer = sent ? .client : .server
        var text = type.name
        switch type {
        case .handshake:
            text += " \(HandshakeType.name(bytes[0]))"
            if !sent, bytes[0] == 13 { attempt.certificateRequested = true }
            if !sent, handshakeDone { sawServerMessageAfterHandshake = true }
            if sent, bytes[0] == 11 {
                // Certificate: in TLS 1.3 a context byte string comes first; an empty list means none sent.
                let at = tls13 && bytes.count > 4 ? 5 + Int(bytes[4]) : 4
                if bytes.count >= at + 3 { attempt.clientCertificateSent = bytes[at] != 0 || bytes[at + 1] != 0 || bytes[at + 2] != 0 }
            }
        case .alert where bytes.count >= 2:
            let alert = TLSAlert(code: bytes[1], level: bytes[0] == 1 ? .warning : .fatal, sender: sender, variant: spec.variant,
                                 server: spec.server, serverName: attempt.serverName)
            if attempt.alerts.count < 64 { attempt.alerts.append(alert) }
            if !sent, handshakeDone { sawServerMessageAfterHandshake = true }
            text += " \(alert.isFatal ? "fatal" : "warning") \(alert.name) (\(alert.code))"
        default:
            break
        }
        if attempt.messages.count < HandshakeAttempt.messageLimit {
            attempt.messages.append(TLSMessageEvent(sender: sender, description: text, atMs: (elapsedMs * 100).rounded() / 100))
        }
    }
}
