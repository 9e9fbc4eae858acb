/// One encoder per place text can land, used everywhere text from the
/// network (a certificate's names, a server's answer, a log line, an SNI)
/// goes: whatever a server sends, it is shown, never obeyed — no terminal
/// escape reaches a terminal, no markup a ticket, no formula a spreadsheet,
/// no path a file name.
public enum Sink {
    /// Visible text: every control character but newline and tab (C0, DEL, C1), and the
    /// bidirectional overrides that reorder what a reader sees (RLO, LRI, …), written `\xNN`
    /// or `\u{NNNN}`; a backslash stays a backslash. What every other sink starts from.
    public static func visible(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: isHidden) else { return s }
        var out = String.UnicodeScalarView()
        for scalar in s.unicodeScalars {
            if isHidden(scalar) {
                let hex = String(scalar.value, radix: 16)
                let escaped = scalar.value < 0x100 ? "\\x" + (hex.count < 2 ? "0" + hex : hex) : "\\u{\(hex)}"
                out.append(contentsOf: escaped.unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    static func isHidden(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09, 0x0A: false
        case 0x00...0x1F, 0x7F...0x9F: true
        // Bidi embeddings, overrides and isolates; LRM, RLM, ALM.
        case 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0x061C: true
        default: false
        }
    }

    /// A terminal line: visible, newlines and tabs too (one line stays one line).
    public static func terminalLine(_ s: String) -> String {
        replacing(visible(s)) { $0 == "\n" ? "\\n" : $0 == "\t" ? "\\t" : nil }
    }

    /// Each code point `replacement` names replaced, the rest kept. Code points, never Characters: a
    /// combining mark joins the character before it (`"\n\u{301}"` is one Character, not a newline; `"<\u{338}"`
    /// compares equal to `≮`), so a search by Character would let a newline, a quote or a `<` through.
    public static func replacing(_ s: String, _ replacement: (Unicode.Scalar) -> String?) -> String {
        var out = String.UnicodeScalarView()
        for scalar in s.unicodeScalars {
            if let r = replacement(scalar) { out.append(contentsOf: r.unicodeScalars) } else { out.append(scalar) }
        }
        return String(out)
    }

    /// Terminal text of several lines: visible; newlines and tabs stay.
    public static func terminal(_ s: String) -> String { visible(s) }

    /// A JSON string literal (RFC 8259): quotes, backslashes and every control character escaped.
    public static func json(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || isHidden(scalar):
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A CSV field (RFC 4180): quoted when it holds a comma, quote or line break; a value that a
    /// spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) gets a leading `'`.
    public static func csv(_ s: String) -> String {
        var v = visible(s)
        if let first = v.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first),
           !(first == "-" && v.dropFirst().allSatisfy { $0.isNumber || $0 == "." }) {
            v = "'" + v
        }
        guard v.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return v }
        return "\"" + replacing(v) { $0 == "\"" ? "\"\"" : nil } + "\""
    }

    /// A Prometheus label value: backslash, quote and newline escaped, the rest visible.
    public static func prometheusLabel(_ s: String) -> String {
        replacing(terminalLine(replacing(s) { $0 == "\\" ? "\\\\" : nil })) { $0 == "\"" ? "\\\"" : nil }
    }

    /// What a user typed, echoed back in an error: visible, on one line, at most `limit` characters,
    /// its secrets masked (`https://deploy:[REDACTED]@bad_host!/`: a target that fails to parse is said
    /// on stderr and in the exporter's 400 as typed, its password and token included).
    public static func echo(_ s: String, limit: Int = 200) -> String {
        let line = terminalLine(String(Redactor.redact(String(s.prefix(limit * 4))).prefix(limit + 1)))
        return line.count > limit ? String(line.prefix(limit)) + "…" : line
    }
}

/// File names made from names in the case (step ids, SNIs, addresses): a
/// fixed alphabet — letters, digits, `.`, `-`, `_` — nothing else; a name
/// that needed changing, or is long, keeps a readable prefix and a hash, so
/// two different names never meet in one file and `..` is never a name.
public enum FileName {
    public static func safe(_ name: String) -> String {
        let allowed: (UInt8) -> Bool = { b in
            (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) || b == 0x2D || b == 0x2E || b == 0x5F
        }
        let bytes = Array(name.utf8)
        if !bytes.isEmpty, bytes.count <= 100, bytes.allSatisfy(allowed), bytes.first != UInt8(ascii: "."), name != "." {
            return name
        }
        var prefix = bytes.prefix(60).map { allowed($0) ? $0 : UInt8(ascii: "_") }
        while prefix.first == UInt8(ascii: ".") { prefix[0] = UInt8(ascii: "_") }
        return String(decoding: prefix, as: UTF8.self) + "-" + hash(bytes)
    }

    /// FNV-1a, 64 bits, as hex: stable across runs and machines.
    static func hash(_ bytes: [UInt8]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
