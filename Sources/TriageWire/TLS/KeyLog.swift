/// TLS secrets in the NSS key log format (what `SSLKEYLOGFILE`, `openssl
/// s_client -keylogfile` and Wireshark's `tls.keylog_file` use, and what a
/// pcapng Decryption Secrets Block carries): `LABEL <client random> <secret>`
/// per line, hex. Only the TLS 1.3 traffic secrets are kept.
public struct KeyLog: Sendable {
    /// The traffic secrets of one TLS 1.3 connection, by who sends with them.
    public struct Secrets: Sendable, Equatable {
        public var clientHandshake: [UInt8]?
        public var serverHandshake: [UInt8]?
        public var clientApplication: [UInt8]?
        public var serverApplication: [UInt8]?
    }

    private var byRandom: [BytesKey: Secrets] = [:]
    /// Lines read that were neither a comment nor a known label with two hex fields.
    public private(set) var ignoredLines = 0

    public init() {}

    /// Parses `text` (one or more lines); reads as much as makes sense.
    public init(text: [UInt8]) { add(text) }

    public var isEmpty: Bool { byRandom.isEmpty }
    /// Connections (client randoms) with at least one secret.
    public var count: Int { byRandom.count }

    public subscript(clientRandom: [UInt8]) -> Secrets? { byRandom[BytesKey(bytes: clientRandom)] }

    public mutating func add(_ text: [UInt8]) {
        for line in text.split(separator: UInt8(ascii: "\n")) {
            let fields = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true)
                .map { $0.last == UInt8(ascii: "\r") ? $0.dropLast() : $0 }
            guard let first = fields.first, first.first != UInt8(ascii: "#") else { continue }
            guard fields.count == 3, let random = Self.hex(fields[1]), random.count == 32,
                  let secret = Self.hex(fields[2]), (32...64).contains(secret.count) else { ignoredLines += 1; continue }
            let key = BytesKey(bytes: random)
            var entry = byRandom[key] ?? Secrets()
            switch String(decoding: first, as: UTF8.self) {
            case "CLIENT_HANDSHAKE_TRAFFIC_SECRET": entry.clientHandshake = secret
            case "SERVER_HANDSHAKE_TRAFFIC_SECRET": entry.serverHandshake = secret
            case "CLIENT_TRAFFIC_SECRET_0": entry.clientApplication = secret
            case "SERVER_TRAFFIC_SECRET_0": entry.serverApplication = secret
            case "CLIENT_RANDOM", "EXPORTER_SECRET", "EARLY_EXPORTER_SECRET", "CLIENT_EARLY_TRAFFIC_SECRET": continue // not needed here
            default: ignoredLines += 1; continue
            }
            byRandom[key] = entry
        }
    }

    static func hex(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        guard text.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 2)
        var i = text.startIndex
        while i < text.endIndex {
            guard let high = nibble(text[i]), let low = nibble(text[i + 1]) else { return nil }
            out.append(high << 4 | low)
            i += 2
        }
        return out
    }
}

/// The two primitives TLS 1.3 record protection needs, supplied by a
/// cryptographic library (TriageProbes wraps OpenSSL's): this module holds
/// only the protocol around them (labels, nonces, sequence numbers).
public protocol TLS13Crypto: Sendable {
    /// HKDF-Expand (RFC 5869) with SHA-256 or SHA-384 (`hash` 256 or 384).
    func hkdfExpand(hash: Int, secret: [UInt8], info: [UInt8], length: Int) -> [UInt8]?
    /// AEAD decryption of `sealed` (ciphertext then 16-byte tag); nil when the tag does not verify.
    func open(_ cipher: TLS13Cipher, key: [UInt8], nonce: [UInt8], aad: [UInt8], sealed: ArraySlice<UInt8>) -> [UInt8]?
}

/// The TLS 1.3 cipher suites (RFC 8446 §B.4) with their AEAD and hash.
public enum TLS13Cipher: Int, Sendable {
    case aes128GCM = 1, aes256GCM = 2, chacha20Poly1305 = 3

    public init?(suite: UInt16) {
        switch suite {
        case 0x1301: self = .aes128GCM
        case 0x1302: self = .aes256GCM
        case 0x1303: self = .chacha20Poly1305
        default: return nil
        }
    }

