import Testing
import TriageKit
import TriageProbes
import TriageTestSupport

/// Every malformed runbook is refused before anything runs, each problem
/// reported as FILE:LINE:COLUMN: message — all of a file's problems at once.
@Suite struct RunbookLoaderTests {
    let loader = RunbookLoader(catalog: TestSteps.catalog)

    func diagnostics(_ yaml: String) -> [String] {
        do {
            _ = try loader.load(yaml: yaml, source: "rb.yaml")
            return []
        } catch {
            return error.diagnostics.map(\.description)
        }
    }

    @Test func validRunbookLoads() throws {
        let runbook = try loader.load(yaml: """
            name: ok
            title: A valid runbook
            inputs:
              url: { required: true, description: the URL }
              via:
            steps:
              - id: first
                uses: test.echo
                with: { value: "${{ inputs.url.host }}", label: plain }
                timeout: 1m30s
              - id: second
                uses: test.echo
                if: steps.first.status == 'ok' && !inputs.via
                for_each: ${{ steps.first.outputs.value }}
                with: { value: "${{ item }}" }
                continue_on_error: false
            """, source: "ok.yaml")
        #expect(runbook.name == "ok")
        #expect(runbook.inputs.map(\.name) == ["url", "via"])
        #expect(runbook.inputs[0].required)
        #expect(runbook.steps.map(\.id) == ["first", "second"])
        #expect(runbook.steps[0].timeout == .seconds(90))
        #expect(runbook.steps[1].continueOnError == false)
        #expect(runbook.steps[1].condition?.text == "steps.first.status == 'ok' && !inputs.via")
    }

