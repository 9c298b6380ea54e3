import ArgumentParser
import Foundation
import GadugiCore

struct Progress: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "For agents: report how far the task is (shown in progress.json and 'gadugi status').",
        discussion: "Writes the task's report.json and beats its heartbeat; a value left out keeps its last value.")

    @OptionGroup var options: RootOptions

    @Option(help: "The task id (default: $GADUGI_TASK_ID, set for every agent).")
    var task: String?

    // Unconditional, so that a negative number is read as the value (and refused by validate)
    // rather than taken for a flag, which said "Missing value for '--percent'".
    @Option(parsing: .unconditional, help: "Percent done, 0 to 100.")
    var percent: Double?

    @Option(help: "A short line about what the agent is doing.")
    var message: String?

    func validate() throws {
        if percent == nil && message == nil { throw ValidationError("give --percent, --message or both") }
        if let p = percent, !(0...100).contains(p) { throw ValidationError("--percent must be between 0 and 100") }
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        try TaskReporter(layout: try options.existingLayout(), flag: task, environment: environment)
            .progress(percent: percent, message: message)
    }
}
