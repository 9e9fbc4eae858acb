/// Masks secrets inside raw bytes — a capture's clear-text payloads — with
/// `*`, keeping every length (frames stay frames): the values of the
/// credential headers (Authorization, Proxy-Authorization, Cookie,
/// Set-Cookie, X-Api-Key, X-Auth-Token) up to the end of their line, and
/// every secret value the run sent, wherever it appears.
public enum PayloadRedactor {
    static let headers: [[UInt8]] = ["authorization:", "proxy-authorization:", "cookie:", "set-cookie:", "x-api-key:", "x-auth-token:"]
        .map { Array($0.utf8) }

    public static func mask(_ bytes: inout [UInt8], secrets: [String]) {
        maskHeaders(&bytes)
        for secret in secrets.sorted(by: { $0.count > $1.count }) where secret.utf8.count >= 4 {
            SecretSet.mask(Array(secret.utf8), in: &bytes)
        }
    }

    static func maskHeaders(_ bytes: inout [UInt8]) {
        var i = 0
        while i < bytes.count {
            guard bytes[i] == 0x0A else { i += 1; continue }   // a header starts after a line feed
            let start = i + 1
            for name in headers where start + name.count <= bytes.count {
                var matches = true
                for (k, c) in name.enumerated() {
                    let b = bytes[start + k]
                    if (b >= 0x41 && b <= 0x5A ? b | 0x20 : b) != c { matches = false; break }
                }
                guard matches else { continue }
                var j = start + name.count
                while j < bytes.count, bytes[j] == 0x20 { j += 1 }
                while j < bytes.count, bytes[j] != 0x0D, bytes[j] != 0x0A { bytes[j] = 0x2A; j += 1 }
                i = j - 1
                break
            }
            i += 1
        }
    }
}
