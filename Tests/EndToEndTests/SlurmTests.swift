// Agents run as Slurm job steps, through a real single-node cluster (Tests/slurm/cluster.sh, started by
// `make test-slurm`). Today's gadugi needs nothing new for it: the agent command is `srun -n1 ...`, and
// srun carries the prompt on stdin, the exit code, the output, the working directory and the
// environment across. These are the acceptance tests of that harness; `executor: slurm` extends them.

import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

final class SlurmTests: GadugiTestCase {
    override func setUpWithError() throws {
        // Before the workspace is made: a skipped test leaves nothing behind.
        guard ProcessInfo.processInfo.environment["GADUGI_SLURM"] == "1" else {
            throw XCTSkip("needs a Slurm cluster: run `make test-slurm` (it installs Slurm, starts a "
                + "single-node cluster and sets GADUGI_SLURM=1 and SLURM_CONF)")
        }
        try super.setUpWithError()
    }

    /// `srun` running `script` as one task, in a job named `gadugi-<task id>` (found with squeue).
    /// The task id reaches the command through the environment, never through the string.
    private func srunAgent(_ script: String) -> String {
        #"srun -n1 -J "gadugi-$GADUGI_TASK_ID" sh -c '"# + script + "'"
    }

    /// Runs `program ARGS` found on PATH (squeue, sha256sum) and returns its result.
    private func tool(_ program: String, _ args: [String], timeout: Double = 20) throws -> RunResult {
        try runProgram(URL(fileURLWithPath: "/usr/bin/env"), [program] + args, timeout: timeout)
    }

