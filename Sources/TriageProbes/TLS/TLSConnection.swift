import Foundation
import TriageWire
internal import COpenSSL
internal import CTriageShims

/// One TLS handshake over a socket triage drives itself: OpenSSL reads and
/// writes memory BIOs, and this loop moves the bytes to and from the
/// socket. That gives every byte for the self-capture, and a deadline on
/// every wait.
enum TLSConnection {
    static func attempt(_ context: TLSClientContext, address: String, port: Int, host: String, variant: SNIVariant,
                        options: TLSClientOptions, cancel: CancelFlag) -> HandshakeAttempt {
        let serverName = variant.serverName(host: host, address: address)
        let recorder = AttemptRecorder(HandshakeAttempt(address: address, port: port, host: host, variant: variant, serverName: serverName))
        let deadline = ContinuousClock.now + options.timeout
        let isCancelled = { cancel.isCancelled }
        let wallStart = Date()
        func micros() -> UInt64 { UInt64((wallStart.timeIntervalSince1970 + recorder.elapsedMs / 1000) * 1_000_000) }

        let tcp: TCPClient
        do {
            tcp = try TCPClient.connect(to: address, port: port, deadline: deadline, isCancelled: isCancelled)
        } catch {
            recorder.attempt.connectMs = recorder.elapsedMs
            recorder.attempt.outcome = switch error {
            case .refused: .refused
            case .timedOut(let phase): .timedOut(phase)
            default: .failed(error.description)
            }
            return recorder.attempt
        }
        recorder.attempt.connectMs = recorder.elapsedMs
        var conversation = TCPConversation(client: .init(address: tcp.local.address, port: tcp.local.port),
                                           server: .init(address: tcp.remote.address, port: tcp.remote.port))
        conversation.record(.connect, at: micros())

        guard let ssl = SSL_new(context.ctx) else {
            recorder.attempt.outcome = .failed(OpenSSLError.capture("SSL_new").description)
            return recorder.attempt
        }
        defer { SSL_free(ssl) }
        let recorderPointer = Unmanaged.passUnretained(recorder).toOpaque()
        SSL_set_ex_data(ssl, 0, recorderPointer)
        SSL_set_msg_callback(ssl) { writeP, _, contentType, buffer, length, ssl, _ in
            guard let ssl, let buffer, let raw = SSL_get_ex_data(ssl, 0) else { return }
            Unmanaged<AttemptRecorder>.fromOpaque(raw).takeUnretainedValue()
                .message(sent: writeP == 1, contentType: contentType, bytes: UnsafeRawBufferPointer(start: buffer, count: length))
        }
        if let serverName { triage_ssl_set_sni(ssl, serverName) }
        if HostAddresses.isIPLiteral(host) {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
        } else {
            SSL_set1_host(ssl, host)
        }
        let rbio = BIO_new(BIO_s_mem()), wbio = BIO_new(BIO_s_mem())
        SSL_set_bio(ssl, rbio, wbio)
        SSL_set_connect_state(ssl)

        var received = 0
        var firstBytes: [UInt8] = []
        var peerClosed = false
        func flush() throws(TCPClient.Failure) {
            let pending = triage_bio_pending(wbio)
            guard pending > 0 else { return }
            var bytes = [UInt8](repeating: 0, count: pending)
            let n = BIO_read(wbio, &bytes, Int32(pending))
            guard n > 0 else { return }
            bytes = Array(bytes[0..<Int(n)])
            conversation.record(.data(.clientToServer, bytes), at: micros())
            try tcp.send(bytes, deadline: deadline, isCancelled: isCancelled)
        }
        func fill(until: ContinuousClock.Instant, phase: String) throws(TCPClient.Failure) -> Bool {
            let bytes = try tcp.receive(deadline: until, phase: phase, isCancelled: isCancelled)
            if bytes.isEmpty {
                peerClosed = true
                conversation.record(.close(.serverToClient), at: micros())
                return false
            }
            if received == 0 { firstBytes = Array(bytes.prefix(64)) }
            received += bytes.count
            conversation.record(.data(.serverToClient, bytes), at: micros())
            _ = bytes.withUnsafeBytes { BIO_write(rbio, $0.baseAddress, Int32($0.count)) }
            return true
        }

        let handshakeStart = ContinuousClock.now
        var failure: String?
        do {
            handshake: while true {
                ERR_clear_error()
                let rc = SSL_do_handshake(ssl)
                try flush()
                if rc == 1 { break }
                switch SSL_get_error(ssl, rc) {
                case SSL_ERROR_WANT_READ:
                    if try !fill(until: deadline, phase: "waiting for the server's handshake") {
                        failure = received == 0 ? "the server closed the connection without answering" : "the server closed the connection during the handshake"
                        break handshake
                    }
                case SSL_ERROR_WANT_WRITE:
                    continue
                default:
                    failure = OpenSSLError.drain().last ?? "handshake failed"
                    try? flush()
                    break handshake
                }
            }
            recorder.attempt.handshakeMs = (ContinuousClock.now - handshakeStart).seconds * 1000
            if failure == nil {
                recorder.handshakeDone = true
                if SSL_version(ssl) == TLS1_3_VERSION { try readAfterHandshake() }
            }
        } catch {
            recorder.attempt.handshakeMs = (ContinuousClock.now - handshakeStart).seconds * 1000
            failure = error.description
            if case .timedOut(let phase) = error { recorder.attempt.outcome = .timedOut(phase) }
        }

        /// TLS 1.3 servers reject a client certificate after the client's
        /// Finished; read once so that alert is seen (NOTES.md).
        func readAfterHandshake() throws(TCPClient.Failure) {
            let until = min(deadline, ContinuousClock.now + options.postHandshakeWait)
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !recorder.sawServerMessageAfterHandshake {
                ERR_clear_error()
                let rc = SSL_read(ssl, &buffer, Int32(buffer.count))
                try flush()
                if rc > 0 { return }
                let error = SSL_get_error(ssl, rc)
                guard error == SSL_ERROR_WANT_READ else {
                    if recorder.attempt.fatalAlert != nil { failure = OpenSSLError.drain().last ?? "alert after the handshake" }
                    return
                }
                if recorder.sawServerMessageAfterHandshake { return }
                do {
                    guard try fill(until: until, phase: "after the handshake") else { return }
                } catch .timedOut {
                    return
                }
            }
        }

        collect(ssl, into: &recorder.attempt)
        if failure == nil {
            recorder.attempt.outcome = .established
            SSL_shutdown(ssl)
            try? flush()
        } else if case .timedOut = recorder.attempt.outcome {
            // keep it
        } else if let alert = recorder.attempt.fatalAlert {
            recorder.attempt.outcome = .alert(alert)
            recorder.attempt.errors.append(failure!)
        } else if let preview = notTLS(firstBytes) {
            recorder.attempt.outcome = .notTLS(preview)
        } else {
            recorder.attempt.outcome = .failed(failure!)
        }
        if !peerClosed { conversation.record(.close(.clientToServer), at: micros()) }
        tcp.shutdownWrite()
        recorder.attempt.conversation = conversation
        ERR_clear_error()
        return recorder.attempt
    }

