import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Requirements 4 and 5: one coordinator per root, SIGTERM and restart, kill -9 and restart.
final class CoordinatorLifecycleTests: GadugiTestCase {
    /// Maps every entry in the state directories to its task id (file name without extension).
    private func idsInQueue() -> [String: [String]] {
        var result: [String: [String]] = [:]
        for d in stateDirs {
            for name in list(d) {
                let id = (name as NSString).deletingPathExtension
                result[id, default: []].append("\(d.rawValue)/\(name)")
            }
        }
        return result
    }

    private func ledgerCounts(_ ledger: URL) -> [String: Int] {
        var counts: [String: Int] = [:]
        for line in (readText(ledger) ?? "").split(separator: "\n") {
            counts[String(line), default: 0] += 1
        }
        return counts
    }

    func testSecondCoordinatorOnTheSameRootIsRefused() throws {
        guard let first = try startCoordinator(["--agent", "true"]) else { return }

        let second = try gadugiRun(["run", "--agent", "true"], timeout: 20)
        XCTAssertFalse(second.timedOut, "the second coordinator kept running:\n\(second)")
        XCTAssertEqual(second.status, 1, "\(second)")
        XCTAssertTrue(second.stderr.contains("\(first.pid)"), "stderr should name the running coordinator's pid \(first.pid):\n\(second)")
        XCTAssertTrue(second.stderr.contains("another coordinator"), "\(second)")
        XCTAssertTrue(first.isRunning, "the first coordinator must be unaffected")

        // status sees the live coordinator.
        let status = try gadugiRun(["status", "--json"], timeout: 20)
        XCTAssertEqual(status.status, 0, "\(status)")
        let json = (try? JSONSerialization.jsonObject(with: Data(status.stdout.utf8))) as? [String: Any]
        XCTAssertEqual(json?.object("coordinator")?.int("pid").map { Int32($0) }, first.pid, "\(status)")

        let r = first.stop(SIGTERM, timeout: 10)
        XCTAssertFalse(r.timedOut, "\(r)")
        XCTAssertTrue(r.exitedNormally && r.status == 0, "\(r)")
    }

    func testSigtermMidRunExitsPromptlyAndARestartFinishesTheRest() throws {
        try initSpool()
        let src = try makeScratchDir("src")
        let ledger = try makeScratchDir("ledger").appendingPathComponent("ledger")
        try write("", to: ledger)
        let ids = (1...6).map { "term-\($0)" }
        let files = try ids.map { try write(promptText($0), to: src.appendingPathComponent("\($0).md")).path }
        let sub = try gadugiRun(["submit"] + files, timeout: 20)
        XCTAssertEqual(sub.status, 0, "\(sub)")
        XCTAssertEqual(sub.stdout.split(separator: "\n").map(String.init), ids, "\(sub)")

        let agent = #"echo "$GADUGI_TASK_ID" >> "$LEDGER"; sleep 1"#
        let env = ["LEDGER": ledger.path]
        guard let coordinator = try startCoordinator(["--max-parallel", "2", "--agent", agent], env: env) else { return }
        let midRun = waitUntil(timeout: 20) { self.count(.done) >= 1 && self.count(.running) >= 1 }
        XCTAssertTrue(midRun, "never saw a done and a running task at once: \(allQueued())")

        let stopped = coordinator.stop(SIGTERM, timeout: 5)
        XCTAssertFalse(stopped.timedOut, "the coordinator did not exit within 5 s of SIGTERM:\n\(stopped)")
        XCTAssertTrue(stopped.exitedNormally && stopped.status == 0, "SIGTERM should give exit 0:\n\(stopped)")
        XCTAssertLessThan(count(.done), 6, "test setup: the SIGTERM came after everything was done")

        // Every prompt is in exactly one documented place.
        let where1 = idsInQueue()
        XCTAssertEqual(Set(where1.keys), Set(ids), "after SIGTERM: \(where1)")
        for id in ids {
            XCTAssertEqual(where1[id]?.count, 1, "\(id) is in \(where1[id] ?? [])")
        }
        XCTAssertEqual(list(.failed) + list(.rejected), [], "nothing should fail because the coordinator stopped")

        let r = try gadugiRun(["run", "--until-idle", "--max-parallel", "2", "--agent", agent], timeout: 30, env: env)
        XCTAssertFalse(r.timedOut, "\(r)")
        XCTAssertEqual(r.status, 0, "\(r)")
        assertAllDone(ids)
        let counts = ledgerCounts(ledger)
        XCTAssertEqual(counts, Dictionary(uniqueKeysWithValues: ids.map { ($0, 1) }),
                       "each task should have run exactly once: \(counts)")
    }

    func testKillDashNineRepeatedlyThenRestartRunsEveryTaskExactlyOnce() throws {
        try initSpool()
        let src = try makeScratchDir("src")
        let ledger = try makeScratchDir("ledger").appendingPathComponent("ledger")
        try write("", to: ledger)
        let ids = (1...12).map { String(format: "crash-%02d", $0) }
        let files = try ids.map { try write(promptText($0), to: src.appendingPathComponent("\($0).md")).path }
        let sub = try gadugiRun(["submit"] + files, timeout: 20)
        XCTAssertEqual(sub.status, 0, "\(sub)")

        let agent = #"echo "$GADUGI_TASK_ID" >> "$LEDGER"; sleep 0.4"#
        let env = ["LEDGER": ledger.path]
        let args = ["run", "--max-parallel", "2", "--agent", agent]

        // Four kills, at different moments of a coordinator's life.
        let plans: [(String, () -> Void)] = [
            ("0.15 s after start", { Thread.sleep(forTimeInterval: 0.15) }),
            ("right after a task starts running", {
                waitUntil(timeout: 3, interval: 0.005) { self.count(.running) >= 1 }
                Thread.sleep(forTimeInterval: 0.05)
            }),
            ("0.3 s after start", { Thread.sleep(forTimeInterval: 0.3) }),
            ("right after a task is done", {
                let done = self.count(.done)
                waitUntil(timeout: 3, interval: 0.005) { self.count(.done) > done }
            }),
        ]
        for (what, wait) in plans {
            let bg = try startGadugi(args, env: env)
            wait()
            XCTAssertTrue(bg.isRunning, "the coordinator exited by itself before the kill (\(what)):\n\(bg.result())")
            bg.signal(SIGKILL)
            XCTAssertTrue(waitForExit(bg.process, timeout: 10), "kill -9 did not end the coordinator")
            XCTAssertEqual(list(.failed) + list(.rejected), [], "after kill -9 \(what)")
        }

        let r = try gadugiRun(["run", "--until-idle", "--max-parallel", "2", "--agent", agent], timeout: 40, env: env)
        XCTAssertFalse(r.timedOut, "\(r)")
        XCTAssertEqual(r.status, 0, "\(r)")
        assertAllDone(ids)
        let counts = ledgerCounts(ledger)
        XCTAssertEqual(counts, Dictionary(uniqueKeysWithValues: ids.map { ($0, 1) }),
                       "each task should have run exactly once: \(counts)")
        let notDone = ids.filter { progress($0)?.string("state") != "done" }
        XCTAssertEqual(notDone, [], "progress.json should say done for every task")
    }
}
