internal import COpenSSL
internal import CTriageShims

/// A failed OpenSSL call, carrying OpenSSL's own error queue (code and text)
/// so the message a user sees is OpenSSL's, not "failed".
public struct OpenSSLError: Error, CustomStringConvertible, Sendable {
    public var operation: String
    public var queue: [String]

    public var description: String {
        queue.isEmpty ? "\(operation) failed" : "\(operation) failed: \(queue.joined(separator: "; "))"
    }

    /// Drains the thread's error queue.
    static func drain() -> [String] {
        var out: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            out.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return out
    }

    static func capture(_ operation: String) -> OpenSSLError {
        OpenSSLError(operation: operation, queue: drain())
    }
}

/// A string OpenSSL allocated, copied and freed.
func takeString(_ pointer: UnsafeMutablePointer<CChar>?) -> String? {
    guard let pointer else { return nil }
    defer { triage_free(pointer) }
    return String(cString: pointer)
}
