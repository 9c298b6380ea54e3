import ArgumentParser
import Foundation
import GadugiCore

struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a task's log (its agent's output); with -f, follow it until the task ends.",
        discussion: """
            The log is .gadugi/monitoring/tasks/<id>/output.log: the agent's stdout and stderr, and each retry's separator line. With -f the log is followed as it grows (inotify on the task's folder, a look every second besides), across retries and a log replaced by another file of the same name, until the task ends; then a last line on stderr says how ('gadugi: fix-login ended failed (exit 3)'). A task still queued is waited for: its log is followed from its start. A task that is blocked ends the wait too.

            Examples:
              gadugi logs fix-login              # the whole log
              gadugi logs fix-login -n 20        # its last 20 lines
              gadugi logs -f fix-login           # follow it; exit 0 only if it succeeds

            Exit status: without -f, 0. With -f: 0 the task ended done; 1 it ended otherwise (failed, timeout, cancelled, blocked, rejected). 2: no task has that id. 64: usage error.
            """)

    @OptionGroup var options: RootOptions

    @Argument(help: "The task's id (as 'gadugi status' shows it), or a queued prompt's file name without extension.")
    var id: String

    @Flag(name: .shortAndLong, help: "Follow the log until the task ends; exit 0 only if it succeeded.")
    var follow = false

    @Option(name: [.customShort("n"), .customLong("lines")], help: ArgumentHelp("Start with only the last N lines (default: the whole log).", valueName: "n"))
    var lines: Int?

    func validate() throws {
        try validateTaskName(id)
        if let lines, lines < 0 { throw ValidationError("-n takes a number of lines, 0 or more, not \(lines)") }
    }

    func run() throws {
        let layout = try options.existingLayout()
        let standing = TaskLookup(layout: layout).standing(of: id)
        if standing == .unknown { throw unknownTasks([id], layout) }
        guard follow else { return printLog(layout, standing) }
        let waiter = try TaskWaiter(layout: layout, ids: [id])
        var follower: LogFollower?
        let ended = waiter.wait(until: nil) {
            let current = waiter.currentID(id)
            waiter.folders.watch(layout.taskDirectory(current))
            if follower?.path != layout.log(current) {
                follower = LogFollower(path: layout.log(current))
                follower?.start(lastLines: lines)
            }
            follower?.readNew(writeOut)
        }
        let final = ended?[id] ?? .unknown
        complain("\(waiter.currentID(id).escapedForTerminal) \(final.phrase)")
        if !final.succeeded { throw ExitCode(1) }
    }

    /// The log as it is now; a note on stderr when there is none yet.
    func printLog(_ layout: Layout, _ standing: TaskStanding) {
        let follower = LogFollower(path: layout.log(id))
        follower.start(lastLines: lines)
        if !follower.readNew(writeOut) {
            complain("\(id.escapedForTerminal) has no log yet; it \(standing.phrase) ('gadugi logs -f \(id.escapedForTerminal)' waits for it)")
        }
    }
}

/// Writes bytes to stdout as they come (a log may be large, and is not text we may change).
func writeOut(_ bytes: [UInt8]) {
    FileHandle.standardOutput.write(Data(bytes))
}

/// Refuses paths, options and dotfiles where a task id or a queued prompt's name is expected.
func validateTaskName(_ name: String) throws {
    if name.isEmpty || name.contains("/") || name.hasPrefix(".") || name.hasPrefix("-") {
        throw ValidationError("'\(name.escapedForTerminal)' is not a task id or a queued prompt's name (see 'gadugi status --all')")
    }
}

/// Ids nothing in the spool answers to: said on stderr; exit 2.
func unknownTasks(_ ids: [String], _ layout: Layout) -> ExitCode {
    for id in ids {
        complain("no task '\(id.escapedForTerminal)' in \(layout.root)/.gadugi: 'gadugi status --all' lists every task there")
    }
    return ExitCode(2)
}
