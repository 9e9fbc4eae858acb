import ArgumentParser
import Foundation
import TriageKit
import TriageProbes

struct RunbooksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runbooks",
        abstract: "List the bundled runbooks and step kinds; --show NAME prints one to copy and customise.")

    @Option(help: "Print the YAML of this bundled runbook.")
    var show: String?

    @Flag(help: "Print the JSON Schema of the runbook format (schema/runbook.schema.json).")
    var schema = false

    @Flag(help: "Print the JSON Schema of report.json (schema/report.schema.json).")
    var reportSchema = false

    @Flag(help: "Print the step kinds as the README's Markdown table.")
    var markdown = false

    @Flag(help: "Print nginx's upstream defaults by version: the table the proxy's client profile is built from.")
    var nginxDefaults = false

    @Flag(help: "Print the variables a report template (--template) sees, as the README's table.")
    var templateVariables = false

    func run() throws {
        if schema {
            print(RunbookSchema.json(catalog: .standard), terminator: "")
            return
        }
        if reportSchema {
            print(ReportSchema.json(), terminator: "")
            return
        }
        if markdown {
            print(StepCatalog.standard.markdownTable, terminator: "")
            return
        }
        if nginxDefaults {
            print(NginxDefaults.markdownTable, terminator: "")
            return
        }
        if templateVariables {
            print(ReportRenderer.templateVariablesTable, terminator: "")
            return
        }
        if let show {
            // A name, as the help says: a path (`/etc/passwd`, `../x.yaml`) is not a runbook to print.
            // (A bare name that is a file here is that file for --runbook, not for --show: `cd /etc; --show passwd`.)
            let names = Set(Bundled.runbookNames + Bundled.userRunbooks().map(\.name)).sorted()
            guard names.contains(show) else {
                let what = show.contains("/") || show.hasSuffix(".yaml") || show.hasSuffix(".yml") || FileManager.default.fileExists(atPath: show)
                    ? "not a file" : "no runbook named so"
                Console().error("--show takes a runbook's name (one of \(names.joined(separator: ", "))), \(what): '\(Sink.echo(show, limit: 120))'")
                throw Reported(status: ExitStatus.usage)
            }
            do {
                print(try Bundled.runbook(show).text, terminator: "")
            } catch {
                Console().error(error.description)
                throw Reported(status: ExitStatus.usage)
            }
            return
        }
        let loader = RunbookLoader(catalog: .standard)
        let mine = Bundled.userRunbooks()
        let mineNames = Set(mine.map(\.name))
        func pad(_ name: String) -> String { name.padding(toLength: max(16, name.count), withPad: " ", startingAt: 0) }
        print("Runbooks (triage run --runbook NAME; override with $TRIAGE_HOME/runbooks/NAME.yaml):")
        for name in Bundled.runbookNames {
            let text = (try? Bundled.runbook(name, environment: [:]))?.text ?? ""
            let title = (try? loader.load(yaml: text, source: "bundled:\(name)"))?.title ?? ""
            print("  \(pad(name)) \(title)\(mineNames.contains(name) ? "  (overridden by $TRIAGE_HOME)" : "")")
        }
        if !mine.isEmpty {
            print("\nYour runbooks ($TRIAGE_HOME/runbooks):")
            for (name, path) in mine {
                // A runbook that does not load is listed with its first error, so the list says what to fix.
                let line: String
                do {
                    line = try loader.load(contentsOf: path).title ?? ""
                } catch {
                    line = "does not load: \(error.diagnostics.first.map(\.description) ?? "\(error)")"
                }
                print("  \(pad(name)) \(line)")
            }
        }
        print("\nStep kinds (uses:), with their inputs and outputs:")
        print(StepCatalog.standard.listing)
        print("\nLibraries: \(LibraryVersions.summary)")
    }
}
