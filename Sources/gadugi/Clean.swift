import ArgumentParser
import GadugiCore

struct Clean: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove the git worktrees of finished tasks, and optionally their merged branches.",
        discussion: """
            A task's worktree (.gadugi/worktrees/<id>) is removed after it succeeds; after a failure it is kept for inspection. This removes the kept worktrees of finished tasks — of failed ones only with --failed — and prunes git's records of worktrees whose folders are gone. The branches (gadugi/<id>) stay, with all the work; --branches deletes those already merged into --into (git branch -d). A running task's worktree is never touched.

            Examples:
              gadugi clean --dry-run                 # what would go
              gadugi clean --failed --older-than 7d  # failed tasks' worktrees, a week on
              gadugi clean --branches                # also gadugi/* branches merged into HEAD
            """)

    @OptionGroup var options: RootOptions

    @Flag(help: "Also remove the worktrees of failed tasks.")
    var failed = false

    @Option(name: .customLong("older-than"), help: ArgumentHelp(
        "Only tasks that finished at least this long ago (such as 7d, 12h, 30m).", valueName: "duration"))
    var olderThan: String?

    @Flag(help: "Also delete gadugi/* branches already merged into --into.")
    var branches = false

    @Option(help: ArgumentHelp("The branch or commit --branches compares with.", valueName: "rev"))
    var into = "HEAD"

    @Flag(name: .customLong("dry-run"), help: "Say what would be removed; remove nothing.")
    var dryRun = false

    @Flag(help: "Print what was done as JSON.")
    var json = false

    func validate() throws {
        if let olderThan, Clean.seconds(olderThan) == nil {
            throw ValidationError("--older-than takes a duration such as 7d, 12h or 30m, not '\(olderThan)'")
        }
    }

    func run() throws {
        let layout = try options.existingLayout()
        let worktrees = try Worktrees(layout: layout)
        let report = try worktrees.clean(.init(failed: failed, olderThan: olderThan.flatMap(Clean.seconds),
                                               branchesMergedInto: branches ? into : nil, dryRun: dryRun))
        if json {
            print(report.json.encoded(pretty: true))
        } else {
            print(Clean.text(report), terminator: "")
        }
    }

    /// `7d` as well as what config durations take (`12h`, `30m`, `10s`).
    static func seconds(_ text: String) -> Double? {
        if text.hasSuffix("d"), let days = Double(text.dropLast()), days >= 0 { return days * 86_400 }
        return Settings.duration(text)
    }

    static func text(_ report: Worktrees.CleanReport) -> String {
        let verb = report.dryRun ? "would remove" : "removed"
        var lines: [String] = []
        lines += report.removed.map { "\(verb) the worktree of \($0.name)" }
        lines += report.kept.map { "kept the worktree of \($0.name): \($0.reason ?? "")" }
        lines += report.deletedBranches.map { "\(report.dryRun ? "would delete" : "deleted") branch \($0.name)" }
        lines += report.keptBranches.map { "kept branch \($0.name): \($0.reason ?? "")" }
        if lines.isEmpty { lines = ["nothing to clean"] }
        return lines.map { $0.escapedForTerminal + "\n" }.joined()
    }
}
