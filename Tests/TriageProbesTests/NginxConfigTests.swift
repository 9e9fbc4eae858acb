import Foundation
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
