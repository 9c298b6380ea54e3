import ArgumentParser
import Foundation
import GadugiCore

struct Cancel: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cancel tasks: queued or waiting ones at once, running ones by stopping them.",
        discussion: """
            A task not started yet moves to .gadugi/queue/cancelled/ at once; a running one gets SIGTERM (its wrapper stays to record the end and commit its worktree), SIGKILL after kill_grace, and ends cancelled. Tasks that depend on a cancelled one are blocked until it is retried ('gadugi retry ID').

            With a coordinator running, the request is a file .gadugi/control/cancel.<id> that it takes at once (a script can 'touch' the same file); with none running, this command does the work itself.

            Examples:
              gadugi cancel fix-login users-api
              gadugi cancel --state waiting
              gadugi cancel --all

            Exit status: 0 every task asked for is cancelled or stopping; 1 otherwise (each line says why).
            """)

    @OptionGroup var options: RootOptions

    @Argument(help: "Task ids (as 'gadugi status' shows them).")
    var ids: [String] = []

    @Flag(help: "Every queued, claimed, waiting, blocked and running task.")
    var all = false

    @Option(help: ArgumentHelp("Every task in this state: queued, claimed, waiting, blocked or running.", valueName: "state"))
    var state: String?

    func validate() throws {
        if ids.isEmpty && !all && state == nil { throw ValidationError("name the tasks to cancel, or pass --all or --state STATE") }
        // A task id, or the name (without extension) of a prompt still in incoming/: never a path.
        if let bad = ids.first(where: { $0.isEmpty || $0.contains("/") || $0.hasPrefix(".") || $0.hasPrefix("-") }) {
            throw ValidationError("'\(bad.escapedForTerminal)' is not a task id or a queued prompt's name (see 'gadugi status')")
        }
        if let state, !Cancel.states.contains(state) {
            throw ValidationError("--state must be one of \(Cancel.states.joined(separator: ", ")), not '\(state)'")
        }
    }

    static let states = ["queued", "claimed", "waiting", "blocked", "running"]

    func run() throws {
        let layout = try options.existingLayout()
        let control = TaskControl(layout: layout)
        var chosen = ids
        let states = all ? Cancel.states : state.map({ [$0] }) ?? []
        for name in states {
            switch name {
            case "queued": chosen += control.ids(in: .incoming)
            case "running": chosen += control.ids(in: .running)
            default: chosen += control.ids(in: .claimed, states: [TaskState(rawValue: name) ?? .claimed])
            }
        }
        if chosen.isEmpty { return print("nothing to cancel") }
        let settings = try Settings.load(layout, agentFlag: nil, parallelFlag: nil, environment: ProcessInfo.processInfo.environment)
        let outcomes = ControlClient(layout: layout, killGrace: settings.killGrace).cancel(chosen)
        try report(outcomes)
    }
}

/// Prints one line per outcome; exits 1 unless all did what was asked.
func report(_ outcomes: [ControlClient.Outcome]) throws {
    for outcome in outcomes { print(outcome.said.escapedForTerminal) }
    if outcomes.contains(where: { !$0.ok }) { throw ExitCode(1) }
}