    /// Negotiated parameters, verify result, the peer's chain and CA list.
    static func collect(_ ssl: OpaquePointer, into attempt: inout HandshakeAttempt) {
        if let version = SSL_get_version(ssl), attempt.handshakeMs != nil, SSL_is_init_finished(ssl) == 1 {
            attempt.version = String(cString: version)
            if let cipher = SSL_get_current_cipher(ssl) { attempt.cipher = String(cString: SSL_CIPHER_get_name(cipher)) }
            var data: UnsafePointer<UInt8>?
            var length: UInt32 = 0
            SSL_get0_alpn_selected(ssl, &data, &length)
            if let data, length > 0 { attempt.alpn = String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self) }
            let code = Int(SSL_get_verify_result(ssl))
            attempt.verifyCode = code
            attempt.verifyText = String(cString: X509_verify_cert_error_string(code))
        }
        if let stack = SSL_get_peer_cert_chain(ssl) {
            for i in 0..<triage_sk_x509_num(stack) {
                if let x = triage_sk_x509_value(stack, i), let cert = try? Certificate(x509: x) { attempt.chain.append(cert) }
            }
        }
        if let names = SSL_get_client_CA_list(ssl) {
            for i in 0..<triage_sk_x509_name_num(names) {
                if let name = triage_sk_x509_name_value(names, i), let text = takeString(triage_x509_name(name)) {
                    attempt.acceptableCAs.append(text)
                }
            }
        }
    }

    /// A short printable preview when the first bytes are not a TLS record.
    static func notTLS(_ bytes: [UInt8]) -> String? {
        guard let first = bytes.first else { return nil }
        if (20...23).contains(first), bytes.count < 2 || bytes[1] == 3 { return nil }
        let text = String(decoding: bytes.prefix(40), as: UTF8.self)
            .replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\n", with: "\\n")
        return "'\(text.filter { !$0.isASCII || $0.asciiValue! >= 32 })' (first byte 0x\(String(first, radix: 16)))"
    }
}
