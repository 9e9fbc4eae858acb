import Foundation
import TriageWire

/// Facts in `report.json`: an object from fact key to value, a key that
/// repeats becoming a list of its values in order. Values are plain JSON;
/// sentences are rendered in the report's language. Decoding uses each
/// key's declared type to give typed values back.
public enum FactCoding {
    public static func encode(_ facts: [Fact], table: TextTable, clean scrub: (String) -> String = { $0 }) -> [String: Value] {
        var grouped: [String: [Value]] = [:]
        for fact in facts {
            grouped[fact.key.rawValue, default: []].append(clean(plain(fact.value, table), scrub))
        }
        return grouped.mapValues { $0.count == 1 ? $0[0] : .list($0) }
    }

    /// A value as JSON holds it: messages rendered, typed values projected.
    static func plain(_ value: Value, _ table: TextTable) -> Value {
        switch value {
        case .typed(.message(let m)): .string(table.render(m))
        case .typed(let t): t.plain.plain
        case .list(let l): .list(l.map { plain($0, table) })
        case .object(let o): .object(o.mapValues { plain($0, table) })
        default: value
        }
    }

    static func clean(_ value: Value, _ clean: (String) -> String) -> Value {
        switch value {
        case .string(let s): .string(clean(s))
        case .list(let l): .list(l.map { Self.clean($0, clean) })
        case .object(let o): .object(o.mapValues { Self.clean($0, clean) })
        default: value
        }
    }

    /// The typed facts of a decoded `facts` object, in key order.
    public static func decode(_ facts: [String: Value]) -> [Fact] {
        var out: [Fact] = []
        for name in facts.keys.sorted() {
            guard let key = FactKey(rawValue: name), let value = facts[name] else { continue }
            let values: [Value]
            if case .list(let items) = value, !isListType(key.type) || items.first.map(isList) == true {
                values = items
            } else {
                values = [value]
            }
            out += values.map { Fact(key, typed($0, as: key.type)) }
        }
        return out
    }

    static func isListType(_ type: ValueType) -> Bool { if case .list = type { true } else { false } }
    static func isList(_ value: Value) -> Bool { if case .list = value { true } else { false } }

    /// A plain JSON value back as the declared type (unchanged when it does not fit).
    public static func typed(_ value: Value, as type: ValueType) -> Value {
        switch (type, value) {
        case (.date, .string(let s)): ISO8601.parse(s).map { .typed(.date($0)) } ?? value
        case (.address, .string(let s)): IPAddress(s).map { .typed(.address($0)) } ?? value
        case (.endpoint, .string(let s)): Endpoint(s).map { .typed(.endpoint($0)) } ?? value
        case (.alert, .object): TLSAlert(plain: value).map { .typed(.alert($0)) } ?? value
        case (.certificate, .object): Certificate(plain: value).map { .typed(.certificate($0)) } ?? value
        case (.list(let element), .list(let items)): .list(items.map { typed($0, as: element) })
        default: value
        }
    }
}

extension TLSAlert {
    /// From the plain projection in report.json.
    public init?(plain: Value) {
        guard let code = plain["code"].intValue, let byte = UInt8(exactly: code),
              let sender = plain["sender"].stringValue.flatMap(Peer.init(rawValue:)) else { return nil }
        self.init(code: byte, level: plain["level"].stringValue == "warning" ? .warning : .fatal, sender: sender,
                  variant: plain["variant"].stringValue.map(SNIVariant.init), server: plain["address"].stringValue.flatMap { Endpoint($0) },
                  serverName: plain["sni"].stringValue)
    }
}

extension Certificate {
    /// From the plain projection in report.json (the DER comes back from its PEM).
    public init?(plain: Value) {
        guard let pem = plain["pem"].stringValue,
              let body = pem.split(separator: "\n").filter({ !$0.hasPrefix("-----") }).joined().data(using: .ascii),
              let der = Data(base64Encoded: body),
              let notBefore = plain["not_before"].stringValue.flatMap(ISO8601.parse),
              let notAfter = plain["not_after"].stringValue.flatMap(ISO8601.parse) else { return nil }
        let key = (plain["key"].stringValue ?? "").split(separator: " ")
        let algorithm: KeyAlgorithm = switch key.first.map(String.init) {
        case "RSA": .rsa
        case "EC": .ec
        case "ED25519": .ed25519
        case "ED448": .ed448
        case "DSA": .dsa
        case let other: .other(other ?? "unknown")
        }
        let sans: [AlternativeName] = (plain["sans"].listValue ?? []).compactMap { v in
            guard let s = v.stringValue else { return nil }
            if s.hasPrefix("DNS:") { return .dns(String(s.dropFirst(4))) }
            if s.hasPrefix("IP:") { return IPAddress(String(s.dropFirst(3))).map(AlternativeName.ip) }
            return nil
        }
        self.init(der: Array(der), subject: plain["subject"].stringValue ?? "", issuer: plain["issuer"].stringValue ?? "",
                  serial: plain["serial"].stringValue ?? "", notBefore: notBefore, notAfter: notAfter, alternativeNames: sans,
                  keyAlgorithm: algorithm, keyBits: key.count > 1 ? Int(key[1]) ?? 0 : 0,
                  signatureAlgorithm: plain["signature"].stringValue ?? "", isCA: plain["ca"].boolValue ?? false,
                  isSelfSigned: plain["self_signed"].boolValue ?? false, sha256: plain["sha256"].stringValue ?? "",
                  subjectKeyID: plain["ski"].stringValue, authorityKeyID: plain["aki"].stringValue)
    }
}
