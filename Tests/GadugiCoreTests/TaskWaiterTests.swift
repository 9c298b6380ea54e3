import Glibc
import XCTest
@testable import GadugiCore

final class TaskWaiterTests: SpoolTestCase {
    func put(_ queue: Layout.Queue, _ id: String, _ state: TaskState, _ change: (inout TaskRecord) -> Void = { _ in }) throws {
        try write(layout.queue(queue, "\(id).md"), "x\n")
        _ = mkdir(layout.taskDirectory(id), 0o755)
        var record = TaskRecord(id: id, ext: "md", name: "\(id).md", state: state)
        change(&record)
        try record.save(layout)
    }

    func state(_ standing: TaskStanding) -> String {
        switch standing {
        case .unknown: return "unknown"
        case .queued(let name): return "queued \(name)"
        case .active(let r): return "active \(r.state.rawValue)"
        case .ended(let r): return "ended \(r.state.rawValue)"
        case .rejected(let name, _): return "rejected \(name)"
        case .withdrawn(let name): return "withdrawn \(name)"
        }
    }

    func testStandingComesFromTheQueue() throws {
        try put(.claimed, "c", .claimed)
        try put(.claimed, "w", .waiting)
        try put(.claimed, "b", .blocked)
        try put(.running, "r", .running)
        try put(.done, "d", .done)
        try put(.failed, "f", .failed) { $0.exitCode = 3 }
        try put(.failed, "t", .timeout)
        try put(.cancelled, "x", .cancelled)
        try write(layout.queue(.incoming, "q.md"), "x\n")
        try write(layout.queue(.rejected, "bad.md"), "x\n")
        try write(layout.queue(.rejected, "bad.md.reason"), "bad.md: the prompt is empty\n")
        let lookup = TaskLookup(layout: layout)
        let found = ["c", "w", "b", "r", "d", "f", "t", "x", "q", "q.md", "bad", "nope"].map { state(lookup.standing(of: $0)) }
        XCTAssertEqual(found, ["active claimed", "active waiting", "ended blocked", "active running", "ended done",
                               "ended failed", "ended timeout", "ended cancelled", "queued q.md", "queued q.md",
                               "rejected bad.md", "unknown"])
        XCTAssertEqual(lookup.standing(of: "f").phrase, "ended failed (exit 3)")
        XCTAssertEqual(lookup.standing(of: "bad").phrase, "was rejected: bad.md: the prompt is empty")
        XCTAssertTrue(lookup.standing(of: "d").succeeded)
        XCTAssertFalse(lookup.standing(of: "f").succeeded)
    }

    func testAnEndedTaskNotCommittedEndsOnlyWithoutACoordinator() throws {
        try put(.running, "r", .running)
        try write(layout.outcome("r"), "137\n")
        XCTAssertEqual(TaskLookup(layout: layout).standing(of: "r").phrase, "ended failed (killed by SIGKILL)")
        let lock = try CoordinatorLock(layout)
        XCTAssertEqual(state(TaskLookup(layout: layout).standing(of: "r")), "active running",
                       "a live coordinator commits it, and may retry it instead")
        withExtendedLifetime(lock) {}
    }

    func testWaitReturnsAtOnceForEndedTasksAndNilAtTheDeadline() throws {
        try put(.done, "d", .done)
        try put(.claimed, "c", .claimed)
        let ended = try TaskWaiter(layout: layout, ids: ["d"]).wait(until: nil)
        XCTAssertEqual(ended.map { $0.mapValues(state) }, ["d": "ended done"])
        let waiter = try TaskWaiter(layout: layout, ids: ["d", "c"])
        XCTAssertNil(waiter.wait(until: Timestamp.now().adding(0.2)), "c never ends")
    }

    func testWaitWakesWhenAPromptIsRenamed() throws {
        try put(.running, "r", .running)
        let waiter = try TaskWaiter(layout: layout, ids: ["r"])
        let finisher = Thread { [layout] in
            usleep(200_000)
            var record = TaskRecord.load(layout!, id: "r")!
            record.state = .done
            try? record.save(layout!)
            _ = rename(layout!.queue(.running, "r.md"), layout!.queue(.done, "r.md"))
        }
        finisher.start()
        let ended = waiter.wait(until: Timestamp.now().adding(20))
        XCTAssertEqual(ended?["r"]?.succeeded, true)
    }

    func testAQueuedPromptIsFollowedThroughItsClaimByItsEvent() throws {
        try put(.done, "fix", .done)   // last week's fix: the new fix.md will be fix-2
        try write(layout.queue(.incoming, "fix.md"), "x\n")
        let waiter = try TaskWaiter(layout: layout, ids: ["fix.md"])
        XCTAssertEqual(waiter.standings().mapValues(state), ["fix.md": "queued fix.md"])
        // An old claim of a prompt of the same name is no answer: it came before.
        let old = Timestamp.now().adding(-60).iso8601
        try Files.append(layout.events, Array(#"{"schema_version":1,"at":"\#(old)","id":"fix","state":"claimed","from":"fix.md"}"#.utf8 + [10]))
        XCTAssertEqual(rename(layout.queue(.incoming, "fix.md"), layout.queue(.claimed, "fix-2.md")), 0)
        _ = mkdir(layout.taskDirectory("fix-2"), 0o755)
        XCTAssertEqual(waiter.standings().mapValues(state), ["fix.md": "queued fix.md"], "no event yet: still waited for")
        let now = Timestamp.now().iso8601
        try Files.append(layout.events, Array(#"{"schema_version":1,"at":"\#(now)","id":"fix-2","state":"claimed","from":"fix.md"}"#.utf8 + [10]))
        XCTAssertEqual(waiter.standings().mapValues(state), ["fix.md": "active claimed"])
        XCTAssertEqual(waiter.currentID("fix.md"), "fix-2")
    }

    func testAQueuedPromptThatIsRejectedOrTakenBack() throws {
        try write(layout.queue(.incoming, "bad.md"), "x\n")
        try write(layout.queue(.incoming, "gone.md"), "x\n")
        let waiter = try TaskWaiter(layout: layout, ids: ["bad", "gone"])
        _ = waiter.standings()
        XCTAssertEqual(rename(layout.queue(.incoming, "bad.md"), layout.queue(.rejected, "bad.md")), 0)
        try write(layout.queue(.rejected, "bad.md.reason"), "bad.md: it is empty\n")
        XCTAssertEqual(unlink(layout.queue(.incoming, "gone.md")), 0)
        XCTAssertEqual(waiter.standings().mapValues(state), ["bad": "rejected bad.md", "gone": "queued gone.md"],
                       "a prompt gone without a trace is given a moment (its claim's event may be on its way)")
        let ended = waiter.wait(until: Timestamp.now().adding(20))
        XCTAssertEqual(ended?.mapValues(state), ["bad": "rejected bad.md", "gone": "withdrawn gone.md"])
    }
}
