import Foundation
import Testing
import TriageKit
import TriageProbes
import TriageTestSupport
import TriageWire

@Suite struct DNSResolveTests {
    func resolve(_ host: String, server: String?, timeout: String = "1s") async throws -> StepOutcome {
        var arguments: [String: Value] = ["host": .string(host), "timeout": .string(timeout)]
        if let server { arguments["server"] = .string(server) }
        let context = StepContext(stepID: "dns", arguments: arguments, timeout: .seconds(5), deadline: .now + .seconds(5),
                                  runStartedAt: Date(), evidence: EvidenceDirectory(caseFolder: nil, stepID: "dns"))
        return try await DNSResolveStep().run(context)
    }

    static let cname = DNSMessage.RecordType.cname.rawValue
    static let a = DNSMessage.RecordType.a.rawValue
    static let aaaa = DNSMessage.RecordType.aaaa.rawValue

    @Test func cnameChainWithTTLs() async throws {
        let dns = try DNSFixture(zones: [
            "www.corp.example.com": .init(records: [
                .init(name: "www.corp.example.com", type: Self.cname, ttl: 300, data: "edge.cdn.example.net"),
                .init(name: "edge.cdn.example.net", type: Self.cname, ttl: 60, data: "pop1.cdn.example.net"),
                .init(name: "pop1.cdn.example.net", type: Self.a, ttl: 20, data: "127.0.0.2"),
                .init(name: "pop1.cdn.example.net", type: Self.a, ttl: 20, data: "127.0.0.3"),
                .init(name: "pop1.cdn.example.net", type: Self.aaaa, ttl: 20, data: "2001:db8::7"),
            ]),
        ])
        defer { dns.stop() }
        let outcome = try await resolve("www.corp.example.com", server: dns.server)
        #expect(outcome.outputs["addresses"]?.texts == ["127.0.0.2", "127.0.0.3", "2001:db8::7"])
        #expect(outcome.outputs["cname_chain"] == ["www.corp.example.com → edge.cdn.example.net (ttl 300)",
                                                  "edge.cdn.example.net → pop1.cdn.example.net (ttl 60)"])
        #expect(outcome.facts[.addresses]?.texts == ["127.0.0.2", "127.0.0.3", "2001:db8::7"])
        #expect(outcome.findings.isEmpty)
        #expect(outcome.command?.hasPrefix("dig +noall +answer @127.0.0.1 -p \(dns.port) www.corp.example.com A") == true)
        #expect(Set(dns.queries) == ["www.corp.example.com 1", "www.corp.example.com 28"])
    }

    @Test func nxdomainAndServfailAreDNSFailures() async throws {
        let dns = try DNSFixture(zones: ["broken.corp.example.com": .init(rcode: 2)])
        defer { dns.stop() }
        let missing = try await resolve("gone.corp.example.com", server: dns.server)
        #expect(missing.findings.map(\.cause) == [.dnsFailure])
        #expect(missing.findings.first?.summary.english == "\(dns.server) answers NXDOMAIN for gone.corp.example.com: the name does not exist")
        #expect(missing.outputs["addresses"]?.texts == [])
        let broken = try await resolve("broken.corp.example.com", server: dns.server)
        #expect(broken.findings.first?.facts[.rcode] == "SERVFAIL")
    }

    @Test func silentResolverTimesOut() async throws {
        let dns = try DNSFixture(zones: [:], silent: ["slow.corp.example.com"])
        defer { dns.stop() }
        let outcome = try await resolve("slow.corp.example.com", server: dns.server, timeout: "300ms")
        #expect(outcome.findings.first?.cause == .dnsFailure)
        #expect(outcome.findings.first?.summary.english == "\(dns.server) did not answer the A question for slow.corp.example.com")
    }

    /// RFC 7766: a truncated UDP answer is asked again over TCP.
    @Test func truncatedAnswerIsAskedAgainOverTCP() async throws {
        let dns = try DNSFixture(zones: ["big.corp.example.com": .init(records: (1...40).map {
            .init(name: "big.corp.example.com", type: Self.a, ttl: 60, data: "127.0.1.\($0)")
        })], truncated: ["big.corp.example.com"])
        defer { dns.stop() }
        let outcome = try await resolve("big.corp.example.com", server: dns.server)
        #expect(outcome.outputs["addresses"]?.listValue?.count == 40)
        #expect(outcome.findings.isEmpty, "\(outcome.findings.map(\.summary.english))")
        #expect(outcome.facts[.truncated] == true)
        #expect(dns.queries.contains("big.corp.example.com 1 tcp"))
    }

    @Test func garbageLoopsAndFloodsAreDNSFailuresWithTheirReason() async throws {
        let cname = Self.cname
        let many = (0..<300).map { DNSMessage.Record(name: "many.corp.example.com", type: Self.a, ttl: 5, data: "127.0.\($0 / 250).\($0 % 250 + 1)") }
        let dns = try DNSFixture(zones: [
            "loop.corp.example.com": .init(records: [.init(name: "loop.corp.example.com", type: cname, ttl: 5, data: "pool.corp.example.com"),
                                                     .init(name: "pool.corp.example.com", type: cname, ttl: 5, data: "loop.corp.example.com")]),
            "many.corp.example.com": .init(records: many),
        ], garbage: ["junk.corp.example.com"])
        defer { dns.stop() }
        let junk = try await resolve("junk.corp.example.com", server: dns.server, timeout: "500ms")
        #expect(junk.findings.map(\.cause) == [.dnsFailure])
        #expect(junk.findings.first?.summary.english.contains("with garbage") == true, "\(junk.findings.map(\.summary.english))")
        let loop = try await resolve("loop.corp.example.com", server: dns.server)
        #expect(loop.findings.first?.summary.english.hasPrefix("the CNAME chain of loop.corp.example.com loops") == true,
                "\(loop.findings.map(\.summary.english))")
        let flood = try await resolve("many.corp.example.com", server: dns.server)
        #expect(flood.findings.first?.summary.english == "many.corp.example.com has 300 address records, more than the 256 triage follows")
    }

    @Test func noQueryForLiteralsOrSpecialUseNames() async throws {
        let dns = try DNSFixture(zones: [:])
        defer { dns.stop() }
        let literal = try await resolve("127.0.0.9", server: dns.server)
        #expect(literal.outputs["addresses"]?.texts == ["127.0.0.9"])
        #expect(literal.outputs["source"] == "literal")
        let special = try await resolve("api.example.test", server: dns.server)
        #expect(special.outputs["source"] == "special-use")
        #expect(special.findings.first?.cause == .dnsFailure)
        let localhost = try await resolve("localhost", server: dns.server)
        #expect(localhost.outputs["addresses"]?.texts?.contains("127.0.0.1") == true)
        #expect(dns.queries.isEmpty)
    }

    @Test func messageRoundTrip() throws {
        let query = DNSMessage.query(id: 0x1234, name: "a.b.c", type: .aaaa)
        let reply = DNSMessage.response(to: query, rcode: 0, answers: [.init(name: "a.b.c", type: Self.aaaa, ttl: 7, data: "::1")])
        let parsed = try DNSMessage(bytes: reply)
        #expect(parsed.id == 0x1234)
        #expect(parsed.answers == [.init(name: "a.b.c", type: Self.aaaa, ttl: 7, data: "::1")])
        #expect(throws: DNSMessage.ParseError.self) { try DNSMessage(bytes: [1, 2, 3]) }
        // A compression pointer loop is refused, not followed forever.
        var loop = DNSMessage.query(id: 1, name: "x", type: .a)
        loop[5] = 1
        loop.replaceSubrange(12..., with: [0xC0, 12, 0, 1, 0, 1])
        #expect(throws: DNSMessage.ParseError.self) { try DNSMessage(bytes: loop) }
    }
}
