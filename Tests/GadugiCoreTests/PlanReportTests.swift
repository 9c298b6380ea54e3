import XCTest
@testable import GadugiCore

/// `PlanReport` on real prompt files in a real temporary spool: what `gadugi plan` shows and
/// when it exits 1.
final class PlanReportTests: SpoolTestCase {
    /// A folder of prompt files outside the spool, as a user's `prompts/` would be.
    var prompts: String { root + "/prompts" }

    override func setUpWithError() throws {
        try super.setUpWithError()
        try Files.makeDirectories(prompts)
    }

    /// Writes `prompts/<name>` with front matter `yaml` (none when empty) and a line of prompt.
    @discardableResult
    func prompt(_ name: String, _ yaml: String = "") throws -> String {
        let path = prompts + "/" + name
        try write(path, (yaml.isEmpty ? "" : "---\n\(yaml)\n---\n") + "Do the work of \(name).\n")
        return path
    }

    func plan(_ files: [String]?) -> PlanReport { PlanReport(layout: layout, files: files) }

    func task(_ report: PlanReport, _ id: String) -> PlanReport.Task? { report.tasks.first { $0.id == id } }

    // MARK: the shapes of the examples

    /// A diamond (schema → api, fixtures → tests), two prompts sharing README.md, and one
    /// independent prompt without front matter.
    func exampleFiles() throws -> [String] {
        [try prompt("rate-limit.md", "files: [src/api/middleware/, README.md]"),
         try prompt("readme.md", "files: README.md"),
         try prompt("schema.md", "id: users-schema\nfiles: [db/migrations/]\npriority: 10"),
         try prompt("api.md", "id: users-api\ndepends_on: users-schema\nfiles: src/api/users.swift"),
         try prompt("fixtures.md", "id: users-fixtures\ndepends_on: users-schema"),
         try prompt("tests.md", "id: users-tests\ndepends_on: [users-api, users-fixtures]"),
         try prompt("changelog.prompt")]
    }

    func testDiamondAndSharedFileMakeThreeWaves() throws {
        let report = plan(try exampleFiles())
        XCTAssertEqual(report.waves, [["rate-limit", "users-schema", "changelog"],
                                      ["readme", "users-api", "users-fixtures"],
                                      ["users-tests"]])
        XCTAssertEqual(report.problems, [])
        XCTAssertEqual(report.exitCode, 0)
        XCTAssertEqual(task(report, "users-tests")?.dependencies,
                       [.init(name: "users-api", resolved: "users-api"), .init(name: "users-fixtures", resolved: "users-fixtures")])
        XCTAssertEqual(task(report, "readme")?.standing, "shares files with rate-limit (arrived earlier)")
        XCTAssertEqual(task(report, "users-tests")?.wave, 3)
    }

