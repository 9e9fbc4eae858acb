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
    /// TLS 1.3 records of this side were decrypted with a key log; or one did not authenticate.
    public var decrypted = false
    public var decryptionFailed = false
    /// TLS 1.3 without keys: after the peer's protected records began, this
    /// side's first protected record was of an alert's size (19 bytes)
    /// before the peer sent any short one — an encrypted alert, most likely.
    /// After the peer's protected records began: this side's short
    /// protected records (alerts, close_notify) and its longer ones
    /// (application data, session tickets).
    public var shortRecordFirst = false
    public var lateShort = 0
    public var lateData = 0
    /// TLS 1.2: application data records after this side's ChangeCipherSpec (a client's request).
    public var applicationData = 0
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
    /// TLS 1.2: after ChangeCipherSpec. TLS 1.3: after the hello (its ChangeCipherSpec is a dummy,
    /// sent even after a HelloRetryRequest, before the real ServerHello).
    private var encrypted: Bool { tls13 ? summary.helloSeen : summary.changeCipherSpec }
    /// The ClientHello's random: what a key log is keyed by.
    private(set) var clientRandom: [UInt8]?
    /// This side's TLS 1.3 traffic secrets from a key log, and the library
    /// that opens records with them; `protection` starts at the ServerHello.
    var secrets: (handshake: [UInt8]?, application: [UInt8]?)?
    var crypto: (any TLS13Crypto)?
    var protection: TLS13Direction?
    /// Set by the connection: the peer has sent protected records, and how many short ones.
    var peerProtected = false
    var peerShortRecords = 0
    /// This side's protected records (TLS 1.3 after the hellos, not opened) and the short ones.
    private(set) var protectedRecords = 0
    private(set) var shortRecords = 0
    private var sawLate = false

    /// Starts decrypting this side's records (the client's side, once the server chose TLS 1.3 and `suite`).
    mutating func startDecryption(suite: UInt16) {
        guard protection == nil, let crypto, let secrets else { return }
        protection = TLS13Direction(crypto: crypto, suite: suite, handshake: secrets.handshake, application: secrets.application)
    }

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
            case 23 where protection == nil && tls13 && summary.helloSeen:
                // Not opened: only its size and place say anything.
                protectedRecords += 1
                // An alert protected with an AEAD: 2 bytes, the inner type, a 16-byte tag (no padding).
                let alertSized = length == 19
                if alertSized { shortRecords += 1 }
                if peerProtected {
                    if !sawLate, alertSized, peerShortRecords == 0 { summary.shortRecordFirst = true }
                    if alertSized { summary.lateShort += 1 } else { summary.lateData += 1 }
                    sawLate = true
                }
            case 23 where protection != nil:
                // TLS 1.3 with a key log: the record's inner type says what it carries.
                var p = protection!
                let opened = p.open(header: data[(start - 5)..<start], body: data[start..<(start + length)])
                protection = p
                if p.failed { summary.decryptionFailed = true }
                guard let (inner, content) = opened else { break }
                summary.decrypted = true
                switch inner {
                case 21 where content.count >= 2: summary.alerts.append((content[0], content[1], micros))
                case 22:
                    handshake += content
                    parseHandshake()
                default: break
                }
            case 23 where !tls13 && summary.changeCipherSpec:
                summary.applicationData += 1
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
            case 11: if tls13 { certificate13(&r) } else { certificate(&r) }
            case 13: summary.certificateRequest = true
            case 20: protection?.switchToApplication() // the rest of this side's records use the application keys
            case 24: protection?.keyUpdate() // KeyUpdate: the next records use the next generation of keys
            default: break
            }
        }
    }

    private mutating func clientHello(_ r: inout Reader) {
        summary.helloSeen = true
        guard let legacy = r.u16(), let random = r.bytes(32), let sid = r.u8(), r.skip(Int(sid)),
              let suites = r.u16(), r.skip(Int(suites)), let comp = r.u8(), r.skip(Int(comp)) else { return }
        if clientRandom == nil { clientRandom = random }
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
        guard let legacy = r.u16(), let random = r.bytes(32) else { return }
        // A HelloRetryRequest (RFC 8446 §4.1.3): the real ServerHello follows in clear.
        let retry = random == Self.helloRetryRandom
        if !retry { summary.helloSeen = true }
        guard let sid = r.u8(), r.skip(Int(sid)), let cipher = r.u16(), r.skip(1) else { return }
        summary.selectedVersion = legacy
        summary.selectedCipher = cipher
        guard let extLength = r.u16(), var ext = r.sub(Int(extLength)) else { return }
        while let type = ext.u16(), let len = ext.u16(), var data = ext.sub(Int(len)) {
            if type == 43, let v = data.u16() { summary.selectedVersion = v }
        }
        if summary.selectedVersion == 0x0304 { tls13 = true }
        if !retry, summary.selectedVersion == 0x0304 { startDecryption(suite: cipher) }
    }

    static let helloRetryRandom: [UInt8] = [
        0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
        0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
    ]

    /// TLS 1.3's Certificate: a request context, then entries each with its own extensions.
    private mutating func certificate13(_ r: inout Reader) {
        guard let context = r.u8(), r.skip(Int(context)), let total = r.u24(), var list = r.sub(Int(total)) else { return }
        while let n = list.u24(), let der = list.bytes(Int(n)), let extensions = list.u16(), list.skip(Int(extensions)) {
            summary.certificates.append(der)
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
