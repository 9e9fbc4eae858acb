import Foundation
import TriageKit
import TriageWire
internal import CCurl
internal import CTriageShims

/// A libcurl easy handle (through the shim, which loads libcurl on first
/// use and keeps the callbacks and bounded buffers): the one owner of it.
final class CurlEasy {
    struct Unavailable: Error, CustomStringConvertible {
        var description: String
    }

    private let handle: OpaquePointer

    init(bodyLimit: Int) throws(Unavailable) {
        guard let h = triage_http_new(bodyLimit) else { throw Unavailable(description: String(cString: triage_lazy_error())) }
        handle = h
    }

    deinit { triage_http_free(handle) }

    enum Option {
        case url, customRequest, proxy, caInfo, sslCert, sslKey, keyPassword, noProxy
        case noBody, followLocation, maxRedirects, connectTimeoutMs, timeoutMs, verifyPeer, verifyHost
        case httpHeader, resolve, connectTo, redirectProtocols, redirectProtocolMask

        var raw: Int32 {
            switch self {
            case .url: Int32(CURLOPT_URL.rawValue)
            case .customRequest: Int32(CURLOPT_CUSTOMREQUEST.rawValue)
            case .proxy: Int32(CURLOPT_PROXY.rawValue)
            case .noProxy: Int32(CURLOPT_NOPROXY.rawValue)
            case .caInfo: Int32(CURLOPT_CAINFO.rawValue)
            case .sslCert: Int32(CURLOPT_SSLCERT.rawValue)
            case .sslKey: Int32(CURLOPT_SSLKEY.rawValue)
            case .keyPassword: Int32(CURLOPT_KEYPASSWD.rawValue)
            case .noBody: Int32(CURLOPT_NOBODY.rawValue)
            case .followLocation: Int32(CURLOPT_FOLLOWLOCATION.rawValue)
            case .maxRedirects: Int32(CURLOPT_MAXREDIRS.rawValue)
            case .connectTimeoutMs: Int32(CURLOPT_CONNECTTIMEOUT_MS.rawValue)
            case .timeoutMs: Int32(CURLOPT_TIMEOUT_MS.rawValue)
            case .verifyPeer: Int32(CURLOPT_SSL_VERIFYPEER.rawValue)
            case .verifyHost: Int32(CURLOPT_SSL_VERIFYHOST.rawValue)
            case .httpHeader: Int32(CURLOPT_HTTPHEADER.rawValue)
            case .resolve: Int32(CURLOPT_RESOLVE.rawValue)
            case .connectTo: Int32(CURLOPT_CONNECT_TO.rawValue)
            // By number: libcurl before 7.85 (its headers, and its library loaded at run time) has only the mask.
            case .redirectProtocols: 319     // CURLOPT_REDIR_PROTOCOLS_STR
            case .redirectProtocolMask: 181  // CURLOPT_REDIR_PROTOCOLS
            }
        }
    }

    /// curl_easy_setopt's code (0: set; 48, CURLE_UNKNOWN_OPTION: this libcurl lacks the option).
    @discardableResult func set(_ option: Option, _ value: String) -> Int { Int(triage_http_set_str(handle, option.raw, value)) }
    @discardableResult func set(_ option: Option, _ value: Int) -> Int { Int(triage_http_set_long(handle, option.raw, value)) }
    func append(_ option: Option, _ value: String) { triage_http_add_list(handle, option.raw, value) }
    func setBody(_ body: String) { triage_http_set_body(handle, body, body.utf8.count) }

    /// Performs the transfer on the calling thread; raising the flag aborts it
    /// (libcurl's progress callback asks it several times a second).
    /// Loads libcurl on a thread of its own now: a run whose runbook makes HTTP requests calls this
    /// at its start, so the loading (libcurl pulls in some twenty-five libraries) overlaps the steps
    /// before the first request instead of adding to it.
    static func warmUp() {
        // On a thread of the blocking pool (its malloc arena exists already: a thread of its own would add one).
        Task.detached { await onPool { _ in _ = triage_lazy_symbol(0, "curl_version") } }
    }

    /// CURLE_WRITE_ERROR: what `perform` returns when the body cap stopped the transfer.
    static let writeError = Int(CURLE_WRITE_ERROR.rawValue)

    /// What `perform` returns when the flag was raised (CURLE_ABORTED_BY_CALLBACK).
    static let abortedByCancel = Int(CURLE_ABORTED_BY_CALLBACK.rawValue)

