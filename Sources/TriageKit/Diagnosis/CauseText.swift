/// Titles and default remedies per cause and language. Text is data: a new
/// language is one more table here and one more template.
public enum CauseText {
    public static func title(_ cause: Cause, language: String = "en") -> String {
        let table = language == "zh" ? zhTitles : enTitles
        return table[cause] ?? cause.code
    }

    public static func remedy(_ cause: Cause) -> String { remedies[cause] ?? "" }

    static let enTitles: [Cause: String] = [
        .certExpired: "certificate expired",
        .certNotYetValid: "certificate not yet valid",
        .hostnameMismatch: "certificate does not match the host name",
        .selfSigned: "self-signed certificate",
        .untrustedIssuer: "certificate issuer not trusted",
        .incompleteChain: "incomplete certificate chain",
        .intermediateExpired: "intermediate certificate expired",
        .weakKey: "weak certificate key",
        .clientCertRequired: "server requires a client certificate",
        .protocolVersion: "no common TLS version",
        .noSharedCipher: "no shared cipher",
        .alertWithoutSNI: "server aborts the handshake without SNI",
        .defaultCertWithoutSNI: "server presents another certificate without SNI",
        .mixedBackends: "addresses of the name disagree",
        .notTLS: "the port does not speak TLS",
        .timeout: "timed out",
        .connectionRefused: "connection refused",
        .dnsFailure: "name does not resolve",
        .httpError: "HTTP error status",
        .proxyError: "the proxy fails to reach the upstream",
    ]

    static let zhTitles: [Cause: String] = [
        .certExpired: "证书已过期",
        .certNotYetValid: "证书尚未生效",
        .hostnameMismatch: "证书与域名不匹配",
        .selfSigned: "自签名证书",
        .untrustedIssuer: "证书签发者不受信任",
        .incompleteChain: "证书链不完整",
        .intermediateExpired: "中间证书已过期",
        .weakKey: "证书密钥强度不足",
        .clientCertRequired: "服务端要求客户端证书",
        .protocolVersion: "没有共同的 TLS 版本",
        .noSharedCipher: "无法协商密钥套件",
        .alertWithoutSNI: "不带 SNI 时服务端中止握手",
        .defaultCertWithoutSNI: "不带 SNI 时服务端返回另一张证书",
        .mixedBackends: "同一域名的各地址表现不一致",
        .notTLS: "端口不是 TLS 服务",
        .timeout: "超时",
        .connectionRefused: "连接被拒绝",
        .dnsFailure: "域名解析失败",
        .httpError: "HTTP 错误状态码",
        .proxyError: "代理无法连接上游",
    ]

    static let remedies: [Cause: String] = [
        .certExpired: "Renew the certificate and reload the server; check the new notAfter with `openssl s_client -connect HOST:PORT -servername HOST </dev/null | openssl x509 -noout -dates`.",
        .certNotYetValid: "Check the server's and the issuer's clocks, or install a certificate whose notBefore has passed.",
        .hostnameMismatch: "Install a certificate whose subjectAltName covers the host name clients use (or use that name in the client / `proxy_ssl_name`).",
        .selfSigned: "Install a certificate issued by a CA the clients trust, or give clients the CA file (`proxy_ssl_trusted_certificate`, `--cacert`).",
        .untrustedIssuer: "Give the clients the issuing CA (`--ca-file`, `proxy_ssl_trusted_certificate`) or use a certificate from a publicly trusted CA.",
        .incompleteChain: "Serve the full chain: append the intermediate certificate(s) to the server's certificate file (`ssl_certificate` fullchain).",
        .intermediateExpired: "Replace the expired intermediate in the served chain with the CA's current one.",
        .weakKey: "Reissue the certificate with an RSA key of at least 2048 bits or an ECDSA P-256 key.",
        .clientCertRequired: "Configure the client certificate (`proxy_ssl_certificate` / `proxy_ssl_certificate_key`, `curl --cert --key`) or relax the server's `ssl_verify_client`.",
        .protocolVersion: "Enable a TLS version both sides support (TLS 1.2 or 1.3) on the server, or `proxy_ssl_protocols` on the client.",
        .noSharedCipher: "Align the cipher suites: enable a modern suite (ECDHE with AES-GCM or CHACHA20) on both sides.",
        .alertWithoutSNI: "Make the client send SNI (nginx: `proxy_ssl_server_name on;` and `proxy_ssl_name HOST;`), or give the server a default certificate for clients without SNI.",
        .defaultCertWithoutSNI: "Make the client send SNI (nginx: `proxy_ssl_server_name on;`), and fix or renew the server's default certificate.",
        .mixedBackends: "Bring every address of the name to the same configuration, or take the broken ones out of DNS / the load balancer.",
        .notTLS: "Point the client at the TLS port, or use http:// for this port.",
        .timeout: "Check that the service is up and not overloaded, and that no firewall drops packets between client and server.",
        .connectionRefused: "Start the service or fix the port; check that it listens on this address (`ss -ltnp`).",
        .dnsFailure: "Fix the DNS record or the resolver configuration; compare with `dig` against an authoritative server.",
        .httpError: "See the response status and body; the upstream answered, so look at its logs.",
        .proxyError: "The proxy could not talk to its upstream: see the upstream findings below and the proxy's error log.",
    ]
}
