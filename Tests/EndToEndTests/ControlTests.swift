// The control verbs through the binary, with and without a running coordinator: cancel, retry,
// hold and release, and the request files a script can write itself. Real processes.

import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

final class ControlTests: GadugiTestCase {
    /// An agent that waits until `$GATE/<id>` exists (or forever), after saying it started.
    private let gatedAgent = #": > "$GATE/$GADUGI_TASK_ID.started"; while [ ! -e "$GATE/$GADUGI_TASK_ID" ]; do sleep 0.05; done"#

    private func started(_ gate: URL, _ id: String) -> Bool {
        waitUntil(timeout: 20) { FileManager.default.fileExists(atPath: gate.appendingPathComponent("\(id).started").path) }
    }

    func testCancelAndRetryWithoutACoordinator() throws {
        try initSpool()
        // Claimed but not started: a coordinator with the queue held claims them, then stops.
        XCTAssertEqual(try gadugiRun(["hold"]).status, 0)
        try dropPrompt(name: "base.md", content: "Base.\n")
        try dropPrompt(name: "top.md", content: "---\ndepends_on: base\n---\nTop.\n")
        guard let c = try startCoordinator(["--isolation", "none", "--agent", "true"]) else { return }
        XCTAssertTrue(waitUntil(timeout: 20) { self.count(.claimed) == 2 }, allQueued().description)
        XCTAssertTrue(try gadugiRun(["status"]).stdout.contains("held: no new task starts"))
        _ = c.stop()

        let cancel = try gadugiRun(["cancel", "base"])
        XCTAssertEqual(cancel.status, 0, "\(cancel)")
        XCTAssertEqual(list(.cancelled), ["base.md"])
        XCTAssertEqual(progress("base")?.string("state"), "cancelled")
        XCTAssertEqual(try gadugiRun(["cancel", "nope"]).status, 1, "no such task")

        XCTAssertEqual(try gadugiRun(["release"]).status, 0)
        let blocked = try gadugiRun(["run", "--until-idle", "--isolation", "none", "--agent", "true"], timeout: 30)
        XCTAssertEqual(progress("top")?.string("state"), "blocked", "its dependency was cancelled: \(blocked)")

        let retry = try gadugiRun(["retry", "base"])
        XCTAssertEqual(retry.status, 0, "\(retry)")
        XCTAssertEqual(list(.claimed).sorted(), ["base.md", "top.md"])
        let r = try gadugiRun(["run", "--until-idle", "--isolation", "none", "--agent", "true"], timeout: 30)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(list(.done).sorted(), ["base.md", "top.md"], "the same ids, never base-2: \(allQueued())")
        XCTAssertEqual(progress("base")?.int("attempts"), 1, "cancelled before it ever started: this is its first run")
    }