    func perform(cancel: CancelFlag) -> Int {
        Int(triage_http_perform(handle, { raw in
            guard let raw else { return 0 }
            return Unmanaged<CancelFlag>.fromOpaque(raw).takeUnretainedValue().isCancelled ? 1 : 0
        }, Unmanaged.passUnretained(cancel).toOpaque()))
    }

    struct Info {
        var status: Int
        var timings: HTTPExchange.Timings
        var verifyResult: Int
        var primaryIP: String?
        var primaryPort: Int
        var localIP: String?
        var localPort: Int
        var effectiveURL: String?
        var osErrno: Int32
        var redirects: Int
        /// The proxy's answer to CONNECT (0: no tunnel was asked for).
        var connectStatus = 0
    }

    var info: Info {
        func long(_ i: CURLINFO) -> Int { triage_http_info_long(handle, Int32(i.rawValue)) }
        func seconds(_ i: CURLINFO) -> Double { Double(triage_http_info_off(handle, Int32(i.rawValue))) / 1_000_000 }
        func string(_ i: CURLINFO) -> String? { triage_http_info_str(handle, Int32(i.rawValue)).map { String(cString: $0) } }
        return Info(status: long(CURLINFO_RESPONSE_CODE),
                    timings: .init(nameLookup: seconds(CURLINFO_NAMELOOKUP_TIME_T), connect: seconds(CURLINFO_CONNECT_TIME_T),
                                   tls: seconds(CURLINFO_APPCONNECT_TIME_T), firstByte: seconds(CURLINFO_STARTTRANSFER_TIME_T),
                                   total: seconds(CURLINFO_TOTAL_TIME_T)),
                    verifyResult: long(CURLINFO_SSL_VERIFYRESULT), primaryIP: string(CURLINFO_PRIMARY_IP),
                    primaryPort: long(CURLINFO_PRIMARY_PORT), localIP: string(CURLINFO_LOCAL_IP), localPort: long(CURLINFO_LOCAL_PORT),
                    effectiveURL: string(CURLINFO_EFFECTIVE_URL),
                    osErrno: Int32(truncatingIfNeeded: long(CURLINFO_OS_ERRNO)), redirects: long(CURLINFO_REDIRECT_COUNT),
                    connectStatus: long(CURLINFO_HTTP_CONNECTCODE))
    }

    /// curl's error buffer, or curl_easy_strerror when it is empty.
    func errorText(code: Int) -> String {
        let text = String(cString: triage_http_error_text(handle))
        return text.isEmpty ? String(cString: triage_http_strerror(Int32(code))) : text
    }

    static func name(_ code: Int) -> String { CurlError.named(code).map { "CURLE_\($0.name)" } ?? "CURLE_\(code)" }

    private func text(_ f: (OpaquePointer?, UnsafeMutablePointer<Int>) -> UnsafePointer<CChar>?) -> String {
        var n = 0
        guard let p = f(handle, &n) else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: p, count: n), as: UTF8.self)
    }

    var headers: String { text { triage_http_headers($0, $1) } }
    var body: String { text { triage_http_body($0, $1) } }
    /// The body as it came (a certificate in DER is not text).
    var bodyBytes: [UInt8] {
        var n = 0
        guard let p = triage_http_body(handle, &n) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }
    var trace: String { text { triage_http_trace($0, $1) } }
    var bodyTotal: Int { triage_http_body_total(handle) }
    /// Stop reading the body past this many bytes (0: read it all).
    func capBody(at bytes: Int) { triage_http_set_body_cap(handle, max(0, bytes)) }
    /// The transfer was stopped at the body cap (curl then says CURLE_WRITE_ERROR).
    var bodyCapped: Bool { triage_http_body_capped(handle) != 0 }
    var headerTotal: Int { triage_http_header_total(handle) }
    var traceDropped: Int { triage_http_trace_dropped(handle) }
    var tlsBytesIn: Int { triage_http_tls_in(handle) }
    var applicationBytesIn: Int { triage_http_app_in(handle) }
    /// Certificates verified as of this time (`--at`) instead of now.
    func verify(at date: Date) { triage_http_set_verify_time(handle, Int64(date.timeIntervalSince1970)) }

    /// Alerts on curl's connection, with their sender.
    var alerts: [(sentByClient: Bool, level: UInt8, code: UInt8)] {
        (0..<triage_http_alert_count(handle)).compactMap { i in
            var sent: Int32 = 0, level: Int32 = 0, code: Int32 = 0
            guard triage_http_alert(handle, i, &sent, &level, &code) == 0 else { return nil }
            return (sent != 0, UInt8(truncatingIfNeeded: level), UInt8(truncatingIfNeeded: code))
        }
    }
}
