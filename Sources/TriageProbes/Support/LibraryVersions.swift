internal import CTriageShims

/// The C libraries triage uses, as they report themselves. libcurl and
/// libpcap are loaded on first use; `nil` means the library is missing.
public enum LibraryVersions {
    public static var openSSL: String { String(cString: triage_openssl_version()) }
    /// OpenSSL 3.0 runs EC and RSA keys by its built-in methods here, not its provider decoders
    /// (`TRIAGE_OPENSSL_PROVIDER_KEYS=1` turns that off; see triage_keys.c). Asking sets it up.
    public static var openSSLBuiltinKeys: Bool { triage_openssl_builtin_keys() == 1 }
    public static var curl: String? { triage_curl_version().map { String(cString: $0) } }
    public static var pcap: String? { triage_pcap_version().map { String(cString: $0) } }

    public static var summary: String {
        "\(openSSL)\(openSSLBuiltinKeys ? " (EC and RSA keys by its built-in methods)" : ""); \(curl ?? "libcurl missing"); \(pcap ?? "libpcap missing")"
    }
}
