// make fuzz: libFuzzer over the parsers that read what users and servers
// give triage — the runbook loader with its expression parser, the nginx
// configuration parser, the DNS message parser. One binary; the target is
// TRIAGE_FUZZ_TARGET (runbook, nginx or dns). Built with -sanitize=fuzzer,
// which supplies main; any crash, hang or unbounded allocation is a finding.
import Foundation
import TriageKit
import TriageProbes
import TriageWire

enum Target: String, Sendable { case runbook, nginx, dns }

let target = Target(rawValue: ProcessInfo.processInfo.environment["TRIAGE_FUZZ_TARGET"] ?? "") ?? .runbook
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
    }
    return 0
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
@main
struct Replay {
    static func main() {
        for path in CommandLine.arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            let bytes = [UInt8](data)
            _ = bytes.withUnsafeBufferPointer { fuzz($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, $0.count) }
            print("\(target.rawValue): \(path) ok")
        }
    }
}
#endif
