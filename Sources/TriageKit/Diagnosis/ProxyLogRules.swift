import Foundation
import TriageWire

/// The proxy's own word: the cause its error log names for this upstream.
/// nginx writes what went wrong in its own forms (`SSL alert number 80`,
/// `upstream SSL certificate does not match "backend"`, `verify error:
/// (10:certificate has expired)`, `no live upstreams`, …); each becomes the
/// cause in triage's vocabulary, on the proxy's path. The diagnosis ranks
/// a cause the log names above any that is only predicted.
public struct ProxyLogRules: Sendable {
    public let log: ProxyLog
    /// What the rest of the case says about the proxy's connection, for the alert's context.
    public let context: AlertMeaning.Context
    /// The leaf the upstream serves (to name what a name mismatch is about).
    public let leaf: Certificate?

    /// What the replay of the proxy's profile says of the chain's trust: reads nginx's verify errors 2, 20
    /// and 21, which an untrusted root, a missing intermediate and a verify depth reached all produce.
    public let trust: Finding?

    /// The rest of the case, to read an HTTP-layer event in numbers (settings in force, what was measured).
    public let proxy: ProxyCase

    public init(log: ProxyLog, context: AlertMeaning.Context, leaf: Certificate? = nil, trust: Finding? = nil, proxy: ProxyCase = ProxyCase()) {
        self.log = log
        self.context = context
        self.leaf = leaf
        self.trust = trust
        self.proxy = proxy
    }

    public var findings: [Finding] {
        // nginx's configuration and defaults read only nginx's own log.
        let isNginx = log.proxy == "nginx"
        let stale = isNginx ? proxy.staleAddress(log: log).map { [$0] } ?? [] : []
        guard let line = log.telling, line.event.isTelling else { return stale }
        let count = log.lines.filter { $0.event == line.event }.count
        let subject = line.upstreamEndpoint ?? line.upstream ?? log.file
        var facts = [Fact(.lastLine, .string(line.text)), Fact(.matchingLines, .int(log.count)), Fact(.event, .string(line.event.code))]
        if let upstream = line.upstream { facts.append(Fact(.upstream, .string(upstream))) }
        if let at = line.time { facts.append(Fact(.lastSeen, .typed(.date(at)))) }
        var (cause, meaning) = Self.meaning(line.event, proxy: log.proxy, context: context, leaf: leaf)
        var remedy: Message?
        if case .verifyError(let code, _) = line.event, [2, 20, 21].contains(code), let trust {
            // What the replay makes of nginx's words: the chain's own finding, its sentence and its fix.
            cause = trust.cause
            remedy = trust.remedy
            meaning = trust.summary
        }
        var remedyArgs: [String: Value] = ["address": .string(subject), "host": .string(line.host ?? subject), "port": .int(0)]
        if let code = line.event.alert {
            let alert = TLSAlert(code: code, level: .fatal, sender: .server)
            remedyArgs["code"] = .int(Int(code))
            remedyArgs["name"] = .string(alert.name)
            facts.append(Fact(.alert, .typed(.alert(alert))))
        }
        if case .verifyError(let code, let text) = line.event {
            remedyArgs["code"] = .int(code); remedyArgs["text"] = .string(text)
            facts.append(Fact(.verifyCode, .int(code)))
        }
        if case .nameMismatch(let name) = line.event {
            facts.append(Fact(.nameChecked, .string(name)))
            if let leaf { facts.append(Fact(.sans, .list(leaf.alternativeNames.map { .string($0.description) }))) }
        }
        let summary = Message(.findingProxyLog, ["count": .int(count), "message": .string(line.message), "meaning": meaning.value,
                                                 "time": line.time.map { .typed(.date($0)) } ?? .string("—")])
        // Another proxy's remedies in its own directives (HAProxy's `server` line, Envoy's cluster).
        if !isNginx, remedy == nil { remedy = Message.proxyRemedy(cause, proxy: log.proxy, remedyArgs) }
        var finding = Finding(cause, summary: summary, subject: subject, facts: facts, remedy: remedy, remedyArgs: remedyArgs)
        if isNginx {
            refine(&finding, event: line.event)
        } else if line.event == .invalidHeader {
            _ = proxy.http2Only(&finding, proxy: log.proxy)
        } else if line.event == .noLiveUpstreams {
            // Another proxy names its servers its own way (HAProxy's backend/server).
            let marks = log.markedDown { $0.upstream }
            if !marks.isEmpty { finding.facts.append(Fact(.markedDown, .list(marks.map(Value.string)))) }
        }
        return stale + [finding.on(.proxyLog)]
    }

    /// An HTTP-layer event read with the rest of the case: the setting nginx had against what was measured.
    func refine(_ finding: inout Finding, event: ProxyLogEvent) {
        switch event {
        case .headerTooBig:
            proxy.headerTooBig(&finding)
        case .timedOut(let phase):
            proxy.timedOut(&finding, phase: phase)
        case .closedEarly, .reset, .invalidHeader:
            if proxy.plainToTLS(&finding) { return }
            if case .invalidHeader = event, proxy.http2Only(&finding, proxy: log.proxy) { return }
            if case .closedEarly = event, proxy.bodyCut(&finding) { return }
            if case .closedEarly(let phase) = event, proxy.keepAliveRace(&finding, phase: phase) { return }
            if case .reset(let phase) = event, proxy.keepAliveRace(&finding, phase: phase) { return }
        case .noLiveUpstreams:
            proxy.noLive(&finding, log: log)
        default:
            break
        }
    }

