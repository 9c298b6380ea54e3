// The coordinator's scheduling driven through its seams: a clock the test moves by hand, and a
// launcher that either starts nothing (and records what it was asked) or starts real processes
// without a process-wide reaper. One `turn` is one pass of the coordinator's loop.

import Foundation
import Glibc
import Logging
import Synchronization
import XCTest
@testable import GadugiCore

/// A clock that moves only when the test says so.
final class FakeTime: TimeSource {
    private let value: Mutex<Timestamp>
    init(_ start: Timestamp = .now()) { value = Mutex(start) }
    func now() -> Timestamp { value.withLock { $0 } }
    func advance(_ seconds: Double) { value.withLock { $0 = $0.adding(seconds) } }
    /// Sets the time outright (a test may need it to follow real file times).
    func set(_ time: Timestamp) { value.withLock { $0 = time } }
}

/// Starts nothing: records each launch and hands out pids above any `pid_max`, which no process has.
final class RecordingLauncher: TaskLauncher {
    private let state = Mutex<(launched: [[String]], next: pid_t)>(([], 5_000_000))

    /// The environment of each launch, in order.
    var launched: [[String]] { state.withLock { $0.launched } }

    func spawn(agent: String, environment: [String], lockFD: CInt, directory: String,
               keepProcesses: Bool, worktreeSetup: String) throws(SystemError) -> pid_t {
        state.withLock { s in
            s.launched.append(environment)
            s.next += 1
            return s.next
        }
    }

    func startReaper(_ onExit: @escaping @Sendable (pid_t, Int32) -> Void) {}

    func spawnHook(command: String, environment: [String], directory: String, log: String) throws(SystemError) -> pid_t { 0 }

    /// The task id of launch `n`.
    func id(_ n: Int) -> String? {
        launched.indices.contains(n) ? launched[n].first { $0.hasPrefix("GADUGI_TASK_ID=") }.map { String($0.dropFirst(15)) } : nil
    }
}

/// Real task processes (the real `Supervisor.spawn`), each waited for by pid on a thread of its
/// own instead of a `waitpid(-1)` reaper, which would take other tests' children.
final class OwnChildrenLauncher: TaskLauncher {
    private let onExit = Mutex<(@Sendable (pid_t, Int32) -> Void)?>(nil)
    private let supervisor = Supervisor()

    func spawn(agent: String, environment: [String], lockFD: CInt, directory: String,
               keepProcesses: Bool, worktreeSetup: String) throws(SystemError) -> pid_t {
        watch(try supervisor.spawn(agent: agent, environment: environment, lockFD: lockFD, directory: directory,
                                   keepProcesses: keepProcesses, worktreeSetup: worktreeSetup))
    }

    /// Waits for `pid` on a thread of its own and reports its end; returns it.
    private func watch(_ pid: pid_t) -> pid_t {
        let report = onExit.withLock { $0 }
        Thread.detachNewThread {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            report?(pid, status)
        }
        return pid
    }

    func startReaper(_ onExit: @escaping @Sendable (pid_t, Int32) -> Void) {
        self.onExit.withLock { $0 = onExit }
    }

    func spawnHook(command: String, environment: [String], directory: String, log: String) throws(SystemError) -> pid_t {
        watch(try supervisor.spawnHook(command: command, environment: environment, directory: directory, log: log))
    }
}

/// Real task processes, and at each spawn what `progress.json` said on disk just then.
final class ProbingLauncher: TaskLauncher {
    let inner = OwnChildrenLauncher()
    let probe: @Sendable ([String]) -> String
    private let seen = Mutex<[String]>([])
    var probes: [String] { seen.withLock { $0 } }

    init(probe: @escaping @Sendable ([String]) -> String) { self.probe = probe }

    func spawn(agent: String, environment: [String], lockFD: CInt, directory: String,
               keepProcesses: Bool, worktreeSetup: String) throws(SystemError) -> pid_t {
        let note = probe(environment)
        seen.withLock { $0.append(note) }
        return try inner.spawn(agent: agent, environment: environment, lockFD: lockFD, directory: directory,
                               keepProcesses: keepProcesses, worktreeSetup: worktreeSetup)
    }

