// `executor: slurm` against a real Slurm cluster (`make test-slurm` starts a single-node one, with
// 2 CPUs, and sets GADUGI_SLURM=1 and SLURM_CONF). Skipped everywhere else. The spool's root is
// under /tmp, which the single node shares with the coordinator.

import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

final class SlurmExecutorTests: GadugiTestCase {
    var out: URL!

    override func setUpWithError() throws {
        guard ProcessInfo.processInfo.environment["GADUGI_SLURM"] == "1" else {
            throw XCTSkip("needs a Slurm cluster: run through 'make test-slurm' (it sets GADUGI_SLURM=1 and SLURM_CONF)")
        }
        try super.setUpWithError()
        out = try makeScratchDir("out")
        extraEnvironment["OUT"] = out.path
    }

    func file(_ name: String) -> URL { out.appendingPathComponent(name) }

    /// Runs a Slurm client command (found on PATH through /bin/sh) and returns its result.
    func slurm(_ args: [String], timeout: Double = 30) throws -> RunResult {
        try runProgram(URL(fileURLWithPath: "/bin/sh"), ["-c", #""$@""#, "slurm"] + args, timeout: timeout)
    }

    func jobID(_ id: String) -> Int? { progress(id)?.int("slurm_job_id") }

    /// Whether Slurm no longer lists the job as pending, running or completing.
    func jobGone(_ job: Int) -> Bool {
        guard let r = try? slurm(["squeue", "-h", "-j", String(job), "-o", "%T"]) else { return false }
        return r.status != 0 || r.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
    }

    func testExitCodeStdinAndJobID() throws {
        try initSpool()
        try writeConfig("executor: slurm\n")
        let prompts = try makeScratchDir("prompts")
        let a = try write(promptText("a", size: 2_000_000), to: prompts.appendingPathComponent("a.md"))
        let agent = #"sha256sum | cut -d' ' -f1 >"$OUT/$GADUGI_TASK_ID.sha"; echo "$SLURM_JOB_ID $SLURM_JOB_NAME" >"$OUT/$GADUGI_TASK_ID.job"; exit 3"#
        let r = try gadugiRun(["run", "--isolation", "none", "--agent", agent, a.path], timeout: 120)
        XCTAssertEqual(r.status, 1, "\(r)")
        let record = try XCTUnwrap(progress("a"))
        XCTAssertEqual(record.string("state"), "failed")
        XCTAssertEqual(record.int("exit_code"), 3, "srun passes the agent's status")
        XCTAssertEqual(record.string("executor"), "slurm")
        let job = try XCTUnwrap(record.int("slurm_job_id"))
        XCTAssertEqual(readText(file("a.job"))?.trimmingCharacters(in: .whitespacesAndNewlines), "\(job) gadugi-a")
        let expected = try runProgram(URL(fileURLWithPath: "/bin/sh"),
                                      ["-c", #"sha256sum <"$1" | cut -d' ' -f1"#, "sha", queue(.failed).appendingPathComponent("a.md").path])
        XCTAssertEqual(readText(file("a.sha")), expected.stdout, "the prompt reached the step byte for byte")
    }

    func testAStepKilledByASignalEndsTheTaskAsKilled() throws {
        try initSpool()
        try writeConfig("executor: slurm\n")
        let prompts = try makeScratchDir("prompts")
        let k = try write("Killed.\n", to: prompts.appendingPathComponent("k.md"))
        let r = try gadugiRun(["run", "--isolation", "none", "--agent", "kill -KILL $$", k.path], timeout: 120)
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertEqual(list(.failed), ["k.md"])
        let record = try XCTUnwrap(progress("k"))
        XCTAssertEqual(record.int("signal"), 9, "srun passes how the step ended: \(record)")
        XCTAssertTrue(r.stdout.contains("killed by SIGKILL"), r.stdout)
    }

    func testResourcesFromFrontMatterReachTheJob() throws {
        try initSpool()
        try writeConfig("executor: slurm\nslurm: {cpus: 1}\n")
        guard let c = try startCoordinator(["--isolation", "none", "--agent", "sleep 300"]) else { return }
        try dropPrompt(name: "big.md", content: "---\nslurm: {cpus: 2, time: 10m}\n---\nTwo CPUs.\n")
        XCTAssertTrue(waitUntil(timeout: 60) { self.jobID("big") != nil }, c.stderr)
        let job = try XCTUnwrap(jobID("big"))
        let show = try slurm(["scontrol", "show", "job", String(job)])
        XCTAssertEqual(show.status, 0, "\(show)")
        XCTAssertTrue(show.stdout.contains("JobName=gadugi-big"), show.stdout)
        XCTAssertTrue(show.stdout.contains("NumCPUs=2"), show.stdout)
        XCTAssertTrue(show.stdout.contains("TimeLimit=00:10:00"), show.stdout)
        XCTAssertEqual(try gadugiRun(["cancel", "big"]).status, 0)
        XCTAssertTrue(waitUntil(timeout: 60) { self.list(.cancelled) == ["big.md"] }, allQueued().description)
        XCTAssertTrue(waitUntil(timeout: 60) { self.jobGone(job) }, "job \(job) is still in squeue")
        _ = c.stop()
    }

    func testCancelOfARunningJobRemovesItFromSlurm() throws {
        try initSpool()
        try writeConfig("executor: slurm\nkill_grace: 5s\n")
        let agent = #"echo $$ >"$OUT/$GADUGI_TASK_ID.pid"; sleep 300"#
        guard let c = try startCoordinator(["--isolation", "none", "--agent", agent]) else { return }
        try dropPrompt(name: "long.md", content: "Runs until cancelled.\n")
        XCTAssertTrue(waitUntil(timeout: 60) { self.jobID("long") != nil }, c.stderr)
        let job = try XCTUnwrap(jobID("long"))
        XCTAssertTrue(waitUntil(timeout: 30) { (try? self.slurm(["squeue", "-h", "-j", String(job), "-o", "%T"]))?.stdout.contains("RUNNING") == true })
        XCTAssertEqual(try gadugiRun(["cancel", "long"]).status, 0)
        XCTAssertTrue(waitUntil(timeout: 60) { self.list(.cancelled) == ["long.md"] }, allQueued().description)
        XCTAssertEqual(progress("long")?.string("state"), "cancelled")
        XCTAssertTrue(waitUntil(timeout: 60) { self.jobGone(job) }, "job \(job) is still in squeue")
        if let pid = readText(file("long.pid")).flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
            XCTAssertTrue(waitUntil(timeout: 30) { !self.isAlive(pid) }, "the agent (pid \(pid)) outlived its cancelled job")
        }
        _ = c.stop()
    }

    func testATimeoutStopsTheJob() throws {
        try initSpool()
        try writeConfig("executor: slurm\ntimeout: 3s\nkill_grace: 3s\n")
        guard let c = try startCoordinator(["--isolation", "none", "--agent", "sleep 300"]) else { return }
        try dropPrompt(name: "slow.md", content: "Too slow.\n")
        XCTAssertTrue(waitUntil(timeout: 60) { self.jobID("slow") != nil }, c.stderr)
        let job = try XCTUnwrap(jobID("slow"))
        XCTAssertTrue(waitUntil(timeout: 90) { self.list(.failed) == ["slow.md"] }, allQueued().description + c.stderr)
        XCTAssertEqual(progress("slow")?.string("state"), "timeout")
        XCTAssertTrue(waitUntil(timeout: 60) { self.jobGone(job) }, "job \(job) is still in squeue")
        _ = c.stop()
    }

    func testATaskWaitingForCPUsIsPendingThenRuns() throws {
        try initSpool()
        try writeConfig("executor: slurm\nmax_parallel: 3\nslurm: {cpus: 1}\n")
        let agent = #"while [ ! -e "$OUT/go" ]; do sleep 0.1; done"#
        guard let c = try startCoordinator(["--isolation", "none", "--agent", agent]) else { return }
        for name in ["p1", "p2", "p3"] { try dropPrompt(name: "\(name).md", content: "Wait.\n") }
        // Two CPUs: two jobs run, the third is pending in Slurm.
        XCTAssertTrue(waitUntil(timeout: 60) { ["p1", "p2", "p3"].filter { self.jobID($0) != nil }.count == 2 }, c.stderr)
        let waiting = try XCTUnwrap(["p1", "p2", "p3"].first { jobID($0) == nil })
        let status = try gadugiRun(["status", "--json", waiting])
        let json = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        let row = (json?["tasks"] as? [[String: Any]])?.first { $0["id"] as? String == waiting }
        XCTAssertEqual(row?["status_state"] as? String, "pending", status.stdout)
        let counts = (try JSONSerialization.jsonObject(with: Data(try gadugiRun(["status", "--json"]).stdout.utf8))
                      as? [String: Any])?["counts"] as? [String: Int]
        XCTAssertEqual(counts?["pending"], 1, "\(counts ?? [:])")
        XCTAssertEqual(counts?["running"], 2, "the pending one is not counted as running: \(counts ?? [:])")
        try write("", to: file("go"))
        XCTAssertTrue(waitUntil(timeout: 90) { self.list(.done).count == 3 }, allQueued().description + c.stderr)
        XCTAssertNotNil(jobID(waiting), "its job id is recorded once it ran")
        _ = c.stop()
    }

    func testAKilledCoordinatorsJobsAreAdoptedAndNotRunTwice() throws {
        try initSpool()
        try writeConfig("executor: slurm\n")
        let agent = #"echo run >>"$OUT/$GADUGI_TASK_ID.runs"; while [ ! -e "$OUT/go" ]; do sleep 0.1; done"#
        guard let first = try startCoordinator(["--isolation", "none", "--agent", agent]) else { return }
        try dropPrompt(name: "k1.md", content: "One.\n")
        try dropPrompt(name: "k2.md", content: "Two.\n")
        XCTAssertTrue(waitUntil(timeout: 60) { self.jobID("k1") != nil && self.jobID("k2") != nil }, first.stderr)
        first.signal(SIGKILL)
        _ = first.stop(SIGKILL)
        guard let second = try startCoordinator(["--isolation", "none", "--agent", agent]) else { return }
        XCTAssertTrue(waitUntil(timeout: 30) { second.stderr.contains("adopted k1") && second.stderr.contains("adopted k2") }, second.stderr)
        try write("", to: file("go"))
        XCTAssertTrue(waitUntil(timeout: 60) { self.list(.done).sorted() == ["k1.md", "k2.md"] }, allQueued().description + second.stderr)
        for id in ["k1", "k2"] {
            XCTAssertEqual(readText(file("\(id).runs")), "run\n", "\(id) ran once")
            XCTAssertEqual(progress(id)?.int("attempts"), 1)
        }
        _ = second.stop()
    }
}
