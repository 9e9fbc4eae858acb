import TriageKit

extension StepCatalog {
    /// Every step kind triage ships. Adding a kind: one file in Steps/, one line here.
    public static let standard = StepCatalog([
        ExecStep(),
        DecodeAlertStep(),
        TLSHandshakeStep(),
        X509CheckDatesStep(),
        HTTPRequestStep(),
        DNSResolveStep(),
        NginxConfigStep(),
        NginxErrorLogStep(),
        NginxErrorLogStep.anyProxy,
        ProxyProfileStep(),
        CaptureDecodeStep(),
        CaptureStartStep(),
        CaptureStopStep(),
    ])
}
