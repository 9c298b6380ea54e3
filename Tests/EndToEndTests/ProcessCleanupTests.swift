// Process cleanup: a task's processes end with the task.
//
// What this checks: when a task's process (the /bin/sh wrapper whose pid progress.json records) is
// killed with SIGKILL, the agent it started is killed too, before the next task takes the slot,
// and the task is failed with a message saying it ended without an outcome; when an agent exits 0
// but leaves a background process behind, that process is killed once the task is done — unless
// `keep_processes: true` in config.yaml. Why: a task that is over must not keep burning CPU, holding
// files or the slot's share of the machine; --max-parallel is a promise about processes, not about
// wrapper pids.
//
// The agents are given with GADUGI_AGENT (not --agent), so the coordinator's own command line does
// not contain the marker each test looks for with `pids(matching:)` (a unique `sleep` duration).

import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

final class ProcessCleanupTests: GadugiTestCase {
    /// The pid of task `id`'s process, from progress.json or registry.json.
    private func taskPid(_ id: String) -> Int32? {
        if let p = progress(id), p.string("state") == "running", let pid = p.int("pid"), pid > 0 { return Int32(pid) }
        if let reg = readJSON(spool.appendingPathComponent("monitoring/registry.json")),
           let tasks = reg["tasks"] as? [[String: Any]],
           let t = tasks.first(where: { $0.string("id") == id }), let pid = t.int("pid"), pid > 0 {
            return Int32(pid)
        }
        return nil
    }

    func testKillingATasksProcessKillsItsAgentBeforeTheNextTaskStarts() throws {
        let marker = "sleep 30.4711"
        defer { killProcesses(matching: marker) }
        try initSpool()
        let out = try makeScratchDir("out")
        // The duration comes from the environment: only the sleep itself then matches the marker,
        // not the command lines of the task processes (b's wrapper carries the agent's text too).
        let agent = #"case $GADUGI_TASK_ID in a) sleep "$NAP" ;; *) cat > "$OUT/$GADUGI_TASK_ID" ;; esac"#
        guard let coordinator = try startCoordinator(["--max-parallel", "1"],
                                                     env: ["OUT": out.path, "GADUGI_AGENT": agent, "NAP": "30.4711"]) else { return }
        try dropPrompt(name: "a.md", content: "task a: sleeps\n")
        var pid: Int32?
        XCTAssertTrue(waitUntil(timeout: 15) {
            pid = self.taskPid("a")
            return pid != nil && !self.pids(matching: marker).isEmpty
        }, "task a did not start: \(allQueued())\n\(coordinator.result())")
        guard let wrapper = pid else { return }
        try dropPrompt(name: "b.md", content: "task b: quick\n")
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("b").path),
                       "b started while a held the only slot")

        XCTAssertEqual(kill(wrapper, SIGKILL), 0, "kill -9 \(wrapper): errno \(errno)")
        let killedAt = monotonicSeconds()
        var overlap = false
        var goneAfter: Double?
        _ = waitUntil(timeout: 20, interval: 0.02) {
            let alive = !self.pids(matching: marker).isEmpty
            let bRan = FileManager.default.fileExists(atPath: out.appendingPathComponent("b").path)
            if alive && bRan { overlap = true }
            if !alive && goneAfter == nil { goneAfter = monotonicSeconds() - killedAt }
            return !alive && self.list(.done).contains("b.md")
        }
        XCTAssertNotNil(goneAfter, "the agent of a (\(marker)) still runs 20 s after its task's process was killed: "
            + "pids \(pids(matching: marker))")
        if let goneAfter { XCTAssertLessThanOrEqual(goneAfter, 15, "the agent outlived its task by \(goneAfter) s") }
        XCTAssertFalse(overlap, "b started while a's agent was still alive: more than --max-parallel 1 processes")
        XCTAssertTrue(waitUntil(timeout: 10) { self.list(.failed).contains("a.md") && self.list(.done).contains("b.md") },
                      "\(allQueued())\n\(coordinator.result())")
        XCTAssertEqual(allQueued(), ["done/b.md", "failed/a.md"])
        let message = (progress("a")?.string("message") ?? "").lowercased()
        XCTAssertTrue(message.contains("without") && message.contains("outcome"),
                      "a's progress.json should say it ended without an outcome: \(String(describing: progress("a")))")
        XCTAssertEqual(progress("a")?.string("state"), "failed")
        XCTAssertTrue(coordinator.isRunning, "\(coordinator.result())")
    }

    func testABackgroundProcessLeftByAnAgentIsKilledWhenItsTaskIsDone() throws {
        let marker = "sleep 300.1717"
        defer { killProcesses(matching: marker) }
        try initSpool()
        guard let coordinator = try startCoordinator([], env: ["GADUGI_AGENT": "sleep 300.1717 & echo started"]) else { return }
        try dropPrompt(name: "leaver.md", content: "leave a daemon behind\n")
        XCTAssertTrue(waitUntil(timeout: 15) { self.list(.done).contains("leaver.md") || self.count(.failed) > 0 },
                      "\(allQueued())\n\(coordinator.result())")
        XCTAssertEqual(allQueued(), ["done/leaver.md"], "the agent exited 0: done")
        let gone = waitUntil(timeout: 15, interval: 0.1) { self.pids(matching: marker).isEmpty }
        XCTAssertTrue(gone, "the agent's leftover `\(marker)` still runs 15 s after its task was done: pids \(pids(matching: marker))")
        XCTAssertTrue(coordinator.isRunning, "\(coordinator.result())")
    }

    func testKeepProcessesTrueLeavesTheBackgroundProcessAlone() throws {
        let marker = "sleep 300.2828"
        defer { killProcesses(matching: marker) }
        try initSpool()
        try writeConfig("keep_processes: true\n")
        guard let coordinator = try startCoordinator([], env: ["GADUGI_AGENT": "sleep 300.2828 & echo started"]) else { return }
        try dropPrompt(name: "keeper.md", content: "leave a daemon behind, on purpose\n")
        XCTAssertTrue(waitUntil(timeout: 15) { self.list(.done).contains("keeper.md") || self.count(.failed) > 0 },
                      "\(allQueued())\n\(coordinator.result())")
        XCTAssertEqual(allQueued(), ["done/keeper.md"])
        Thread.sleep(forTimeInterval: 5)
        XCTAssertFalse(pids(matching: marker).isEmpty, "with keep_processes: true the leftover process must survive")
        XCTAssertTrue(coordinator.isRunning, "\(coordinator.result())")
    }
}
