import Glibc
import XCTest
@testable import GadugiCore
import SystemPackage

final class MonitorTests: SpoolTestCase {
    var monitor: Monitor!
    var log = CapturedLog()
    var warnings: [String] { log.messages }

    override func setUpWithError() throws {
        try super.setUpWithError()
        monitor = Monitor(layout: layout)
        log = CapturedLog()
        monitor.complaints = Complaints(logger: log.logger)
    }

    override func tearDownWithError() throws {
        monitor = nil
        try super.tearDownWithError()
    }

    func record(_ id: String, _ state: TaskState) -> TaskRecord {
        var r = TaskRecord(id: id, ext: "md", name: id + ".md", state: state)
        r.pid = 321
        return r
    }

    func eventLines() -> [JSON] {
        (text(layout.events) ?? "").split(separator: "\n").map { JSON.parse(Array($0.utf8)) ?? .string("UNPARSABLE: \($0)") }
    }

    func testWriteProgress() throws {
        try Files.makeDirectories(layout.taskDirectory("a"))
        var r = record("a", .running)
        r.percent = 30
        monitor.writeProgress(r)
        let written = text(layout.progress("a")) ?? ""
        XCTAssertTrue(written.hasSuffix("}\n"), written)
        XCTAssertEqual(JSON.parse(Array(written.utf8)), r.json(layout))
        XCTAssertEqual(TaskRecord.load(layout, id: "a"), r)
        XCTAssertEqual(names(layout.taskDirectory("a")), ["progress.json"], "no temporary file left")
        XCTAssertEqual(warnings, [])
    }

    func testWriteProgressWithoutItsFolderWarns() {
        monitor.writeProgress(record("ghost", .claimed))
        XCTAssertEqual(warnings.count, 1)
        XCTAssertTrue(warnings.first?.contains("ghost") ?? false, "\(warnings)")
    }

    func testEventsAreBufferedThenAppendedAsLines() throws {
        try write(layout.events, "{\"old\":1}\n")
        monitor.record(Event(record("a", .claimed)))
        monitor.record(Event(record("a", .running)))
        var done = record("a", .done)
        done.exitCode = 0
        var finished = Event(done)
        finished.reason = "why"
        monitor.record(finished)
        XCTAssertEqual(text(layout.events), "{\"old\":1}\n", "nothing is written before the flush")
        monitor.flushEvents()
        let lines = eventLines()
        XCTAssertEqual(lines.count, 4)
        XCTAssertEqual(lines[0], .object([("old", .int(1))]), "appended, never truncated")
        for line in lines.dropFirst() {
            XCTAssertEqual(line["schema_version"], .int(1))
            XCTAssertEqual(line["id"], .string("a"))
            XCTAssertNotNil(line["at"]?.string.flatMap(Timestamp.init(iso8601:)), "at is an ISO-8601 time")
        }
        XCTAssertEqual(lines[1]["state"], .string("claimed"))
        XCTAssertNil(lines[1]["pid"], "a claimed task has no process")
        XCTAssertEqual(lines[2]["state"], .string("running"))
        XCTAssertEqual(lines[2]["pid"], .int(321))
        XCTAssertEqual(lines[3]["state"], .string("done"))
        XCTAssertEqual(lines[3]["exit_code"], .int(0))
        XCTAssertEqual(lines[3]["signal"], .null)
        XCTAssertEqual(lines[3]["reason"], .string("why"))

        monitor.flushEvents()
        XCTAssertEqual(eventLines().count, 4, "a flush with nothing buffered writes nothing")
        monitor.record(Event(record("b", .claimed)))
        monitor.flushEvents()
        XCTAssertEqual(eventLines().count, 5)
        XCTAssertEqual(eventLines().last?["id"], .string("b"))
    }

    // MARK: events_max

