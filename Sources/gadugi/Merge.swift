import ArgumentParser
import GadugiCore

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge finished tasks' branches into the current branch, dependencies first, stopping at a conflict.",
        discussion: """
            Merges each task's branch into the branch checked out in the root with a real 'git merge --no-ff' (a merge commit 'gadugi: merge task <id> from <branch>'), dependencies first (a task's depends_on), then in the order they finished. A branch HEAD already contains is skipped and said so, so running it again goes on where it stopped. A named task's dependency whose branch it was built on is merged first, as its own merge.

            It refuses to start while tracked files have uncommitted changes, or a merge is going on, and names them. At the first conflict it runs 'git merge --abort', so the checkout is left clean at the last good merge, and says which task conflicts where and what to do; the exit status is then 1. See 'gadugi review' first for what would conflict.

            Examples:
              gadugi merge --done --dry-run   # the order, nothing merged
              gadugi merge --done             # every task that succeeded
              gadugi merge users-api ui       # only these (a failed task too, when named)
              gadugi merge --done --json | jq '.steps[] | {id, action}'

            Exit status: 0 everything asked for is merged or already was; 1 a conflict or a refused merge stopped it, the checkout has changes, a named task has not finished, or the root is not in a git repository; 64 usage error.
            """)

    @OptionGroup var options: RootOptions

    @Argument(help: "Task ids to merge (as 'gadugi review' shows them).")
    var ids: [String] = []

    @Flag(help: "Merge every task that succeeded.")
    var done = false

    @Flag(name: .customLong("dry-run"), help: "Print the order; merge nothing.")
    var dryRun = false

    @Flag(help: "Print the outcome as JSON (schema in spool-layout.md, \"Review and merge\").")
    var json = false

    func validate() throws {
        if ids.isEmpty == !done { throw ValidationError("name the tasks to merge, or pass --done for every task that succeeded (not both)") }
        try validateIDs(ids)
    }

    func run() throws {
        let layout = try options.existingLayout()
        let outcome: MergeBack.Outcome
        do throws(ReviewFailure) {
            outcome = try MergeBack.run(layout, done ? .done : .ids(ids), dryRun: dryRun)
        } catch {
            if json { print(MergeBack.refusal(error).encoded(pretty: true)) }
            throw error
        }
        print(json ? outcome.json.encoded(pretty: true) : outcome.text, terminator: json ? "\n" : "")
        if !outcome.ok { throw ExitCode(1) }
    }
}
