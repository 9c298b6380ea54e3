import ArgumentParser
import Foundation
import GadugiCore
import Glibc

struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A live full-screen view of the spool: counts per state and a row per task, redrawn as files change.",
        discussion: """
            Each row shows a task's id, state (coloured), elapsed time, heartbeat age (highlighted when the task is stalled), a progress bar with its percent, its message, the last line of its log and its branch. Rows are fitted to the terminal and redrawn when it is resized; rows that do not fit are counted ('… 3 more'). It redraws when the spool's files change (inotify: queue folders, monitoring files, task folders), at most ten times a second, and once a second so that times move. Reads only files: works with or without a coordinator.

            q or Ctrl-C leaves, and the screen is as it was before. Ctrl-Z gives the shell its screen back while it is stopped; 'fg' draws it again. When stdout is not a terminal (a pipe, a file, CI), it prints plain frames instead, one whenever something changed, at most every --interval seconds. NO_COLOR (set and not empty) or TERM=dumb turns colour off.

            Examples:
              gadugi watch                      # the active tasks, live
              gadugi watch --all                # finished ones too
              gadugi watch --once               # one frame, then exit (like 'gadugi status', with progress bars and log lines)
              gadugi run --until-idle & gadugi watch --all --until-idle

            Exit status: 0 (q, Ctrl-C, --once, or idle with --until-idle); 129 or 143 when ended by SIGHUP or SIGTERM; 1 no spool or an error; 64 usage error.
            """)

    @OptionGroup var options: RootOptions

    @Flag(help: "Print one frame and exit.")
    var once = false

    @Flag(help: "Also list finished tasks (done, failed, timeout, cancelled) and rejected prompts.")
    var all = false

    @Option(help: ArgumentHelp("Only tasks in these states, separated by commas: queued, claimed, waiting, held, blocked, pending, running, stalled, done, failed, timeout, cancelled, rejected.", valueName: "state,..."))
    var state: String?

    @Flag(help: "Exit 0 once nothing is queued, claimed or running (and nothing waits while a coordinator runs); blocked tasks do not keep it open.")
    var untilIdle = false

    @Option(help: ArgumentHelp("Without a terminal: print a frame at most every this many seconds (default 2).", valueName: "seconds"))
    var interval: Double = 2

    func validate() throws {
        if let state, case .failure(let problem) = StatusReport.Selection.states(from: state) { throw ValidationError(problem.description) }
        guard interval.isFinite, interval >= 0.1, interval <= 3600 else {
            throw ValidationError("--interval takes seconds between 0.1 and 3600, such as --interval 5")
        }
        if once && untilIdle { throw ValidationError("--once prints one frame; --until-idle keeps watching: pass one of them") }
    }

    func run() throws {
        let layout = try options.existingLayout()
        var selection = StatusReport.Selection(includeFinished: all)
        if let state, case .success(let states) = StatusReport.Selection.states(from: state) { selection.states = states }
        let environment = ProcessInfo.processInfo.environment
        let terminal = isatty(STDOUT_FILENO) == 1 && environment["TERM"] != "dumb"
        let colour = WatchStyle.wanted(environment: environment, isTerminal: terminal)
        WatchStyle.configure(colour: colour)
        let loop = try WatchLoop(layout: layout, selection: selection, untilIdle: untilIdle)
        let width = TerminalWidth.columns(environment: environment)
        if once {
            return print(loop.frame(loop.report()).text(width: width, colour: colour), terminator: "")
        }
        guard terminal else {
            // Written at once, not through stdio's buffer: a reader of the pipe sees each frame whole.
            let status = loop.runPlain(width: width, interval: interval, colour: false) { text in
                FileHandle.standardOutput.write(Data(text.utf8))
            }
            if status != 0 { throw ExitCode(status) }
            return
        }
        try live(loop, colour: colour)
    }

    /// The full-screen view; whichever way it ends, the screen is left as it was before.
    func live(_ loop: WatchLoop, colour: Bool) throws {
        let signals = try WatchSignals()
        let screen = LiveScreen()
        let ending = loop.runLive(screen: screen, signals: signals, colour: colour)
        switch ending {
        case .quit, .idle: return
        case .signal(let number):
            if number == SIGINT { return }
            throw ExitCode(128 + number)
        }
    }
}
