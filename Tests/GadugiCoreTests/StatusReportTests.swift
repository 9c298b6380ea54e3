import Glibc
import XCTest
@testable import GadugiCore
import SystemPackage

final class StatusReportTests: SpoolTestCase {
    func put(_ queue: Layout.Queue, _ names: String...) throws {
        for name in names { try write(layout.queue(queue, name), "x\n") }
    }

    /// A spool with something in every state, and scratch files that must not be counted.
    func populate() throws {
        try put(.incoming, "a.md", "b.TXT", ".hidden.md", "draft.md~", "notes.json", "4913", "x.md.swp")
        try put(.claimed, "c.md", ".c.md.tmp.1")
        try put(.running, "r.md")
        try put(.done, "d1.md", "d2.txt")
        try put(.failed, "f.md")
        try put(.rejected, "bad.md", "bad.md.reason", "bad-2.md", "bad-2.md.reason", "README", "README.reason")
    }

    func count(_ report: StatusReport, _ name: String) -> Int? {
        report.counts.first { $0.0 == name }?.1
    }

    func testCountsComeFromTheDirectories() throws {
        try populate()
        let report = StatusReport(layout: layout, includeFinished: false)
        XCTAssertEqual(report.counts.map(\.0), ["queued", "claimed", "waiting", "blocked", "pending", "running", "done", "failed", "rejected", "cancelled"])
        XCTAssertEqual(count(report, "queued"), 2, "only prompt candidates are queued")
        XCTAssertEqual(count(report, "claimed"), 1, "dotfiles are not counted")
        XCTAssertEqual(count(report, "running"), 1)
        XCTAssertEqual(count(report, "done"), 2)
        XCTAssertEqual(count(report, "failed"), 1)
        XCTAssertEqual(count(report, "rejected"), 3, ".reason files are not rejected prompts")
    }

