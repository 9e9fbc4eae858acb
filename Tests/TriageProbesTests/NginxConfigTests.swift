import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TriageKit
import TriageProbes
import TriageTestSupport

@Suite struct NginxConfigTests {
    static let seed = """
        http {
            include upstreams/*.conf;
            server {
                listen 8080;
                location /test
                {
                    proxy_pass https://middleground_workonly_backend/xxx/xxx;
                    proxy_http_version 1.1;
                    proxy_set_header Host "xxx-sandbox-workonly.xxx.xxx";
                    proxy_set_header Connection "keep-alive";
                    proxy_connect_timeout 5;  # seconds
                }
                location / { return 404; }
            }
        }
        """

    func write(_ text: String, upstreams: String? = nil) throws -> String {
        let folder = TestPaths.temporaryFolder("nginx-conf")
        if let upstreams {
            try FileManager.default.createDirectory(at: folder.appendingPathComponent("upstreams"), withIntermediateDirectories: true)
            try upstreams.write(to: folder.appendingPathComponent("upstreams/backend.conf"), atomically: true, encoding: .utf8)
        }
        let path = folder.appendingPathComponent("nginx.conf").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func seedConfigurationDerivesTheUpstreamAndNoSNI() throws {
        let path = try write(Self.seed, upstreams: """
            upstream middleground_workonly_backend {
                server xxx-sandbox-workonly.xxx.xxx:443;
                keepalive 100;
            }
            """)
        let view = try NginxProxyView.view(try NginxConfig(contentsOf: path), path: "/test/anything")
        #expect(view.location == "/test")
        #expect(view.upstreamName == "middleground_workonly_backend")
        #expect(view.servers.map { "\($0.host):\($0.port)" } == ["xxx-sandbox-workonly.xxx.xxx:443"])
        #expect(view.sendsSNI == false)
        #expect(view.sni == nil)
        #expect(view.hostHeader == "xxx-sandbox-workonly.xxx.xxx")
        #expect(view.notes.first.map(TextTable.english.render) == "proxy_ssl_server_name is off (the default): nginx sends no SNI to middleground_workonly_backend")
        #expect(view.where_ == "\(path):5")
    }

    @Test func serverNameOnWithoutNameSendsTheUpstreamBlockName() throws {
        let config = try NginxConfig(text: """
            http {
                proxy_ssl_server_name on;
                upstream pool { server 10.0.0.1:8443; server 10.0.0.2:8443; }
                server { location /api/ { proxy_pass https://pool; proxy_ssl_verify on; proxy_ssl_protocols TLSv1.3; } }
            }
            """)
        let view = try NginxProxyView.view(config, path: "/api/v1")
        #expect(view.sni == "pool")
        #expect(view.servers.count == 2)
        #expect(view.verify)
        #expect(view.protocols == ["TLSv1.3"])
        #expect(view.notes.contains { TextTable.english.render($0).contains("sends the upstream block's name 'pool' as SNI") })
    }

    /// `proxy_ssl_name $host` is the Host of the request being replayed;
    /// `$http_host` keeps its port; `$proxy_host` is the upstream block's name.
    @Test func sslNameVariablesComeFromTheReplayedRequest() throws {
        func sni(_ name: String, request: String) throws -> String? {
            let config = try NginxConfig(text: """
                http {
                    upstream pool { server 10.0.0.1:443; }
                    server { listen 8080; location / { proxy_pass https://pool; proxy_ssl_server_name on; proxy_ssl_name \(name); } }
                }
                """)
            return try NginxProxyView.view(config, path: "/", request: request).sni
        }
        #expect(try sni("$host", request: "http://shop.example.test:8080/") == "shop.example.test")
        // nginx sends only the host part of proxy_ssl_name as SNI.
        #expect(try sni("$http_host", request: "http://shop.example.test:8080/") == "shop.example.test")
        #expect(try sni("$proxy_host", request: "http://shop.example.test:8080/") == "pool")
        #expect(try sni("api.$host", request: "http://example.test:8080/") == "api.example.test")
    }

    /// The server block is chosen by listen port and server_name, the
    /// default_server when no name matches; within it, locations in nginx's
    /// order: exact, then the longest prefix (^~ stops there), then regexes
    /// in file order, then that longest prefix; nested locations inside it.
    @Test func serverBlocksAndLocationsInNginxOrder() throws {
        let config = try NginxConfig(text: """
            http {
                server {
                    listen 8080 default_server;
                    server_name _;
                    location / { proxy_pass https://default.example.test; }
                }
                server {
                    listen 8080;
                    server_name shop.example.test;
                    location = /exact { proxy_pass https://exact.example.test; }
                    location /static/ { proxy_pass https://prefix.example.test; }
                    location ^~ /static/img/ { proxy_pass https://noregex.example.test; }
                    location ~ \\.php$ { proxy_pass https://php.example.test; }
                    location ~* \\.(png|jpg)$ { proxy_pass https://image.example.test; }
                    location /api/ {
                        proxy_pass https://api.example.test;
                        location /api/v2/ { proxy_pass https://v2.example.test; }
                    }
                }
                server {
                    listen 9090;
                    server_name shop.example.test;
                    location / { proxy_pass https://other-port.example.test; }
                }
            }
            """)
        func pass(_ path: String, _ request: String = "http://shop.example.test:8080/") throws -> String {
            try NginxProxyView.view(config, path: path, request: request).proxyPass
        }
        #expect(try pass("/exact") == "https://exact.example.test")
        #expect(throws: NginxProxyView.Failure.self, "= /exact matches only /exact, and shop has no / location") { try pass("/exact/more") }
        #expect(try pass("/static/app.js") == "https://prefix.example.test")
        #expect(try pass("/static/logo.PNG") == "https://image.example.test", "a regex beats a plain prefix")
        #expect(try pass("/static/img/logo.png") == "https://noregex.example.test", "^~ stops the regex search")
        #expect(try pass("/index.php") == "https://php.example.test")
        #expect(try pass("/api/v1/users") == "https://api.example.test")
        #expect(try pass("/api/v2/users") == "https://v2.example.test", "a nested location")
        #expect(try pass("/", "http://unknown.example.test:8080/") == "https://default.example.test", "default_server")
        #expect(try pass("/", "http://shop.example.test:9090/") == "https://other-port.example.test", "by listen port")
    }

    /// Found by make fuzz (`a{include /*;`): include reads regular files
    /// only — a glob skips directories and FIFOs, a named /dev/zero is an
    /// error — and blocks nest at most 100 deep.
    @Test func includeReadsRegularFilesOnly() throws {
        let folder = TestPaths.temporaryFolder("nginx-include")
        try "upstream pool { server 10.0.0.1:443; }\n".write(to: folder.appendingPathComponent("a.conf"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("dir.conf"), withIntermediateDirectories: true)
        #expect(mkfifo(folder.appendingPathComponent("fifo.conf").path, 0o600) == 0)
        let config = try NginxConfig(text: "http { include \(folder.path)/*.conf; }", file: folder.appendingPathComponent("nginx.conf").path)
        #expect(config.directives.first?.block?.map(\.name) == ["upstream"])
        do {
            _ = try NginxConfig(text: "include /dev/zero;")
            Issue.record("/dev/zero was read")
        } catch {
            #expect(error.description == "/dev/zero: not a regular file")
        }
        // The file as a whole has no line to name: a folder, a missing file.
        #expect(throws: NginxConfig.ParseError.self) { try NginxConfig(contentsOf: folder.path) }
        do { _ = try NginxConfig(contentsOf: folder.appendingPathComponent("missing.conf").path) } catch {
            #expect(error.description == "\(folder.path)/missing.conf: cannot read the file: No such file or directory")
        }
        do { _ = try NginxConfig(contentsOf: folder.path) } catch {
            #expect(error.description == "\(folder.path): cannot read the file: Is a directory")
        }
        let deep = String(repeating: "location / { ", count: 101) + String(repeating: "}", count: 101)
        #expect(throws: NginxConfig.ParseError.self) { try NginxConfig(text: deep) }
    }

    @Test func badConfigurationsGiveLineNumbers() {
        func error(_ text: String) -> String {
            do { _ = try NginxConfig(text: text, file: "bad.conf"); return "" } catch { return error.description }
        }
        #expect(error("http {\n  server {\n    listen 80\n  }\n}\n") == "bad.conf:4: directive 'listen' has no closing ';'")
        #expect(error("http {\n  server {\n") == "bad.conf:2: block 'server' opened here is never closed with '}'")
        #expect(error("}\n") == "bad.conf:1: unexpected '}': no block is open")
        #expect(error("http { proxy_set_header Host \"x;\n}\n") == "bad.conf:1: unterminated quoted string: expected a closing \"")
        #expect(error("events {}\nworker_processes 1") == "bad.conf:2: directive 'worker_processes' has no closing ';' before the end of the file")
    }

    @Test func badConfigurationIsExitTwoFromTheCLI() async throws {
        let path = try write("http {\n  server {\n    location /test { proxy_pass https://x }\n  }\n}\n")
        let r = try await Command.triage(["run", "--nginx-conf", path, "--via", "http://127.0.0.1:1/test"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("\(path):3: directive 'proxy_pass' has no closing ';'"))
    }
}
