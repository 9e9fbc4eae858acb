internal import CTriageShims

/// The C libraries triage uses, as they report themselves. libcurl and
/// libpcap are loaded on first use; `nil` means the library is missing.
public enum LibraryVersions {
    public static var openSSL: String { String(cString: triage_openssl_version()) }
    public static var curl: String? { triage_curl_version().map { String(cString: $0) } }
    public static var pcap: String? { triage_pcap_version().map { String(cString: $0) } }

    public static var summary: String {
        "\(openSSL); \(curl ?? "libcurl missing"); \(pcap ?? "libpcap missing")"
    }
}
