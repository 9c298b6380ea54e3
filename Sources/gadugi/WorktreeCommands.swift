import ArgumentParser
import Foundation
import GadugiCore

/// What the task's wrapper passes to the worktree subcommands, all through the environment the
/// coordinator sets (nothing from a prompt is ever in the wrapper's shell string).
struct WorktreeEnvironment {
    let layout: Layout
    let id: String
    let values: [String: String]

    init() throws {
        values = ProcessInfo.processInfo.environment
        guard let root = values["GADUGI_ROOT"], !root.isEmpty else {
            throw Failure("GADUGI_ROOT is not set: this subcommand is run by a task's process, which the coordinator starts")
        }
        guard let id = values["GADUGI_TASK_ID"], TaskID.isValid(id) else {
            throw Failure("GADUGI_TASK_ID is missing or not a task id: this subcommand is run by a task's process")
        }
        layout = Layout(root: root)
        self.id = id
    }

    var request: Worktrees.Request {
        let standard = Worktrees.Request.forTask(id, layout: layout, base: "HEAD", dependencies: [])
        return Worktrees.Request(
            id: id,
            worktree: nonEmpty("GADUGI_WORKTREE") ?? standard.worktree,
            branch: nonEmpty("GADUGI_BRANCH") ?? standard.branch,
            base: nonEmpty("GADUGI_BASE") ?? standard.base,
            merge: (values["GADUGI_MERGE"] ?? "").split(separator: "\n").map(String.init).filter { !$0.isEmpty })
    }

    var name: String { nonEmpty("GADUGI_TASK_NAME") ?? id }

    /// The record of the plain worktree the wrapper made itself (it writes none), when it did.
    var plainRecord: WorktreeRecord? {
        nonEmpty("GADUGI_WORKTREE_FROM").map { request.plainRecord(layout: layout, startCommit: $0) }
    }

    private func nonEmpty(_ key: String) -> String? {
        values[key].flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// Prints one line of what was done, for the task's log.
private func say(_ line: String) {
    print("gadugi: " + line.escapedForTerminal)
}

/// Seven hex digits of a commit id, as git shows it.
private func short(_ commit: String) -> String { String(commit.prefix(7)) }

struct WorktreePrepare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worktree-prepare",
        abstract: "For a task's process: make (or reuse) the task's git worktree and branch.",
        discussion: """
            Reads GADUGI_ROOT, GADUGI_TASK_ID, GADUGI_WORKTREE, GADUGI_BRANCH, GADUGI_BASE and GADUGI_MERGE (newline-separated branches to merge). Prints a line per action, then 'branch: <branch made>' and, last, 'worktree: <absolute path>' (the agent's working directory).
            Exit status: 0 ready; 75 the dependencies' branches conflict (the reason is in monitoring/tasks/<id>/blocked); 1 another failure (the message says what to do).
            """,
        shouldDisplay: false)

    func run() throws {
        let environment = try WorktreeEnvironment()
        let request = environment.request
        let prepared: Worktrees.Prepared
        do {
            prepared = try Worktrees(layout: environment.layout).prepare(request)
        } catch .mergeConflict(let paths) {
            let reason = Worktrees.conflictReason(paths)
            try? Files.writeAtomically(environment.layout.blocked(environment.id), Array((reason + "\n").utf8))
            say("blocked: " + reason)
            throw ExitCode(Int32(Worktrees.blockedStatus))
        } catch {
            complain("worktree-prepare: \(error.description.escapedForTerminal)")
            throw ExitCode(1)
        }
        try? FileManager.default.removeItem(atPath: environment.layout.blocked(environment.id))
        report(prepared, request: request)
        print("branch: " + prepared.branch)
        print("worktree: " + prepared.worktree)
    }

    private func report(_ prepared: Worktrees.Prepared, request: Worktrees.Request) {
        let record = prepared.record
        if prepared.reused {
            say("worktree \(record.path) reused on \(record.branch) (from an earlier attempt)")
        } else {
            let taken = record.branch == request.branch ? "" : "; \(request.branch) was taken"
            let named = record.baseCommit.hasPrefix(record.base) ? "" : " (\(record.base))"
            say("worktree \(record.path) on \(record.branch) from \(short(record.baseCommit))\(named)\(taken)")
        }
        if !prepared.merged.isEmpty {
            say("merged \(prepared.merged.joined(separator: " ")) into \(record.branch)")
        }
    }
}

struct WorktreeFinish: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worktree-finish",
        abstract: "For a task's process: commit what the agent left, then remove (on success) or keep its worktree.",
        discussion: """
            Reads GADUGI_ROOT, GADUGI_TASK_ID and GADUGI_TASK_NAME (the commit is "gadugi: <name>"). STATUS is the agent's exit status: 0 removes the worktree and keeps the branch; anything else keeps both for inspection.
            Exit status: 0 done; 1 a failure (the message says what to do; the worktree is then kept).
            """,
        shouldDisplay: false)

    @Argument(help: "The agent's exit status.")
    var status: Int32

    func run() throws {
        let environment = try WorktreeEnvironment()
        let finished: Worktrees.Finished
        do {
            finished = try Worktrees(layout: environment.layout)
                .finish(id: environment.id, name: environment.name, status: status, plain: environment.plainRecord)
        } catch {
            complain("worktree-finish: \(error.description.escapedForTerminal)")
            throw ExitCode(1)
        }
        let record = finished.record
        let head = record.head.map(short) ?? "?"
        if let leftovers = finished.leftovers {
            say("committed what was left on \(record.branch) as \(short(leftovers)) \"gadugi: \(environment.name)\"")
        } else {
            say("nothing was left uncommitted on \(record.branch)")
        }
        if finished.removed {
            say("worktree \(record.path) removed; branch \(record.branch) kept at \(head)")
        } else if record.kept {
            say("worktree \(record.path) kept for inspection; branch \(record.branch) at \(head)")
        } else {
            say("worktree \(record.path) was already gone; branch \(record.branch) at \(head)")
        }
    }
}
