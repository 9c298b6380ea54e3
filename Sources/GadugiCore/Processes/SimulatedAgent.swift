import Foundation
import Glibc

/// The built-in stand-in for a coding agent (`--agent gadugi:simulate`): reads its prompt, works
/// through a few steps while reporting progress and heartbeats, and succeeds — or fails when the
/// prompt has a line `simulate: fail`. It lets the demo and the tests run without a real agent.
public enum SimulatedAgent {
    public static func run(environment: [String: String], input: [UInt8], write: (String) -> Void) -> Int32 {
        let text = String(decoding: input, as: UTF8.self)
        let id = environment["GADUGI_TASK_ID"] ?? "?"
        let steps = 4
        let stepSeconds = environment["GADUGI_SIMULATE_STEP"].flatMap(Double.init) ?? Double.random(in: 0.15...0.45)
        let lines = text.split(whereSeparator: \.isNewline)
        let title = lines.first { !$0.hasPrefix("---") && !$0.isEmpty }.map(String.init) ?? "(empty)"
        write("simulated agent for \(id): read \(input.count) bytes: \(title)\n")
        let report: TaskReporter? = environment["GADUGI_ROOT"].flatMap { root in
            try? TaskReporter(layout: Layout(root: root), flag: nil, environment: environment)
        }
        for step in 1...steps {
            var pause = timespec(tv_sec: Int(stepSeconds), tv_nsec: Int((stepSeconds - Double(Int(stepSeconds))) * 1e9))
            nanosleep(&pause, nil)
            let message = ["reading the code", "making the change", "running the tests", "writing the summary"][step - 1]
            try? report?.progress(percent: Double(step * 100 / steps), message: message)
            write("step \(step)/\(steps): \(message)\n")
        }
        if lines.contains(where: { $0.trimmingCharacters(in: .whitespaces) == "simulate: fail" }) {
            write("simulated failure, as the prompt asked\n")
            return 1
        }
        write("finished\n")
        return 0
    }
}
