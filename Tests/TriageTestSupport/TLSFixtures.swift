import Foundation
import TriageDemo
import TriageKit
import TriageProbes
#if canImport(Glibc)
import Glibc
#endif

/// Certificates with chosen dates, names, chains and keys, minted at test
/// time, and servers on 127.0.0.1 that misbehave in one chosen way.
public enum TLSFixtures {
    public static let day: TimeInterval = 86_400
    public static let host = "api.example.test"

    /// Midnight UTC `days` from now (negative: in the past), so dates in
    /// assertions are exact.
    public static func midnight(_ days: Int, from now: Date = Date()) -> Date {
        Date(timeIntervalSince1970: ((now.timeIntervalSince1970 / day).rounded(.down) + Double(days)) * day)
    }

    public static func root(_ name: String = "triage test root") throws -> CertificateMint.Identity {
        try CertificateMint.mint(.init(commonName: name, notBefore: midnight(-3650), notAfter: midnight(3650), isCA: true))
    }

    public static func leaf(_ name: String = host, sans: [String]? = nil, notBefore: Date = midnight(-30), notAfter: Date = midnight(335),
                            key: CertificateMint.KeyKind = .ecP256, extendedKeyUsage: String? = nil,
                            issuer: CertificateMint.Identity?) throws -> CertificateMint.Identity {
        let leaf = try CertificateMint.mint(.init(commonName: name, subjectAltNames: sans, notBefore: notBefore, notAfter: notAfter, key: key),
                                            issuer: issuer)
        return try extendedKeyUsage.map { try leaf.extended(extendedKeyUsage: $0, issuer: issuer) } ?? leaf
    }

    /// An intermediate CA under `issuer`.
    public static func intermediate(_ name: String, notBefore: Date = midnight(-100), notAfter: Date = midnight(1000),
                                    issuer: CertificateMint.Identity) throws -> CertificateMint.Identity {
        try CertificateMint.mint(.init(commonName: name, notBefore: notBefore, notAfter: notAfter, isCA: true), issuer: issuer)
    }

    /// Writes PEM text to a temporary file and returns its path.
    public static func file(_ pem: String, named name: String = "ca.pem") throws -> String {
        let url = TestPaths.temporaryFolder("pem").appendingPathComponent(name)
        try pem.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// A TLS server presenting `chain` (leaf first) with `leaf`'s key.
    public static func server(chain: [CertificateMint.Identity], key: CertificateMint.Identity, address: String = "127.0.0.1", port: Int = 0,
                              configure: (inout TLSServer.Configuration) -> Void = { _ in },
                              handler: TLSServer.Handler? = nil) throws -> TLSServer {
        var configuration = TLSServer.Configuration(chainPEM: chain.map(\.certificatePEM).joined(), keyPEM: key.keyPEM)
        configure(&configuration)
        return try TLSServer(configuration, address: address, port: port, handler: handler)
    }
}

/// A TCP server on 127.0.0.1 that is not a TLS server: it answers plain
/// HTTP, or accepts and never says anything.
public final class PlainTCPServer: Sendable {
    /// `http`: 400 with a cookie to every request; `ok`: 200 with a body of 3 bytes; `body`: 200 with these
    /// bytes (a certificate an AIA URL names); `status`: that status with an empty body (a proxy's 503); `silent`: never a byte;
    /// `raw`: these bytes and nothing else, whatever was asked (a binary or garbage answer).
    public enum Mode: Sendable, Equatable { case http, ok, body([UInt8]), status(Int), silent, raw([UInt8]) }

    public let port: Int
    private let listener: Int32
    private let stopFlag = CancelFlag()

    /// `port` 0: any free one.
    public init(_ mode: Mode, port wanted: Int = 0) throws {
        let bound = try SocketAddress.bind(port: wanted).get()
        guard listen(bound.fd, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        let fd = bound.fd
        listener = fd
        port = bound.port
        let stop = stopFlag
        Thread {
            var held: [Int32] = []
            while !stop.isCancelled {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&p, 1, 100) > 0 else { continue }
                let client = accept(fd, nil, nil)
                guard client >= 0 else { continue }
                switch mode {
                case .silent:
                    held.append(client) // keep it open, say nothing
                case .http, .ok, .body, .status, .raw:
                    var buffer = [UInt8](repeating: 0, count: 4096)
                    _ = recv(client, &buffer, buffer.count, 0)
                    let answer: [UInt8] = switch mode {
                    case .raw(let bytes): bytes
                    case .status(let status): Array("HTTP/1.1 \(status) Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
                    case .ok: Array("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n".utf8)
                    case .body(let bytes):
                        Array("HTTP/1.1 200 OK\r\nContent-Type: application/pkix-cert\r\nContent-Length: \(bytes.count)\r\nConnection: close\r\n\r\n".utf8) + bytes
                    default: Array("HTTP/1.1 400 Bad Request\r\nSet-Cookie: sid=fixture-cookie-secret\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
                    }
                    _ = send(client, answer, answer.count, Int32(MSG_NOSIGNAL))
                    close(client)
                }
            }
            held.forEach { close($0) }
            close(fd)
        }.start()
    }

    deinit { stop() }

    public func stop() { stopFlag.cancel() }

    /// A port nothing listens on: bound, then closed.
    public static func closedPort() -> Int { SocketAddress.freePort() }
}

/// Runs the bundled default runbook against a URL, in process, into a
/// temporary case folder, and returns what it recorded.
public enum DefaultRunbook {
    public struct Run: Sendable {
        public var record: CaseRecord
        public var folder: URL
        public var document: ReportDocument
        public var markdown: String

        public var root: ReportDocument.CauseEntry? { document.rootCause }
        public var direct: ReportDocument.CauseEntry? { document.directCause }
        public func step(_ id: String) -> StepResult? { record.steps.first { $0.id == id } }
    }

    public static func run(port: Int, host: String = TLSFixtures.host, caFile: String?, addresses: String? = "127.0.0.1",
                           extra: [String: String] = [:], stepTimeout: Duration? = nil, runbook: String = "tls-upstream") async throws -> Run {
        var given = ["url": "https://\(host):\(port)/v1/health"]
        if let addresses { given["addresses"] = addresses }
        if let caFile { given["ca_file"] = caFile }
        given.merge(extra) { $1 }
        let folder = TestPaths.temporaryFolder("case")
        let request = CaseRun.Request(runbook: try Bundled.runbook(runbook), given: given, out: folder, stepTimeout: stepTimeout)
        let record = try await CaseRun(request, catalog: .standard).run()
        let document = try ReportDocument.decode(Data(contentsOf: folder.appendingPathComponent("report.json")))
        let markdown = try String(contentsOf: folder.appendingPathComponent("report.md"), encoding: .utf8)
        return Run(record: record, folder: folder, document: document, markdown: markdown)
    }
}
