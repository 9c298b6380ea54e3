import XCTest
@testable import GadugiCore

/// The scheduler's own rules, with times passed in: batches gather before they enter the graph,
/// names resolve to tasks that finished before a restart, and standings say what a task waits for.
final class SchedulerTests: XCTestCase {
    func record(_ id: String, name: String? = nil, dependsOn: [String] = [], files: [String] = [],
                batch: String? = nil, size: Int? = nil) -> TaskRecord {
        var r = TaskRecord(id: id, ext: "md", name: id + ".md", state: .claimed)
        r.taskName = name ?? id
        r.dependsOn = dependsOn
        r.files = files
        r.batch = batch
        r.batchSize = size
        return r
    }

    func testABatchEntersTheGraphWholeSoNamesResolveInsideIt() {
        var s = Scheduler()
        XCTAssertEqual(s.add(record("a"), now: 0).map(\.id), ["a"], "last week's a")
        s.setState("a", .done)
        // b-2 arrives before a-2 in a batch of two: it waits for the batch, then finds a-2.
        XCTAssertEqual(s.add(record("b-2", name: "b", dependsOn: ["a"], batch: "B", size: 2), now: 1), [])
        XCTAssertTrue(s.isGathering)
        XCTAssertEqual(s.standing("b-2").waitingFor, ["the rest of its batch"])
        XCTAssertEqual(s.add(record("a-2", name: "a", batch: "B", size: 2), now: 1.1).map(\.id), ["a-2", "b-2"])
        XCTAssertFalse(s.isGathering)
        XCTAssertEqual(s.standing("b-2").dependencies, ["a": "a-2"])
        XCTAssertEqual(s.standing("b-2").state, .waiting)
        XCTAssertEqual(s.next(), "a-2")
    }

    func testAnIncompleteBatchIsAdmittedAfterTheLimit() {
        var s = Scheduler(gatherLimit: 5)
        XCTAssertEqual(s.add(record("free", batch: "B", size: 3), now: 10).map(\.id), ["free"],
                       "a member without dependencies needs nothing from its batch")
        XCTAssertFalse(s.isGathering, "nothing held back: no claiming ahead")
        XCTAssertEqual(s.add(record("x", dependsOn: ["free"], batch: "B", size: 3), now: 10), [])
        XCTAssertTrue(s.isGathering)
        XCTAssertEqual(s.expire(now: 14.9), [], "its other members may still come")
        XCTAssertEqual(s.expire(now: 15).map(\.id), ["x"], "a member was rejected or withdrawn: do not wait forever")
        XCTAssertEqual(s.standing("x").dependencies, ["free": "free"])
    }

    func testNamesResolveToTasksThatFinishedBeforeARestart() {
        var s = Scheduler()
        s.rememberFinished(name: "setup", id: "setup-3", succeeded: false)
        s.rememberFinished(name: "setup", id: "setup-2", succeeded: true)
        _ = s.add(record("build", dependsOn: ["setup"]), now: 0)
        XCTAssertEqual(s.standing("build").dependencies, ["setup": "setup-2"], "the newest done one wins over a failed one")
        XCTAssertEqual(s.standing("build").state, .claimed)
        XCTAssertEqual(s.next(), "build")
    }

    func testStandingsSayWhatATaskWaitsForAndWhyItIsBlocked() {
        var s = Scheduler()
        _ = s.add(record("api", dependsOn: ["schema", "auth"]), now: 0)
        _ = s.add(record("schema"), now: 0)
        XCTAssertEqual(s.standing("api").state, .waiting)
        XCTAssertEqual(Set(s.standing("api").waitingFor), ["schema (waiting)", "auth (not seen yet)"])
        s.setState("schema", .running)
        s.setState("schema", .failed)
        XCTAssertEqual(s.standing("api").state, .blocked)
        XCTAssertEqual(s.standing("api").blockedReason, "dependency schema failed")
        XCTAssertTrue(s.takeTouched().contains("api"), "the coordinator rewrites only touched records")
    }

    func testTasksSharingFilesGoOneAtATime() {
        var s = Scheduler()
        _ = s.add(record("p", files: ["src/**"]), now: 0)
        _ = s.add(record("q", files: ["src/app.swift"]), now: 0)
        _ = s.add(record("r", files: ["docs/"]), now: 0)
        XCTAssertEqual(s.standing("q").waitingFor, ["p (shares files)"])
        XCTAssertEqual(s.readyCount, 2, "p and r")
        s.setState("p", .running)
        s.setState("p", .done)
        XCTAssertEqual(s.standing("q").state, .claimed)
    }
}