    func testEmptySpool() {
        let report = StatusReport(layout: layout, includeFinished: true)
        XCTAssertEqual(report.counts.map(\.1), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertTrue(report.tasks.isEmpty)
        XCTAssertEqual(report.coordinator, .null)
    }

    func testTasksListsRunningThenClaimed() throws {
        try populate()
        try put(.claimed, "a2.md")
        let report = StatusReport(layout: layout, includeFinished: false)
        XCTAssertEqual(report.tasks.map(\.record.id), ["r", "a2", "c"])
        XCTAssertEqual(report.tasks.map(\.record.state), [.running, .claimed, .claimed])
    }

    func testIncludeFinishedAddsFailedAndDone() throws {
        try populate()
        let report = StatusReport(layout: layout, includeFinished: true)
        XCTAssertEqual(report.tasks.map(\.record.id), ["r", "c", "f", "d1", "d2"])
        XCTAssertEqual(report.tasks.map(\.record.state), [.running, .claimed, .failed, .done, .done])
        XCTAssertEqual(report.tasks.last?.record.ext, "txt")
    }

    func testDetailsComeFromProgressJSONAndStateFromTheQueue() throws {
        try put(.running, "r.md")
        XCTAssertEqual(mkdir(layout.taskDirectory("r"), 0o755), 0)
        var record = TaskRecord(id: "r", ext: "md", name: "Fix it", state: .claimed)   // stale state on disk
        record.startedAt = Timestamp(seconds: Timestamp.now().seconds - 30, nanoseconds: 0)
        record.percent = 40
        record.message = "running tests"
        try write(layout.progress("r"), record.json(layout).encoded(pretty: true))
        try Files.touch(layout.heartbeat("r"))

        let report = StatusReport(layout: layout, includeFinished: false)
        guard let row = report.tasks.first else { return XCTFail("no task row") }
        XCTAssertEqual(row.record.state, .running, "the queue directory is the truth")
        XCTAssertEqual(row.record.name, "Fix it")
        XCTAssertEqual(row.record.percent, 40)
        XCTAssertEqual(row.record.message, "running tests")
        XCTAssertEqual(row.elapsed ?? -1, 30, accuracy: 10, "elapsed since started_at")
        XCTAssertNotNil(row.heartbeatAge)
        XCTAssertEqual(row.heartbeatAge ?? -1, 0, accuracy: 10)

        let json = report.json
        let task = json["tasks"]?.array?.first
        XCTAssertEqual(task?["id"], .string("r"))
        XCTAssertEqual(task?["state"], .string("running"))
        XCTAssertEqual(task?["percent"], .int(40))
        XCTAssertEqual(task?["prompt"], .string(".gadugi/queue/running/r.md"))
        XCTAssertNotNil(task?["elapsed_seconds"]?.double)
        XCTAssertNotNil(task?["heartbeat_age_seconds"]?.double)

        let table = report.table
        XCTAssertTrue(table.contains("40%"), table)
        XCTAssertTrue(table.contains("running tests"), table)
    }

    func testClaimedTasksHaveNoHeartbeatAge() throws {
        try put(.claimed, "c.md")
        try Files.touch(layout.heartbeat("c"))
        let report = StatusReport(layout: layout, includeFinished: false)
        XCTAssertNil(report.tasks.first?.heartbeatAge)
        XCTAssertNil(report.tasks.first?.elapsed, "no progress.json: no times known")
        XCTAssertEqual(report.json["tasks"]?.array?.first?["heartbeat_age_seconds"], .null)
    }

    func testJSONHasSchemaVersionRootAndCounts() throws {
        try populate()
        let json = StatusReport(layout: layout, includeFinished: false).json
        XCTAssertEqual(json["schema_version"], .int(1))
        XCTAssertEqual(json["root"], .string(root))
        XCTAssertEqual(json["coordinator"], .null)
        XCTAssertEqual(json["counts"], .object([("queued", .int(2)), ("claimed", .int(1)), ("waiting", .int(0)),
                                                ("blocked", .int(0)), ("pending", .int(0)), ("running", .int(1)),
                                                ("done", .int(2)), ("failed", .int(1)), ("rejected", .int(3)), ("cancelled", .int(0))]))
        XCTAssertEqual(json["tasks"]?.array?.count, 2)
        XCTAssertEqual(JSON.parse(Array(json.encoded(pretty: true).utf8)), json, "the output is JSON")
    }

    func testCoordinatorComesFromTheRegistryOnlyWhileTheLockIsHeld() throws {
        let started = Timestamp(iso8601: "2026-11-27T08:01:02.345Z")!
        let registry = Registry(updatedAt: started, coordinator: .init(pid: 4242, host: "h", startedAt: started),
                                counts: Registry.Counts([:]), tasks: [])
        try write(layout.registry, registry.json.encoded())
        XCTAssertEqual(StatusReport(layout: layout, includeFinished: false).coordinator, .null,
                       "a registry left by a dead coordinator is not a live one")
        let lock = try CoordinatorLock(layout)
        let report = StatusReport(layout: layout, includeFinished: false)
        XCTAssertEqual(report.coordinator["pid"], .int(4242))
        XCTAssertTrue(report.table.contains("coordinator: pid 4242"), report.table)
        withExtendedLifetime(lock) {}
    }

    func testTableWithoutCoordinator() throws {
        try populate()
        let table = StatusReport(layout: layout, includeFinished: false).table
        let lines = table.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "queued 2  claimed 1  running 1  done 2  failed 1  rejected 3")
        XCTAssertTrue(table.contains("coordinator: not running (start one with 'gadugi run')"), table)
        XCTAssertTrue(lines.contains { $0.hasPrefix("ID") && $0.contains("STATE") }, table)
        XCTAssertTrue(lines.contains { $0.hasPrefix("r ") && $0.contains("running") }, table)
        XCTAssertFalse(lines.contains { $0.hasSuffix(" ") }, "no trailing spaces")
    }

    func testTableShowsTheExitCodeOfAFailedTaskWithoutMessage() throws {
        try put(.failed, "f.md")
        XCTAssertEqual(mkdir(layout.taskDirectory("f"), 0o755), 0)
        var record = TaskRecord(id: "f", ext: "md", name: "f.md", state: .failed)
        record.exitCode = 3
        try write(layout.progress("f"), record.json(layout).encoded())
        let table = StatusReport(layout: layout, includeFinished: true).table
        XCTAssertTrue(table.contains("exit 3"), table)
    }

