/// What one side of a TLS connection showed in clear.
public struct TLSSideSummary: Sendable {
    public var sni: String?
    public var offeredVersions: [UInt16] = []
    public var alpn: [String] = []
    public var cipherSuites = 0
    public var selectedVersion: UInt16?
    public var selectedCipher: UInt16?
    public var certificates: [[UInt8]] = []
    public var certificateRequest = false
    public var helloSeen = false
    public var changeCipherSpec = false
    /// Alerts in clear: (level, description). Encrypted alerts are counted.
    public var alerts: [(level: UInt8, code: UInt8, microseconds: UInt64)] = []
    public var encryptedAlerts = 0
    /// The bytes were not TLS records (or the stream could not be followed).
    public var notTLS = false
}

/// Parses the TLS record layer of one direction, across segment
/// boundaries, and the handshake messages across records, until encryption
/// starts (ChangeCipherSpec in TLS 1.2; after ServerHello in TLS 1.3).
struct TLSStreamParser {
    var summary = TLSSideSummary()
    private var buffer: [UInt8] = []
    private var handshake: [UInt8] = []
    /// Set by the connection once the server selected TLS 1.3: from then on
    /// both sides' handshake messages are encrypted.
    var tls13 = false
    private var encrypted: Bool { summary.changeCipherSpec || tls13 && summary.helloSeen }

    mutating func feed(_ bytes: [UInt8], at micros: UInt64) {
        guard !summary.notTLS else { return }
        // Whole records are read straight from the segment; only a record
        // cut by the segment's end is kept for the next one.
        if buffer.isEmpty {
            let used = records(bytes, at: micros)
            if used < bytes.count, !summary.notTLS { buffer = Array(bytes[used...]) }
        } else {
            buffer += bytes
            let used = records(buffer, at: micros)
            buffer.removeFirst(min(used, buffer.count))
        }
        if buffer.count > 40_000 { summary.notTLS = true; buffer = [] }
    }

    /// Parses the complete records at the start of `data`; returns the bytes used.
    private mutating func records(_ data: [UInt8], at micros: UInt64) -> Int {
        var offset = 0
        while data.count - offset >= 5 {
            let type = data[offset], major = data[offset + 1]
            let length = Int(data[offset + 3]) << 8 | Int(data[offset + 4])
            guard (20...23).contains(type), major == 3, length <= 18_432 else {
                summary.notTLS = true
                buffer = []
                return data.count
            }
            guard data.count - offset >= 5 + length else { break }
            let start = offset + 5
            offset += 5 + length
            switch type {
            case 20: summary.changeCipherSpec = true
            case 21:
                // A clear alert is two bytes; an encrypted one is longer.
                if length == 2 {
                    summary.alerts.append((data[start], data[start + 1], micros))
                } else {
                    summary.encryptedAlerts += 1
                }
            case 22 where !encrypted:
                handshake += data[start..<(start + length)]
                parseHandshake()
            default: break // application data and encrypted records: not copied
            }
        }
        return offset
    }

    private mutating func parseHandshake() {
        while handshake.count >= 4 {
            let length = Int(handshake[1]) << 16 | Int(handshake[2]) << 8 | Int(handshake[3])
            guard length <= 1 << 20 else { handshake = []; return }
            guard handshake.count >= 4 + length else { return }
            let type = handshake[0]
            let body = Array(handshake[4..<(4 + length)])
            handshake.removeFirst(4 + length)
            var r = Reader(body)
            switch type {
            case 1: clientHello(&r)
            case 2: serverHello(&r)
            case 11: certificate(&r)
            case 13: summary.certificateRequest = true
            default: break
            }
        }
    }

    private mutating func clientHello(_ r: inout Reader) {
        summary.helloSeen = true
        guard let legacy = r.u16(), r.skip(32), let sid = r.u8(), r.skip(Int(sid)),
              let suites = r.u16(), r.skip(Int(suites)), let comp = r.u8(), r.skip(Int(comp)) else { return }
        summary.cipherSuites = Int(suites) / 2
        summary.offeredVersions = [legacy]
        guard let extLength = r.u16(), var ext = r.sub(Int(extLength)) else { return }
        while let type = ext.u16(), let len = ext.u16(), var data = ext.sub(Int(len)) {
            switch type {
            case 0:
                guard data.u16() != nil, data.u8() == 0, let n = data.u16(), let name = data.bytes(Int(n)) else { break }
                summary.sni = String(decoding: name, as: UTF8.self)
            case 16:
                guard let listLength = data.u16(), var list = data.sub(Int(listLength)) else { break }
                while let n = list.u8(), let p = list.bytes(Int(n)) { summary.alpn.append(String(decoding: p, as: UTF8.self)) }
            case 43:
                guard let n = data.u8(), var list = data.sub(Int(n)) else { break }
                var versions: [UInt16] = []
                while let v = list.u16() { if v & 0x0F0F != 0x0A0A { versions.append(v) } } // drop GREASE
                if !versions.isEmpty { summary.offeredVersions = versions }
            default: break
            }
        }
    }

    private mutating func serverHello(_ r: inout Reader) {
        summary.helloSeen = true
        guard let legacy = r.u16(), r.skip(32), let sid = r.u8(), r.skip(Int(sid)), let cipher = r.u16(), r.skip(1) else { return }
        summary.selectedVersion = legacy
        summary.selectedCipher = cipher
        guard let extLength = r.u16(), var ext = r.sub(Int(extLength)) else { return }
        while let type = ext.u16(), let len = ext.u16(), var data = ext.sub(Int(len)) {
            if type == 43, let v = data.u16() { summary.selectedVersion = v }
        }
    }

    private mutating func certificate(_ r: inout Reader) {
        guard let total = r.u24(), var list = r.sub(Int(total)) else { return }
        while let n = list.u24(), let der = list.bytes(Int(n)) { summary.certificates.append(der) }
    }
}

/// Bounds-checked big-endian reading.
struct Reader {
    var bytes: [UInt8]
    var i = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    mutating func u8() -> UInt8? { guard i < bytes.count else { return nil }; defer { i += 1 }; return bytes[i] }
    mutating func u16() -> UInt16? { guard i + 2 <= bytes.count else { return nil }; defer { i += 2 }; return UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1]) }
    mutating func u24() -> UInt32? {
        guard i + 3 <= bytes.count else { return nil }
        defer { i += 3 }
        return UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
    }
    mutating func skip(_ n: Int) -> Bool { guard i + n <= bytes.count else { return false }; i += n; return true }
    mutating func bytes(_ n: Int) -> [UInt8]? { guard i + n <= bytes.count else { return nil }; defer { i += n }; return Array(bytes[i..<(i + n)]) }
    mutating func sub(_ n: Int) -> Reader? { bytes(n).map(Reader.init) }
}
