import Foundation
import Testing
import TriageTestSupport

/// `triage run` reads a plain command line itself (the argument parser's
/// reflection was a third of a whole run). The two readers must agree: every
/// line here is read by both and the commands they make compared property by
/// property; a line triage does not read in full goes to the parser.
@Suite struct RunCommandLineTests {
    /// What `TRIAGE_SHOW_COMMAND_LINE=1 triage run …` prints: which reader, then the command.
    func show(_ arguments: [String], parser: Bool) async throws -> CommandResult {
        let env = ["/usr/bin/env", "TRIAGE_SHOW_COMMAND_LINE=1"] + (parser ? ["TRIAGE_ARGUMENT_PARSER=1"] : [])
        return try await Command.run(env + [TestPaths.triageBinary.path, "run"] + arguments)
    }

    static let plain: [[String]] = [
        ["https://upstream.test/"],
        ["upstream.test:8443"],
        [],
        ["--nginx-conf", "/etc/nginx/nginx.conf", "--location", "/api"],
        ["https://a.test/", "--set", "x=1", "--set=y=2", "-k", "-v", "--ca-file", "/tmp/ca.pem", "--warn-days", "-5",
         "--max-time=30s", "--lang", "zh", "--format", "md", "--trust-store", "java=/tmp/cacerts", "-H", "X-Token: abc"],
        ["--via", "http://127.0.0.1:8080/api", "--proxy-sni", "none", "--proxy-version", "1.22.1", "--no-nginx-discovery",
         "--nginx-error-log", "/var/log/nginx/error.log", "--since", "2h", "--dns-server", "127.0.0.53:5353", "https://b.test/"],
        ["https://c.test/", "--resolve", "c.test:443:127.0.0.1", "--connect-to", "c.test:443:d.test:8443", "-E", "c.pem",
         "--key", "k.pem", "-x", "http://proxy.test:3128", "--noproxy", "*", "-q", "--json", "--no-keylog", "--at", "-12h"],
        ["https://e.test/", "--fetch-aia", "--fetch-ocsp", "--fetch-crl", "--out", "/tmp/case", "--force", "--template", "t.mustache",
         "--step-timeout", "5s", "--proxy-log", "/var/log/haproxy.log", "--proxy-backend", "be/s1", "--runbook", "nginx-error",
         "--cacert", "/tmp/other.pem", "--insecure", "--verbose"],
    ]

    /// `c.pem` and `k.pem` in a line are a client certificate and key minted here (run checks them before it runs).
    func withClientIdentity(_ arguments: [String]) throws -> [String] {
        guard arguments.contains("c.pem") else { return arguments }
        let client = try TLSFixtures.leaf("client.c.test", issuer: TLSFixtures.root())
        let cert = try TLSFixtures.file(client.certificatePEM, named: "c.pem"), key = try TLSFixtures.file(client.keyPEM, named: "k.pem")
        return arguments.map { $0 == "c.pem" ? cert : $0 == "k.pem" ? key : $0 }
    }

    @Test(arguments: plain) func aPlainLineIsReadByTriageAsTheParserReadsIt(_ arguments: [String]) async throws {
        let arguments = try withClientIdentity(arguments)
        let quick = try await show(arguments, parser: false)
        let parsed = try await show(arguments, parser: true)
        #expect(quick.status == 0 && parsed.status == 0, "\(quick.stderr) \(parsed.stderr)")
        #expect(quick.stdout.hasPrefix("read by: triage\n"), "\(quick.stdout.prefix(80))")
        #expect(parsed.stdout.hasPrefix("read by: the argument parser\n"))
        let body = { (r: CommandResult) in r.stdout.split(separator: "\n", maxSplits: 1).last.map(String.init) ?? "" }
        #expect(body(quick) == body(parsed))
        #expect(body(quick).contains("_runbook"), "the whole command is shown")
    }

    static let forTheParser: [[String]] = [
        ["a.test", "b.test"],                       // a second TARGET
        ["-kv", "a.test"],                          // bundled short flags
        ["a.test", "--runbook", "x", "--runbook", "y"],
        ["a.test", "--set"],                        // a missing value
        ["a.test", "--set", "novalue"],             // validate() refuses it
        ["a.test", "--out", "--force"],             // a value that looks like an option
        ["a.test", "--bogus"],
        ["a.test", "--warn-days", "many"],
        ["a.test", "-v", "-q"],
        ["a.test", "--ca-file", "a.pem", "--cacert", "b.pem"],
        ["a.test", "-k", "--insecure"],             // one flag under its two names
        ["a.test", "--"],
        ["a.test", "--out="],                       // an empty attached value: the parser takes the next word or refuses
        ["--out=", "a.test"],
    ]

    @Test(arguments: forTheParser) func anythingElseGoesToTheParser(_ arguments: [String]) async throws {
        let quick = try await show(arguments, parser: false)
        let parsed = try await show(arguments, parser: true)
        #expect(!quick.stdout.hasPrefix("read by: triage"), "\(arguments)")
        #expect(quick.status == parsed.status && quick.stdout == parsed.stdout && quick.stderr == parsed.stderr,
                "\(arguments): \(quick.status) \(quick.stderr) / \(parsed.status) \(parsed.stderr)")
    }
}