    // MARK: finished, not yet committed

    /// A file in running/ with its task folder, and `outcome` holding `status` if given.
    func runningTask(_ id: String, outcome status: String?) throws {
        try put(.running, "\(id).md")
        XCTAssertEqual(mkdir(layout.taskDirectory(id), 0o755), 0)
        if let status { try write(layout.outcome(id), status) }
    }

    /// Locks a task folder as its process would; the lock lasts until the descriptor is closed.
    func lockFolder(_ id: String) -> CInt {
        let fd = open(layout.taskDirectory(id), O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        XCTAssertEqual(flock(fd, LOCK_EX | LOCK_NB), 0)
        return fd
    }

    func testAnEndedTaskInRunningCountsAsDoneOrFailed() throws {
        try runningTask("ok", outcome: "0\n")
        try runningTask("bad", outcome: "3\n")
        try runningTask("killed", outcome: "137\n")
        try runningTask("busy", outcome: nil)
        let fd = lockFolder("busy")
        defer { close(fd) }

        let report = StatusReport(layout: layout, includeFinished: false)
        XCTAssertEqual(count(report, "running"), 1, "only the locked one runs")
        XCTAssertEqual(count(report, "done"), 1)
        XCTAssertEqual(count(report, "failed"), 2)
        XCTAssertEqual(report.tasks.map(\.record.id), ["busy"], "finished ones are not active")

        let all = StatusReport(layout: layout, includeFinished: true)
        let states = Dictionary(uniqueKeysWithValues: all.tasks.map { ($0.record.id, $0.record.state) })
        XCTAssertEqual(states, ["busy": .running, "ok": .done, "bad": .failed, "killed": .failed])
        let killed = all.tasks.first { $0.record.id == "killed" }?.record
        XCTAssertEqual(killed?.signal, 9)
        XCTAssertNil(killed?.exitCode)
        XCTAssertNotNil(killed?.finishedAt, "the outcome's mtime")

        let rows = all.json["tasks"]?.array ?? []
        let bad = rows.first { $0["id"] == .string("bad") }
        XCTAssertEqual(bad?["state"], .string("failed"))
        XCTAssertEqual(bad?["exit_code"], .int(3))
        XCTAssertEqual(bad?["prompt"], .string(".gadugi/queue/running/bad.md"), "where the file really is")
        XCTAssertEqual(bad?["heartbeat_age_seconds"], .null)
        XCTAssertTrue(all.table.contains("exit 3"), all.table)
    }

    func testALockedTaskRunsEvenWithAnOutcome() throws {
        // The wrapper writes `outcome` just before it exits and releases the lock.
        try runningTask("ending", outcome: "0\n")
        let fd = lockFolder("ending")
        defer { close(fd) }
        let report = StatusReport(layout: layout, includeFinished: true)
        XCTAssertEqual(count(report, "running"), 1)
        XCTAssertEqual(count(report, "done"), 0)
        XCTAssertEqual(report.tasks.first?.record.state, .running)
    }

    func testATaskWhoseProcessDiedWithoutAnOutcomeStillRuns() throws {
        // Unlocked and no outcome: the coordinator is about to finish it as failed.
        try runningTask("lost", outcome: nil)
        try runningTask("blank", outcome: "")
        let report = StatusReport(layout: layout, includeFinished: false)
        XCTAssertEqual(count(report, "running"), 2)
        XCTAssertEqual(count(report, "failed"), 0)
    }

    // MARK: escaping

    func testTableRowsAreOneLineWithCollapsedMessageAndEscapedId() throws {
        try put(.running, "evil\u{1B}[2J.md")
        try put(.running, "r.md")
        XCTAssertEqual(mkdir(layout.taskDirectory("r"), 0o755), 0)
        var record = TaskRecord(id: "r", ext: "md", name: "r.md", state: .running)
        record.message = "line one\nline two \u{1B}]0;title\u{7}"
        try write(layout.progress("r"), record.json(layout).encoded())
        let table = StatusReport(layout: layout, includeFinished: false).table
        let lines = table.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines.count, 6, "counts, coordinator, header, two rows, and the final newline: \(lines)")
        XCTAssertFalse(table.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 }, table)
        XCTAssertTrue(table.contains("line one line two \\e]0;title\\x07"), "line breaks collapse to a space, other controls are escaped: \(table)")
        XCTAssertTrue(table.contains("evil\\e[2J "), table)
    }

    // MARK: queued prompts, states, holds, widths

    func record(_ id: String, _ queue: Layout.Queue, _ state: TaskState, _ change: (inout TaskRecord) -> Void = { _ in }) throws {
        try put(queue, "\(id).md")
        _ = mkdir(layout.taskDirectory(id), 0o755)
        var r = TaskRecord(id: id, ext: "md", name: "\(id).md", state: state)
        change(&r)
        try write(layout.progress(id), r.json(layout).encoded())
    }

    func testQueuedPromptsAreListedOldestFirst() throws {
        try put(.incoming, "newer.md", "older.txt", ".draft.md", "notes.json")
        setMtime(layout.queue(.incoming, "older.txt"), seconds: 1_000_000)
        let report = StatusReport(layout: layout, includeFinished: false)
        XCTAssertEqual(report.queued.map(\.name), ["older.txt", "newer.md"])
        let lines = report.table.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains { $0.hasPrefix("older.txt ") && $0.contains(" queued ") }, report.table)
        let queued = report.json["queued"]?.array ?? []
        XCTAssertEqual(queued.map { $0["name"]?.string }, ["older.txt", "newer.md"])
        XCTAssertEqual(queued.first?["prompt"], .string(".gadugi/queue/incoming/older.txt"))
        XCTAssertEqual(queued.first?["state"], .string("queued"))
        XCTAssertNotNil(queued.first?["elapsed_seconds"]?.double)
        XCTAssertEqual(report.json["rejected"], .array([]), "rejected prompts only with --all")
    }

    func testABacklogIsListedInPartUnlessAskedFor() throws {
        for i in 0..<25 { try put(.incoming, String(format: "p%02d.md", i)) }
        let table = StatusReport(layout: layout, includeFinished: false).table
        XCTAssertEqual(table.split(separator: "\n").count { $0.contains("  queued  ") }, StatusReport.queuedRowsShown)
        XCTAssertTrue(table.contains("… and 5 more queued ('gadugi status --state queued' lists them all)"), table)
        let all = StatusReport(layout: layout, selection: .init(states: [.queued])).table
        XCTAssertEqual(all.split(separator: "\n").count { $0.contains("  queued  ") }, 25)
        XCTAssertFalse(all.contains("more queued"), all)
    }

    func testStateFilter() throws {
        try put(.incoming, "q.md")
        try record("w", .claimed, .waiting) { $0.waitingFor = ["a (running)"] }
        try record("b", .claimed, .blocked) { $0.blockedReason = "a failed" }
        try record("f", .failed, .failed) { $0.exitCode = 3 }
        try record("t", .failed, .timeout) { $0.signal = 15; $0.message = "ran past its timeout of 1s" }
        try record("d", .done, .done)
        try put(.rejected, "bad.md", "bad.md.reason")
        func ids(_ states: Set<StatusReport.DisplayState>) -> [String] {
            let report = StatusReport(layout: layout, selection: .init(states: states))
            return report.tasks.map(\.record.id) + report.queued.map(\.name) + report.rejected.map(\.name)
        }
        XCTAssertEqual(ids([.failed]), ["f"])
        XCTAssertEqual(ids([.timeout]), ["t"])
        XCTAssertEqual(ids([.failed, .timeout]), ["f", "t"])
        XCTAssertEqual(ids([.waiting, .blocked]), ["b", "w"])
        XCTAssertEqual(ids([.queued]), ["q.md"])
        XCTAssertEqual(ids([.done, .rejected]), ["d", "bad.md"])
        XCTAssertEqual(StatusReport(layout: layout, includeFinished: false).tasks.map(\.record.id), ["b", "w"])
        XCTAssertEqual(StatusReport(layout: layout, includeFinished: true).rejected.map(\.name), ["bad.md"])
        let byID = StatusReport(layout: layout, selection: .init(ids: ["f", "q", "bad"]))
        XCTAssertEqual(byID.tasks.map(\.record.id) + byID.queued.map(\.name) + byID.rejected.map(\.name), ["f", "q.md", "bad.md"],
                       "named tasks are listed whatever their state, prompts by their name with or without extension")
    }

    func testStatesFromText() {
        guard case .success(let states) = StatusReport.Selection.states(from: "failed, timeout,held") else { return XCTFail() }
        XCTAssertEqual(states, [.failed, .timeout, .held])
        guard case .failure(let problem) = StatusReport.Selection.states(from: "failed,finished") else { return XCTFail() }
        XCTAssertEqual(problem.names, ["finished"])
        XCTAssertTrue(problem.description.contains("'finished'"), problem.description)
        XCTAssertTrue(problem.description.contains("queued, claimed, waiting, held, blocked"), problem.description)
        guard case .failure = StatusReport.Selection.states(from: ",") else { return XCTFail("no state is no filter") }
    }

    func testHeldTasks() throws {
        try record("one", .claimed, .claimed)
        try record("two", .claimed, .claimed)
        try write(layout.control(ControlRequest.holdFile("one")), "")
        var report = StatusReport(layout: layout, includeFinished: false)
        XCTAssertEqual(report.tasks.map(\.shown), [.held, .claimed])
        XCTAssertTrue(report.table.contains("held ('gadugi release one' lets it start)"), report.table)
        XCTAssertEqual(report.json["tasks"]?.array?.first?["status_state"], .string("held"))
        try write(layout.control(ControlRequest.holdFile), "")
        report = StatusReport(layout: layout, selection: .init(states: [.held]))
        XCTAssertEqual(report.tasks.map(\.record.id), ["one", "two"], "the whole queue held holds a task free to start")
    }

    func testFailedRowsSayHowTheyEndedNotTheAgentsLastWords() throws {
        try record("killed", .failed, .failed) { $0.signal = 9; $0.message = "step 3 of 4: all good so far" }
        try write(layout.report("killed"), #"{"percent": 75, "message": "step 3 of 4: all good so far"}"#)
        try record("setup", .failed, .failed) { $0.exitCode = 2; $0.message = "worktree_setup (npm ci) exited 2" }
        try record("slow", .failed, .timeout) { $0.signal = 15; $0.message = "ran past its timeout of 30m" }
        let table = StatusReport(layout: layout, includeFinished: true).table
        let row = { (id: String) in table.split(separator: "\n").first { $0.hasPrefix(id + " ") }.map(String.init) ?? "" }
        XCTAssertTrue(row("killed").hasSuffix("killed by SIGKILL"), table)
        XCTAssertFalse(table.contains("all good so far"), table)
        XCTAssertTrue(row("setup").hasSuffix("exit 2; worktree_setup (npm ci) exited 2"), "the coordinator's word stays: \(table)")
        XCTAssertTrue(row("slow").contains(" timeout ") && row("slow").hasSuffix("ran past its timeout of 30m (killed by SIGTERM)"), table)
    }

    func testTheTableFitsTheWidth() throws {
        try record("a-task-with-a-rather-long-id", .running, .running) {
            $0.message = "compiling\nthe whole project\nwith a very long message that would wrap twice on any terminal"
            $0.percent = 40
        }
        let report = StatusReport(layout: layout, includeFinished: false)
        let lines = report.table(width: 60).split(separator: "\n").map(String.init)
        let rows = lines.drop { !$0.hasPrefix("ID") }
        XCTAssertEqual(rows.count, 2, "header and one row: \(lines)")
        XCTAssertTrue(rows.allSatisfy { TerminalText.width($0) <= 60 }, "\(rows)")
        XCTAssertTrue(rows.last?.hasSuffix("…") == true, "\(rows)")
        XCTAssertTrue(report.table.contains("compiling the whole project with a very long message"), "no width: not cut")
    }

    func testDuration() {
        XCTAssertEqual(StatusReport.duration(nil), "-")
        XCTAssertEqual(StatusReport.duration(5), "5.0s")
        XCTAssertEqual(StatusReport.duration(59.94), "59.9s")
        XCTAssertEqual(StatusReport.duration(125), "2m5s")
        XCTAssertEqual(StatusReport.duration(7_300), "2h1m")
    }
}
