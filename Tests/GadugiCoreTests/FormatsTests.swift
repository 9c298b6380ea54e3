import XCTest
@testable import GadugiCore

/// Each file format is a type (`TaskRecord`, `Event`, `Registry`, `AgentReport`, `WorktreeRecord`,
/// `Settings.configKeys`) and a schema in docs/schemas/; these tests hold the two together field by
/// field, so neither can gain a field the other lacks. (SchemaTests checks a real run's files.)
final class FormatsTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("docs/schemas")

    func schema(_ name: String) throws -> JSON {
        let data = try Data(contentsOf: FormatsTests.folder.appendingPathComponent("\(name).schema.json"))
        return try XCTUnwrap(JSON.parse(Array(data)), "\(name).schema.json is not JSON")
    }

    /// The property names a schema object lists, in order.
    func properties(_ object: JSON?) -> [String] {
        guard case .object(let pairs)? = object?["properties"] else { return [] }
        return pairs.map(\.0)
    }

    func keys(_ json: JSON) -> [String] {
        guard case .object(let pairs) = json else { return [] }
        return pairs.map(\.0)
    }

    func enumValues(_ json: JSON?) -> [String] { json?["enum"]?.array?.compactMap(\.string) ?? [] }

    let at = Timestamp(iso8601: "2026-11-27T08:01:02.345Z")!

    func testProgressJSONWritesExactlyTheSchemasFieldsInItsOrder() throws {
        var record = TaskRecord(id: "a", ext: "md", name: "a.md", state: .running)
        record.dependsOn = ["b"]
        record.dependencies = ["b": "b"]
        let written = keys(record.json(Layout(root: "/r")))
        XCTAssertEqual(written, properties(try schema("progress")["$defs"]?["record"]))
        XCTAssertEqual(try schema("progress")["$defs"]?["record"]?["properties"]?["depends_on"]?["items"].map(properties), ["name", "resolved"])
        XCTAssertEqual(enumValues(try schema("progress")["$defs"]?["state"]), TaskState.allCases.map(\.rawValue))
    }

    func testEveryKindOfEventLineIsInTheSchemaAndReadsBackTheSame() throws {
        var running = TaskRecord(id: "a", ext: "md", name: "a.md", state: .running)
        running.pid = 42
        var failed = TaskRecord(id: "a", ext: "md", name: "a.md", state: .failed)
        failed.exitCode = 3
        var events = [Event(running, at: at), Event(failed, at: at)]
        var claimed = Event(TaskRecord(id: "a", ext: "md", name: "a.md", state: .claimed), at: at)
        claimed.from = "a.md"
        claimed.retry = true
        var waiting = Event(TaskRecord(id: "a", ext: "md", name: "a.md", state: .waiting), at: at)
        waiting.waitingFor = ["b (running)"]
        waiting.notBefore = at
        var blocked = Event(TaskRecord(id: "a", ext: "md", name: "a.md", state: .blocked), at: at)
        blocked.reason = "dependency b failed"
        var stalled = Event(running, at: at)
        stalled.stalled = true
        stalled.idleSeconds = 600
        let rejection = Event.rejection(name: "x.md", rejected: ".gadugi/queue/rejected/x.md", reason: "empty", at: at)
        events += [claimed, waiting, blocked, stalled, rejection]

        let defs = try schema("event")["$defs"]
        let taskFields = Set(properties(defs?["taskEvent"]))
        let written = Set(events.dropLast().flatMap { keys($0.json) })
        XCTAssertEqual(written, taskFields, "task lines write every field the schema lists, and no other")
        XCTAssertEqual(keys(rejection.json), properties(defs?["rejection"]))
        for event in events {
            XCTAssertEqual(Event(json: event.json), event, event.json.encoded())
            XCTAssertEqual(JSON.parse(event.json.bytes()).flatMap(Event.init(json:)), event)
        }
    }

    func testRegistryWritesExactlyTheSchemasFields() throws {
        var record = TaskRecord(id: "a", ext: "md", name: "a.md", state: .running)
        record.pid = 7
        let registry = Registry(updatedAt: at, coordinator: .init(pid: 1, host: "h", startedAt: at),
                                counts: Registry.Counts(["running": 1]), tasks: [Registry.Row(record)])
        let s = try schema("registry")
        XCTAssertEqual(keys(registry.json), properties(s))
        XCTAssertEqual(Registry.Counts.names, properties(s["$defs"]?["counts"]))
        XCTAssertEqual(keys(registry.json["counts"]!), Registry.Counts.names)
        XCTAssertEqual(keys(registry.json["tasks"]!.array![0]), properties(s["properties"]?["tasks"]?["items"]))
        XCTAssertEqual(keys(registry.json["coordinator"]!), s["$defs"]?["coordinator"]?["oneOf"]?.array.map { properties($0[1]) })
        XCTAssertEqual(Registry.Coordinator(json: registry.json["coordinator"]!), registry.coordinator)
    }

    func testReportWorktreeAndConfigMatchTheirSchemas() throws {
        XCTAssertEqual(keys(AgentReport(percent: 1, message: "m").json), properties(try schema("report")))
        let worktree = WorktreeRecord(path: "p", branch: "b", base: "HEAD", baseCommit: "c", head: "d", kept: true)
        XCTAssertEqual(keys(worktree.json), properties(try schema("worktree")))
        XCTAssertEqual(Settings.configKeyNames, properties(try schema("config")),
                       "config.schema.json lists config.yaml's keys in the order of spool-layout.md's table")
    }

    func testRunSummaryWritesTheSchemasFieldsForEveryOutcome() throws {
        let layout = Layout(root: "/r")
        var done = TaskRecord(id: "a", ext: "md", name: "a.md", state: .done)
        done.exitCode = 0
        var blocked = TaskRecord(id: "c", ext: "md", name: "c.md", state: .blocked)
        blocked.blockedReason = "dependency b failed"
        let results: [String: Coordinator.Result] = [
            "a": .finished(done), "b": .rejected(name: "b.md", reason: "empty"), "c": .blocked(blocked), "d": .withdrawn(id: "d"),
        ]
        let summary = RunSummary(files: ["p/a.md", "p/b.md", "p/c.md", "p/d.md", "p/e.md"], ids: ["a", "b", "c", "d", "e"],
                                 results: results, layout: layout)
        let s = try schema("run")
        XCTAssertEqual(keys(summary.json), properties(s))
        let items = summary.json["tasks"]?.array ?? []
        XCTAssertEqual(items.compactMap { $0["state"]?.string }, ["done", "rejected", "blocked", "withdrawn", "unfinished"])
        XCTAssertEqual(Set(items.flatMap(keys)), Set(properties(s["properties"]?["tasks"]?["items"])))
        XCTAssertEqual(summary.json["all_done"], .bool(false))
        XCTAssertEqual(summary.text.split(separator: "\n").first, "5 task(s): 1 done, 0 failed, 1 rejected, 1 blocked, 2 unfinished")
        XCTAssertTrue(RunSummary(files: ["p/a.md"], ids: ["a"], results: ["a": .finished(done)], layout: layout).allDone)
    }
}
