import ArgumentParser
import GadugiCore

struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the order tasks would run in, and why, without running anything.",
        discussion: """
            Reads the front matter (id, depends_on, files, priority) of the given prompt files, or with no files of the prompts in the queue, and prints for each task the names it depends on and the ids they resolve to, the files it touches and what it waits for; then the waves: wave 1 needs nothing still waiting, each later wave only tasks of earlier ones, and tasks that may touch a common file never share a wave (the one that came first goes first). The plan assumes every task succeeds.

            Files are checked as 'gadugi submit' checks them and planned as one batch, as 'gadugi run FILE...' would queue them: a depends_on name means the task of that name among them first, else the newest one in the spool. Tasks the spool already holds take part when a spool exists.

            Example:
              $ gadugi plan db.md api.md ui.md
              plan for 3 files in /src/shop, as if each wave succeeds before the next:
              wave 1: db, ui
                db   files db/, from db.md; ready
                ui   files web/, from ui.md; ready
              wave 2: api
                api  depends on db (→ db), from api.md; waiting for db (waiting)
              3 tasks: 3 in 2 waves, 0 stuck, 0 files rejected
              $ gadugi plan --json | jq '.waves'    # the queue's waves, for scripts

            Exit status: 0 when every task can run; 1 when a file would be rejected (it says why), a dependency is not known or failed, or tasks depend on each other in a cycle.
            """)

    @OptionGroup var options: RootOptions

    @Flag(help: "Print JSON (schema in spool-layout.md, \"Planning\") for scripts and jq.")
    var json = false

    @Argument(help: "Prompt files to plan as one batch (default: the queue).", completion: .file())
    var files: [String] = []

    func run() throws {
        let layout = files.isEmpty ? try options.existingLayout() : options.layout
        let report = PlanReport(layout: layout, files: files.isEmpty ? nil : files)
        print(json ? report.json.encoded(pretty: true) : report.text, terminator: json ? "\n" : "")
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }
}
