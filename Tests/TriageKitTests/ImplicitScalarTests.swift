import Testing
@testable import TriageKit
import Yams

/// Runbooks are composed with Yams' basic resolver and their plain scalars
/// typed by the checker (the default resolver's regular expressions were a
/// third of loading one). Every sample here gets the type Yams' default
/// resolver gives it.
@Suite struct ImplicitScalarTests {
    static let samples = [
        "yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
        "yEs", "tRue", "y", "n", "~", "null", "Null", "NULL", "nULL", "",
        "0", "1", "-1", "+1", "007", "08", "0o17", "0o18", "0b101", "0b102", "-0b1", "0x1F", "0x1g", "+0xff", "1_000", "1__0", "_1",
        "1:30", "1:60", "-1:30:05", "190:20:30", "1.5", "-1.5", "1.", ".5", "1e3", "1E+3", "1.0e-3", "1e", ".5e+3", ".5e3",
        "1:30.5", "-.inf", "+.Inf", ".INF", ".inf", ".nan", ".NaN", "-.nan", "..5", "1.2.3", "1-2", "+", ".",
        "5s", "10ms", "2m", "24h", "1.5s", "2026-12-06", "2026-12-06T09:30:00Z", "127.0.0.1", "::1", "1.22.1",
        "<<", "=", "abc", "tls.handshake", "${{ inputs.url }}", "https://a.test/", "-x",
        // The corners of the hand-written number matcher.
        "0b", "0x", "0o", "0o8", "0b_", "0x_", "0_", "00", "-0", "+0", "0:30", "01:30", "1_:3", "1::3", "1:0:0", "9_9:59",
        "12:345", "1:5.", "1:60.5", "1:59.5_", "1:5:5.5", "0:30.5", ".e+1", "._", "._e-1", "._e1", ".5e", ".5e+", "1.2e", "1.2e+",
        "1e+3", "+1e3", "-1.5e-3", "1.5E3", "1_.5", "1._5", "+.nan", "-.NaN", ".Nan", ".inF", "+.INF", "0x1F_", "0X1F", "0B1",
        "1:2.3:4", "١٢", "1 2",
    ]

    @Test func plainScalarsAreTypedAsYamsDefaultResolverTypesThem() throws {
        for text in Self.samples {
            let document = try #require(try Yams.compose(yaml: "v: \(text)\n"))
            let value = try #require(document.mapping?["v"], "'\(text)'")
            let expected: RunbookChecker.ScalarType = switch value.tag.rawValue {
            case "tag:yaml.org,2002:null": .null
            case "tag:yaml.org,2002:bool": .bool
            case "tag:yaml.org,2002:int": .int
            case "tag:yaml.org,2002:float": .float
            default: .string
            }
            #expect(RunbookChecker.implicitType(value.string ?? "") == expected, "'\(text)': Yams says \(value.tag.rawValue)")
        }
    }

    /// Composed with the basic resolver, a quoted scalar stays a string and an explicit tag is kept.
    @Test func quotedAndTaggedScalarsKeepTheirTypes() throws {
        let document = try #require(try Yams.compose(yaml: "a: 'yes'\nb: \"5\"\nc: !!int 5\nd: yes\ne: 5s\nf: !!str true\ng: !!str ~\nh: ~\n", .basic))
        let checker = RunbookChecker(file: "t.yaml", catalog: StepCatalog([]))
        let types = ["a", "b", "c", "d", "e", "f", "g", "h"].map { checker.scalarType(document.mapping![$0]!) }
        #expect(types == [.string, .string, .int, .bool, .string, .string, .string, .null])
    }
}
