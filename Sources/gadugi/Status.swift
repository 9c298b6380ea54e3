import ArgumentParser
import GadugiCore

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show counts per state and the claimed and running tasks.",
        discussion: "Reads only files: works with or without a coordinator, and from any shell or editor.")

    @OptionGroup var options: RootOptions

    @Flag(help: "Print JSON (schema in spool-layout.md) for scripts and jq.")
    var json = false

    @Flag(help: "Also list finished (done and failed) tasks.")
    var all = false

    func run() throws {
        let report = StatusReport(layout: try options.existingLayout(), includeFinished: all)
        print(json ? report.json.encoded(pretty: true) : report.table, terminator: json ? "\n" : "")
    }
}
