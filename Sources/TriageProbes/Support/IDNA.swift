import Foundation
internal import CTriageShims

/// International host names in their ASCII (IDNA2008, `xn--…`) form, through
/// libidn2 — what DNS, SNI and curl need.
public enum IDNA {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var host: String
        public var reason: String
        public var description: String { "'\(host)' is not a valid international host name: \(reason)" }
    }

    public static func ascii(_ host: String) throws(Failure) -> String {
        guard !host.allSatisfy(\.isASCII) else { return host }
        var output = [CChar](repeating: 0, count: 1024)
        var error = [CChar](repeating: 0, count: 256)
        guard triage_idna_to_ascii(host, &output, output.count, &error, error.count) == 0 else {
            throw Failure(host: host, reason: String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return String(decoding: output.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