    /// The cause an nginx upstream error names, and what it means in a sentence.
    static func meaning(_ event: ProxyLogEvent, proxy: String = "nginx", context: AlertMeaning.Context, leaf: Certificate?) -> (Cause, Message) {
        let who = Value.string(proxy)
        switch event {
        case .alert(let code):
            let cause = AlertMeaning.cause(code, sender: .server, context)
            return (cause, Message(.logMeansAlert, ["alert": .typed(.alert(TLSAlert(code: code, level: .fatal, sender: .server)))]))
        case .nameMismatch(let name):
            let sans: Value = leaf.map { .list($0.alternativeNames.map { .string($0.description) }) } ?? Message(.notTried).value
            return (.hostnameMismatch, Message(.logMeansNameMismatch, ["name": .string(name), "sans": sans]))
        case .verifyError(let code, let text):
            return (Self.verifyCause(code), Message(.logMeansVerifyError, ["code": .int(code), "text": .string(text)]))
        case .closedInHandshake:
            return (context.withoutSNI && context.sniWorks ? .alertWithoutSNI : .connectionReset, Message(.logMeansClosed))
        case .handshakeFailed(let hex):
            // OpenSSL 3 packs the reason in the low 23 bits: 267 wrong version number, 252 unknown protocol (not TLS).
            let reason = (UInt32(hex, radix: 16) ?? 0) & 0x7F_FFFF
            let cause: Cause = [267, 252, 198].contains(reason) ? .tlsToPlainPort : reason == 294 ? .connectionReset : .tlsProtocolError
            return (cause, Message(.logMeansOpenSSL, ["error": .string(hex)]))
        case .connectFailed(let errno):
            let cause: Cause = errno == Errno.connectionRefused ? .connectionRefused : errno == Errno.timedOut ? .timeout : .addressUnreachable
            return (cause, Message(.logMeansConnect, ["errno": .string(ErrorNumber.name(errno)), "proxy": who]))
        case .timedOut(let phase):
            return (.proxyTimeout, Message(.logMeansTimeout, ["phase": Message(ProxyCase.phaseKey(phase)).value, "proxy": who]))
        case .noLiveUpstreams:
            return (.noLiveUpstreams, Message(.logMeansNoLive, ["proxy": who]))
        case .tlsFailure(let reason):
            let said = Message(.logMeansTLSReason, ["reason": .string(reason), "proxy": who])
            if let code = event.alert { return (AlertMeaning.cause(code, sender: .server, context), said) }
            // Not TLS on the other end of a proxy's upstream connection: the port speaks plain.
            if ["WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "PACKET_LENGTH_TOO_LONG", "RECORD_TOO_LARGE"].contains(reason) { return (.tlsToPlainPort, said) }
            if reason == "CERTIFICATE_VERIFY_FAILED" { return (.certInvalid, said) }
            return (ClientPattern.causes(forReason: reason).first ?? .tlsProtocolError, said)
        case .headerTooBig:
            return (.upstreamHeaderTooBig, Message(.logMeansHeaderTooBig))
        case .closedEarly(let phase), .reset(let phase):
            let cause: Cause = phase == .handshaking ? .connectionReset : .upstreamClosedEarly
            return (cause, Message(.logMeansClosedEarly, ["phase": Message(ProxyCase.phaseKey(phase)).value]))
        case .invalidHeader:
            return (.httpProtocolError, Message(.logMeansInvalidHeader))
        case .connectionFailure:
            return (.proxyError, Message(.logMeansConnectionFailure, ["proxy": who]))
        case .other:
            return (.proxyError, Message(.logMeansOther, ["proxy": who]))
        }
    }

    /// OpenSSL's X509_V_ERR numbers as nginx logs them (`verify error: (N:…)`), by name.
    static func verifyCause(_ code: Int) -> Cause {
        switch X509VerifyError(rawValue: code) {
        case .certHasExpired?: .certExpired
        case .certNotYetValid?: .certNotYetValid
        case .depthZeroSelfSignedCert?: .selfSigned
        case .selfSignedCertInChain?, .unableToGetIssuerCert?, .unableToGetIssuerCertLocally?: .untrustedIssuer
        // The leaf's issuer is neither an anchor nor sent: nginx's anchors are proxy_ssl_trusted_certificate.
        case .unableToVerifyLeafSignature?: .incompleteChain
        case .invalidPurpose?: .certWrongPurpose
        case .certRevoked?: .certRevoked
        case .hostnameMismatch?, .ipAddressMismatch?: .hostnameMismatch
        case .eeKeyTooSmall?, .caKeyTooSmall?: .weakKey
        default: .certInvalid
        }
    }
}
