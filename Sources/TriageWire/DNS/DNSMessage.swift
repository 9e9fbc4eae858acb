/// A DNS message (RFC 1035 §4) — just what a resolver check needs: build a
/// query, read the header, the question and the answer records, with name
/// compression.
public struct DNSMessage: Sendable, Equatable {
    public enum RecordType: UInt16, Sendable {
        case a = 1, cname = 5, aaaa = 28

        public var name: String {
            switch self {
            case .a: "A"
            case .cname: "CNAME"
            case .aaaa: "AAAA"
            }
        }
    }

    public struct Record: Sendable, Equatable {
        public var name: String
        public var type: UInt16
        public var ttl: UInt32
        /// The address (A, AAAA) or the target name (CNAME); hex otherwise.
        public var data: String

        public init(name: String, type: UInt16, ttl: UInt32, data: String) {
            self.name = name
            self.type = type
            self.ttl = ttl
            self.data = data
        }
    }

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    public var id: UInt16
    public var isResponse: Bool
    /// 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED…
    public var rcode: UInt8
    public var truncated: Bool
    public var questionName: String
    public var questionType: UInt16
    public var answers: [Record]

    public static func rcodeName(_ code: UInt8) -> String {
        [0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"][code] ?? "RCODE\(code)"
    }

    /// A recursive query for one name and type.
    public static func query(id: UInt16, name: String, type: RecordType) -> [UInt8] {
        var out: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        out += encode(name)
        out += [UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xFF), 0, 1]
        return out
    }

    static func encode(_ name: String) -> [UInt8] {
        var out: [UInt8] = []
        for label in name.split(separator: ".") where !label.isEmpty {
            let bytes = Array(label.utf8.prefix(63))
            out.append(UInt8(bytes.count))
            out += bytes
        }
        out.append(0)
        return out
    }

    /// A response, for test fixtures: the question echoed, then `answers`.
    public static func response(to query: [UInt8], rcode: UInt8, answers: [Record]) -> [UInt8] {
        guard query.count >= 12, var q = try? DNSMessage(bytes: query) else { return [] }
        q.answers = answers
        var out: [UInt8] = [query[0], query[1], 0x81, 0x80 | rcode, 0, 1, UInt8(answers.count >> 8), UInt8(answers.count & 0xFF), 0, 0, 0, 0]
        out += encode(q.questionName) + [UInt8(q.questionType >> 8), UInt8(q.questionType & 0xFF), 0, 1]
        for r in answers {
            out += encode(r.name) + [UInt8(r.type >> 8), UInt8(r.type & 0xFF), 0, 1]
            out += [UInt8(r.ttl >> 24), UInt8((r.ttl >> 16) & 0xFF), UInt8((r.ttl >> 8) & 0xFF), UInt8(r.ttl & 0xFF)]
            let rdata: [UInt8]
            switch RecordType(rawValue: r.type) {
            case .a: rdata = r.data.split(separator: ".").compactMap { UInt8($0) }
            case .aaaa: rdata = IPAddress(r.data)?.bytes ?? []
            default: rdata = encode(r.data)
            }
            out += [UInt8(rdata.count >> 8), UInt8(rdata.count & 0xFF)] + rdata
        }
        return out
    }

    public init(bytes: [UInt8]) throws(ParseError) {
        guard bytes.count >= 12 else { throw ParseError(description: "DNS message shorter than its 12-byte header") }
        id = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        isResponse = bytes[2] & 0x80 != 0
        truncated = bytes[2] & 0x02 != 0
        rcode = bytes[3] & 0x0F
        let questions = Int(UInt16(bytes[4]) << 8 | UInt16(bytes[5]))
        let answerCount = Int(UInt16(bytes[6]) << 8 | UInt16(bytes[7]))
        var offset = 12
        questionName = ""
        questionType = 0
        for i in 0..<questions {
            let name = try Self.name(bytes, at: &offset)
            guard offset + 4 <= bytes.count else { throw ParseError(description: "question truncated") }
            if i == 0 { questionName = name; questionType = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1]) }
            offset += 4
        }
        answers = []
        for _ in 0..<answerCount {
            let name = try Self.name(bytes, at: &offset)
            guard offset + 10 <= bytes.count else { throw ParseError(description: "answer record truncated") }
            let type = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
            let ttl = bytes[(offset + 4)..<(offset + 8)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let length = Int(UInt16(bytes[offset + 8]) << 8 | UInt16(bytes[offset + 9]))
            offset += 10
            guard offset + length <= bytes.count else { throw ParseError(description: "record data truncated") }
            let rdata = Array(bytes[offset..<(offset + length)])
            var data: String
            switch RecordType(rawValue: type) {
            case .a where length == 4: data = rdata.map(String.init).joined(separator: ".")
            case .aaaa where length == 16: data = IPAddress(bytes: rdata)!.description
            case .cname:
                var at = offset
                data = try Self.name(bytes, at: &at)
            default: data = rdata.map { String($0, radix: 16) }.joined()
            }
            answers.append(Record(name: name, type: type, ttl: ttl, data: data))
            offset += length
        }
    }

    /// A (possibly compressed) name; follows at most 32 pointers.
    static func name(_ bytes: [UInt8], at offset: inout Int) throws(ParseError) -> String {
        var labels: [String] = []
        var cursor = offset
        var jumped = false
        var jumps = 0
        while true {
            guard cursor < bytes.count else { throw ParseError(description: "name runs past the end of the message") }
            let length = Int(bytes[cursor])
            if length == 0 { cursor += 1; break }
            if length & 0xC0 == 0xC0 {
                guard cursor + 1 < bytes.count, jumps < 32 else { throw ParseError(description: "bad compression pointer") }
                let target = (length & 0x3F) << 8 | Int(bytes[cursor + 1])
                if !jumped { offset = cursor + 2 }
                jumped = true
                jumps += 1
                cursor = target
                continue
            }
            guard cursor + 1 + length <= bytes.count else { throw ParseError(description: "label runs past the end of the message") }
            labels.append(String(decoding: bytes[(cursor + 1)...(cursor + length)], as: UTF8.self))
            cursor += 1 + length
        }
        if !jumped { offset = cursor }
        return labels.joined(separator: ".")
    }
}
