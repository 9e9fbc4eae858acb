// make fuzz: libFuzzer over what users and servers give triage — the
// runbook loader with its expression parser, the nginx configuration parser,
// the DNS message parser, every output sink (with the promises SinkTests
// checks), the exporter's request handling, and the names read from a
// certificate. One binary; the target is TRIAGE_FUZZ_TARGET (runbook, nginx,
// dns, sinks, exporter, certnames). Any crash, hang, unbounded allocation or
// broken promise (a fatalError here) is a finding.
import Foundation
import TriageFleet
import TriageKit
import TriageProbes
import TriageTestSupport
import TriageWire

enum FuzzTarget: String, Sendable { case runbook, nginx, dns, sinks, exporter, certnames }

let target = FuzzTarget(rawValue: ProcessInfo.processInfo.environment["TRIAGE_FUZZ_TARGET"] ?? "") ?? .runbook
let loader = RunbookLoader(catalog: .standard)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    switch target {
    case .runbook:
        guard let text = String(validating: bytes, as: UTF8.self) else { return 0 }
        if let runbook = try? loader.load(yaml: text, source: "fuzz.yaml") {
            // Inputs resolved and every `if:` evaluated against them: the evaluator too.
            let inputs = (try? RunbookLoader.resolveInputs(runbook, given: [:])) ?? [:]
            for step in runbook.steps { _ = try? step.condition?.template.evaluate(in: Scope(inputs: inputs)) }
        }
        // The expression parser on its own, on the same text.
        _ = try? ExpressionParser.parse(text)
    case .nginx:
        guard let text = String(validating: bytes, as: UTF8.self) else { return 0 }
        if let config = try? NginxConfig(text: text) {
            _ = try? NginxProxyView.view(config, path: "/test", request: "http://example.test:8080/test")
        }
    case .dns:
        _ = try? DNSMessage(bytes: bytes)
    case .sinks:
        let text = String(decoding: bytes, as: UTF8.self)
        let broken = SinkContract.violations(text)
        if !broken.isEmpty { fatalError("\(broken.joined(separator: "; ")) for \(Sink.json(text))") }
    case .exporter:
        fuzzExporter(bytes)
    case .certnames:
        fuzzCertificateNames(bytes)
    }
    return 0
}

/// A request head as bytes: "METHOD URI VERSION" and header lines, routed as the exporter routes them.
func fuzzExporter(_ bytes: [UInt8]) {
    let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
    let first = lines.first.map { $0.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false) } ?? []
    let method = first.first.map(String.init) ?? ""
    let uri = first.count > 1 ? String(first[1]) : "/"
    var timeoutHeader: String?
    for line in lines.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        if line[..<colon].lowercased() == "x-prometheus-scrape-timeout-seconds" {
            timeoutHeader = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
    }
    let modules: [String: Duration] = ["default": .seconds(5), "http": .seconds(10)]
    switch ExporterRoute.parse(method: method, uri: uri, scrapeTimeout: timeoutHeader, modules: modules) {
    case .probe(let target, let module, let timeout, let patience):
        guard let limit = modules[module], timeout > .zero, timeout <= limit else { fatalError("timeout \(timeout) for \(module)") }
        guard patience >= timeout, patience <= max(limit * 2, .seconds(86_400)) else { fatalError("patience \(patience) for \(module)") }
        guard target.host.utf8.count <= 253 else { fatalError("a host of \(target.host.utf8.count) bytes") }
    case .refused(let status, let body):
        guard (400..<600).contains(status), body.utf8.count < 2048, !SinkContract.hasHidden(body, allowNewline: true) else {
            fatalError("refusal \(status) of \(body.utf8.count) bytes: \(Sink.json(String(body.prefix(200))))")
        }
    case .metrics, .index: break
    }
}

/// DER bytes read as a certificate: every name typed and shown escaped.
func fuzzCertificateNames(_ bytes: [UInt8]) {
    guard let certificate = try? Certificate(der: bytes) else { return }
    for name in certificate.alternativeNames where SinkContract.hasHidden(name.description, allowNewline: false) {
        fatalError("a SAN shown with a hidden character: \(Sink.json(name.description))")
    }
    _ = Sink.visible(certificate.subject) + Sink.visible(certificate.issuer) + certificate.displayName
}

#if FUZZING
/// libFuzzer's driver, from libclang_rt.fuzzer_no_main: SwiftPM names this
/// executable's entry point `parser_fuzz_main`, so it calls the driver itself.
@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
               _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

@_cdecl("parser_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runDriver(&count, &arguments) { data, size in
        guard let data else { return 0 }
        return fuzz(data, size)
    }
}
#else
/// Without libFuzzer (a plain `swift build`): runs each file given through
/// the target once — the way to replay a crash libFuzzer saved.
/// With TRIAGE_FUZZ_REPEAT=N, each file is run a thousand times, then N times more, and the growth of
/// the resident set over those N is printed (`rss_growth_bytes=…`): a leak test in a process of its own.
@main
struct Replay {
    static func main() {
        let repeats = ProcessInfo.processInfo.environment["TRIAGE_FUZZ_REPEAT"].flatMap(Int.init) ?? 0
        for path in CommandLine.arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            let bytes = [UInt8](data)
            let once = { _ = bytes.withUnsafeBufferPointer { fuzz($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, $0.count) } }
            once()
            if repeats > 0 {
                for _ in 0..<1_000 { once() }
                let before = residentBytes()
                for _ in 0..<repeats { once() }
                print("rss_growth_bytes=\(residentBytes() - before)")
            }
            print("\(target.rawValue): \(path) ok")
        }
    }

    /// Resident set in bytes, from /proc/self/statm (pages).
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return -1 }
        let fields = text.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * 4096 : -1
    }
}
#endif
