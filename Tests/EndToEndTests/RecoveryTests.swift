import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Crash recovery from hand-made spool states: what a coordinator killed at each point leaves.
final class RecoveryTests: GadugiTestCase {
    /// A prompt in running/ with its task folder, as a coordinator leaves it when it dies between
    /// the start rename and the spawn (nothing else) or after the spawn (`heartbeat`, `progress`).
    private func leaveRunning(_ id: String, heartbeat: Bool, progress: String? = nil) throws {
        try write(promptText(id), to: queue(.running).appendingPathComponent("\(id).md"))
        try FileManager.default.createDirectory(at: taskDir(id), withIntermediateDirectories: true)
        if heartbeat {
            try write("", to: spool.appendingPathComponent("monitoring/heartbeats/\(id)"))
        }
        if let progress { try write(progress, to: progressURL(id)) }
    }

    private func ledgerLines(_ ledger: URL) -> [String] {
        (readText(ledger) ?? "").split(separator: "\n").map(String.init).sorted()
    }

    func testNeverSpawnedTaskIsRequeuedAndRuns() throws {
        try initSpool()
        try leaveRunning("never-spawned", heartbeat: false)
        let ledger = try makeScratchDir("ledger").appendingPathComponent("ledger")
        let r = try gadugiRun(["run", "--until-idle", "--agent", "echo $GADUGI_TASK_ID >> \"$LEDGER\""],
                              env: ["LEDGER": ledger.path])
        XCTAssertEqual(r.status, 0, "\(r)")
        assertAllDone(["never-spawned"])
        XCTAssertEqual(ledgerLines(ledger), ["never-spawned"], "requeued and run once")
    }

    func testSpawnedTaskWithoutOutcomeFailsAndIsNotRunAgain() throws {
        try initSpool()
        // Its process died without writing an outcome (killed, or the disk was full): the
        // heartbeat made right after the spawn proves it had started.
        try leaveRunning("lost-by-heartbeat", heartbeat: true)
        // A crash between progress.json and the finish rename, with no outcome either.
        try leaveRunning("lost-by-record", heartbeat: false,
                         progress: #"{"schema_version":1,"id":"lost-by-record","state":"done","prompt":".gadugi/queue/running/lost-by-record.md","attempts":1}"#)
        let ledger = try makeScratchDir("ledger").appendingPathComponent("ledger")
        try write("", to: ledger)
        let r = try gadugiRun(["run", "--until-idle", "--agent", "echo $GADUGI_TASK_ID >> \"$LEDGER\""],
                              env: ["LEDGER": ledger.path])
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(list(.failed), ["lost-by-heartbeat.md", "lost-by-record.md"], "\(allQueued())")
        XCTAssertEqual(ledgerLines(ledger), [], "a task that was started is never started again")
        XCTAssertEqual(progress("lost-by-heartbeat")?.string("state"), "failed")
        XCTAssertTrue(progress("lost-by-heartbeat")?.string("message")?.contains("without recording an outcome") == true,
                      "\(String(describing: progress("lost-by-heartbeat")))")
    }

    func testRunningPromptWhoseTaskFolderWasRemovedFailsAndIsNotRunAgain() throws {
        try initSpool()
        try write(promptText("orphan"), to: queue(.running).appendingPathComponent("orphan.md"))
        let ledger = try makeScratchDir("ledger").appendingPathComponent("ledger")
        try write("", to: ledger)
        let r = try gadugiRun(["run", "--until-idle", "--agent", "echo $GADUGI_TASK_ID >> \"$LEDGER\""],
                              timeout: 20, env: ["LEDGER": ledger.path])
        XCTAssertFalse(r.timedOut, "the coordinator must not wait forever on it: \(r)")
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(list(.failed), ["orphan.md"], "\(allQueued())")
        XCTAssertEqual(ledgerLines(ledger), [], "whether it ran cannot be told, so it is not run again")
        XCTAssertTrue(progress("orphan")?.string("message")?.contains("was removed") == true,
                      "\(String(describing: progress("orphan")))")
    }

    func testRecordedOutcomeIsCommittedWithItsStatus() throws {
        try initSpool()
        try leaveRunning("finished-away", heartbeat: true)
        try write("3\n", to: taskDir("finished-away").appendingPathComponent("outcome"))
        let r = try gadugiRun(["run", "--until-idle", "--agent", "true"])
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(list(.failed), ["finished-away.md"])
        XCTAssertEqual(progress("finished-away")?.int("exit_code"), 3)
        XCTAssertFalse(FileManager.default.fileExists(atPath: spool.appendingPathComponent("monitoring/heartbeats/finished-away").path),
                       "the heartbeat goes with the task")
    }

    func testPromptStillBeingWrittenAtStartIsNotClaimedUntilClosed() throws {
        try initSpool()
        let out = try makeScratchDir("out")
        let prompt = queue(.incoming).appendingPathComponent("slow.md")
        // A writer holds the file open across the coordinator's start-up scan.
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/bin/sh")
        writer.arguments = ["-c", "exec 3>\"$0\"; echo first >&3; sleep 1.5; echo second >&3", prompt.path]
        try writer.run()
        XCTAssertTrue(waitUntil(timeout: 5) { (self.readText(prompt) ?? "").contains("first") })
        let r = try gadugiRun(["run", "--until-idle", "--agent", "cat > \"$OUT/$GADUGI_TASK_ID\""],
                              env: ["OUT": out.path])
        XCTAssertTrue(waitForExit(writer, timeout: 5))
        XCTAssertEqual(r.status, 0, "\(r)")
        assertAllDone(["slow"])
        XCTAssertEqual(readText(out.appendingPathComponent("slow")), "first\nsecond\n", "the agent got the whole file")
    }
}

final class HeartbeatCleanupTests: GadugiTestCase {
    func testHeartbeatsOfTasksNoLongerRunningAreRemovedAtStart() throws {
        try initSpool()
        let beats = spool.appendingPathComponent("monitoring/heartbeats")
        try write("", to: beats.appendingPathComponent("finished-long-ago"))
        let r = try gadugiRun(["run", "--until-idle", "--agent", "true"])
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: beats.path), [],
                       "heartbeats/ lists only running tasks")
    }
}
