// The crash campaign: 200 tasks, the coordinator killed with SIGKILL 20 times at random moments
// and restarted each time, and 10 tasks' own processes killed with SIGKILL under `retries: 1`.
// At the end every task is done exactly once, no attempt ran twice at once, and nothing is left
// over. About a minute.

import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

final class CrashCampaignTests: GadugiTestCase {
    /// Appends `<id> <attempt> start|end` to $LEDGER around a sleep of the prompt's seconds,
    /// holding a lock per task (a second live attempt would find it taken and say OVERLAP).
    private let agent = #"""
        exec 9>>"$LOCKS/$GADUGI_TASK_ID"
        flock -n 9 || echo "$GADUGI_TASK_ID $GADUGI_ATTEMPT OVERLAP" >> "$LEDGER"
        echo "$GADUGI_TASK_ID $GADUGI_ATTEMPT start" >> "$LEDGER"
        read seconds
        sleep "$seconds"
        echo "$GADUGI_TASK_ID $GADUGI_ATTEMPT end" >> "$LEDGER"
        """#

    func testKillingTheCoordinatorAndTasksLosesAndDuplicatesNothing() throws {
        try initSpool()
        try writeConfig("retries: 1\nretry_backoff: 0.1s\nkill_grace: 1s\nsettle: 0\n")
        let locks = try makeScratchDir("locks")
        let ledger = try makeScratchDir("ledger").appendingPathComponent("ledger")
        var generator = SystemRandomNumberGenerator()
        let ids = (1...200).map { String(format: "c-%03d", $0) }
        for id in ids {
            let ms = Int.random(in: 50...500, using: &generator)
            try dropPrompt(name: "\(id).md", content: String(format: "0.%03d\n", ms))
        }
        let env = ["LOCKS": locks.path, "LEDGER": ledger.path]
        let args = ["--isolation", "none", "--max-parallel", "8", "--agent", agent]
        var coordinatorKills = 0, taskKills = 0
        var killedTasks: Set<String> = []
        for round in 0..<20 {
            guard let c = try startCoordinator(args, env: env) else { return }
            Thread.sleep(forTimeInterval: Double.random(in: 0.1...0.6, using: &generator))
            if round % 2 == 0, taskKills < 10, let (id, pid) = runningTask(excluding: killedTasks) {
                if kill(pid, SIGKILL) == 0 {
                    taskKills += 1
                    killedTasks.insert(id)
                }
                Thread.sleep(forTimeInterval: Double.random(in: 0.05...0.3, using: &generator))
            }
            c.signal(SIGKILL)
            XCTAssertTrue(waitForExit(c.process, timeout: 10))
            coordinatorKills += 1
        }
        let r = try gadugiRun(["run", "--until-idle"] + args, timeout: 180, env: env)
        XCTAssertEqual(r.status, 0, "\(r)")

        XCTAssertEqual(coordinatorKills, 20)
        XCTAssertGreaterThanOrEqual(taskKills, 5, "the campaign killed tasks' processes too")
        XCTAssertEqual(list(.done).sorted(), ids.map { "\($0).md" }, "every task done exactly once: \(allQueued().filter { !$0.hasPrefix("done/") })")
        let lines = (readText(ledger) ?? "").split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        XCTAssertEqual(lines.filter { $0.count == 3 && $0[2] == "OVERLAP" }.map { $0.joined(separator: " ") }, [],
                       "no two attempts of a task ran at once")
        for id in ids {
            let mine = lines.filter { $0.first == id }
            let ends = mine.filter { $0.last == "end" }.map { $0[1] }
            let attempts = progress(id)?.int("attempts") ?? -1
            XCTAssertEqual(ends.last, String(attempts), "\(id): its last attempt reached its end: \(mine)")
            XCTAssertEqual(Set(ends).count, ends.count, "\(id): each attempt ran its agent at most once: \(mine)")
            XCTAssertLessThanOrEqual(attempts, killedTasks.contains(id) ? 2 : 1, "\(id): retried only if its process was killed")
        }
        // Nothing left over: no task folder locked, no folder without its task, spares within the pool.
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: spool.appendingPathComponent("monitoring/tasks").path)) ?? []
        XCTAssertEqual(Set(folders), Set(ids), "a folder per task, none orphaned")
        for id in ids {
            let fd = open(taskDir(id).path, O_RDONLY)
            XCTAssertEqual(flock(fd, LOCK_EX | LOCK_NB), 0, "\(id)'s folder is not locked")
            close(fd)
        }
        let spares = (try? FileManager.default.contentsOfDirectory(atPath: spool.appendingPathComponent("spare").path)) ?? []
        XCTAssertLessThanOrEqual(spares.count, 12, "spare folders stay within the pool: \(spares.count)")
        print("crash campaign: \(ids.count) tasks, \(coordinatorKills) coordinator kills, \(taskKills) task kills (\(killedTasks.sorted())), "
              + "\(ids.count - list(.done).count) lost, 0 run twice at once, attempts: \(ids.reduce(0) { $0 + (progress($1)?.int("attempts") ?? 0) })")
    }

    /// A running task (per registry.json) not yet killed, and its process id.
    private func runningTask(excluding killed: Set<String>) -> (String, pid_t)? {
        guard let registry = readJSON(spool.appendingPathComponent("monitoring/registry.json")),
              let tasks = registry["tasks"] as? [[String: Any]] else { return nil }
        for task in tasks.shuffled() {
            guard task["state"] as? String == "running", let id = task["id"] as? String, !killed.contains(id),
                  let pid = (task["pid"] as? NSNumber)?.int32Value, pid > 1 else { continue }
            return (id, pid)
        }
        return nil
    }
}
