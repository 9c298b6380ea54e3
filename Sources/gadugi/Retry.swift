import ArgumentParser
import Foundation
import GadugiCore

struct Retry: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run failed, timed-out, cancelled or blocked tasks again, under the same id.",
        discussion: """
            The prompt goes back to .gadugi/queue/claimed/ under its id (never a new '-2' task); the attempt count goes on (--reset starts it again), and the task's log continues after a line naming the attempt. Tasks blocked by it wait for it again. With worktrees, a retry continues in the task's kept worktree and branch, from where the last attempt left off (its leftovers committed); a task blocked by a merge conflict merges its dependencies' branches again.

            With a coordinator running, the request is a file .gadugi/control/retry.<id> (content 'reset' for --reset); with none running, this command moves the files itself and the next coordinator runs the task.

            Examples:
              gadugi retry flaky-test
              gadugi retry --failed

            Exit status: 0 every task asked for is queued again; 1 otherwise (each line says why).
            """)

    @OptionGroup var options: RootOptions

    @Argument(help: "Task ids (as 'gadugi status --all' shows them).")
    var ids: [String] = []

    @Flag(help: "Every task in failed/ (failed and timed out).")
    var failed = false

    @Flag(help: "Start the attempt count again.")
    var reset = false

    func validate() throws {
        if ids.isEmpty && !failed { throw ValidationError("name the tasks to retry, or pass --failed") }
        try validateIDs(ids)
    }

    func run() throws {
        let layout = try options.existingLayout()
        let chosen = ids + (failed ? TaskControl(layout: layout).ids(in: .failed) : [])
        if chosen.isEmpty { return print("nothing to retry") }
        try report(ControlClient(layout: layout, killGrace: 10).retry(chosen, reset: reset))
    }
}
