import ArgumentParser
import Foundation
import GadugiCore

struct Heartbeat: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "For agents: say the task is alive (touches .gadugi/monitoring/heartbeats/<id>).")

    @OptionGroup var options: RootOptions

    @Option(help: "The task id (default: $GADUGI_TASK_ID, set for every agent).")
    var task: String?

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        try TaskReporter(layout: try options.existingLayout(), flag: task, environment: environment).heartbeat()
    }
}
