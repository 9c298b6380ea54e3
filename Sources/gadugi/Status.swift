import ArgumentParser
import Foundation
import GadugiCore

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show counts per state and the queued, claimed and running tasks; or wait for tasks to end.",
        discussion: """
            Reads only files: works with or without a coordinator, and from any shell or editor. One task is one row, fitted to the terminal's width (or to $COLUMNS; output to a pipe is not cut unless COLUMNS is set): a long message is cut with '…'. A failed task shows how it ended (exit 3, killed by SIGKILL); a waiting or blocked one what for. States: queued (in incoming/, not claimed yet), claimed, waiting, held, blocked, pending (handed to Slurm, its job not started yet), running, stalled, done, failed, timeout, cancelled, rejected.

            With --wait, blocks until every named task has ended (done, failed, timeout, cancelled, rejected, or blocked), then prints their rows. A queued prompt may be named by its file name without extension; it is followed through its claim.

            Examples:
              gadugi status                          # the active tasks
              gadugi status --all --state failed,timeout
              gadugi status --wait users-api users-tests && git merge gadugi/users-tests
              gadugi status --wait fix-login --timeout 30m --json

            Exit status: 0; with --wait, 0 when every task ended done, 1 when one ended otherwise, 124 when --timeout passed first. 2: no task has a named id. 64: usage error.
            """)

    @OptionGroup var options: RootOptions

    @Flag(help: "Print JSON (schema in spool-layout.md) for scripts and jq.")
    var json = false

    @Flag(help: "Also list finished tasks (done, failed, timeout, cancelled) and rejected prompts.")
    var all = false

    @Option(help: ArgumentHelp("Only tasks in these states, separated by commas: queued, claimed, waiting, held, blocked, pending, running, stalled, done, failed, timeout, cancelled, rejected.", valueName: "state,..."))
    var state: String?

    @Flag(help: "Wait until the named tasks have ended, then print their rows (exit 0 only if all are done).")
    var wait = false

    @Option(help: ArgumentHelp("With --wait: stop waiting after this long (90s, 10m, 2h) and exit 124.", valueName: "duration"))
    var timeout: String?

    @Argument(help: "Only these tasks: ids, or queued prompts' file names without extension.")
    var ids: [String] = []

    func validate() throws {
        try ids.forEach(validateTaskName)
        if wait && ids.isEmpty { throw ValidationError("--wait needs the ids of the tasks to wait for, such as 'gadugi status --wait fix-login'") }
        if timeout != nil && !wait { throw ValidationError("--timeout is for --wait: 'gadugi status --wait ID... --timeout 10m'") }
        if let timeout, Settings.duration(timeout) == nil {
            throw ValidationError("--timeout has '\(timeout.escapedForTerminal)'; expected a duration such as 90s, 10m or 2h")
        }
        if let state, case .failure(let problem) = StatusReport.Selection.states(from: state) { throw ValidationError(problem.description) }
    }

    func run() throws {
        let layout = try options.existingLayout()
        var selection = StatusReport.Selection(includeFinished: all)
        if let state, case .success(let states) = StatusReport.Selection.states(from: state) { selection.states = states }
        guard !ids.isEmpty else { return show(StatusReport(layout: layout, selection: selection)) }
        let lookup = TaskLookup(layout: layout)
        let unknown = ids.filter { lookup.standing(of: $0) == .unknown }
        if !unknown.isEmpty { throw unknownTasks(unknown, layout) }
        guard wait else {
            selection.ids = Set(ids)
            return show(StatusReport(layout: layout, selection: selection))
        }
        try waitFor(layout, selection)
    }

    /// Waits for the tasks asked for, prints their rows; throws the exit status.
    func waitFor(_ layout: Layout, _ chosen: StatusReport.Selection) throws {
        let waiter = try TaskWaiter(layout: layout, ids: ids)
        let ended = waiter.wait(until: timeout.flatMap(Settings.duration).map { Timestamp.now().adding($0) })
        var selection = chosen
        selection.ids = Set(ids.map(waiter.currentID))
        show(StatusReport(layout: layout, selection: selection))
        guard let ended else {
            let left = waiter.asked.filter { waiter.standings()[$0]?.hasEnded != true }
            complain("still not ended after \(timeout ?? "?"): \(left.map(\.escapedForTerminal).joined(separator: ", "))")
            throw ExitCode(124)
        }
        for (id, standing) in ended { if case .withdrawn = standing { complain("\(id.escapedForTerminal) \(standing.phrase)") } }
        if !ended.values.allSatisfy(\.succeeded) { throw ExitCode(1) }
    }

    func show(_ report: StatusReport) {
        if json { return print(report.json.encoded(pretty: true)) }
        print(report.table(width: TerminalWidth.columns(environment: ProcessInfo.processInfo.environment)), terminator: "")
    }
}
