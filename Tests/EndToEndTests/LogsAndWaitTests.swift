import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// `gadugi logs [-f] [-n N]` and `gadugi status --wait`, against a real coordinator and agents;
/// and the `status` table for a known spool, to the character.
final class LogsAndWaitTests: GadugiTestCase {
    /// Writes a line every 0.2 s, then waits for the file `$LOGS_GATE` before its last line, so
    /// the test can see the log followed while the task still runs; exits with the prompt's
    /// `exit:` line (default 0).
    let agent = #"""
        code=$(sed -n 's/^exit: //p'); for i in 1 2 3 4 5; do echo "line $i of $GADUGI_TASK_ID"; sleep 0.2; done
        while [ ! -e "$LOGS_GATE" ]; do sleep 0.05; done; echo "last line of $GADUGI_TASK_ID"; exit ${code:-0}
        """#

    var gate: URL!

    override func setUpWithError() throws {
        try super.setUpWithError()
        gate = try makeScratchDir("gate").appendingPathComponent("open")
        try initSpool()
    }

    func startCoordinator() throws -> BackgroundProcess? {
        try startCoordinator(["--agent", agent, "--isolation", "none"], env: ["LOGS_GATE": gate.path])
    }

    func openGate() throws { try write("", to: gate) }

    /// Follows `id` from before its claim to its end; returns the finished `logs -f`.
    func follow(_ id: String, prompt: String) throws -> RunResult {
        try dropPrompt(name: "\(id).md", content: prompt)
        let logs = try startGadugi(["logs", "-f", id])
        guard try startCoordinator() != nil else { return logs.result() }
        // Followed while it runs: the lines arrive before the task can end (it waits for the gate).
        XCTAssertTrue(waitUntil(timeout: 30) { logs.stdout.contains("line 3 of \(id)") }, "\(logs.result())")
        XCTAssertTrue(logs.isRunning, "logs -f must wait for the task to end:\n\(logs.result())")
        XCTAssertEqual(list(.running), ["\(id).md"])
        try openGate()
        if !waitForExit(logs.process, timeout: 30) { return logs.stop(SIGKILL) }
        return logs.result()
    }

    func testLogsFollowsAGrowingLogAndExitsZeroWhenTheTaskIsDone() throws {
        let r = try follow("grow", prompt: "Write some lines.\n")
        XCTAssertEqual(r.status, 0, "\(r)")
        let expected = (1...5).map { "line \($0) of grow\n" }.joined() + "last line of grow\n"
        XCTAssertEqual(r.stdout, expected, "every line once, in order, from a task that was still queued")
        XCTAssertTrue(r.stderr.contains("gadugi: grow ended done"), "\(r)")
    }

    func testLogsExitsOneWhenTheTaskFailsAndSaysHow() throws {
        let r = try follow("breaks", prompt: "Fail.\nexit: 3\n")
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stdout.hasSuffix("last line of breaks\n"), "\(r)")
        XCTAssertTrue(r.stderr.contains("gadugi: breaks ended failed (exit 3)"), "\(r)")
    }

    func testLogsFollowsARetriedTaskAcrossItsSeparator() throws {
        try writeConfig("retries: 1\nretry_backoff: 0.1s\n")
        try openGate()
        try dropPrompt(name: "flaky.md", content: "Fail once.\n")
        let flaky = #"echo "attempt $GADUGI_ATTEMPT"; sleep 0.2; [ "$GADUGI_ATTEMPT" = 2 ]"#
        let logs = try startGadugi(["logs", "-f", "flaky"])
        XCTAssertNotNil(try startCoordinator(["--agent", flaky, "--isolation", "none"]))
        XCTAssertTrue(waitForExit(logs.process, timeout: 30), "\(logs.result())")
        let r = logs.result()
        XCTAssertEqual(r.status, 0, "the retry succeeded:\n\(r)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "attempt 1", "\(r)")
        XCTAssertEqual(lines.last, "attempt 2", "\(r)")
        XCTAssertTrue(lines.contains { $0.hasPrefix("---- gadugi: automatic retry at ") }, "\(r)")
    }

    func testLogsPrintsTheLastLinesWithN() throws {
        try openGate()
        try dropPrompt(name: "short.md", content: "Lines.\n")
        XCTAssertNotNil(try startCoordinator())
        XCTAssertTrue(waitUntil(timeout: 30) { self.list(.done) == ["short.md"] })
        let r = try gadugiRun(["logs", "short", "-n", "2"])
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout, "line 5 of short\nlast line of short\n")
        let whole = try gadugiRun(["logs", "short"])
        XCTAssertEqual(whole.stdout.split(separator: "\n").count, 6, "\(whole)")
        let none = try gadugiRun(["logs", "short", "-n", "0"])
        XCTAssertEqual(none.stdout, "")
        XCTAssertEqual(try gadugiRun(["logs", "short", "-n", "-1"]).status, 64, "a usage error")
    }

    func testLogsOfAnUnknownIdSaysWhereToLook() throws {
        let r = try gadugiRun(["logs", "no-such-task"])
        XCTAssertEqual(r.status, 2, "\(r)")
        XCTAssertTrue(r.stderr.contains("no task 'no-such-task'") && r.stderr.contains("gadugi status --all"), "\(r)")
        XCTAssertEqual(try gadugiRun(["logs", "-f", "no-such-task"]).status, 2)
        XCTAssertEqual(try gadugiRun(["logs", "../etc"]).status, 64, "a path is no task id")
    }

    // MARK: status --wait

    func testWaitExitsZeroWhenAllSucceedAndOneWhenOneFails() throws {
        try openGate()
        for name in ["ok-a", "ok-b"] { try dropPrompt(name: "\(name).md", content: "Fine.\n") }
        try dropPrompt(name: "bad.md", content: "Fail.\nexit: 3\n")
        XCTAssertNotNil(try startCoordinator())
        let ok = try gadugiRun(["status", "--wait", "ok-a", "ok-b"], timeout: 60)
        XCTAssertEqual(ok.status, 0, "\(ok)")
        let rows = ok.stdout.split(separator: "\n").filter { $0.hasPrefix("ok-") }
        XCTAssertEqual(rows.count, 2, "the final rows of the tasks waited for:\n\(ok)")
        XCTAssertTrue(rows.allSatisfy { $0.contains(" done ") }, "\(ok)")
        XCTAssertFalse(ok.stdout.contains("bad "), "only the tasks waited for:\n\(ok)")

        let mixed = try gadugiRun(["status", "--wait", "ok-a", "bad"], timeout: 60)
        XCTAssertEqual(mixed.status, 1, "\(mixed)")
        XCTAssertTrue(mixed.stdout.split(separator: "\n").contains { $0.hasPrefix("bad ") && $0.hasSuffix("exit 3") }, "\(mixed)")

        let json = try gadugiRun(["status", "--wait", "bad", "--json"], timeout: 60)
        XCTAssertEqual(json.status, 1)
        let tasks = (try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])?["tasks"] as? [[String: Any]]
        XCTAssertEqual(tasks?.first?.string("state"), "failed", "\(json)")
        XCTAssertEqual(tasks?.first?.int("exit_code"), 3, "\(json)")
    }

    func testWaitForAnUnknownIdIsAnErrorAndATimeoutGivesUp() throws {
        let unknown = try gadugiRun(["status", "--wait", "nobody"])
        XCTAssertEqual(unknown.status, 2, "\(unknown)")
        XCTAssertTrue(unknown.stderr.contains("no task 'nobody'"), "\(unknown)")
        XCTAssertEqual(try gadugiRun(["status", "--wait"]).status, 64, "--wait needs ids")
        XCTAssertEqual(try gadugiRun(["status", "--timeout", "5s"]).status, 64, "--timeout only with --wait")

        // Queued, no coordinator: it never ends.
        try dropPrompt(name: "stays.md", content: "Wait.\n")
        let late = try gadugiRun(["status", "--wait", "stays", "--timeout", "0.5s"], timeout: 30)
        XCTAssertEqual(late.status, 124, "\(late)")
        XCTAssertTrue(late.stderr.contains("stays"), "\(late)")
        XCTAssertTrue(late.stdout.contains("stays.md  queued"), "the rows as they are:\n\(late)")
    }

    // MARK: the status table

    func testStatusTableForAKnownSpool() throws {
        let q = queue(.incoming).deletingLastPathComponent()
        try write("Add a feature\n", to: q.appendingPathComponent("incoming/new-feature.md"))
        // Queued three days and 5 s ago: ELAPSED 72h0m for the next 55 s.
        var times = [timespec(tv_sec: time(nil) - 259_205, tv_nsec: 0), timespec(tv_sec: time(nil) - 259_205, tv_nsec: 0)]
        XCTAssertEqual(utimensat(AT_FDCWD, q.appendingPathComponent("incoming/new-feature.md").path, &times, 0), 0)
        try task("build-api", in: "running", #"""
            "state": "running", "percent": 40,
            "message": "compiling the API\nthen running every test suite of the project, which takes a while\nand then more"
            """#)
        try task("users-tests", in: "claimed", #""state": "waiting", "waiting_for": ["users-api (running)"]"#)
        try task("fix-login", in: "failed", #"""
            "state": "failed", "exit_code": 3, "percent": 90, "message": "almost there",
            "started_at": "2026-01-02T03:04:05.000Z", "finished_at": "2026-01-02T03:04:17.500Z"
            """#)
        try write(#"{"percent": 90, "message": "almost there"}"#, to: taskDir("fix-login").appendingPathComponent("report.json"))
        try task("schema", in: "done", #"""
            "state": "done", "exit_code": 0, "percent": 100, "message": "migrations written",
            "started_at": "2026-01-02T03:00:00.000Z", "finished_at": "2026-01-02T03:01:05.000Z"
            """#)
        try write("", to: queue(.rejected).appendingPathComponent("empty.md"))
        try write("empty.md: the prompt is empty (or only whitespace): write what the agent should do\n",
                  to: queue(.rejected).appendingPathComponent("empty.md.reason"))

        let r = try gadugiRun(["status", "--all"], env: ["NO_COLOR": "1", "COLUMNS": "80"])
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout, """
            queued 1  claimed 0  waiting 1  running 1  done 1  failed 1  rejected 1
            coordinator: not running (start one with 'gadugi run')
            ID              STATE     ELAPSED  HEARTBEAT  PERCENT  MESSAGE
            build-api       running   -        -          40%      compiling the API then r…
            users-tests     waiting   -        -          -        waiting for users-api (r…
            new-feature.md  queued    72h0m    -          -
            fix-login       failed    12.5s    -          90%      exit 3
            schema          done      1m5s     -          100%     migrations written
            empty.md        rejected  -        -          -        the prompt is empty (or …

            """)

        let failed = try gadugiRun(["status", "--state", "failed,queued"], env: ["COLUMNS": "80"])
        XCTAssertEqual(failed.stdout.split(separator: "\n").suffix(3), [
            "ID              STATE   ELAPSED  HEARTBEAT  PERCENT  MESSAGE",
            "new-feature.md  queued  72h0m    -          -",
            "fix-login       failed  12.5s    -          90%      exit 3",
        ])
        let wide = try gadugiRun(["status"], env: ["COLUMNS": ""])
        XCTAssertTrue(wide.stdout.contains("then running every test suite of the project, which takes a while and then more"),
                      "output to a pipe is not cut:\n\(wide)")
        XCTAssertEqual(try gadugiRun(["status", "--state", "finished"]).status, 64)
    }

    /// A task's prompt in `queue/<folder>/` and its `progress.json` with these fields.
    func task(_ id: String, in folder: String, _ fields: String) throws {
        try write("x\n", to: spool.appendingPathComponent("queue/\(folder)/\(id).md"))
        try write(#"{"schema_version": 1, "id": "\#(id)", "name": "\#(id).md", \#(fields)}"#, to: progressURL(id))
    }
}
