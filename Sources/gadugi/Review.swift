import ArgumentParser
import GadugiCore

struct ReviewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "review",
        abstract: "Show each finished task's branch: what it changed, whether it merges cleanly, what it conflicts with.",
        discussion: """
            For every finished task (done; failed, timed-out and cancelled ones only when their branch holds commits, and marked so) this shows its branch, the commit it started from, the commits and files it added since, whether it merges cleanly into the current branch (HEAD of the root's checkout), and which other finished branches it would conflict with; then the order 'gadugi merge' would take them in (dependencies first, then by finish time). Every merge here is a trial ('git merge-tree --write-tree'): no checkout, index or branch is touched, so it is safe while you work.

            Branches are checked against each other pairwise, n·(n−1)/2 trial merges: with more than --pairwise-limit branches (default 100) that check is left out and the report says so.

            Examples:
              $ gadugi review
              review of 2 finished branches against main at 1a2b3c4

              users-api  done  gadugi/users-api
                2 commits since 1a2b3c4; 3 files changed: src/api/users.swift, ...
                merges cleanly into main
                conflicts with ui in README.md
              ...
              merge order: users-api, ui (...)
              $ gadugi review --json | jq '.tasks[] | {id, merges_cleanly, conflicts_with}'
              $ gadugi review users-api ui      # only these

            Exit status: 0 when it could review (conflicts or not); 1 when the root is not in a git repository, a named task has not finished, or git fails.
            """)

    @OptionGroup var options: RootOptions

    @Argument(help: "Task ids to review (default: every finished task).")
    var ids: [String] = []

    @Flag(help: "Print JSON (schema in spool-layout.md, \"Review and merge\") for scripts and jq.")
    var json = false

    @Option(name: .customLong("pairwise-limit"), help: ArgumentHelp(
        "Check branches against each other only when there are at most this many.", valueName: "n"))
    var pairwiseLimit = Review.defaultPairwiseLimit

    func validate() throws {
        try validateIDs(ids)
        if pairwiseLimit < 0 { throw ValidationError("--pairwise-limit takes a number of branches, 0 or more") }
    }

    func run() throws {
        let review = try Review(layout: try options.existingLayout(), ids: ids.isEmpty ? nil : ids, pairwiseLimit: pairwiseLimit)
        print(json ? review.json.encoded(pretty: true) : review.text, terminator: json ? "\n" : "")
    }
}
