import Foundation
import TriageProbes
#if canImport(Glibc)
import Glibc
#endif

/// A real nginx on 127.0.0.1 with its own prefix, pid file and logs in a
/// temporary folder: the proxy of `triage demo` and of the end-to-end tests.
public final class NginxRunner: Sendable {
    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    /// The nginx binary, if installed (Debian: nginx-light).
    public static var binary: String? {
        ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    public let port: Int
    /// More ports, for `LISTEN_1` … `LISTEN_N` in the configuration.
    public let ports: [Int]
    public let prefix: URL
    public var errorLog: URL { prefix.appendingPathComponent("error.log") }
    public var configuration: URL { prefix.appendingPathComponent("nginx.conf") }
    private let process: BackgroundProcess

    /// Starts nginx with `http` as the body of its `http { }` block; the
    /// text `LISTEN` in it is replaced by `127.0.0.1:PORT`, and `LISTEN_1`
    /// … `LISTEN_N` by `extraPorts` more free ports (`ports`).
    /// `launcher` runs before nginx (e.g. `unshare --mount …` to give it its own /etc/hosts).
    public init(http: String, prefix: URL, extraPorts: Int = 0, launcher: [String] = []) throws {
        guard let binary = Self.binary else { throw Unavailable(description: "nginx is not installed (make install-deps installs nginx-light)") }
        try FileManager.default.createDirectory(at: prefix, withIntermediateDirectories: true)
        self.prefix = prefix
        port = SocketAddress.freePort()
        var extra: [Int] = []
        while extra.count < extraPorts {
            let candidate = SocketAddress.freePort()
            if candidate != port, !extra.contains(candidate) { extra.append(candidate) }
        }
        ports = extra
        var body = http
        // Highest first, so LISTEN_1 does not eat the start of LISTEN_12.
        for (index, extraPort) in extra.enumerated().reversed() {
            body = body.replacingOccurrences(of: "LISTEN_\(index + 1)", with: "127.0.0.1:\(extraPort)")
        }
        let p = prefix.path
        let user = getuid() == 0 ? "user root;\n" : ""
        let text = """
            \(user)worker_processes 1;
            daemon off;
            pid \(p)/nginx.pid;
            error_log \(p)/error.log info;
            worker_rlimit_nofile 16384;
            events { worker_connections 4096; }
            http {
                access_log \(p)/access.log;
                client_body_temp_path \(p)/client_body;
                proxy_temp_path \(p)/proxy;
                fastcgi_temp_path \(p)/fastcgi;
                uwsgi_temp_path \(p)/uwsgi;
                scgi_temp_path \(p)/scgi;
            \(body.replacingOccurrences(of: "LISTEN", with: "127.0.0.1:\(port)"))
            }

            """
        try text.write(to: prefix.appendingPathComponent("nginx.conf"), atomically: true, encoding: .utf8)
        process = try BackgroundProcess(launcher + [binary, "-p", p, "-c", "\(p)/nginx.conf"], output: "\(p)/stderr.log")
        let deadline = ContinuousClock.now + .seconds(5)
        while !SocketAddress.accepts(port) {
            if process.hasExited || ContinuousClock.now > deadline {
                let log = (try? String(contentsOfFile: "\(p)/stderr.log", encoding: .utf8)) ?? ""
                process.stop()
                throw Unavailable(description: "nginx did not start: \(log.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
            usleep(20_000)
        }
    }

    deinit { stop() }

    public func stop() { process.stop() }

    /// The seed's configuration: `location /test` proxying to an upstream
    /// block over HTTPS, keepalive, a fixed Host header, short timeouts.
    /// `extra` goes into the location (e.g. proxy_ssl_* directives).
    public static func seedConfiguration(upstream: String, host: String, extra: String = "") -> String {
        """
            upstream middleground_backend {
                server \(upstream);
                keepalive 100;
            }
            server {
                listen LISTEN;
                location /test {
                    proxy_pass https://middleground_backend/xxx/xxx;
                    proxy_http_version 1.1;
                    proxy_set_header Host "\(host)";
                    proxy_set_header Connection "keep-alive";
                    proxy_connect_timeout 5;
                    proxy_send_timeout 10;
                    proxy_read_timeout 10;
            \(extra)
                }
            }
        """
    }
}
