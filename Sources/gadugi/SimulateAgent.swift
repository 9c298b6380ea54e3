import ArgumentParser
import Foundation
import GadugiCore

struct SimulateAgent: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate-agent",
        abstract: "The built-in simulated agent ('--agent gadugi:simulate'): reads a prompt on stdin, reports progress, succeeds.",
        discussion: "A prompt with a line 'simulate: fail' makes it fail. GADUGI_SIMULATE_STEP sets the seconds per step (4 steps).",
        shouldDisplay: false)

    func run() throws {
        let input = FileHandle.standardInput.readDataToEndOfFile()
        let status = GadugiCore.SimulatedAgent.run(
            environment: ProcessInfo.processInfo.environment, input: Array(input)
        ) { line in FileHandle.standardOutput.write(Data(line.utf8)) }
        if status != 0 { throw ExitCode(status) }
    }
}
