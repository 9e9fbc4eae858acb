import ArgumentParser
import Foundation
import TriageKit
import TriageProbes
import TriageWire

struct AnalyzeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "The same report from a capture taken elsewhere (pcap or pcapng): TLS connections, alerts with sender, certificates.")

    @Argument(help: "The capture file.")
    var file: String

    @Option(help: "Only connections to this server port.")
    var port: Int?

    @Option(help: "The name the server certificates must match (default: each ClientHello's SNI).")
    var host: String?

    @Option(help: ArgumentHelp("TLS secrets in the NSS key log format (SSLKEYLOGFILE, openssl s_client -keylogfile): TLS 1.3 certificates and alerts are decrypted. A pcapng's Decryption Secrets Blocks are read as well.", valueName: "FILE"))
    var keylog: String?

    @Option(name: .customLong("ca-file"), help: ArgumentHelp("Verify the certificates seen against this PEM bundle (default: the system store).", valueName: "PEM"))
    var caFile: String?

    @Option(help: ArgumentHelp("The case folder (default: incidents/<UTC yyyymmdd-HHMMSS>-analyze/).", valueName: "DIR"))
    var out: String?

    @Flag(help: "Replace an earlier case in --out (default: an earlier case is kept and this run goes beside it, DIR-2).")
    var force = false

    @Option(parsing: .unconditional, help: ArgumentHelp("Judge certificates as of this time instead of when the capture saw them: 2027-01-15, 2027-01-15T09:30:00Z, or +30d.", valueName: "DATE"))
    var at: String?

    @Option(help: "Report and terminal language: en or zh.")
    var lang: String = "en"

    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Print only the verdict line.")
    var quiet = false

    @Flag(help: "Print report.json to stdout instead of the verdict line.")
    var json = false

    func run() async throws {
        let console = Console(language: lang, verbosity: quiet ? .quiet : .normal)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), isDirectory.boolValue {
            console.error("\(file) is a directory, not a capture file")
            throw Reported(status: ExitStatus.usage)
        }
        if let why = Readable.why(file) {
            console.error("cannot read \(file): \(why)")
            throw Reported(status: ExitStatus.usage)
        }
        // A FIFO or a device would block until a writer comes; the decoder reads files.
        guard Readable.isRegular(file) else {
            console.error("\(file) is not a regular file (a pipe or a device): save the capture to a file first (tcpdump -w FILE)")
            throw Reported(status: ExitStatus.usage)
        }
        // Made stable first: a pipe (`--keylog <(…)`) gives its bytes once.
        var stableKeylog: String?
        if let keylog {
            do { stableKeylog = try StableInput.path(keylog, what: "the key log") } catch {
                console.error(error.description)
                throw Reported(status: ExitStatus.usage)
            }
            // A file with no key log line would read as "secrets from another session": it is no key log.
            if let stableKeylog, let text = try? Readable.contents(stableKeylog, limit: 64 << 20), KeyLog(text: [UInt8](text)).isEmpty {
                console.error("\(keylog) holds no NSS key log line (CLIENT_RANDOM …, CLIENT_HANDSHAKE_TRAFFIC_SECRET …): pass the file SSLKEYLOGFILE or openssl s_client -keylogfile wrote")
                throw Reported(status: ExitStatus.usage)
            }
        }
        // A file with no certificate would leave nothing to verify against: chains would go unchecked.
        var stableCA: String?
        if let caFile {
            do { stableCA = try StableInput.caFile(caFile) } catch {
                console.error(error.description)
                throw Reported(status: ExitStatus.usage)
            }
        }
        if let port, !(1...65_535).contains(port) {
            console.error("--port \(port) is not a TCP port (1-65535)")
            throw Reported(status: ExitStatus.usage)
        }
        var given = ["capture": file]
        if let port { given["port"] = String(port) }
        if let host { given["host"] = host }
        if let stableCA { given["ca_file"] = stableCA }
        if let stableKeylog { given["keylog"] = stableKeylog }
        let caseRun: CaseRun
        do {
            var request = CaseRun.Request(runbook: try Bundled.runbook("analyze"), given: given,
                                          out: out.map { URL(fileURLWithPath: $0) }, language: lang)
            request.progress = console.progressLine
            request.force = force
            if let at {
                guard let date = JudgeTime.parse(at) else {
                    console.error(JudgeTime.problem(at))
                    throw Reported(status: ExitStatus.usage)
                }
                request.judgedAt = date
            }
            caseRun = try CaseRun(request, catalog: .standard)
        } catch let error as InputError {
            error.problems.forEach(console.error)
            throw Reported(status: ExitStatus.usage)
        } catch {
            console.error(String(describing: error))
            throw Reported(status: ExitStatus.usage)
        }
        throw Reported(status: await CaseExecution.execute(caseRun, console: console, json: json, badInputIsUsageError: true))
    }
}
