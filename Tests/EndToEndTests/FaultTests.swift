// Faults: a full disk and repeated crashes of the coordinator.
//
// What this checks: (1) on a spool whose file system fills up (a real, small tmpfs), the coordinator
// pauses instead of failing tasks — nothing lands in failed/, it stays alive, says why it paused a
// few times (not once per attempt), and once space is back every prompt runs to done with a whole
// record; `min_free` in config.yaml is the space it wants before starting a task. (2) after the
// coordinator is killed with SIGKILL three times while 300 tasks flow, every task is done exactly
// once and every progress.json is complete and consistent (attempts, claimed_at ≤ started_at ≤
// finished_at). Why: a full disk is a passing condition, not the prompts' fault, and the records
// are what scripts and dashboards read after a crash.

import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

final class FaultTests: GadugiTestCase {
    /// Mounts a tmpfs of `size` at a fresh scratch directory and returns it; unmounted in tearDown
    /// after every process of the test has stopped. Throws XCTSkip when not root or mount fails.
    private func mountTmpfs(size: String) throws -> URL {
        guard getuid() == 0 else { throw XCTSkip("the full-disk test needs root to mount a tmpfs") }
        let dir = try makeScratchDir("tmpfs")
        let rc = try runShell(#"mount -t tmpfs -o size="$SIZE",mode=0755 gadugi-e2e-tmpfs "$DIR""#,
                              env: ["SIZE": size, "DIR": dir.path], timeout: 20)
        guard rc == 0 else { throw XCTSkip("mount -t tmpfs does not work here (exit \(rc))") }
        afterStop.append {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/umount")
            p.arguments = [dir.path]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try? p.run()
            if !waitForExit(p, timeout: 10) || p.terminationStatus != 0 {
                let lazy = Process()
                lazy.executableURL = URL(fileURLWithPath: "/bin/umount")
                lazy.arguments = ["-l", dir.path]
                try? lazy.run()
                waitForExit(lazy, timeout: 10)
            }
        }
        return dir
    }

