import Foundation
import TriageKit

/// What one HTTP exchange says about the target.
struct HTTPFindings {
    let exchange: HTTPExchange
    let url: String
    let role: String
    let compareStatus: Int?

    var host: String { URLPart.host.extract(from: url).stringValue ?? url }

    var findings: [Finding] {
        let e = exchange
        let subject = Redactor.redact(url)
        if e.curlCode != 0 {
            let facts = [Fact("curl", .int(e.curlCode)), Fact("curl error", .string("\(e.curlName): \(Redactor.redact(e.curlMessage))"))]
            switch e.curlCode {
            case 5, 6:
                return [Finding(.dnsFailure, summary: "curl could not resolve \(e.curlCode == 5 ? "the proxy" : host): \(e.curlMessage)", subject: host, facts: facts)]
            case 7 where e.curlMessage.lowercased().contains("refused"):
                return [Finding(.connectionRefused, summary: "\(host) refused the connection (curl \(e.curlCode))", subject: subject, facts: facts)]
            case 28:
                return [Finding(.timeout, summary: "the request to \(subject) timed out: \(e.curlMessage)", subject: subject, facts: facts)]
            default:
                // TLS failures (35, 60, …): tls.handshake and x509.check-dates
                // explain them with more precision than curl's one line.
                return []
            }
        }
        let other = compareStatus.map { ", while the \(role == "via" ? "upstream answered" : "proxy answered") \($0) directly" } ?? ""
        let statusFacts = [Fact("status", .int(e.status))] + (compareStatus.map { [Fact(role == "via" ? "direct status" : "via status", .int($0))] } ?? [])
        if role == "via", e.status >= 500 {
            let direct = compareStatus.map { $0 > 0 ? " while the upstream answered \($0) to a direct request"
                : " (a direct request got no HTTP answer either: see the direct step)" } ?? ""
            return [Finding(.proxyError, summary: "the proxy answered \(e.status) \(Self.reason(e.status))\(direct)",
                            subject: subject, facts: statusFacts)]
        }
        if e.status >= 400 {
            return [Finding(.httpError, summary: "\(subject) answered \(e.status) \(Self.reason(e.status))\(other)", subject: subject, facts: statusFacts)]
        }
        return []
    }

    static func reason(_ status: Int) -> String {
        [400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 408: "Request Timeout",
         429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
         504: "Gateway Timeout"][status] ?? ""
    }
}