    func testCancelStopsARunningTaskEvenOneThatIgnoresSIGTERM() throws {
        try initSpool()
        try writeConfig("kill_grace: 1s\n")
        let gate = try makeScratchDir("gate")
        // Ignores SIGTERM and leaves a child that does too.
        let stubborn = #"sh -c 'trap "" TERM; sh -c "trap \"\" TERM; sleep 300" & : > "$GATE/$GADUGI_TASK_ID.started"; while :; do sleep 0.05; done'"#
        guard let c = try startCoordinator(["--isolation", "none", "--agent", stubborn], env: ["GATE": gate.path]) else { return }
        try dropPrompt(name: "stuck.md", content: "Never ends.\n")
        XCTAssertTrue(started(gate, "stuck"))
        let t0 = monotonicSeconds()
        let cancel = try gadugiRun(["cancel", "stuck"])
        XCTAssertEqual(cancel.status, 0, "\(cancel)")
        XCTAssertTrue(cancel.stdout.contains("stopping"), cancel.stdout)
        XCTAssertTrue(waitUntil(timeout: 30) { self.list(.cancelled) == ["stuck.md"] }, allQueued().description)
        XCTAssertLessThan(monotonicSeconds() - t0, 25, "SIGKILL after kill_grace, not never")
        XCTAssertEqual(progress("stuck")?.string("state"), "cancelled")
        let eventsFile = spool.appendingPathComponent("monitoring/events.jsonl")
        XCTAssertTrue(waitUntil(timeout: 10) { self.readText(eventsFile)?.contains(#""state":"cancelled""#) ?? false },
                      readText(eventsFile) ?? "")
        XCTAssertTrue(c.isRunning, "the coordinator goes on")
        XCTAssertTrue(waitUntil(timeout: 10) { c.stderr.contains("warning cancelled stuck in ") }, c.stderr)
        XCTAssertFalse(c.stderr.contains("failed stuck"), "a cancel is logged as one, not as a failure: \(c.stderr)")
    }

    func testRetryRunsAFailedTaskAgainUnderItsIdAndKeepsItsLog() throws {
        try initSpool()
        let gate = try makeScratchDir("gate")
        // Fails on its first attempt, succeeds on the next.
        let flaky = #"echo "attempt of $GADUGI_TASK_ID"; if [ -e "$GATE/second" ]; then exit 0; fi; : > "$GATE/second"; exit 3"#
        guard let c = try startCoordinator(["--isolation", "none", "--agent", flaky], env: ["GATE": gate.path]) else { return }
        try dropPrompt(name: "flaky.md", content: "Try.\n")
        XCTAssertTrue(waitUntil(timeout: 20) { self.list(.failed) == ["flaky.md"] })
        // A script can ask the same way the verb does.
        try write("", to: spool.appendingPathComponent("control/retry.flaky"))
        XCTAssertTrue(waitUntil(timeout: 20) { self.list(.done) == ["flaky.md"] }, allQueued().description)
        let p = progress("flaky")
        XCTAssertEqual(p?.int("attempts"), 2)
        XCTAssertEqual(p?.int("exit_code"), 0)
        let log = readText(taskDir("flaky").appendingPathComponent("output.log")) ?? ""
        XCTAssertEqual(log.components(separatedBy: "attempt of flaky").count - 1, 2, "both attempts' output is kept:\n\(log)")
        XCTAssertTrue(log.contains("---- gadugi: retry at"), log)
        XCTAssertTrue(log.contains("which ended failed (exit 3)"), log)
        XCTAssertFalse(FileManager.default.fileExists(atPath: taskDir("flaky-2").path), "never a new task")
        let status = try gadugiRun(["retry", "flaky"])
        XCTAssertEqual(status.status, 1, "a done task is not retried: \(status)")
        XCTAssertTrue(c.isRunning)
    }

    func testHoldKeepsNewTasksFromStartingUntilRelease() throws {
        try initSpool()
        guard let c = try startCoordinator(["--isolation", "none", "--agent", "true"]) else { return }
        XCTAssertEqual(try gadugiRun(["hold"]).status, 0)
        Thread.sleep(forTimeInterval: 0.3)
        try dropPrompt(name: "later.md", content: "Later.\n")
        XCTAssertTrue(waitUntil(timeout: 10) { self.list(.claimed) == ["later.md"] })
        Thread.sleep(forTimeInterval: 1)
        XCTAssertEqual(list(.claimed), ["later.md"], "held: claimed, not started")
        let json = try gadugiRun(["status", "--json"]).stdout
        let status = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        XCTAssertEqual(status?["held"] as? Bool, true, json)
        XCTAssertEqual(try gadugiRun(["release"]).status, 0)
        XCTAssertTrue(waitUntil(timeout: 10) { self.list(.done) == ["later.md"] }, allQueued().description)
        XCTAssertTrue(c.isRunning)
    }

    func testCancelOfAQueuedPromptAndOfEveryWaitingTask() throws {
        try initSpool()
        try dropPrompt(name: "queued.md", content: "Queued.\n")
        let r = try gadugiRun(["cancel", "--state", "queued"])
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(list(.cancelled), ["queued.md"])
        XCTAssertEqual(list(.incoming), [])
        let bad = try gadugiRun(["cancel", "--state", "nonsense"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--state must be one of"), bad.stderr)
    }

    func testCtrlCOnceStopsNewStartsAndTwiceCancelsWhatRuns() throws {
        let gate = try makeScratchDir("gate")
        let src = try makeScratchDir("src")
        let files = try ["first", "second", "third"].map { try write("Task \($0).\n", to: src.appendingPathComponent("\($0).md")).path }
        // Once: the running task finishes, nothing else starts.
        let run = try startGadugi(["run", "--isolation", "none", "--max-parallel", "1", "--agent", gatedAgent] + files, env: ["GATE": gate.path])
        XCTAssertTrue(started(gate, "first"))
        run.signal(SIGINT)
        Thread.sleep(forTimeInterval: 0.5)
        try write("", to: gate.appendingPathComponent("first"))
        XCTAssertTrue(waitForExit(run.process, timeout: 20), "it leaves once nothing runs")
        let once = run.result()
        XCTAssertEqual(once.status, 130, "\(once)")
        XCTAssertTrue(once.stderr.contains("Ctrl-C again cancels them"), once.stderr)
        XCTAssertTrue(once.stdout.contains("done      first"), once.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: gate.appendingPathComponent("second.started").path), "nothing new started")
        XCTAssertEqual(list(.claimed).sorted(), ["second.md", "third.md"], "not started: still queued for the next run")

        // Twice: the running task is cancelled and waited for (a plain 'gadugi run' would leave at
        // the first SIGINT, its agents running on).
        try FileManager.default.removeItem(at: queue(.claimed).appendingPathComponent("second.md"))
        try FileManager.default.removeItem(at: queue(.claimed).appendingPathComponent("third.md"))
        let more = try ["fourth", "fifth"].map { try write("Task \($0).\n", to: src.appendingPathComponent("\($0).md")).path }
        let again = try startGadugi(["run", "--isolation", "none", "--max-parallel", "1", "--agent", gatedAgent] + more, env: ["GATE": gate.path])
        XCTAssertTrue(started(gate, "fourth"))
        again.signal(SIGINT)
        Thread.sleep(forTimeInterval: 0.3)
        again.signal(SIGINT)
        XCTAssertTrue(waitForExit(again.process, timeout: 20), "it waits for the cancelled task, then leaves")
        let twice = again.result()
        XCTAssertEqual(twice.status, 130, "\(twice)")
        XCTAssertTrue(twice.stdout.contains("cancelled fourth"), twice.stdout)
        XCTAssertEqual(list(.cancelled), ["fourth.md"])
        XCTAssertEqual(progress("fourth")?.string("state"), "cancelled")
        XCTAssertEqual(list(.claimed), ["fifth.md"])
    }

    func testHoldingOneTaskLetsTheOthersRunAndItsDependantsWait() throws {
        try initSpool()
        XCTAssertEqual(try gadugiRun(["hold", "base"]).status, 0)
        try dropPrompt(name: "base.md", content: "Base.\n")
        try dropPrompt(name: "top.md", content: "---\ndepends_on: base\n---\nTop.\n")
        try dropPrompt(name: "other.md", content: "Other.\n")
        guard let c = try startCoordinator(["--isolation", "none", "--agent", "true"]) else { return }
        XCTAssertTrue(waitUntil(timeout: 20) { self.list(.done) == ["other.md"] }, allQueued().description)
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertEqual(list(.claimed).sorted(), ["base.md", "top.md"], "held, and waiting for the held one")
        XCTAssertTrue(waitUntil(timeout: 10) { (self.progress("base")?["waiting_for"] as? [String])?.first?.hasPrefix("held") ?? false },
                      "\(String(describing: progress("base")))")
        let release = try gadugiRun(["release", "base"])
        XCTAssertEqual(release.status, 0, "\(release)")
        XCTAssertTrue(waitUntil(timeout: 20) { self.list(.done).sorted() == ["base.md", "other.md", "top.md"] }, allQueued().description)
        XCTAssertTrue(c.isRunning)
        XCTAssertNotEqual(try gadugiRun(["hold", "not an id"]).status, 0)
    }

    func testCancelOfARunningTaskWithNoCoordinatorStopsItAndTheNextOneRecordsIt() throws {
        try initSpool()
        let gate = try makeScratchDir("gate")
        guard let c = try startCoordinator(["--isolation", "none", "--agent", gatedAgent], env: ["GATE": gate.path]) else { return }
        try dropPrompt(name: "orphan.md", content: "Runs on.\n")
        XCTAssertTrue(started(gate, "orphan"))
        c.signal(SIGKILL)
        XCTAssertTrue(waitForExit(c.process, timeout: 10))
        let cancel = try gadugiRun(["cancel", "orphan"], timeout: 30)
        XCTAssertEqual(cancel.status, 0, "\(cancel)")
        XCTAssertTrue(cancel.stdout.contains("stopped; the next coordinator records it as cancelled"), cancel.stdout)
        XCTAssertEqual(list(.running), ["orphan.md"], "no coordinator: the prompt waits in running/")
        let r = try gadugiRun(["run", "--until-idle", "--isolation", "none", "--agent", "true"], timeout: 30)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(list(.cancelled), ["orphan.md"], allQueued().description)
        XCTAssertEqual(progress("orphan")?.string("state"), "cancelled")
    }

    func testRequestFilesAndVerbArgumentsFromHostileHandsAreRefusedOrIgnored() throws {
        try initSpool()
        guard let c = try startCoordinator(["--isolation", "none", "--agent", "true"]) else { return }
        let control = spool.appendingPathComponent("control")
        for name in ["cancel.", "retry.../x", "cancel.a b", "nonsense", "cancel.-x", ".retry.hidden", "hold.", "retry.\u{1b}[2J"] {
            _ = FileManager.default.createFile(atPath: control.appendingPathComponent(name).path, contents: Data("reset".utf8))
        }
        try dropPrompt(name: "fine.md", content: "Fine.\n")
        XCTAssertTrue(waitUntil(timeout: 20) { self.list(.done) == ["fine.md"] }, "the coordinator goes on")
        XCTAssertTrue(c.isRunning)
        for args in [["cancel", "../../etc"], ["retry", "a b"], ["hold", "-x"], ["cancel", "--state", "done"]] {
            let r = try gadugiRun(args)
            XCTAssertNotEqual(r.status, 0, "\(args) must be refused: \(r)")
        }
        let unknown = try gadugiRun(["cancel", "no-such-task"])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.stdout.contains("no such task"), unknown.stdout)
    }
}
