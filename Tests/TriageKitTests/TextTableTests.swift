import Foundation
import Testing
import TriageKit
import TriageWire
import TriageTestSupport

/// The language tables are complete and agree: every key the code uses
/// exists in every language, no language has a key the others lack, and a
/// sentence uses the same arguments in every language.
@Suite struct TextTableTests {
    static let languages = Bundled.languages

    @Test func everyKeyInEveryLanguage() throws {
        #expect(Set(Self.languages) == ["en", "zh"])
        let english = try TextTable.named("en")
        var required = Set(MessageKey.allCases.map(\.rawValue))
        for cause in Cause.allCases { for part in Message.CausePart.allCases { required.insert(Message(cause: cause, part).key) } }
        for key in FactKey.allCases { required.insert("fact.\(key.rawValue)") }
        for alert in AlertDescription.all { required.insert(AlertCauses.meaning(alert.code).key) }
        for verify in X509VerifyError.allCases where verify.meaning != nil {
            required.insert("x509.\(verify.rawValue)")
            required.insert("x509.\(verify.rawValue).meaning")
        }
        for code in 0..<CurlError.count { required.insert(CurlError.named(code)!.meaning.key) }
        for reason in Explainer.sslReasonCodes { required.insert("openssl.reason.\(reason)") }
        let missingInEnglish = required.subtracting(english.entries.keys)
        #expect(missingInEnglish.isEmpty, "missing in en: \(missingInEnglish.sorted())")
        for language in Self.languages where language != "en" {
            let table = try TextTable.named(language)
            let missing = Set(english.entries.keys).subtracting(table.entries.keys)
            let extra = Set(table.entries.keys).subtracting(english.entries.keys)
            #expect(missing.isEmpty, "missing in \(language): \(missing.sorted())")
            #expect(extra.isEmpty, "\(language) has keys English does not: \(extra.sorted())")
            for (key, text) in english.entries {
                guard let other = table.entries[key] else { continue }
                #expect(Self.placeholders(text) == Self.placeholders(other), "\(key): {arguments} differ between en and \(language)")
            }
        }
    }

    static func placeholders(_ text: String) -> Set<String> {
        Set(text.matches(of: #/\{([a-zA-Z_]+)\}/#).map { String($0.output.1) })
    }

    @Test func argumentsAreFormattedForTheLanguage() throws {
        let zh = try TextTable.named("zh")
        let alert = TLSAlert(code: 80, level: .fatal, sender: .server)
        #expect(zh.render(.attemptAlert, ["alert": .typed(.alert(alert))]) == "服务端发送的致命告警 80 internal_error")
        #expect(TextTable.english.render(.attemptAlert, ["alert": .typed(.alert(alert))]) == "fatal alert 80 internal_error from the server")
        #expect(zh.format(.list(["a", "b"])) == "a、b")
        #expect(TextTable.english.format(.list(["a", "b"])) == "a, b")
        #expect(zh.format(.bool(true)) == "是")
        #expect(zh.label(.notAfter) == "到期时间（notAfter）")
    }

    @Test func malformedTableIsRefusedWithItsLine() {
        #expect(throws: TextTable.Malformed.self) { try TextTable(language: "xx", text: "a = b\nno separator here\n", file: "t.txt") }
        do {
            _ = try TextTable(language: "xx", text: "a = b\na = c\n", file: "t.txt")
        } catch {
            #expect(error.description == "t.txt:2: key 'a' defined twice")
        }
    }
}