    func lines(_ path: String) -> [String] {
        (text(path) ?? "").split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    /// One flushed turn of `n` events for task `id`; the bytes of each line.
    @discardableResult
    func turn(_ id: String, events n: Int = 1) -> Int {
        for _ in 0..<n { monitor.record(Event(record(id, .claimed))) }
        let before = (try? Files.linkStatus(layout.events))??.st_size ?? 0
        monitor.flushEvents()
        return Int(((try? Files.linkStatus(layout.events))??.st_size ?? 0) - before)
    }

    func testTheDefaultCapIs64MiB() {
        XCTAssertEqual(Monitor(layout: layout).eventsMax, 64 << 20)
        XCTAssertEqual(Monitor(layout: layout, eventsMax: 1000).eventsMax, 1000)
    }

    func testTheLogIsRotatedBeforeAnAppendWouldPassTheCap() throws {
        let size = turn("t00")
        XCTAssertGreaterThan(size, 0)
        monitor.eventsMax = Int64(size * 3)
        turn("t01")
        turn("t02")
        XCTAssertEqual(lines(layout.events).count, 3, "exactly at the cap: not rotated")
        XCTAssertFalse(exists(layout.rotatedEvents))

        turn("t03")
        XCTAssertEqual(lines(layout.rotatedEvents).compactMap { JSON.parse(Array($0.utf8))?["id"]?.string }, ["t00", "t01", "t02"],
                       "the full log became events.1.jsonl")
        XCTAssertEqual(lines(layout.events).compactMap { JSON.parse(Array($0.utf8))?["id"]?.string }, ["t03"], "a new log began")

        for n in 4...6 { turn(String(format: "t%02d", n)) }
        XCTAssertEqual(lines(layout.rotatedEvents).compactMap { JSON.parse(Array($0.utf8))?["id"]?.string }, ["t03", "t04", "t05"],
                       "the second rotation replaced the first")
        XCTAssertEqual(lines(layout.events).compactMap { JSON.parse(Array($0.utf8))?["id"]?.string }, ["t06"])
        for path in [layout.events, layout.rotatedEvents] {
            XCTAssertLessThanOrEqual(bytes(path)?.count ?? 0, size * 3, "\(path) stays within the cap")
        }
        XCTAssertEqual(names(layout.monitoring).filter { $0.hasPrefix("events") }, ["events.1.jsonl", "events.jsonl"],
                       "two files at most")
        XCTAssertEqual(warnings, [])
    }

    func testATurnLargerThanTheCapIsWrittenWholeIntoAFreshLog() throws {
        let size = turn("first")
        monitor.eventsMax = Int64(size)
        turn("big", events: 5)
        XCTAssertEqual(lines(layout.rotatedEvents).count, 1, "the old log went aside")
        XCTAssertEqual(lines(layout.events).count, 5, "the turn's lines are never split or dropped")
        turn("next")
        XCTAssertEqual(lines(layout.events).count, 1)
        XCTAssertEqual(lines(layout.rotatedEvents).count, 5)
    }

    func testALogThatWasAlreadyOverTheCapIsRotatedAtTheFirstFlush() throws {
        try write(layout.events, String(repeating: "{\"old\":1}\n", count: 100))
        monitor.eventsMax = 200
        turn("a")
        XCTAssertEqual(lines(layout.rotatedEvents).count, 100)
        XCTAssertEqual(lines(layout.events).count, 1)
    }

    func testACapOfZeroNeverRotates() throws {
        monitor.eventsMax = 0
        for n in 0..<50 { turn("t\(n)") }
        XCTAssertEqual(lines(layout.events).count, 50)
        XCTAssertFalse(exists(layout.rotatedEvents))
    }

    func testARotationThatFailsKeepsAppendingAndSaysSo() throws {
        let size = turn("t0")
        monitor.eventsMax = Int64(size)
        try Files.makeDirectories(layout.rotatedEvents + "/blocker")   // a non-empty directory: rename(2) refuses
        turn("t1")
        turn("t2")
        XCTAssertEqual(lines(layout.events).count, 3, "nothing lost")
        XCTAssertEqual(warnings.count, 1, "said once: \(warnings)")
        XCTAssertTrue(warnings.first?.contains("cannot rotate the event log") ?? false, "\(warnings)")
        XCTAssertTrue(warnings.first?.contains("events.jsonl to events.1.jsonl") ?? false, "names both files: \(warnings)")

        try Files.removeDirectory(layout.rotatedEvents + "/blocker")
        try Files.removeDirectory(layout.rotatedEvents)
        turn("t3")
        XCTAssertEqual(lines(layout.rotatedEvents).count, 3, "rotated once it can be")
        XCTAssertEqual(lines(layout.events).count, 1)
        XCTAssertTrue(log.messages.last?.contains("can be rotated again") ?? false, "\(log.messages)")
    }

    func registry(queued: Int) -> Registry {
        Registry(updatedAt: .now(), coordinator: nil, counts: Registry.Counts(["queued": queued]), tasks: [])
    }

    func testRegistryIsWrittenWhenDirtyAndAtMostOncePerInterval() {
        monitor.registryInterval = 3600
        var made = 0
        // The made count goes in the queued count, to tell the writes apart.
        let registry: () -> Registry = { made += 1; return self.registry(queued: made) }

        XCTAssertTrue(monitor.registryPending, "a new monitor has a registry to write")
        monitor.flushRegistry(registry)
        XCTAssertEqual(made, 1)
        XCTAssertEqual(bytes(layout.registry).flatMap(JSON.parse)?["counts"]?["queued"], .int(1))
        XCTAssertFalse(monitor.registryPending)

        monitor.flushRegistry(registry)
        XCTAssertEqual(made, 1, "not dirty: nothing to write")

        monitor.record(Event(record("a", .claimed)))
        XCTAssertTrue(monitor.registryPending, "a state change dirties the registry")
        monitor.flushRegistry(registry)
        XCTAssertEqual(made, 1, "within the interval: the write waits")
        XCTAssertTrue(monitor.registryPending)

        monitor.flushRegistry(force: true, registry)
        XCTAssertEqual(made, 2)
        XCTAssertEqual(bytes(layout.registry).flatMap(JSON.parse)?["counts"]?["queued"], .int(2))
        XCTAssertFalse(monitor.registryPending)
    }

    func testRegistryIsRewrittenOnceTheIntervalPassed() {
        monitor.registryInterval = 0
        var made = 0
        for _ in 0..<3 {
            monitor.markRegistryDirty()
            monitor.flushRegistry { made += 1; return self.registry(queued: made) }
        }
        XCTAssertEqual(made, 3)
        XCTAssertEqual(bytes(layout.registry).flatMap(JSON.parse)?["counts"]?["queued"], .int(3))
    }

    func testHeartbeatTime() throws {
        XCTAssertNil(monitor.heartbeatTime("a"))
        try Files.touch(layout.heartbeat("a"))
        setMtime(layout.heartbeat("a"), seconds: 1_700_000_000)
        XCTAssertEqual(monitor.heartbeatTime("a"), Timestamp(seconds: 1_700_000_000, nanoseconds: 0))
    }
}
