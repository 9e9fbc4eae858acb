import TriageWire
internal import CTriageShims

/// TLS 1.3 record protection's primitives from OpenSSL — HKDF-Expand
/// (EVP_PKEY HKDF, expand-only) and the AEADs (EVP AES-GCM,
/// ChaCha20-Poly1305) — for decrypting captures with a key log.
struct OpenSSLTLS13Crypto: TLS13Crypto {
    func hkdfExpand(hash: Int, secret: [UInt8], info: [UInt8], length: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: length)
        let status = triage_hkdf_expand(Int32(hash), secret, secret.count, info, info.count, &out, length)
        return status == 0 ? out : nil
    }

    func open(_ cipher: TLS13Cipher, key: [UInt8], nonce: [UInt8], aad: [UInt8], sealed: ArraySlice<UInt8>) -> [UInt8]? {
        guard sealed.count > 16, key.count >= 16, nonce.count == 12 else { return nil }
        var out = [UInt8](repeating: 0, count: sealed.count - 16)
        let n = sealed.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { o in
                triage_aead_open(Int32(cipher.rawValue), key, nonce, aad, aad.count, s.baseAddress, s.count, o.baseAddress)
            }
        }
        guard n >= 0 else { return nil }
        return Array(out.prefix(Int(n)))
    }
}