    @Test func yamlSyntaxError() {
        #expect(diagnostics("""
            name: x
            steps:
              - id: a
                uses: test.echo
                with: { value: [1, 2 }
            """) == ["rb.yaml:5:26: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence at line 5, column 20)"])
    }

    /// `if: ""` (or blanks) points at the value and says what `if` takes.
    @Test func emptyConditionPointsAtItsValue() {
        for (value, column) in [("\"\"", 9), ("'  '", 9)] {
            #expect(diagnostics("""
                name: x
                steps:
                  - id: a
                    uses: test.echo
                    if: \(value)
                    with: { value: v }
                """) == ["rb.yaml:5:\(column): 'if' is empty: expected an expression (steps.ID.outputs.NAME, inputs.NAME == 'x') or true/false"])
        }
    }

    @Test func unknownTopLevelKeyAndMissingSteps() {
        #expect(diagnostics("""
            name: x
            stpes:
              - id: a
            """) == [
                "rb.yaml:1:1: missing key 'steps': expected a list of steps",
                "rb.yaml:2:1: unknown key 'stpes' in the runbook (did you mean 'steps'?): expected one of name, title, description, inputs, steps",
            ])
    }

    /// `for_each` over a step's output declared as one value (a boolean, a string) ran the step once with
    /// it, and the step failed: refused at its place; a list output, or one from a for_each step, is fine.
    @Test func forEachOverAnOutputThatIsNotAListIsRefused() {
        #expect(diagnostics("""
            name: x
            inputs: { host: { default: localhost } }
            steps:
              - { id: hs, uses: tls.handshake, with: { host: "${{ inputs.host }}" } }
              - id: each
                uses: test.echo
                for_each: ${{ steps.hs.outputs.verified }}
                with: { value: "${{ item }}" }
              - id: fine
                uses: test.echo
                for_each: ${{ steps.hs.outputs.addresses }}
                with: { value: "${{ item }}" }
            """) == ["rb.yaml:7:15: 'for_each' must be a list or an expression that gives one: steps.hs.outputs.verified is a boolean"])
    }

    @Test func unknownStepKey() {
        #expect(diagnostics("""
            name: x
            steps:
              - id: a
                uses: test.echo
                timout: 5s
            """) == ["rb.yaml:5:5: unknown key 'timout' in step 1 (did you mean 'timeout'?): expected one of id, name, uses, run, env, with, if, for_each, timeout, continue_on_error, continue-on-error, after, finding"])
    }

    @Test func unknownStepKind() {
        let found = diagnostics("""
            name: x
            steps:
              - id: a
                uses: exce
            """)
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("rb.yaml:4:11: unknown step kind 'exce' (did you mean 'exec'?): expected one of ") == true)
        #expect(found.first?.contains(", exec, ") == true)
    }

    @Test func duplicateStepIDs() {
        #expect(diagnostics("""
            name: x
            steps:
              - id: a
                uses: test.echo
              - id: a
                uses: test.echo
            """) == ["rb.yaml:5:9: duplicate step id 'a': already used by the step at line 3"])
    }

    @Test func referenceToLaterAndUnknownSteps() {
        #expect(diagnostics("""
            name: x
            steps:
              - id: a
                uses: test.echo
                with: { value: "${{ steps.b.outputs.x }}" }
              - id: b
                uses: test.echo
                if: ${{ steps.nope.status == 'ok' }}
            """) == [
                "rb.yaml:5:25: step 'b' has not run yet here: a step can only read the steps before it",
                "rb.yaml:8:13: unknown step 'nope'",
            ])
    }

    @Test func badDuration() {
        #expect(diagnostics("""
            name: x
            steps:
              - id: a
                uses: test.echo
                timeout: 10 seconds
            """) == ["rb.yaml:5:14: timeout '10 seconds' is not a duration: expected a positive number with a unit, e.g. 500ms, 10s, 2m (a bare number is seconds)"])
        // A bare number is decimal seconds; Double's other spellings are not durations.
        for text in ["0x1F", "inf", "nan"] {
            #expect(diagnostics("name: x\nsteps:\n  - id: a\n    uses: test.echo\n    timeout: \(text)\n")
                    == ["rb.yaml:5:14: timeout '\(text)' is not a duration: expected a positive number with a unit, e.g. 500ms, 10s, 2m (a bare number is seconds)"])
        }
        #expect(diagnostics("name: x\nsteps:\n  - id: a\n    uses: test.echo\n    timeout: 5\n").isEmpty)
    }

    /// A misspelled output is refused with its line and column, and a "did you mean".
    @Test func unknownOutputIsRefused() {
        let loader = RunbookLoader(catalog: StepCatalog.standard)
        let yaml = """
            name: x
            inputs: { url: { required: true } }
            steps:
              - id: handshake
                uses: tls.handshake
                with: { host: "${{ inputs.url.host }}" }
              - id: next
                uses: tls.decode-alert
                if: ${{ steps.handshake.outputs.verifed }}
                with: { alert: "${{ steps.handshake.outputs.alert.cod }}" }
            """
        do {
            _ = try loader.load(yaml: yaml, source: "rb.yaml")
            Issue.record("loaded a runbook that reads an output tls.handshake does not have")
        } catch {
            #expect(error.diagnostics.map(\.description) == [
                "rb.yaml:9:13: step 'handshake' (tls.handshake) has no output 'verifed' (did you mean 'verified'?): it has attempts, alert, chain, chains, addresses, established, verified, versions, local_ports",
                "rb.yaml:10:25: steps.handshake.outputs.alert is an alert: it has no property 'cod' (did you mean 'code'?) (it has address, code, level, name, sender, sni, variant)",
            ])
        }
    }

    @Test func wrongValueTypes() {
        #expect(diagnostics("""
            name: x
            steps:
              - id: a
                uses: exec
                continue_on_error: maybe
                with:
                  run: [echo, hi]
                  shell: 3
            """) == [
                "rb.yaml:5:24: 'continue_on_error' must be true or false, got a string ('maybe')",
                "rb.yaml:8:14: input 'shell' of exec must be a boolean, got a number (3)",
            ])
    }

    @Test func unknownAndMissingStepInputs() {
        #expect(diagnostics("""
            name: x
            steps:
              - id: a
                uses: exec
                with:
                  runn: [echo]
            """) == [
                "rb.yaml:5:5: step 'a': exec needs input 'run' (the command: a list of arguments, or one string with shell: true)",
                "rb.yaml:6:7: exec has no input 'runn' (did you mean 'run'?): expected one of run, shell, expect_exit, env",
            ])
    }

    @Test func unknownInputInExpressionPointsAtTheColumn() {
        #expect(diagnostics("""
            name: x
            inputs:
              url: { required: true }
            steps:
              - id: a
                uses: test.echo
                with: { value: "host=${{ inputs.urll.host }}" }
            """) == ["rb.yaml:7:30: unknown input 'urll' (did you mean 'url'?): the runbook declares url"])
    }

    @Test func expressionSyntaxError() {
        #expect(diagnostics("""
            name: x
            inputs: { url: }
            steps:
              - id: a
                uses: test.echo
                if: inputs.url == = 'x'
            """) == ["rb.yaml:6:23: unexpected '=': use '==' to compare"])
    }

    @Test func itemOutsideForEach() {
        #expect(diagnostics("""
            name: x
            steps:
              - id: a
                uses: test.echo
                with: { value: "${{ item }}" }
            """) == ["rb.yaml:5:25: 'item' is only defined in a step with for_each"])
    }

    @Test func duplicateYAMLKey() {
        #expect(diagnostics("""
            name: x
            name: y
            steps:
              - { id: a, uses: test.echo }
            """) == ["rb.yaml:2:1: duplicate key 'name' in this mapping: each key may appear once"])
        // In a nested mapping: at the key's second line, at its column.
        #expect(diagnostics("""
            name: x
            steps:
              - id: a
                uses: test.echo
                with:
                  value: 1
                  value: 2
            """) == ["rb.yaml:7:7: duplicate key 'value' in this mapping: each key may appear once"])
        // A sequence item's mapping starts on its `- ` line and ends before the next item.
        #expect(diagnostics("""
            name: x
            steps:
              - uses: test.echo
                id: a
                uses: test.echo
              - id: b
                uses: test.echo
            """) == ["rb.yaml:5:5: duplicate key 'uses' in this mapping: each key may appear once"])
        // Saved with CRLF line ends (as on Windows): the same line, not the file's first.
        #expect(diagnostics("name: x\r\nsteps:\r\n  - id: a\r\n    uses: test.echo\r\n    with:\r\n      value: 1\r\n      value: 2\r\n")
                == ["rb.yaml:7:7: duplicate key 'value' in this mapping: each key may appear once"])
    }

    /// Saved as "UTF-8 with BOM": read as without it, and an error is still at its line and column.
    @Test func aByteOrderMarkIsNotContent() throws {
        let runbook = try loader.load(yaml: "\u{FEFF}name: x\nsteps:\n  - { id: a, uses: test.echo }\n", source: "rb.yaml")
        #expect(runbook.name == "x")
        #expect(diagnostics("\u{FEFF}name: x\nsteps:\n  - { id: a, uses: test.nope }\n").first?.hasPrefix("rb.yaml:3:20: unknown step kind 'test.nope'") == true)
    }

    /// A NUL or another control character: where libyaml's reader stopped, not at 1:1.
    @Test func aControlCharacterIsAtItsPlace() {
        #expect(diagnostics("name: x\nsteps:\n  - { id: a, uses: test.echo }\n\u{0}") == ["rb.yaml:4:1: cannot read the YAML: control characters are not allowed"])
        #expect(diagnostics("name: x\nsteps:\n  - { id: \"é\u{0}\", uses: test.echo }\n") == ["rb.yaml:3:13: cannot read the YAML: control characters are not allowed"])
    }

    @Test func templateErrorInACRLFFileIsAtItsLine() {
        #expect(diagnostics("name: x\r\nsteps:\r\n  - id: a\r\n    uses: test.echo\r\n    with: { value: \"${{ item }}\" }\r\n")
                == ["rb.yaml:5:25: 'item' is only defined in a step with for_each"])
    }

    @Test func emptyFileAndWrongShapes() {
        #expect(diagnostics("") == ["rb.yaml:1:1: the runbook is empty: expected a mapping with 'name' and 'steps'"])
        #expect(diagnostics("- a\n- b\n") == ["rb.yaml:1:1: the runbook must be a mapping (key: value), got a list"])
        #expect(diagnostics("name: x\nsteps: {}\n") == ["rb.yaml:2:8: 'steps' must be a list (each item starting with '- id: …'), got a mapping"])
    }

    @Test func manyErrorsReportedTogetherInFileOrder() {
        let found = diagnostics("""
            name: two words
            colour: red
            steps:
              - id: 1st
                uses: test.echo
                timeout: soon
              - id: b
                uses: nope
            """)
        #expect(found.count == 5)
        #expect(found == found.sorted { a, b in
            let la = a.split(separator: ":").dropFirst().prefix(2).compactMap { Int($0) }
            let lb = b.split(separator: ":").dropFirst().prefix(2).compactMap { Int($0) }
            return la.lexicographicallyPrecedes(lb)
        })
        #expect(found[0] == "rb.yaml:1:7: 'name' must be one word (letters, digits, '-', '_'), got 'two words'")
        #expect(found[1].hasPrefix("rb.yaml:2:1: unknown key 'colour'"))
        #expect(found[2] == "rb.yaml:4:9: step id '1st' must start with a letter and hold only letters, digits, '-' and '_'")
        #expect(found[3] == "rb.yaml:6:14: timeout 'soon' is not a duration: expected a positive number with a unit, e.g. 500ms, 10s, 2m (a bare number is seconds)")
        #expect(found[4].hasPrefix("rb.yaml:8:11: unknown step kind 'nope'"))
    }

    @Test func missingRequiredInputPointsAtItsDeclaration() throws {
        let runbook = try loader.load(yaml: """
            name: x
            inputs:
              url: { required: true }
              token: { default: abc }
            steps:
              - { id: a, uses: test.echo }
            """, source: "rb.yaml")
        #expect(throws: RunbookError.self) { try RunbookLoader.resolveInputs(runbook, given: [:]) }
        do {
            _ = try RunbookLoader.resolveInputs(runbook, given: [:])
            Issue.record("a required input missing was accepted")
        } catch let error as RunbookError {
            #expect(error.diagnostics.map(\.description) == [
                "rb.yaml:3:3: input 'url' is required and was not given: pass the URL as the first argument or --set url=…",
            ])
        }
        // What was given is the command line's mistake, not a place in the runbook; it is said first.
        do {
            _ = try RunbookLoader.resolveInputs(runbook, given: ["nope": "1"])
            Issue.record("an undeclared input was accepted")
        } catch let error as InputError {
            #expect(error.problems == ["input 'nope' was given but runbook rb.yaml declares no such input (it declares: url, token)"])
        }
        let inputs = try RunbookLoader.resolveInputs(runbook, given: ["url": "https://a.test"])
        #expect(inputs == ["url": "https://a.test", "token": "abc"])
    }

    /// `type:` refuses a value that does not fit before anything runs: a step would read
    /// `port: 8443x` as no port and test 443.
    @Test func typedInputsRefuseWhatDoesNotFit() throws {
        let runbook = try loader.load(yaml: """
            name: x
            inputs:
              port: { type: port }
              warn_days: { type: integer, default: 21 }
              insecure: { type: boolean, default: false }
              wait: { type: duration }
              addresses: { type: addresses }
            steps:
              - { id: a, uses: test.echo }
            """, source: "rb.yaml")
        #expect(runbook.input("port")?.type == .port)
        let fine = try RunbookLoader.resolveInputs(runbook, given: ["port": "8443", "warn_days": "7", "insecure": "yes", "wait": "500ms",
                                                                   "addresses": "127.0.0.1, ::1"])
        #expect(fine["port"] == "8443" && fine["insecure"] == "yes")
        do {
            _ = try RunbookLoader.resolveInputs(runbook, given: ["port": "8443x", "warn_days": "abc", "insecure": "maybe", "wait": "soon",
                                                                "addresses": "notanip"])
            Issue.record("values that do not fit were accepted")
        } catch let error as InputError {
            #expect(error.problems == [
                "input 'port' is '8443x': expected a port number, 1-65535",
                "input 'warn_days' is 'abc': expected a whole number",
                "input 'insecure' is 'maybe': expected true or false (also yes/no, on/off, 1/0)",
                "input 'wait' is 'soon': expected a duration such as 5s, 500ms or 2m",
                "input 'addresses' is 'notanip': expected IP addresses, comma-separated (127.0.0.1,::1)",
            ])
        }
        #expect(throws: InputError.self) { try RunbookLoader.resolveInputs(runbook, given: ["port": "70000"]) }
        // Past Int: refused, not a trap (converting 1e30 to an Int crashed the run).
        #expect(throws: InputError.self) { try RunbookLoader.resolveInputs(runbook, given: ["warn_days": "1e30"]) }
        #expect(Value.string("1e30").intValue == nil && Value.number(-1e300).intValue == nil && Value.string("21.0").intValue == 21)
        // As the steps read them: empty is not given (`--set port=$PORT` unset), an address list's items
        // may hold commas, 21.0 is 21.
        let asRead = try RunbookLoader.resolveInputs(runbook, values: ["port": "", "addresses": .list(["10.0.0.1,10.0.0.2", "::1"]),
                                                                        "warn_days": "21.0", "wait": ""])
        #expect(asRead["port"] == "" && asRead["warn_days"] == "21.0")
        #expect(throws: InputError.self) { try RunbookLoader.resolveInputs(runbook, given: ["addresses": "127.0.0.1,upstream.test"]) == [:] }
    }

    @Test func inputTypeAndDefaultAreChecked() {
        #expect(diagnostics("""
            name: x
            inputs:
              port: { type: prot }
              days: { type: integer, default: soon }
            steps:
              - { id: a, uses: test.echo }
            """) == [
                "rb.yaml:3:17: unknown type 'prot' for input 'port' (did you mean 'port'?): expected one of string, boolean, integer, port, duration, addresses",
                "rb.yaml:4:35: the default of input 'days' must be a whole number",
            ])
    }

    @Test func afterMustNameEarlierSteps() {
        #expect(diagnostics("""
            name: x
            steps:
              - { id: a, uses: test.echo, after: [b] }
              - { id: b, uses: test.echo, after: [nope] }
              - { id: c, uses: test.echo, after: a }
            """) == [
                "rb.yaml:3:39: step 'b' does not run before this one: 'after' lists earlier steps",
                "rb.yaml:4:39: unknown step 'nope' in 'after'",
                "rb.yaml:5:38: 'after' must be a list of earlier step ids, got a string ('a')",
            ])
    }

    /// Bombs: each refused with its message, before anything is built from
    /// it (the memory and time bounds are in `make bench`).
    @Test func bombsAreRefused() {
        let step = "steps:\n  - id: a\n    uses: test.echo\n"
        #expect(diagnostics("name: t\n\(step)    timeout: 1e309\n") == ["rb.yaml:5:14: timeout '1e309' is out of range (at most 24h)"])
        #expect(diagnostics("name: t\n\(step)    timeout: 99999999999999999999s\n") == ["rb.yaml:5:14: timeout '99999999999999999999s' is out of range (at most 24h)"])
        #expect(diagnostics("name: t\n\(step)    if: ${{ inputs.x[99999999999999999999] }}\n").first?.contains("list index 1e+20 is out of range (at most 999999)") == true)
        let parens = String(repeating: "(", count: 100_000) + "1" + String(repeating: ")", count: 100_000)
        #expect(diagnostics("name: t\n\(step)    if: ${{ \(parens) }}\n").first?.hasSuffix("the expression has more than 10000 tokens") == true)
        let nested = String(repeating: "(", count: 65) + "1" + String(repeating: ")", count: 65)
        #expect(diagnostics("name: t\n\(step)    if: ${{ \(nested) }}\n") == ["rb.yaml:5:77: the expression nests deeper than 64 levels"])
        let nots = String(repeating: "!", count: 100)
        #expect(diagnostics("name: t\n\(step)    if: ${{ \(nots)true }}\n").first?.hasSuffix("the expression nests deeper than 64 levels") == true)
        // Nine levels of nine aliases: 387 million nodes from 600 bytes.
        var bomb = "name: t\ninputs:\n  l0: { default: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol] }\n"
        for level in 1...8 {
            bomb += "  l\(level): { default: &a\(level) [\(Array(repeating: "*a\(level - 1)", count: 9).joined(separator: ", "))] }\n"
        }
        bomb += step + "    with: { value: x }\n"
        #expect(diagnostics(bomb) == ["rb.yaml:1:1: the document expands to more than 500000 nodes or nests deeper than 64 levels (YAML aliases that multiply?)"])
        // Eight levels padded with a megabyte of comment: a comment's bytes give aliases no room.
        var padded = "name: t\ninputs:\n  l0: { default: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol] }\n"
        for level in 1...7 {
            padded += "  l\(level): { default: &a\(level) [\(Array(repeating: "*a\(level - 1)", count: 9).joined(separator: ", "))] }\n"
        }
        padded += step + "    with: { value: x }\n#" + String(repeating: "x", count: 1_000_000) + "\n"
        #expect(diagnostics(padded) == ["rb.yaml:1:1: the document expands to more than 500000 nodes or nests deeper than 64 levels (YAML aliases that multiply?)"])
        // A flat list of 600,000 entries is refused before it is composed (Yams holds every node).
        let flat = "name: t\nx: [" + String(repeating: "1,", count: 600_000) + "1]\n"
        #expect(diagnostics(flat) == ["rb.yaml:1:1: the document holds more than 500000 entries (commas, colons, dashes, lines): too many nodes for a runbook"])
        #expect(diagnostics("#" + String(repeating: "x", count: 3 << 20) + "\n") == ["rb.yaml:1:1: the runbook is 3145730 bytes: at most 2 MiB"])
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(diagnostics("name: t\nx: \(deep)\n").first?.contains("the document nests deeper than the YAML reader allows") == true)
    }

    /// GitHub Actions' habits: `name:`, `run:` (a shell exec), `env:`, `continue-on-error:`, and a step's own `finding:`.
    @Test func actionsHabitsAndOwnFinding() throws {
        let runbook = try loader.load(yaml: """
            name: habits
            steps:
              - id: disk
                name: Free space on the data volume
                run: df --output=pcent "$VOLUME" | tail -1
                env: { VOLUME: /srv }
                continue-on-error: false
                finding:
                  when: ${{ steps.disk.outputs.exit != 0 }}
                  cause: disk-nearly-full
                  severity: warning
                  summary: "the volume is ${{ steps.disk.outputs.stdout }} full"
                  remedy: free space
            """, source: "habits.yaml")
        let step = try #require(runbook.steps.first)
        #expect(step.uses == "exec")
        #expect(step.name == "Free space on the data volume")
        #expect(!step.continueOnError)
        if case .value(let shell)? = step.with["shell"] { #expect(shell == .bool(true)) } else { Issue.record("no shell: true") }
        if case .object(let env)? = step.with["env"], case .value(let v)? = env["VOLUME"] { #expect(v == .string("/srv")) } else { Issue.record("no env") }
        let finding = try #require(step.finding)
        #expect(finding.cause.code == "disk-nearly-full")
        #expect(!finding.cause.isBuiltIn)
        #expect(finding.severity == .warning)
        #expect(finding.when?.text == "${{ steps.disk.outputs.exit != 0 }}")
    }

    @Test func habitsRefusedWhereTheyWouldMislead() {
        let errors = diagnostics("""
            name: bad
            steps:
              - id: a
                uses: test.echo
                run: echo hi
              - id: b
                uses: test.echo
                env: { X: "1" }
              - id: c
                run: echo "${{ inputs.x }}"
              - id: d
                run: "true"
                finding: { cause: Disk_Full, summary: full, severity: fatal }
              - id: e
                run: "true"
                finding: { summary: "${{ steps.nope.outputs.exit }}" }
              - id: f
                run: |
                  echo start
                  echo ${{ inputs.x }}
            """)
        #expect(errors.contains("rb.yaml:5:5: step 'a' has both 'run' and 'uses': 'run' is shorthand for uses: exec (write the command under with: run)"), "\(errors)")
        #expect(errors.contains("rb.yaml:8:5: step 'b': 'env' sets a command's environment: it goes with 'run' or uses: exec"), "\(errors)")
        #expect(errors.contains { $0.hasPrefix("rb.yaml:10:16: step 'c': ${{ }} inside a shell command runs data as code") }, "\(errors)")
        // In a block scalar: the line and column of the expression, not the `|`.
        #expect(errors.contains { $0.hasPrefix("rb.yaml:20:12: step 'f': ${{ }} inside a shell command runs data as code") }, "\(errors)")
        #expect(errors.contains("rb.yaml:13:23: cause 'Disk_Full' is not a code: expected lower-case words joined by '-', e.g. disk-nearly-full"), "\(errors)")
        #expect(errors.contains("rb.yaml:13:59: severity 'fatal' is not one of problem, warning"), "\(errors)")
        #expect(errors.contains("rb.yaml:16:14: 'finding' of step 'e' has no 'cause': expected a code such as disk-nearly-full"), "\(errors)")
        #expect(errors.contains { $0.hasPrefix("rb.yaml:16:30: unknown step 'nope'") }, "\(errors)")
    }
}