    /// The jobs named `gadugi-<id>` Slurm still knows as pending, running or completing.
    private func jobs(_ id: String) throws -> String {
        let r = try tool("squeue", ["-h", "-n", "gadugi-\(id)", "-o", "%i %T"])
        XCTAssertEqual(r.status, 0, "\(r)")
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// ProctrackType in the cluster's slurm.conf ($SLURM_CONF).
    private func proctrack() -> String? {
        guard let path = ProcessInfo.processInfo.environment["SLURM_CONF"],
              let text = readText(URL(fileURLWithPath: path)) else { return nil }
        return text.split(separator: "\n").first { $0.hasPrefix("ProctrackType=") }
            .map { String($0.dropFirst("ProctrackType=".count)) }
    }

    private func sha256(_ url: URL) throws -> String {
        let r = try tool("sha256sum", [url.path])
        XCTAssertEqual(r.status, 0, "\(r)")
        return String(r.stdout.prefix(64))
    }

    func testTheStepsExitCodeIsTheTasks() throws {
        let src = try makeScratchDir("src")
        let file = try write(promptText("exit-three"), to: src.appendingPathComponent("exit-three.md"))
        let r = try gadugiRun(["run", file.path, "--isolation", "none", "--agent", srunAgent("exit 3")], timeout: 60)
        XCTAssertEqual(r.status, 1, "a failed task makes `gadugi run FILE` exit 1:\n\(r)")
        XCTAssertEqual(allQueued(), ["failed/exit-three.md"])
        let p = progress("exit-three")
        XCTAssertEqual(p?.string("state"), "failed", "\(String(describing: p))")
        XCTAssertEqual(p?.int("exit_code"), 3, "srun exits with its task's code: \(String(describing: p))")
    }

    /// The prompt reaches the step's stdin byte for byte; the step runs in the task's worktree, in a
    /// Slurm job (SLURM_JOB_ID set), with the task's environment.
    func testThePromptReachesTheStepByteForByteInsideAJob() throws {
        let src = try makeScratchDir("src")
        let out = try makeScratchDir("out")
        let prompt = promptText("through-srun", size: 20_000) + "last line, no newline: ' \" ✓"
        let file = try write(prompt, to: src.appendingPathComponent("through-srun.md"))
        let step = #"tee "$OUT/$GADUGI_TASK_ID.prompt" | sha256sum | cut -c1-64 > "$OUT/$GADUGI_TASK_ID.sha256"; "#
            + #"printf %s "$SLURM_JOB_ID" > "$OUT/$GADUGI_TASK_ID.job"; pwd -P > "$OUT/$GADUGI_TASK_ID.cwd""#
        let r = try gadugiRun(["run", file.path, "--agent", srunAgent(step)], timeout: 60, env: ["OUT": out.path])
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(allQueued(), ["done/through-srun.md"])

        let expected = try sha256(file)
        let seen = readText(out.appendingPathComponent("through-srun.sha256"))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(seen, expected, "sha256 of the step's stdin against the prompt file's")
        XCTAssertEqual(FileManager.default.contents(atPath: out.appendingPathComponent("through-srun.prompt").path),
                       Data(prompt.utf8))

        let job = readText(out.appendingPathComponent("through-srun.job")) ?? ""
        XCTAssertNotNil(Int(job), "SLURM_JOB_ID in the step: \(job.debugDescription)")
        XCTAssertGreaterThan(Int(job) ?? 0, 0)
        let cwd = readText(out.appendingPathComponent("through-srun.cwd"))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(cwd, spool.appendingPathComponent("worktrees/through-srun").resolvingSymlinksInPath().path,
                       "srun keeps the working directory: the task's worktree")
    }

    func testTheStepsOutputLandsInOutputLog() throws {
        let src = try makeScratchDir("src")
        let file = try write(promptText("talks"), to: src.appendingPathComponent("talks.md"))
        let step = #"echo "stdout of job $SLURM_JOB_ID for $GADUGI_TASK_ID"; echo "stderr of the step" >&2"#
        let r = try gadugiRun(["run", file.path, "--isolation", "none", "--agent", srunAgent(step)], timeout: 60)
        XCTAssertEqual(r.status, 0, "\(r)")
        let log = readText(taskDir("talks").appendingPathComponent("output.log")) ?? ""
        XCTAssertNotNil(log.range(of: #"stdout of job [0-9]+ for talks"#, options: .regularExpression), log)
        XCTAssertTrue(log.contains("stderr of the step"), log)
    }

    /// `gadugi cancel` stops the agent's session, srun among it; srun cancels its step and the job
    /// ends, a process that left the step's session (setsid) included (proctrack/cgroup).
    func testCancelEndsTheJobAndEveryProcessInIt() throws {
        try initSpool()
        try writeConfig("kill_grace: 2s\n")
        let gate = try makeScratchDir("gate")
        let step = #"setsid sleep 300 & echo $! > "$GATE/$GADUGI_TASK_ID.escaped"; "#
            + #": > "$GATE/$GADUGI_TASK_ID.started"; sleep 300"#
        guard let c = try startCoordinator(["--isolation", "none", "--agent", srunAgent(step)],
                                           env: ["GATE": gate.path]) else { return }
        try dropPrompt(name: "long.md", content: "Runs until cancelled.\n")
        let started = gate.appendingPathComponent("long.started")
        XCTAssertTrue(waitUntil(timeout: 30) { FileManager.default.fileExists(atPath: started.path) },
                      "the step never started:\n\(c.result())")
        let running = try jobs("long")
        XCTAssertTrue(running.hasSuffix("RUNNING"), "squeue -n gadugi-long: \(running.debugDescription)")
        let escaped = Int32(readText(gate.appendingPathComponent("long.escaped"))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        XCTAssertTrue(isAlive(escaped), "the setsid child (pid \(escaped)) runs")

        let cancel = try gadugiRun(["cancel", "long"])
        XCTAssertEqual(cancel.status, 0, "\(cancel)")
        XCTAssertTrue(waitUntil(timeout: 30) { self.list(.cancelled) == ["long.md"] }, allQueued().description)
        XCTAssertEqual(progress("long")?.string("state"), "cancelled")
        var left = running
        XCTAssertTrue(waitUntil(timeout: 10, interval: 0.2) {
            left = (try? self.jobs("long")) ?? "squeue failed"
            return left.isEmpty
        }, "the job is still known to Slurm 10 s after the cancel: \(left)")
        // proctrack/linuxproc (cluster.sh's choice without a cgroup v1 freezer) follows the process
        // tree only, so a setsid child escapes it; proctrack/cgroup ends it with the job.
        if proctrack() == "proctrack/cgroup" {
            XCTAssertTrue(waitUntil(timeout: 10) { !self.isAlive(escaped) },
                          "the step's setsid child (pid \(escaped)) outlived the job")
        } else if isAlive(escaped) {
            _ = kill(escaped, SIGKILL)
        }
        XCTAssertTrue(c.isRunning, "the coordinator goes on")
    }
}
