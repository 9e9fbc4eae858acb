import ArgumentParser
import TriageKit
import TriageProbes

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check runbooks without running them: every error as FILE:LINE:COLUMN: message.")

    @Argument(help: "Runbook files (or names of bundled runbooks).")
    var runbooks: [String]

    func run() throws {
        let console = Console()
        let loader = RunbookLoader(catalog: .standard)
        var failed = false
        for name in runbooks {
            do {
                let source = try Bundled.runbook(name)
                let runbook = try loader.load(yaml: source.text, source: source.origin)
                console.diagnostics("\(source.origin): ok (\(runbook.steps.count) step\(runbook.steps.count == 1 ? "" : "s"))")
            } catch let error as RunbookError {
                failed = true
                console.diagnostics(error.description)
            } catch {
                failed = true
                console.error(String(describing: error))
            }
        }
        if failed { throw Reported(status: ExitStatus.usage) }
    }
}
