import Testing
import TriageKit

@Suite struct ExpressionTests {
    let scope = Scope(
        inputs: ["url": "https://api.example.test:8443/v1/health?token=x", "plain": "http://a.test", "via": nil,
                 "count": 3, "name": "edge"],
        steps: ["dns": ["status": "ok", "outputs": ["addresses": ["127.0.0.1", "127.0.0.2"], "ttl": 60]],
                "bad": ["status": "failed", "outputs": [:]]],
        item: "127.0.0.9",
        env: ["HOME": "/root"])

    func eval(_ text: String) throws -> Value {
        try ExpressionParser.parse(text).evaluate(in: scope)
    }

    @Test func paths() throws {
        #expect(try eval("inputs.name") == "edge")
        #expect(try eval("steps.dns.outputs.addresses[1]") == "127.0.0.2")
        #expect(try eval("steps.dns.outputs.addresses") == ["127.0.0.1", "127.0.0.2"])
        #expect(try eval("steps.bad.status") == "failed")
        #expect(try eval("item") == "127.0.0.9")
        #expect(try eval("env.HOME") == "/root")
    }

    @Test func urlParts() throws {
        #expect(try eval("inputs.url.host") == "api.example.test")
        #expect(try eval("inputs.url.port") == 8443)
        #expect(try eval("inputs.url.path") == "/v1/health")
        #expect(try eval("inputs.url.scheme") == "https")
        #expect(try eval("inputs.plain.port") == 80)
        #expect(try eval("inputs.plain.path") == "/")
        #expect(try Template.parse("${{ inputs.url.host }}:${{ inputs.url.port }}").evaluate(in: scope) == "api.example.test:8443")
        let v6 = Scope(inputs: ["u": "https://[::1]/x"])
        #expect(try ExpressionParser.parse("inputs.u.host").evaluate(in: v6) == "::1")
        #expect(try ExpressionParser.parse("inputs.u.port").evaluate(in: v6) == 443)
    }

    @Test func comparisons() throws {
        #expect(try eval("inputs.name == 'edge'") == true)
        #expect(try eval("inputs.name != 'edge'") == false)
        #expect(try eval("inputs.url.port == '8443'") == true)
        #expect(try eval("inputs.count < 4") == true)
        #expect(try eval("inputs.count <= 3") == true)
        #expect(try eval("inputs.count > 3") == false)
        #expect(try eval("inputs.count >= 3") == true)
        #expect(try eval("steps.dns.outputs.ttl > 59") == true)
    }

    @Test func logic() throws {
        #expect(try eval("inputs.via || 'default'") == "default")
        #expect(try eval("inputs.name && 'yes'") == "yes")
        #expect(try eval("inputs.via && 'yes'") == .null)
        #expect(try eval("!inputs.via") == true)
        #expect(try eval("!!inputs.name") == true)
        #expect(try eval("!(inputs.count == 3) || steps.bad.status == 'failed'") == true)
        #expect(try eval("true && false || null") == .null)
        #expect(try eval("'it''s'") == "it's")
    }

    @Test func missingValuesAreNull() throws {
        #expect(try eval("steps.dns.outputs.nothing") == .null)
        #expect(try eval("steps.nothing.outputs.x.y") == .null)
        #expect(try eval("steps.dns.outputs.addresses[7]") == .null)
        #expect(try eval("inputs.via.host") == .null)
        #expect(try Template.parse("a${{ inputs.via }}b").evaluate(in: scope) == "ab")
        // A missing value compares as false, whatever the operator.
        #expect(try eval("steps.capture.outputs.frames > 0") == false)
        #expect(try eval("steps.capture.outputs.frames <= 0") == false)
        #expect(try eval("0 < inputs.via") == false)
    }

    @Test func typeErrors() {
        #expect(throws: ExpressionError("inputs.count is a number and has no property 'host'", at: 0)) {
            try eval("inputs.count.host")
        }
        #expect(throws: ExpressionError("'<' compares numbers; got string 'edge' and number 3", at: 12)) {
            try eval("inputs.name < 3")
        }
        #expect(throws: ExpressionError("inputs.name is a string, not a list; cannot take [0]", at: 0)) {
            try eval("inputs.name[0]")
        }
        #expect(throws: ExpressionError("unknown name 'nope': expected inputs, steps, item or env", at: 0)) {
            try eval("nope.x")
        }
    }

    @Test func syntaxErrors() {
        #expect(throws: ExpressionError("unterminated string: expected a closing '", at: 15)) {
            try ExpressionParser.parse("inputs.name == 'edge")
        }
        #expect(throws: ExpressionError("expected ')' to close the '(' 12 character(s) before", at: 12)) {
            try ExpressionParser.parse("(inputs.name")
        }
        #expect(throws: ExpressionError("unexpected 'b' after the expression", at: 2)) {
            try ExpressionParser.parse("a b")
        }
        #expect(throws: ExpressionError("unterminated expression: expected '}}' to close '${{'", at: 2)) {
            try Template.parse("x ${{ inputs.url")
        }
        #expect(throws: ExpressionError("empty expression: expected something between '${{' and '}}'", at: 0)) {
            try Template.parse("${{  }}")
        }
    }

    /// Offsets count Unicode scalars, as YAML's columns do: a decomposed 'é' is two, an emoji of
    /// two scalars is two. A combining mark stays in the name it follows; letters need not be ASCII.
    @Test func offsetsCountScalarsAndNamesKeepTheirMarks() throws {
        #expect(throws: ExpressionError("unexpected 'b' after the expression", at: 9)) {
            try Template.parse("e\u{301} ${{ a b }}")
        }
        #expect(throws: ExpressionError("unexpected character '#'", at: 11)) {
            try Template.parse("\u{1F44D}\u{1F3FD} x ${{ a # }}")
        }
        guard case .path(let path) = try ExpressionParser.parse("inputs.cafe\u{301}.名前") else {
            Issue.record("not a path"); return
        }
        #expect(path.components == [.key("cafe\u{301}"), .key("名前")])
        #expect(try Template.parse("plain text, no dollar").parts == [.text("plain text, no dollar")])
        #expect(try Template.parse("").parts == [.text("")])
        #expect(try Template.parse("$5 ${{ 'a''b' }}").parts == [.text("$5 "), .expression(.literal(.string("a'b")), offset: 6)])
    }

    @Test func wholeExpressionKeepsItsType() throws {
        #expect(try Template.parse("${{ steps.dns.outputs.addresses }}").evaluate(in: scope) == ["127.0.0.1", "127.0.0.2"])
        #expect(try Template.parse("n=${{ inputs.count }}").evaluate(in: scope) == "n=3")
    }
}