    func startReaper(_ onExit: @escaping @Sendable (pid_t, Int32) -> Void) { inner.startReaper(onExit) }

    func spawnHook(command: String, environment: [String], directory: String, log: String) throws(SystemError) -> pid_t {
        try inner.spawnHook(command: command, environment: environment, directory: directory, log: log)
    }
}

final class CoordinatorSeamTests: SpoolTestCase {
    var leftovers: [pid_t] = []

    override func tearDownWithError() throws {
        for pid in leftovers { kill(pid, SIGKILL) }
        try super.tearDownWithError()
    }

    func coordinator(_ launcher: any TaskLauncher, _ clock: FakeTime, maxParallel: Int = 2,
                     configure: (inout Settings) -> Void = { _ in }) throws -> Coordinator {
        var settings = Settings(agent: "true", maxParallel: maxParallel)
        settings.minFree = 0
        settings.isolation = Settings.Isolation.none
        configure(&settings)
        let options = Coordinator.Options(executable: "/bin/false", environment: ["PATH=/usr/bin:/bin"])
        var logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        logger.logLevel = .critical
        let c = Coordinator(layout: layout, settings: settings, options: options, logger: logger, launcher: launcher, clock: clock)
        try c.recover()
        c.begin()
        return c
    }

    func drop(_ name: String, _ text: String = "Do it.\n") throws {
        try write(layout.queue(.incoming, name), text)
    }

    func testAPromptWrittenInPlaceIsClaimedOnlyOnceItHasSettledOnTheClock() throws {
        let clock = FakeTime(), launcher = RecordingLauncher()
        let c = try coordinator(launcher, clock) { $0.settle = 30 }
        try drop("a.md")
        c.mailbox.post(.written("a.md"))
        c.turn(wait: 0)
        XCTAssertTrue(exists(layout.queue(.incoming, "a.md")), "just written: it may still change")
        clock.advance(29)
        c.turn(wait: 0)
        XCTAssertEqual(launcher.launched.count, 0, "29 of 30 seconds")
        clock.advance(2)
        c.turn(wait: 0)
        XCTAssertEqual(launcher.id(0), "a", "settled: claimed and started")
        XCTAssertTrue(exists(layout.queue(.running, "a.md")))
    }

    func testTheLimitHoldsAndAnExitFreesTheSlotForTheNext() throws {
        let clock = FakeTime(), launcher = RecordingLauncher()
        let c = try coordinator(launcher, clock, maxParallel: 2)
        for name in ["a.md", "b.md", "c.md"] {
            try drop(name)
            c.mailbox.post(.arrived(name))
        }
        for _ in 0..<3 { c.turn(wait: 0) }
        XCTAssertEqual(launcher.launched.count, 2, "two slots")
        XCTAssertTrue(exists(layout.queue(.incoming, "c.md")), "the third waits in incoming/: claims follow free slots")

        clock.advance(7)
        c.mailbox.post(.exited(5_000_001, 0))  // a's process exits 0
        for _ in 0..<3 { c.turn(wait: 0) }
        XCTAssertTrue(exists(layout.queue(.done, "a.md")))
        let record = try XCTUnwrap(TaskRecord.load(layout, id: "a"))
        XCTAssertEqual(record.state, .done)
        XCTAssertEqual(record.finishedAt?.asDouble ?? 0, clock.now().asDouble, accuracy: 0.002, "finished on the coordinator's clock")
        XCTAssertEqual(launcher.launched.count, 3)
        XCTAssertEqual(launcher.id(2), "c", "the freed slot went to the next arrival")
    }

