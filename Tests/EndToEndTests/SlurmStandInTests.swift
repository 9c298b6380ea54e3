// `executor: slurm` through the binary, with a stand-in `srun` (and `scancel`): real shell scripts
// put first on PATH that record what they were given, export SLURM_JOB_ID=4242 and exec the rest
// of their argv, as srun does on a node. No Slurm needed; SlurmExecutorTests uses a real cluster.

import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

final class SlurmStandInTests: GadugiTestCase {
    /// The stand-ins' folder: `argv.<job name>` (srun's arguments, one a line), `cwd.<job name>`,
    /// `scancel` (its arguments, appended). While `hold.<job name>` exists srun waits, as a
    /// pending job does, until `go.<job name>` appears.
    var record: URL!

    override func setUpWithError() throws {
        try super.setUpWithError()
        record = try makeScratchDir("slurm")
        let bin = try makeScratchDir("bin")
        try write(#"""
            #!/bin/sh
            name=unknown
            for a in "$@"; do case $a in --job-name=*) name=${a#--job-name=};; esac; done
            printf '%s\n' "$@" >"$SLURM_STANDIN/argv.$name"
            pwd >"$SLURM_STANDIN/cwd.$name"
            if [ -e "$SLURM_STANDIN/hold.$name" ]; then
              while [ ! -e "$SLURM_STANDIN/go.$name" ]; do sleep 0.05; done
            fi
            while [ $# -gt 0 ]; do case $1 in -*) shift;; *) break;; esac; done
            SLURM_JOB_ID=4242; export SLURM_JOB_ID
            exec "$@"
            """#, to: bin.appendingPathComponent("srun"))
        try write("#!/bin/sh\nprintf '%s\\n' \"$@\" >>\"$SLURM_STANDIN/scancel\"\n", to: bin.appendingPathComponent("scancel"))
        for tool in ["srun", "scancel"] { chmod(bin.appendingPathComponent(tool).path, 0o755) }
        extraEnvironment["PATH"] = bin.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        extraEnvironment["SLURM_STANDIN"] = record.path
    }

    func file(_ name: String) -> URL { record.appendingPathComponent(name) }
    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: file(name).path) }

    /// `status_state` of task `id` in `gadugi status --json`, or nil.
    func statusState(_ id: String) throws -> String? {
        try statusRow(id)?["status_state"] as? String
    }

    /// `counts` of `status --json`.
    func statusCounts() throws -> [String: Int]? {
        let r = try gadugiRun(["status", "--json"])
        guard let data = r.stdout.data(using: .utf8),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return json["counts"] as? [String: Int]
    }

    func statusRow(_ id: String) throws -> [String: Any]? {
        let r = try gadugiRun(["status", "--json", id])
        guard let data = r.stdout.data(using: .utf8),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let tasks = json["tasks"] as? [[String: Any]] else { return nil }
        return tasks.first { $0["id"] as? String == id }
    }

    func testTheAgentRunsUnderSrunWithItsResourcesPromptAndExitCode() throws {
        try initSpool()
        try writeConfig("executor: slurm\nslurm: {partition: batch, cpus: 1, args: [--qos=low]}\n")
        let prompts = try makeScratchDir("prompts")
        let failing = try write("---\nslurm: {cpus: 4, mem: 8G}\ntimeout: 90s\n---\n" + promptText("a", size: 100_000), to: prompts.appendingPathComponent("a.md"))
        let passing = try write(promptText("b"), to: prompts.appendingPathComponent("b.md"))
        let agent = #"cat >"$SLURM_STANDIN/stdin.$GADUGI_TASK_ID"; [ "$GADUGI_TASK_ID" = b ] || exit 3"#
        let r = try gadugiRun(["run", "--isolation", "none", "--agent", agent, failing.path, passing.path], timeout: 60)
        XCTAssertEqual(r.status, 1, "a exits 3: \(r)")

        let argv = (readText(file("argv.gadugi-a")) ?? "").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(Array(argv.prefix(7)), ["--job-name=gadugi-a", "--ntasks=1", "--cpus-per-task=4", "--mem=8G",
                                               "--partition=batch", "--time=2", "--qos=low"], "front matter over config; timeout as --time")
        XCTAssertEqual(argv.dropFirst(7).first, "/bin/sh")
        XCTAssertTrue(argv.contains("gadugi-step"), "\(argv)")
        XCTAssertEqual(readText(file("cwd.gadugi-a"))?.trimmingCharacters(in: .whitespacesAndNewlines), root.path)
        // The prompt reached the agent through srun byte for byte.
        XCTAssertEqual(try Data(contentsOf: file("stdin.a")), try Data(contentsOf: queue(.failed).appendingPathComponent("a.md")))
        XCTAssertEqual(try Data(contentsOf: file("stdin.b")), try Data(contentsOf: queue(.done).appendingPathComponent("b.md")))

        let a = try XCTUnwrap(progress("a"))
        XCTAssertEqual(a.string("state"), "failed")
        XCTAssertEqual(a.int("exit_code"), 3, "srun passes the exit status through")
        XCTAssertEqual(a.string("executor"), "slurm")
        XCTAssertEqual(a.int("slurm_job_id"), 4242)
        XCTAssertEqual((a["slurm"] as? [String: Any])?["mem"] as? String, "8G")
        XCTAssertEqual(progress("b")?.string("state"), "done")
        XCTAssertEqual(progress("b")?.int("slurm_job_id"), 4242)
        XCTAssertFalse(exists("scancel"), "nothing was cancelled")
    }

    func testAJobSlurmHasNotStartedIsPendingThenRunning() throws {
        try initSpool()
        try writeConfig("executor: slurm\n")
        try write("", to: file("hold.gadugi-p"))
        let agent = #"while [ ! -e "$SLURM_STANDIN/end.$GADUGI_TASK_ID" ]; do sleep 0.05; done"#
        guard let c = try startCoordinator(["--isolation", "none", "--agent", agent]) else { return }
        try dropPrompt(name: "p.md", content: "Wait for Slurm.\n")
        XCTAssertTrue(waitUntil(timeout: 20) { self.exists("argv.gadugi-p") }, c.stderr)
        XCTAssertEqual(try statusState("p"), "pending")
        let pendingCounts = try statusCounts()
        XCTAssertEqual(pendingCounts?["pending"], 1, "\(pendingCounts ?? [:])")
        XCTAssertEqual(pendingCounts?["running"], 0, "a pending task is not counted as running: \(pendingCounts ?? [:])")
        let text = try gadugiRun(["status"]).stdout
        XCTAssertTrue(text.contains("pending in Slurm"), text)
        XCTAssertTrue(text.hasPrefix("queued 0  claimed 0  pending 1  running 0  done 0"), text)
        XCTAssertEqual(try gadugiRun(["status", "--state", "pending"]).stdout.contains("p"), true)

        try write("", to: file("go.gadugi-p"))
        XCTAssertTrue(waitUntil(timeout: 20) { (try? self.statusState("p")) == "running" }, c.stderr)
        let runningCounts = try statusCounts()
        XCTAssertEqual(runningCounts?["pending"], 0, "\(runningCounts ?? [:])")
        XCTAssertEqual(runningCounts?["running"], 1, "\(runningCounts ?? [:])")
        XCTAssertTrue(waitUntil(timeout: 20) { self.progress("p")?.int("slurm_job_id") == 4242 }, "the coordinator records the job id")
        XCTAssertTrue(waitUntil(timeout: 20) { c.stderr.contains("started in Slurm: job 4242") }, c.stderr)
        try write("", to: file("end.p"))
        XCTAssertTrue(waitUntil(timeout: 20) { self.list(.done) == ["p.md"] }, allQueued().description)
        _ = c.stop()
    }

    func testCancelWhilePendingAndWhileRunningEndsCancelledAndScancelsAKnownJob() throws {
        try initSpool()
        try writeConfig("executor: slurm\nkill_grace: 2s\n")
        try write("", to: file("hold.gadugi-q"))
        let agent = #"sleep 300"#
        guard let c = try startCoordinator(["--isolation", "none", "--agent", agent]) else { return }
        try dropPrompt(name: "q.md", content: "Pending.\n")
        try dropPrompt(name: "r.md", content: "Running.\n")
        XCTAssertTrue(waitUntil(timeout: 20) { self.exists("argv.gadugi-q") && self.progress("r")?.int("slurm_job_id") == 4242 }, c.stderr)
        XCTAssertEqual(try statusState("q"), "pending")

        XCTAssertEqual(try gadugiRun(["cancel", "q"]).status, 0)
        XCTAssertTrue(waitUntil(timeout: 20) { self.list(.cancelled) == ["q.md"] }, allQueued().description)
        XCTAssertEqual(progress("q")?.string("state"), "cancelled")
        XCTAssertFalse(exists("scancel"), "a pending job has no id to scancel: its srun withdraws it")

        XCTAssertEqual(try gadugiRun(["cancel", "r"]).status, 0)
        XCTAssertTrue(waitUntil(timeout: 20) { self.list(.cancelled).sorted() == ["q.md", "r.md"] }, allQueued().description)
        XCTAssertEqual(progress("r")?.string("state"), "cancelled")
        XCTAssertTrue(waitUntil(timeout: 10) { self.readText(self.file("scancel")) == "4242\n" }, readText(file("scancel")) ?? "no scancel")
        _ = c.stop()
    }

    func testARunRefusesToStartWithoutSrun() throws {
        try initSpool()
        try writeConfig("executor: slurm\n")
        let empty = try makeScratchDir("empty")
        let r = try gadugiRun(["run", "--until-idle", "--agent", "true"], env: ["PATH": empty.path])
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stderr.contains("srun is not on PATH"), r.stderr)
        let flag = try gadugiRun(["run", "--until-idle", "--executor", "pbs"])
        XCTAssertNotEqual(flag.status, 0)
        XCTAssertTrue(flag.stderr.contains("--executor has 'pbs'"), flag.stderr)
    }

    /// Inside an allocation srun makes steps of it, and a cancel's `scancel <job>` would end it,
    /// the coordinator with it: refused before anything is queued or claimed.
    func testARunRefusesToStartInsideASlurmAllocation() throws {
        try initSpool()
        let prompt = try write("Hello.\n", to: try makeScratchDir("src").appendingPathComponent("a.md"))
        let r = try gadugiRun(["run", "--executor", "slurm", "--agent", "true", prompt.path], env: ["SLURM_JOB_ID": "77"])
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stderr.contains("inside Slurm allocation 77"), r.stderr)
        XCTAssertTrue(r.stderr.contains("nothing was queued or claimed"), r.stderr)
        XCTAssertEqual(allQueued(), [], "nothing queued")
        let local = try gadugiRun(["run", "--executor", "local", "--isolation", "none", "--agent", "true", prompt.path],
                                  env: ["SLURM_JOB_ID": "77"])
        XCTAssertEqual(local.status, 0, "the local executor runs inside an allocation as anywhere: \(local)")
        XCTAssertEqual(list(.done), ["a.md"])
    }

    func testTheFilesOfASlurmRunMatchTheirSchemas() throws {
        try initSpool()
        try writeConfig("executor: slurm\nslurm: {cpus: 2, time: 1h}\n")
        try write("", to: file("hold.gadugi-s"))
        let agent = #"sleep 300"#
        guard let c = try startCoordinator(["--isolation", "none", "--agent", agent]) else { return }
        try dropPrompt(name: "s.md", content: "---\nslurm: {mem: 1G, cpu: 3}\n---\nPending.\n")
        try dropPrompt(name: "t.md", content: "Running.\n")
        XCTAssertTrue(waitUntil(timeout: 20) { self.exists("argv.gadugi-s") && self.progress("t")?.int("slurm_job_id") == 4242 }, c.stderr)
        XCTAssertEqual(progress("s")?["unknown_keys"] as? [String], ["slurm.cpu"])
        XCTAssertTrue(waitUntil(timeout: 10) { c.stderr.contains("unknown front matter key 'slurm.cpu' (did you mean slurm.cpus?)") }, c.stderr)
        let status = try gadugiRun(["status", "--json"])
        let statusFile = try write(status.stdout, to: workspace.scratch.appendingPathComponent("status.json"))
        let checks = [try validate(["status", statusFile.path]), try validate(["--spool", root.path])]
        for r in checks { XCTAssertEqual(r.status, 0, "\(r)") }
        _ = c.stop()
    }
}