    var keyLength: Int { self == .aes128GCM ? 16 : 32 }
    var hash: Int { self == .aes256GCM ? 384 : 256 }
    var hashLength: Int { hash / 8 }
}

/// One direction's record protection: handshake keys, then the application
/// keys once this side's Finished went by (RFC 8446 §7).
struct TLS13Direction {
    let crypto: any TLS13Crypto
    let cipher: TLS13Cipher
    private var key: [UInt8]
    private var iv: [UInt8]
    /// The traffic secret in use (KeyUpdate derives the next one from it).
    private var secret: [UInt8]
    private var sequence: UInt64 = 0
    private let application: [UInt8]?
    private(set) var inApplicationPhase = false
    /// A record did not authenticate: the keys are wrong or a record was lost; stop.
    private(set) var failed = false
    private(set) var opened = 0

    init?(crypto: any TLS13Crypto, suite: UInt16, handshake: [UInt8]?, application: [UInt8]?) {
        guard let cipher = TLS13Cipher(suite: suite), let handshake,
              let (key, iv) = Self.keys(crypto, cipher, handshake) else { return nil }
        self.crypto = crypto
        self.cipher = cipher
        self.key = key
        self.iv = iv
        self.secret = handshake
        self.application = application
    }

    /// The HkdfLabel of HKDF-Expand-Label(secret, name, "", length) (RFC 8446 §7.1).
    static func label(_ name: String, _ length: Int) -> [UInt8] {
        let full = Array(("tls13 " + name).utf8)
        return [UInt8(length >> 8), UInt8(length & 0xFF), UInt8(full.count)] + full + [0]
    }

    /// HKDF-Expand-Label(secret, "key"/"iv", "", length).
    static func keys(_ crypto: any TLS13Crypto, _ cipher: TLS13Cipher, _ secret: [UInt8]) -> ([UInt8], [UInt8])? {
        guard let key = crypto.hkdfExpand(hash: cipher.hash, secret: secret, info: Self.label("key", cipher.keyLength), length: cipher.keyLength),
              let iv = crypto.hkdfExpand(hash: cipher.hash, secret: secret, info: Self.label("iv", 12), length: 12) else { return nil }
        return (key, iv)
    }

    /// The inner content type and content of one protected record (header
    /// and body as on the wire), or nil: not decrypted (failed before, or a
    /// large application-data record, which is only counted).
    mutating func open(header: ArraySlice<UInt8>, body: ArraySlice<UInt8>) -> (type: UInt8, content: [UInt8])? {
        defer { sequence &+= 1 }
        // After the handshake only short records can be alerts: the rest is application data, not decrypted.
        guard !failed, !inApplicationPhase || body.count <= 64 else { return nil }
        var nonce = iv
        for i in 0..<8 { nonce[4 + i] ^= UInt8(truncatingIfNeeded: sequence >> (56 - 8 * UInt64(i))) }
        guard var plain = crypto.open(cipher, key: key, nonce: nonce, aad: Array(header), sealed: body) else {
            failed = true
            return nil
        }
        opened += 1
        // TLSInnerPlaintext: content, the real type, then zero padding.
        while plain.last == 0 { plain.removeLast() }
        guard let type = plain.popLast() else { return nil }
        return (type, plain)
    }

    /// This side sent its Finished: what follows uses the application traffic secret.
    mutating func switchToApplication() {
        guard !inApplicationPhase else { return }
        inApplicationPhase = true
        sequence = 0
        guard let application, let (key, iv) = Self.keys(crypto, cipher, application) else { failed = true; return }
        self.key = key
        self.iv = iv
        secret = application
    }

    /// This side sent KeyUpdate: application_traffic_secret_N+1 = HKDF-Expand-Label(secret_N, "traffic upd", "", Hash.length).
    mutating func keyUpdate() {
        guard inApplicationPhase, !failed,
              let next = crypto.hkdfExpand(hash: cipher.hash, secret: secret, info: Self.label("traffic upd", cipher.hashLength), length: cipher.hashLength),
              let (key, iv) = Self.keys(crypto, cipher, next) else { failed = true; return }
        self.key = key
        self.iv = iv
        secret = next
        sequence = 0
    }
}