    func testLeftoverProcessesGetSIGKILLOnlyOnceKillGraceHasPassedOnTheClock() throws {
        let clock = FakeTime(), launcher = OwnChildrenLauncher()
        let pidFile = root + "/stubborn.pid"
        let c = try coordinator(launcher, clock) { settings in
            settings.killGrace = 10
            // Leaves a process in the task's session that ignores SIGTERM, then exits 0.
            settings.agent = #"sh -c 'trap "" TERM; echo $$ > "$0"; exec sleep 60' "# + pidFile + #" & while [ ! -s "# + pidFile + #" ]; do sleep 0.01; done"#
        }
        try drop("a.md")
        c.mailbox.post(.arrived("a.md"))
        // Real processes: turn (waiting for events in real time) until the agent has ended and the
        // coordinator has asked its leftover to stop.
        let stopping = eventually(timeout: 10) {
            c.turn(wait: 0.05)
            if case .stopping? = c.tasks["a"]?.phase { return true }
            return false
        }
        XCTAssertTrue(stopping, "the agent ended, its leftover was sent SIGTERM; phase \(String(describing: c.tasks["a"]?.phase))")
        let stubborn = try XCTUnwrap(text(pidFile).flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
        leftovers.append(stubborn)

        clock.advance(9)
        for _ in 0..<5 { c.turn(wait: 0.02) }
        XCTAssertFalse(Session.isZombie(stubborn), "9 of 10 seconds: it ignores SIGTERM and still lives")
        XCTAssertTrue(exists(layout.queue(.running, "a.md")), "the task keeps its slot meanwhile")

        clock.advance(2)
        let gone = eventually(timeout: 10) {
            c.turn(wait: 0.05)
            clock.advance(0.5)
            return exists(layout.queue(.done, "a.md"))
        }
        XCTAssertTrue(gone, "past kill_grace: SIGKILL, then the task is done")
        XCTAssertTrue(Session.isZombie(stubborn), "the leftover is gone")
    }

    // MARK: liveness and time limits

    /// Drops `a.md` and turns until its agent runs.
    func startOne(_ c: Coordinator, file: StaticString = #filePath, line: UInt = #line) throws {
        try drop("a.md")
        c.mailbox.post(.arrived("a.md"))
        XCTAssertTrue(eventually(timeout: 10) { c.turn(wait: 0.02); return exists(layout.queue(.running, "a.md")) },
                      "log: \(text(layout.log("a")) ?? "-"), record: \(String(describing: TaskRecord.load(layout, id: "a")))", file: file, line: line)
        Thread.sleep(forTimeInterval: 0.2)  // the agent's own start
    }

    /// Turns (moving the clock on a little each time) until `a.md` is out of running/.
    func turnUntilFinished(_ c: Coordinator, _ clock: FakeTime, step: Double = 0) -> Bool {
        eventually(timeout: 15) {
            c.turn(wait: 0.05)
            clock.advance(step)
            return !exists(layout.queue(.running, "a.md"))
        }
    }

    func testATaskPastItsTimeoutIsStoppedAndEndsAsTimeoutNotFailed() throws {
        let clock = FakeTime()
        let c = try coordinator(OwnChildrenLauncher(), clock) { $0.timeout = 30; $0.agent = "sleep 60" }
        try startOne(c)
        clock.advance(29)
        for _ in 0..<3 { c.turn(wait: 0.02) }
        XCTAssertTrue(exists(layout.queue(.running, "a.md")), "29 of 30 seconds")
        clock.advance(2)
        XCTAssertTrue(turnUntilFinished(c, clock))
        XCTAssertTrue(exists(layout.queue(.failed, "a.md")), "a timeout is a kind of failure: failed/")
        let record = try XCTUnwrap(TaskRecord.load(layout, id: "a"))
        XCTAssertEqual(record.state, .timeout)
        XCTAssertEqual(record.message, "it ran longer than its timeout (30s)")
        XCTAssertEqual(text(layout.stopReason("a")), "timeout: it ran longer than its timeout (30s)\n")
        XCTAssertTrue(text(layout.events)?.contains(#""state":"timeout""#) ?? false)
    }

    func testAnAgentIgnoringSIGTERMIsKilledOnceTheGraceHasPassed() throws {
        let clock = FakeTime()
        let c = try coordinator(OwnChildrenLauncher(), clock) { settings in
            settings.timeout = 5
            settings.killGrace = 10
            settings.agent = #"sh -c 'trap "" TERM; while :; do sleep 0.05; done'"#
        }
        try startOne(c)
        clock.advance(6)
        for _ in 0..<10 { c.turn(wait: 0.02) }
        XCTAssertTrue(exists(layout.queue(.running, "a.md")), "it ignores SIGTERM; 10 s of grace")
        clock.advance(11)
        XCTAssertTrue(turnUntilFinished(c, clock, step: 0.5))
        XCTAssertEqual(TaskRecord.load(layout, id: "a")?.state, .timeout)
    }

    func testAQuietTaskIsMarkedStalledThenActiveAgain() throws {
        let clock = FakeTime()
        let c = try coordinator(OwnChildrenLauncher(), clock) { settings in
            settings.stallAfter = 60
            settings.agent = "while [ ! -e " + self.root + "/end ]; do sleep 0.05; done"
        }
        try startOne(c)
        let record = try XCTUnwrap(c.tasks["a"]?.record)
        let quietSince = try XCTUnwrap(StatusReport.lastActivity(layout, id: "a", record: record, beat: monitorBeat("a")))
        clock.set(quietSince.adding(61))
        for _ in 0..<3 { c.turn(wait: 0.02) }
        XCTAssertEqual(TaskRecord.load(layout, id: "a")?.stalled, true, "61 s without a sign of life")
        XCTAssertTrue(text(layout.events)?.contains(#""stalled":true"#) ?? false)
        XCTAssertTrue(eventually(timeout: 5) {
            c.turn(wait: 0.02)
            let registry = (try? Files.read(layout.registry)).flatMap(JSON.parse)
            return registry?["tasks"]?.array?.first?["stalled"] == .bool(true)
        }, text(layout.registry) ?? "")
        XCTAssertTrue(exists(layout.queue(.running, "a.md")), "on_stall: report only says so")

        // The agent beats its heartbeat.
        try write(layout.heartbeat("a"), "")
        let beat = try XCTUnwrap(monitorBeat("a"))
        clock.set(beat.adding(1))
        c.nextTick = clock.now()  // the clock went back: tick at once
        for _ in 0..<3 { c.turn(wait: 0.02) }
        XCTAssertEqual(TaskRecord.load(layout, id: "a")?.stalled, false, "active again")
        XCTAssertTrue(text(layout.events)?.contains(#""stalled":false"#) ?? false)
        try write(root + "/end", "")
        XCTAssertTrue(turnUntilFinished(c, clock))
        XCTAssertEqual(TaskRecord.load(layout, id: "a")?.state, .done)
    }

    func testOnStallKillStopsAStalledTaskAsATimeout() throws {
        let clock = FakeTime()
        let c = try coordinator(OwnChildrenLauncher(), clock) { settings in
            settings.stallAfter = 60
            settings.onStall = .kill
            settings.agent = "sleep 60"
        }
        try startOne(c)
        clock.advance(120)
        XCTAssertTrue(turnUntilFinished(c, clock))
        let record = try XCTUnwrap(TaskRecord.load(layout, id: "a"))
        XCTAssertEqual(record.state, .timeout)
        XCTAssertTrue(record.message?.hasPrefix("it stalled: nothing from it for 1m") ?? false, record.message ?? "")
    }

    func monitorBeat(_ id: String) -> Timestamp? {
        (try? Files.linkStatus(layout.heartbeat(id)))??.modified
    }

    /// A coordinator killed right after a retry's spawn must not find the old count on disk
    /// (the crash campaign once saw attempt 2 run to its end with progress.json saying 1).
    func testARetrysAttemptCountIsOnDiskBeforeItsProcessStarts() throws {
        let clock = FakeTime()
        let layout: Layout = self.layout!
        let launcher = ProbingLauncher { environment in
            let attempt = environment.first { $0.hasPrefix("GADUGI_ATTEMPT=") } ?? "?"
            return "\(attempt) on disk \(TaskRecord.load(layout, id: "a")?.attempts ?? -1)"
        }
        let c = try coordinator(launcher, clock) { settings in
            settings.retries = 1
            settings.retryBackoff = 1
            settings.agent = "exit 3"
        }
        try startOne(c)
        XCTAssertTrue(eventually(timeout: 10) {
            c.turn(wait: 0.05)
            clock.advance(2)
            return exists(layout.queue(.failed, "a.md"))
        })
        XCTAssertEqual(launcher.probes.last, "GADUGI_ATTEMPT=2 on disk 2", "\(launcher.probes)")
        XCTAssertEqual(TaskRecord.load(layout, id: "a")?.attempts, 2)
    }

    func testAFailedAttemptIsRetriedAfterABackoffThatDoublesUntilNoRetriesAreLeft() throws {
        let clock = FakeTime()
        let c = try coordinator(OwnChildrenLauncher(), clock) { settings in
            settings.retries = 2
            settings.retryBackoff = 30
            settings.retryBackoffMax = 600
            settings.agent = "echo try; exit 3"
        }
        try startOne(c)
        func waitingForRetry() -> Bool {
            eventually(timeout: 10) { c.turn(wait: 0.05); return exists(layout.queue(.claimed, "a.md")) }
        }
        XCTAssertTrue(waitingForRetry(), "the failed attempt goes back to claimed/, not failed/")
        var record = try XCTUnwrap(TaskRecord.load(layout, id: "a"))
        XCTAssertEqual(record.state, .waiting)
        XCTAssertEqual(record.attempts, 1)
        XCTAssertEqual(record.notBefore?.asDouble ?? 0, clock.now().asDouble + 30, accuracy: 0.01)
        clock.advance(29)
        for _ in 0..<3 { c.turn(wait: 0.02) }
        XCTAssertTrue(exists(layout.queue(.claimed, "a.md")), "not before its time")
        clock.advance(2)
        XCTAssertTrue(eventually(timeout: 10) {
            c.turn(wait: 0.05)
            return TaskRecord.load(layout, id: "a")?.attempts == 2 && exists(layout.queue(.claimed, "a.md"))
        }, "the second attempt ran and failed")
        record = try XCTUnwrap(TaskRecord.load(layout, id: "a"))
        XCTAssertEqual(record.notBefore?.asDouble ?? 0, clock.now().asDouble + 60, accuracy: 0.5, "doubled")
        clock.advance(61)
        XCTAssertTrue(eventually(timeout: 10) { c.turn(wait: 0.05); return exists(layout.queue(.failed, "a.md")) },
                      "no retries left after the third attempt")
        record = try XCTUnwrap(TaskRecord.load(layout, id: "a"))
        XCTAssertEqual(record.attempts, 3)
        XCTAssertEqual(record.exitCode, 3)
        let log = text(layout.log("a")) ?? ""
        XCTAssertEqual(log.components(separatedBy: "try\n").count - 1, 3, log)
        XCTAssertEqual(log.components(separatedBy: "automatic retry").count - 1, 2, log)
    }

    func testOnFinishRunsOncePerFinishWithTheOutcomeInItsEnvironment() throws {
        let clock = FakeTime()
        let out = root + "/hook.txt"
        let c = try coordinator(OwnChildrenLauncher(), clock) { settings in
            settings.agent = "exit 2"
            settings.onFinish = #"echo "$GADUGI_TASK_ID $GADUGI_STATE $GADUGI_EXIT_CODE" >> "# + out + #"; echo oops; exit 4"#
        }
        try startOne(c)
        XCTAssertTrue(eventually(timeout: 10) { c.turn(wait: 0.05); return exists(layout.queue(.failed, "a.md")) })
        XCTAssertTrue(eventually(timeout: 10) { c.turn(wait: 0.05); return c.hooks.isEmpty && text(out) != nil })
        XCTAssertEqual(text(out), "a failed 2\n", "once, with the task's outcome")
        XCTAssertEqual(text(layout.taskDirectory("a") + "/on-finish.log"), "oops\n", "its output is kept; its failure is not fatal")
        for _ in 0..<5 { c.turn(wait: 0.02) }
        XCTAssertEqual(text(out), "a failed 2\n")
    }
}
