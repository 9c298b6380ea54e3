// `gadugi run FILE...` while a coordinator runs: the files go to that coordinator, and the
// joining process follows them to their end with the coordinator's own log lines, the same
// summary and the same exit codes.

import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

final class RunJoinTests: GadugiTestCase {
    let fast = ["GADUGI_SIMULATE_STEP": "0.05"]

    /// A coordinator running the simulated agent, with no files of its own.
    private func simulatingCoordinator() throws -> BackgroundProcess? {
        try startCoordinator(["--agent", "gadugi:simulate"], env: fast)
    }

    private func prompts(_ files: [String: String]) throws -> URL {
        let dir = try makeScratchDir("prompts")
        for (name, text) in files { try write(text, to: dir.appendingPathComponent(name)) }
        return dir
    }

    /// The log lines of `stderr` about a start or an end of `ids`, without their timestamps.
    private func transitions(_ stderr: String, _ ids: [String]) -> Set<String> {
        Set(stderr.split(separator: "\n").map { line -> String in
            String(line.split(separator: " ", maxSplits: 1).last ?? "")
        }.filter { line in
            ids.contains { id in ["info started \(id) ", "info done \(id) ", "warning failed \(id) "].contains { line.hasPrefix($0) } }
        })
    }

    func testJoinHandsTheFilesToTheRunningCoordinatorAndReportsLikeIt() throws {
        guard let coordinator = try simulatingCoordinator() else { return }
        let dir = try prompts(["a.md": "do a\n", "b.md": "do b\nsimulate: fail\n"])
        let r = try gadugiRun(["run", dir.appendingPathComponent("a.md").path, dir.appendingPathComponent("b.md").path],
                              timeout: 60, env: fast)
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stderr.contains("joined the running coordinator (pid \(coordinator.pid))"), r.stderr)
        XCTAssertTrue(r.stdout.contains("2 task(s): 1 done, 1 failed"), r.stdout)
        XCTAssertTrue(r.stdout.contains("  done      a  "), r.stdout)
        XCTAssertTrue(r.stdout.contains("  failed    b  exit 1  "), r.stdout)
        XCTAssertEqual(list(.done), ["a.md"])
        XCTAssertEqual(list(.failed), ["b.md"])
        // The joiner's lines for its tasks are the coordinator's, word for word.
        let mine = transitions(r.stderr, ["a", "b"])
        XCTAssertEqual(mine.count, 4, r.stderr)
        XCTAssertTrue(waitUntil(timeout: 5) { self.transitions(coordinator.stderr, ["a", "b"]).count == 4 }, coordinator.stderr)
        XCTAssertEqual(mine, transitions(coordinator.stderr, ["a", "b"]))
        // The coordinator carries on, and takes more work.
        XCTAssertTrue(coordinator.isRunning)
        try dropPrompt(name: "later.md", content: "more\n")
        XCTAssertTrue(waitUntil(timeout: 30) { self.list(.done).contains("later.md") }, "\(coordinator.result())")
    }

    func testDependsOnResolvesInsideTheJoinedBatch() throws {
        guard try simulatingCoordinator() != nil else { return }
        let first = try prompts(["schema.md": "make the schema\n"])
        XCTAssertEqual(try gadugiRun(["run", first.appendingPathComponent("schema.md").path], timeout: 60, env: fast).status, 0)
        // Again, with a dependant listed first: its `schema` is this batch's, schema-2.
        let dir = try prompts(["api.md": "---\ndepends_on: schema\n---\nthe api\n", "schema.md": "make the schema again\n"])
        let r = try gadugiRun(["run", "--json", dir.appendingPathComponent("api.md").path, dir.appendingPathComponent("schema.md").path],
                              timeout: 60, env: fast)
        XCTAssertEqual(r.status, 0, "\(r)")
        let dependency = (progress("api")?["depends_on"] as? [[String: Any]])?.first
        XCTAssertEqual(dependency?["resolved"] as? String, "schema-2", "\(String(describing: progress("api")))")
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        XCTAssertEqual(summary["all_done"] as? Bool, true)
        let tasks = (summary["tasks"] as? [[String: Any]]) ?? []
        XCTAssertEqual(tasks.compactMap { $0["id"] as? String }, ["api", "schema-2"])
        XCTAssertEqual(tasks.compactMap { $0["state"] as? String }, ["done", "done"])
        XCTAssertEqual(Set(list(.done)), ["schema.md", "schema-2.md", "api.md"])
    }

    func testCoordinatorFlagsAreIgnoredWithAWarningWhileJoining() throws {
        guard try simulatingCoordinator() != nil else { return }
        let dir = try prompts(["one.md": "one\n"])
        let r = try gadugiRun(["run", "--agent", "false", "--max-parallel", "1", "--until-idle",
                               dir.appendingPathComponent("one.md").path], timeout: 60, env: fast)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertTrue(r.stderr.contains("gadugi: warning: --max-parallel, --agent, --until-idle ignored: the coordinator already running"), r.stderr)
        XCTAssertEqual(list(.done), ["one.md"], "the coordinator's agent ran it, not 'false'")
    }

    func testRejectedPromptsAreReportedAsRejected() throws {
        guard let coordinator = try simulatingCoordinator() else { return }
        // A cycle inside the batch is rejected at the claim, as for a coordinator's own run.
        let dir = try prompts(["x.md": "---\ndepends_on: y\n---\nx\n", "y.md": "---\ndepends_on: x\n---\ny\n",
                               "bad.md": "---\npriority: [1\n---\nbroken front matter\n"])
        let r = try gadugiRun(["run", dir.appendingPathComponent("x.md").path, dir.appendingPathComponent("y.md").path],
                              timeout: 60, env: fast)
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stdout.contains("2 task(s): 0 done, 0 failed, 2 rejected"), r.stdout)
        XCTAssertTrue(r.stdout.contains("  rejected  x  "), r.stdout)
        XCTAssertTrue(r.stdout.contains("its depends_on closes a cycle"), r.stdout)
        XCTAssertFalse(r.stdout.contains("x.md: x.md:"), "the reason is not prefixed with the queued name: \(r.stdout)")
        XCTAssertTrue(r.stderr.contains("warning rejected x.md: its depends_on closes a cycle"), r.stderr)
        // Bad front matter is refused before anything is queued, as without a coordinator.
        let bad = try gadugiRun(["run", dir.appendingPathComponent("x.md").path, dir.appendingPathComponent("bad.md").path], timeout: 30)
        XCTAssertEqual(bad.status, 1, "\(bad)")
        XCTAssertTrue(bad.stderr.contains("bad.md: "), bad.stderr)
        XCTAssertEqual(list(.incoming), [])
        XCTAssertTrue(coordinator.isRunning)
    }

    func testCtrlCStopsFollowingAndLeavesTheTasksWithTheCoordinator() throws {
        guard let coordinator = try startCoordinator(["--agent", "sleep 30"]) else { return }
        let dir = try prompts(["slow.md": "slow\n"])
        let joiner = try startGadugi(["run", dir.appendingPathComponent("slow.md").path])
        XCTAssertTrue(waitUntil(timeout: 30) { self.list(.running) == ["slow.md"] }, "\(joiner.result())")
        XCTAssertTrue(waitUntil(timeout: 10) { joiner.stderr.contains("started slow") }, joiner.stderr)
        let r = joiner.stop(SIGINT, timeout: 10)
        XCTAssertTrue(r.exitedNormally && r.status == 130, "\(r)")
        XCTAssertTrue(r.stderr.contains("stopped following; 1 unfinished task(s) stay with the coordinator (pid \(coordinator.pid))"), r.stderr)
        XCTAssertTrue(r.stdout.contains("  waiting   slow  "), r.stdout)
        XCTAssertTrue(coordinator.isRunning)
        XCTAssertEqual(list(.running), ["slow.md"], "the task goes on")
    }

    func testAJoinerWhoseCoordinatorStopsSaysSoAndExitsOne() throws {
        guard let coordinator = try startCoordinator(["--agent", "sleep 30"]) else { return }
        let dir = try prompts(["slow.md": "slow\n"])
        let joiner = try startGadugi(["run", dir.appendingPathComponent("slow.md").path])
        XCTAssertTrue(waitUntil(timeout: 30) { self.list(.running) == ["slow.md"] }, "\(joiner.result())")
        _ = coordinator.stop(SIGTERM)
        XCTAssertTrue(waitForExit(joiner.process, timeout: 20), "\(joiner.result())")
        let r = joiner.result()
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stderr.contains("the coordinator (pid \(coordinator.pid)) stopped before these tasks ended: slow"), r.stderr)
        XCTAssertTrue(r.stderr.contains("'gadugi run' resumes them"), r.stderr)
        XCTAssertEqual(list(.running), ["slow.md"], "left where it was")
    }

    func testVerboseAddsTheClaimsForTheCoordinatorAndTheJoinerAlike() throws {
        let dir = try prompts(["own.md": "own\n", "joined.md": "joined\n"])
        let own = try gadugiRun(["run", "--verbose", "--agent", "gadugi:simulate", dir.appendingPathComponent("own.md").path],
                                timeout: 60, env: fast)
        XCTAssertEqual(own.status, 0, "\(own)")
        XCTAssertTrue(own.stderr.contains(" debug claimed own from own.md\n"), own.stderr)
        guard try simulatingCoordinator() != nil else { return }
        let joined = try gadugiRun(["run", "--verbose", dir.appendingPathComponent("joined.md").path], timeout: 60, env: fast)
        XCTAssertEqual(joined.status, 0, "\(joined)")
        XCTAssertTrue(joined.stderr.contains(" debug claimed joined from joined.md\n"), joined.stderr)
        let quiet = try gadugiRun(["run", "--quiet", dir.appendingPathComponent("joined.md").path], timeout: 60, env: fast)
        XCTAssertEqual(quiet.status, 0, "\(quiet)")
        XCTAssertEqual(quiet.stderr, "", "--quiet: warnings and errors only")
    }

    func testQuietAndVerboseTogetherIsAUsageError() throws {
        let r = try gadugiRun(["run", "--quiet", "--verbose"], timeout: 30)
        XCTAssertEqual(r.status, 64, "\(r)")
        XCTAssertTrue(r.stderr.contains("--quiet and --verbose cannot be used together"), r.stderr)
    }
}