    func testTextShowsEachWaveAndEachTaskWithWhatItWaitsFor() throws {
        let text = plan(try exampleFiles()).text
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.first?.hasPrefix("plan for 7 files in ") == true, text)
        XCTAssertTrue(lines.contains("wave 2: readme, users-api, users-fixtures"), text)
        XCTAssertTrue(lines.contains { $0.hasPrefix("  users-api  ") && $0.contains("depends on users-schema (→ users-schema), files src/api/users.swift")
                          && $0.hasSuffix("; waiting for users-schema (waiting)") }, text)
        XCTAssertEqual(lines.last, "7 tasks: 7 in 3 waves, 0 stuck, 0 files rejected", text)
    }

    // MARK: problems

    func testCycleIsAProblemAndExitsOne() throws {
        let report = plan([try prompt("a.md", "depends_on: b"), try prompt("b.md", "depends_on: a"),
                           try prompt("c.md", "depends_on: a"), try prompt("d.md")])
        XCTAssertEqual(report.exitCode, 1)
        XCTAssertEqual(report.waves, [["d"]])
        XCTAssertEqual(report.problems.first, "dependency cycle: a → b → a")
        XCTAssertEqual(report.problems.count, 2, "the cycle once, and c behind it: \(report.problems)")
        XCTAssertEqual(task(report, "c")?.stuck, "in or behind a dependency cycle")
        XCTAssertTrue(report.text.contains("stuck:\n"), report.text)
    }

    func testMissingDependencyIsAProblemAndExitsOne() throws {
        let report = plan([try prompt("api.md", "depends_on: [schema, setup]"), try prompt("schema.md")])
        XCTAssertEqual(report.exitCode, 1)
        XCTAssertEqual(report.waves, [["schema"]])
        XCTAssertEqual(report.problems, ["api: depends on setup, which is not known"])
        XCTAssertEqual(task(report, "api")?.dependencies, [.init(name: "schema", resolved: "schema"), .init(name: "setup", resolved: nil)])
        XCTAssertTrue(report.text.contains("depends on schema (→ schema), setup (→ not known)"), report.text)
    }

    func testRejectedFileIsReportedWithItsReasonAndTheRestIsPlanned() throws {
        let empty = try prompt("empty.md")
        try write(empty, "")
        let badKey = try prompt("bad.md", "priority: high")
        let good = try prompt("good.md")
        let report = plan([empty, badKey, good, prompts + "/absent.md"])
        XCTAssertEqual(report.exitCode, 1)
        XCTAssertEqual(report.waves, [["good"]])
        XCTAssertEqual(report.problems.count, 3, "\(report.problems)")
        XCTAssertEqual(report.problems.first, "\(empty): \(Prompt.Rejection.empty)")
        XCTAssertTrue(report.problems[1].hasPrefix("\(badKey): front matter key 'priority' has 'high'"), report.problems[1])
        XCTAssertEqual(report.problems[2], "\(prompts)/absent.md: no such file")
        XCTAssertTrue(report.text.hasSuffix("1 task: 1 in 1 wave, 0 stuck, 3 files rejected\n"), report.text)
    }

    // MARK: ids and names

    func testIDsAreMadeUniqueAgainstTaskFoldersAndEachOther() throws {
        try Files.makeDirectories(layout.taskDirectory("fix-login"))
        let first = try prompt("fix-login.md")
        try Files.makeDirectories(prompts + "/again")
        let second = prompts + "/again/fix-login.md"
        try write(second, "Again.\n")
        let named = try prompt("other.md", "id: fix-login")
        let report = plan([first, second, named])
        XCTAssertEqual(report.tasks.map(\.id), ["fix-login-2", "fix-login-3", "fix-login-4"])
        XCTAssertEqual(Set(report.tasks.map(\.name)), ["fix-login"])
    }

    /// `gadugi run FILE...` would queue the files as one batch: their names resolve among
    /// themselves first, never to last week's task of that name in the spool.
    func testFilesResolveInsideTheirBatchBeforeTheSpool() throws {
        try write(layout.queue(.done, "schema.md"), "Done last week.\n")
        try Files.makeDirectories(layout.taskDirectory("schema"))
        let report = plan([try prompt("api.md", "depends_on: schema"), try prompt("schema.md")])
        XCTAssertEqual(task(report, "api")?.dependencies, [.init(name: "schema", resolved: "schema-2")])
        XCTAssertEqual(report.waves, [["schema-2"], ["api"]])
        XCTAssertEqual(report.exitCode, 0)
    }

    func testFileResolvesToADoneTaskOfTheSpoolWhenTheBatchHasNone() throws {
        try write(layout.queue(.done, "setup.md"), "---\nid: setup\n---\nDone.\n")
        let report = plan([try prompt("api.md", "depends_on: setup")])
        XCTAssertEqual(task(report, "api")?.dependencies, [.init(name: "setup", resolved: "setup")])
        XCTAssertEqual(report.waves, [["api"]])
        XCTAssertEqual(report.tasks.map(\.id), ["api"], "finished tasks are not listed")
    }

    // MARK: the queue

    func testQueueReadsEveryStateAndBlocksOnAFailedDependency() throws {
        try write(layout.queue(.done, "setup.md"), "Done.\n")
        try write(layout.queue(.failed, "schema.md"), "Failed.\n")
        try write(layout.queue(.running, "server.md"), "Running.\n")
        try write(layout.queue(.claimed, "client.md"), "---\ndepends_on: [setup, server]\n---\nClaimed.\n")
        try write(incoming("docs.md"), "---\ndepends_on: client\n---\nQueued.\n")
        try write(incoming("api.md"), "---\ndepends_on: schema\n---\nQueued.\n")
        try write(incoming(".scratch.md"), "")
        let report = plan(nil)
        XCTAssertEqual(Set(report.tasks.map(\.id)), ["server", "client", "docs", "api"])
        XCTAssertEqual(task(report, "server")?.state, .running)
        XCTAssertEqual(report.waves, [["client"], ["docs"]])
        XCTAssertEqual(task(report, "api")?.stuck, "depends on schema, which failed")
        XCTAssertEqual(report.problems, ["api: depends on schema, which failed"])
        XCTAssertEqual(report.exitCode, 1)
        XCTAssertTrue(report.text.contains("running: server\n"), report.text)
    }

    func testQueueReportsAPromptTheClaimWouldReject() throws {
        try write(incoming("empty.md"), "  \n")
        try write(incoming("ok.md"), "Fine.\n")
        let report = plan(nil)
        XCTAssertEqual(report.waves, [["ok"]])
        XCTAssertEqual(report.problems, [".gadugi/queue/incoming/empty.md: \(Prompt.Rejection.empty)"])
    }

    func testFilesAreNotAnsweredForABadPromptInIncoming() throws {
        try write(incoming("empty.md"), "  \n")
        let report = plan([try prompt("mine.md")])
        XCTAssertEqual(report.problems, [])
        XCTAssertEqual(report.exitCode, 0)
    }

    func testSubmittedPromptKeepsItsReservedID() throws {
        try Files.makeDirectories(layout.taskDirectory("fix-login-2"))
        try write(layout.submitted("fix-login-2"), "1:2:3\n")
        try write(incoming("fix-login-2.md"), "Submitted.\n")
        XCTAssertEqual(plan(nil).tasks.map(\.id), ["fix-login-2"])
    }

    // MARK: JSON

    func testJSONHasTheDocumentedShape() throws {
        let report = plan([try prompt("a.md", "id: schema\nfiles: db/\npriority: 3\nagent: claude -p\nbase: main\nreviewer: ana"),
                           try prompt("b.md", "depends_on: [schema, nope]")])
        guard let json = JSON.parse(report.json.bytes()) else { return XCTFail("not JSON: \(report.json.encoded())") }
        XCTAssertEqual(json["schema_version"], .int(1))
        XCTAssertEqual(json["waves"], .array([.array([.string("schema")])]))
        XCTAssertEqual(json["problems"], .array([.string("b: depends on nope, which is not known")]))
        let tasks = json["tasks"]?.array ?? []
        XCTAssertEqual(tasks.count, 2)
        XCTAssertEqual(tasks.first, .object([
            ("id", .string("schema")), ("name", .string("schema")), ("file", .string(prompts + "/a.md")),
            ("state", .string("waiting")), ("depends_on", .array([])), ("files", .array([.string("db/")])),
            ("priority", .int(3)), ("agent", .string("claude -p")), ("base", .string("main")), ("isolation", .null),
            ("stall_after", .null), ("on_stall", .null), ("timeout", .null), ("retries", .null), ("slurm", .null),
            ("unknown_keys", .array([.string("reviewer")])), ("did_you_mean", .object([])), ("wave", .int(1)), ("stuck", .null),
            ("standing", .string("ready")),
        ]))
        XCTAssertEqual(tasks.last?["depends_on"], .array([
            .object([("name", .string("schema")), ("resolved", .string("schema"))]),
            .object([("name", .string("nope")), ("resolved", .null)]),
        ]))
        XCTAssertEqual(tasks.last?["wave"], .null)
        XCTAssertEqual(tasks.last?["stuck"], .string("depends on nope, which is not known"))
    }

    // MARK: control keys and misspelled keys

    func testControlKeysAreShownAsWritten() throws {
        let report = plan([try prompt("a.md", "stall_after: 90\non_stall: kill\ntimeout: 2h\nretries: 3"),
                           try prompt("b.md", "timeout: 0")])
        XCTAssertTrue(report.text.contains("  a  stall_after 90s, on_stall kill, timeout 2h, retries 3, from "), report.text)
        XCTAssertTrue(report.text.contains("  b  no timeout, from "), report.text)
        let tasks = JSON.parse(report.json.bytes())?["tasks"]?.array ?? []
        XCTAssertEqual(tasks.first?["stall_after"], .int(90))
        XCTAssertEqual(tasks.first?["on_stall"], .string("kill"))
        XCTAssertEqual(tasks.first?["timeout"], .int(7200))
        XCTAssertEqual(tasks.first?["retries"], .int(3))
        XCTAssertEqual(tasks.last?["timeout"], .int(0), "0: no timeout for this task")
    }

    /// A misspelled `depends_on` is kept as an unknown key, so the task would run at once: the
    /// plan is where a user sees that, with the key it meant.
    func testUnknownKeysAreShownWithTheKeyTheyMisspell() throws {
        let report = plan([try prompt("a.md", "dependson: schema\nreviewer: ana\npriorty: 5")])
        XCTAssertEqual(report.exitCode, 0, "unknown keys are never refused")
        XCTAssertTrue(report.text.contains("other keys dependson (did you mean depends_on?) priorty (did you mean priority?) reviewer, from "),
                      report.text)
        let task = JSON.parse(report.json.bytes())?["tasks"]?.array?.first
        XCTAssertEqual(task?["unknown_keys"], .array([.string("dependson"), .string("priorty"), .string("reviewer")]))
        XCTAssertEqual(task?["did_you_mean"], .object([("dependson", .string("depends_on")), ("priorty", .string("priority"))]))
    }
}
