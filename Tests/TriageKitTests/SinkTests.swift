import Foundation
import Testing
import TriageKit
import TriageTestSupport

/// Hostile strings through every sink: whatever a server sends, each sink's
/// output keeps its promise (no control byte on a terminal, no live markup in
/// Markdown or Mermaid, JSON and CSV that read back, a file name from a fixed
/// alphabet).
@Suite struct SinkTests {
    /// What a certificate, an answer or a log line may carry.
    static let hostile: [String] = {
        var out = [
            "victim.test\u{0}.attacker.example", "line\r\nbreak", "\u{1B}[2J\u{1B}]0;owned\u{7}", "</details><script>alert(1)</script>",
            "<img src=x onerror=alert(1)>", "``` fence ```", "`code` and `` two ``", "a|b|c", "A-->>B: hi", "%% comment", "#59;",
            "semi;colon", "\u{202E}evil\u{202C}txt.exe", "\u{2066}isolate\u{2069}", "=cmd|' /C calc'!A0", "+1", "-2+3", "@SUM(1)",
            "\t=tab", "\u{85}next-line\u{9B}csi", "back\\slash", "quote\"d", "../../etc/passwd", ".", "..", "", " ", "ünïcödé 名前",
            "\u{7F}del", "${{ inputs.x }}", "$(touch /tmp/pwned)",
        ]
        // A combining mark after a newline, a quote, a `<`, a `|`, a `#`: one Character each, still those code points.
        out.append("a\n\u{7EE}b\"\u{301}c<\u{338}d|\u{301}e#\u{301}f;\u{301}g\t\u{301}h,\u{301}")
        out.append("\u{73C}d tA59t> ``a-7>B: #59; %%| A")   // another: a combining mark first
        out.append("a```\u{301}b <i> `\u{301}<b>`")     // a backtick with a combining mark is still a backtick
        out.append("!victim.te`\u{11}t\u{0}t.\u{FFFD}itam.te<``````````V```t\u{0}.attacke`r")   // a fuzzer's find
        var mixed = ""
        for (i, s) in out.enumerated() where i < 20 { mixed += s }
        out.append(mixed)
        out.append(String(repeating: "<a>`|\u{1B}\n", count: 200_000))   // about 1 MB
        return out
    }()

    @Test(arguments: hostile) func terminal(_ s: String) { #expect(SinkContract.terminal(s) == nil) }
    @Test(arguments: hostile) func json(_ s: String) { #expect(SinkContract.json(s) == nil) }
    @Test(arguments: hostile) func csv(_ s: String) { #expect(SinkContract.csv(s) == nil, "\(Sink.csv(s).prefix(80))") }
    @Test(arguments: hostile) func prometheusLabel(_ s: String) { #expect(SinkContract.prometheusLabel(s) == nil) }
    @Test(arguments: hostile) func markdown(_ s: String) { #expect(SinkContract.markdown(s) == nil, "\(Markdown.text(s).prefix(80))") }
    @Test(arguments: hostile) func mermaid(_ s: String) { #expect(SinkContract.mermaid(s) == nil, "\(Mermaid.label(s).prefix(80))") }
    @Test(arguments: hostile) func fileName(_ s: String) { #expect(SinkContract.fileName(s) == nil, "\(FileName.safe(s))") }

    /// The contract itself can fail: text that breaks each promise is caught.
    @Test func theContractCatchesBrokenPromises() {
        #expect(SinkContract.hasHidden("a\u{1B}[2J", allowNewline: true))
        #expect(SinkContract.readCSVField("\"a\"b\"") == nil)
        #expect(SinkContract.outsideCodeSpans("`<b>` <i>") == " <i>")
        // A span closes at a run of exactly its length: `` ` `` inside a one-backtick span is not its end
        // (found by make fuzz: the checker had closed it at the first backtick of a longer run).
        #expect(SinkContract.outsideCodeSpans("a`b``````c<d`e") == "ae")
        #expect(SinkContract.outsideCodeSpans("a``b`c<") == "a``b`c<")
        #expect(!SinkContract.hasHidden("ünïcödé\n\t", allowNewline: true))
        #expect(SinkContract.hasUnescapedMarkup("![x](http://e.vil/a.png)"))
        #expect(SinkContract.hasUnescapedMarkup(#"a\\*b*"#))
        #expect(!SinkContract.hasUnescapedMarkup(#"\!\[x\](y) \*b\* a\_b"#))
    }

    /// What a hostile server sends (an answer, a certificate's name, a `Server:` header) is shown in the
    /// report, never rendered: no image, link, emphasis or strikethrough; RFC 2253's `\<` stays visible.
    @Test func serverTextIsNotMarkup() {
        #expect(Markdown.text("![x](http://e.vil/a.png) **[click](http://e.vil)** ~~gone~~")
                == #"!\[x\](http://e.vil/a.png) \*\*\[click\](http://e.vil)\*\* \~\~gone\~\~"#)
        #expect(Markdown.text(#"CN=a\<script\>_x_"#) == #"CN=a\\&lt;script\\&gt;\_x\_"#)
        // A bare URL stays as it is written: GitHub links it whole (a `\_` inside it became part of the address).
        #expect(Markdown.text("https://a.test/api/user_profile?a=1&b=[2] failed: x_y") == #"https://a.test/api/user_profile?a=1&b=[2] failed: x\_y"#)
        #expect(Markdown.text("http://u:[REDACTED]@p.test:3128 ![i](http://e.vil/a.png)") == #"http://u:[REDACTED]@p.test:3128 !\[i\](http://e.vil/a.png)"#)
        // Code spans of our own commands stay as they are.
        #expect(Markdown.text("add `proxy_ssl_name a_b;` for *x*") == #"add `proxy_ssl_name a_b;` for \*x\*"#)
        // report.jira: the same text, escaped for Jira (Markdown's backslashes are not shown).
        #expect(JiraMarkup.convert(Markdown.text("**[x](http://e.vil)** a_b \\ c")) == #"\*\*\[x\](http://e.vil)\*\* a\_b \\ c"#)
    }
}
