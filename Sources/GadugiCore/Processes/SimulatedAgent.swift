import Foundation
import Glibc

/// The built-in stand-in for a coding agent (`--agent gadugi:simulate`): reads its prompt, works
/// through a few steps while reporting progress and heartbeats, and succeeds — or fails when the
/// prompt has a line `simulate: fail`. It lets the demo and the tests run without a real agent.
/// In a task's worktree (`GADUGI_WORKTREE` set) it also changes files as an agent would: it writes
/// `gadugi-simulated/<id>.txt` in its working directory, a line per step, and commits it when it
/// succeeds; when it fails it leaves the file uncommitted, so `worktree-finish` has leftovers to
/// commit.
public enum SimulatedAgent {
    /// `directory` is where it works (default: the current directory, which the task's wrapper
    /// sets to the worktree).
    public static func run(environment: [String: String], input: [UInt8], directory: String? = nil,
                           write: (String) -> Void) -> Int32 {
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
        let workFile = environment["GADUGI_WORKTREE"].map { _ in
            WorkFile(directory: directory ?? Settings.currentDirectory(), id: id)
        }
        for step in 1...steps {
            var pause = timespec(tv_sec: Int(stepSeconds), tv_nsec: Int((stepSeconds - Double(Int(stepSeconds))) * 1e9))
            nanosleep(&pause, nil)
            let message = ["reading the code", "making the change", "running the tests", "writing the summary"][step - 1]
            try? report?.progress(percent: Double(step * 100 / steps), message: message)
            write("step \(step)/\(steps): \(message)\n")
            workFile?.append("step \(step)/\(steps): \(message)\n", report: write)
        }
        if lines.contains(where: { $0.trimmingCharacters(in: .whitespaces) == "simulate: fail" }) {
            write("simulated failure, as the prompt asked\n")
            return 1
        }
        if let workFile, !workFile.commit(report: write) { return 1 }
        write("finished\n")
        return 0
    }

    /// The file the simulated agent "works on" in its worktree.
    struct WorkFile {
        let directory: String
        let id: String
        var relative: String { "gadugi-simulated/\(id).txt" }

        func append(_ line: String, report: (String) -> Void) {
            do {
                try Files.makeDirectories(directory + "/gadugi-simulated")
                try Files.append(directory + "/" + relative, Array(line.utf8))
            } catch {
                report("cannot write \(relative): \(error)\n")
            }
        }

        /// `git add` and `git commit` of the file; false (with git's message) when either fails.
        func commit(report: (String) -> Void) -> Bool {
            let git = Git(directory: directory)
            do {
                try git.check(["add", "--", relative])
                try git.check(["commit", "--quiet", "--no-verify", "-m", "simulated agent: \(id)", "--", relative])
            } catch {
                report("\(error)\n")
                return false
            }
            report("committed \(relative)\n")
            return true
        }
    }
}