    func testAFullDiskPausesTheQueueInsteadOfFailingTasks() throws {
        let mount = try mountTmpfs(size: "8m")
        useRoot(mount)
        try initSpool()
        try writeConfig("min_free: 1M\n")
        let agent = "echo start; sleep 0.5; cat >/dev/null; echo end || true"
        guard let coordinator = try startCoordinator(["--max-parallel", "2"], env: ["GADUGI_AGENT": agent]) else { return }
        let ids = (1...10).map { "disk-\($0)" }
        for id in ids { try dropPrompt(name: "\(id).md", content: "prompt \(id) on a small disk\n") }

        XCTAssertTrue(waitUntil(timeout: 15) { self.count(.running) + self.count(.done) > 0 },
                      "no task started: \(allQueued())\n\(coordinator.result())")
        let filler = root.appendingPathComponent("filler")
        let dd = try runShell(#"dd if=/dev/zero of="$F" bs=64k 2>/dev/null"#, env: ["F": filler.path], timeout: 30)
        XCTAssertNotEqual(dd, 0, "dd should have failed on a full disk")
        var fs = statvfs()
        XCTAssertEqual(statvfs(root.path, &fs), 0)
        XCTAssertLessThan(UInt64(fs.f_bavail) * UInt64(fs.f_frsize), 1 << 20, "the tmpfs should be (nearly) full")

        Thread.sleep(forTimeInterval: 3)
        XCTAssertEqual(list(.failed), [], "a full disk must not fail tasks: \(allQueued())\n\(coordinator.result())")
        XCTAssertTrue(coordinator.isRunning, "the coordinator must survive a full disk:\n\(coordinator.result())")

        XCTAssertEqual(unlink(filler.path), 0)
        let allDone = waitUntil(timeout: 60, interval: 0.1) {
            self.count(.done) + self.count(.failed) >= ids.count || !coordinator.isRunning
        }
        XCTAssertTrue(allDone && coordinator.isRunning, "\(allQueued())\n\(coordinator.result())")
        XCTAssertEqual(list(.failed), [], "nothing may fail")
        assertAllDone(ids)
        for id in ids {
            let p = progress(id)
            XCTAssertNotNil(p, "no progress.json for \(id)")
            XCTAssertEqual(p?.string("state"), "done", "\(id): \(String(describing: p))")
            XCTAssertEqual(p?.int("exit_code"), 0, "\(id): \(String(describing: p))")
        }
        let spaceLines = coordinator.stderr.split(separator: "\n").filter { $0.lowercased().contains("space") }
        XCTAssertGreaterThanOrEqual(spaceLines.count, 1, "the coordinator should say it paused for want of space")
        XCTAssertLessThanOrEqual(spaceLines.count, 5,
                                 "the coordinator repeats itself about space:\n\(spaceLines.prefix(10).joined(separator: "\n"))")
        _ = coordinator.stop()
    }

    func testRecordsAreCompleteAfterTheCoordinatorIsKilledThreeTimes() throws {
        try initSpool()
        let ids = (1...300).map { String(format: "crash-%03d", $0) }
        for id in ids { try dropPrompt(name: "\(id).md", content: "prompt \(id)\n") }
        let agent = "cat >/dev/null"
        for round in 1...3 {
            guard let c = try startCoordinator(["--max-parallel", "4", "--agent", agent]) else { return }
            Thread.sleep(forTimeInterval: 0.3)
            XCTAssertTrue(c.isRunning, "round \(round): the coordinator exited early:\n\(c.result())")
            c.signal(SIGKILL)
            XCTAssertTrue(waitForExit(c.process, timeout: 10))
        }
        let r = try gadugiRun(["run", "--until-idle", "--max-parallel", "4", "--agent", agent], timeout: 90)
        XCTAssertFalse(r.timedOut, "\(r)")
        XCTAssertEqual(r.status, 0, "\(r)")
        // Each prompt done exactly once. A kill between reserving an id (its folder) and the claim
        // rename leaves that id used, so the prompt is claimed under the next one (`crash-039-2`):
        // ids are unique forever, never reused; contents tell the prompts apart.
        let done = list(.done)
        let contents = done.compactMap { readText(queue(.done).appendingPathComponent($0)) }
        XCTAssertEqual(contents.sorted(), ids.map { "prompt \($0)\n" }.sorted(), "every prompt done once: \(allQueued())")
        XCTAssertEqual(allQueued().filter { !$0.hasPrefix("done/") }, [])

        var problems: [String] = []
        for id in done.map({ String($0.dropLast(3)) }) {
            guard let p = progress(id) else { problems.append("\(id): no progress.json"); continue }
            if p.string("state") != "done" { problems.append("\(id): state \(p["state"] ?? "nil")") }
            if (p.int("attempts") ?? 0) < 1 { problems.append("\(id): attempts \(p["attempts"] ?? "nil")") }
            guard let claimed = p.string("claimed_at"), let started = p.string("started_at"),
                  let finished = p.string("finished_at") else {
                problems.append("\(id): claimed_at \(p["claimed_at"] ?? "nil"), started_at \(p["started_at"] ?? "nil"), "
                    + "finished_at \(p["finished_at"] ?? "nil")")
                continue
            }
            if claimed.count != started.count || started.count != finished.count {
                problems.append("\(id): times in different formats: \(claimed) \(started) \(finished)")
            }
            if !(claimed <= started && started <= finished) {
                problems.append("\(id): claimed_at \(claimed), started_at \(started), finished_at \(finished) out of order")
            }
        }
        XCTAssertTrue(problems.isEmpty, "\(problems.count) incomplete or inconsistent records:\n"
            + problems.prefix(15).joined(separator: "\n"))
    }

    /// Problem 7: a removed `incoming/` was never watched again, and silently so.
    func testARemovedIncomingFolderIsMadeAgainWatchedAgainAndLoggedOnce() throws {
        try initSpool()
        let out = try makeScratchDir("out")
        guard let coordinator = try startCoordinator(["--agent", #"cat > "$OUT/$GADUGI_TASK_ID""#],
                                                     env: ["OUT": out.path]) else { return }
        try dropPrompt(name: "before.md", content: "before\n")
        XCTAssertTrue(waitUntil(timeout: 20) { self.list(.done).contains("before.md") }, "\(allQueued())")
        try FileManager.default.removeItem(at: queue(.incoming))
        XCTAssertTrue(waitUntil(timeout: 10) { FileManager.default.fileExists(atPath: self.queue(.incoming).path) },
                      "incoming/ must be made again:\n\(coordinator.result())")
        // Renamed in (no settle): picked up by the new watch well before the 2 s safety-net listing
        // could matter; either way it must run.
        try dropPrompt(name: "after.md", content: "after\n")
        XCTAssertTrue(waitUntil(timeout: 20) { self.list(.done).contains("after.md") }, "\(allQueued())\n\(coordinator.result())")
        XCTAssertEqual(readText(out.appendingPathComponent("after")), "after\n")
        let said = coordinator.stderr.split(separator: "\n").filter { $0.contains("incoming") && $0.contains("removed") }
        XCTAssertEqual(said.count, 1, "said once:\n\(coordinator.stderr)")
        // A second removal is noticed as well.
        try FileManager.default.removeItem(at: queue(.incoming))
        XCTAssertTrue(waitUntil(timeout: 10) { FileManager.default.fileExists(atPath: self.queue(.incoming).path) })
        try dropPrompt(name: "again.md", content: "again\n")
        XCTAssertTrue(waitUntil(timeout: 20) { self.list(.done).contains("again.md") }, "\(allQueued())")
        XCTAssertTrue(coordinator.isRunning)
    }
}
