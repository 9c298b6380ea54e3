import Glibc
import XCTest
@testable import GadugiCore
import SystemPackage

final class LayoutTests: XCTestCase {
    func testPathsFollowSpoolLayout() {
        let l = Layout(root: "/r")
        XCTAssertEqual(l.base, "/r/.gadugi")
        XCTAssertEqual(l.config, "/r/.gadugi/config.yaml")
        XCTAssertEqual(l.coordinatorLock, "/r/.gadugi/coordinator.lock")
        XCTAssertEqual(l.spare, "/r/.gadugi/spare")
        XCTAssertEqual(l.registry, "/r/.gadugi/monitoring/registry.json")
        XCTAssertEqual(l.events, "/r/.gadugi/monitoring/events.jsonl")
        XCTAssertEqual(l.heartbeat("t"), "/r/.gadugi/monitoring/heartbeats/t")
        XCTAssertEqual(l.taskDirectory("t"), "/r/.gadugi/monitoring/tasks/t")
        XCTAssertEqual(l.progress("t"), "/r/.gadugi/monitoring/tasks/t/progress.json")
        XCTAssertEqual(l.report("t"), "/r/.gadugi/monitoring/tasks/t/report.json")
        XCTAssertEqual(l.log("t"), "/r/.gadugi/monitoring/tasks/t/output.log")
        XCTAssertEqual(l.outcome("t"), "/r/.gadugi/monitoring/tasks/t/outcome")
        XCTAssertEqual(l.submitted("t"), "/r/.gadugi/monitoring/tasks/t/submitted")
        XCTAssertEqual(l.queue(.incoming), "/r/.gadugi/queue/incoming")
        XCTAssertEqual(l.queue(.rejected, "x.md"), "/r/.gadugi/queue/rejected/x.md")
    }

    func testTrailingSlashIsDropped() {
        XCTAssertEqual(Layout(root: "/r/").root, "/r")
        XCTAssertEqual(Layout(root: "/").root, "/")
    }

    func testRelative() {
        let l = Layout(root: "/r")
        XCTAssertEqual(l.relative("/r/.gadugi/queue/done/x.md"), ".gadugi/queue/done/x.md")
        XCTAssertEqual(l.relative("/rx/file"), "/rx/file", "a sibling with the same prefix is not inside")
        XCTAssertEqual(l.relative("/elsewhere"), "/elsewhere")
    }

    func testCreateMakesEveryDirectoryAndIsRepeatable() throws {
        let root = try makeTemporaryDirectory()
        defer { removeTree(root) }
        let l = Layout(root: root)
        XCTAssertFalse(l.exists)
        try l.create()
        try l.create()
        XCTAssertTrue(l.exists)
        for q in Layout.Queue.allCases {
            XCTAssertTrue(try Files.isDirectory(l.queue(q)), q.rawValue)
        }
        XCTAssertTrue(try Files.isDirectory(l.heartbeats))
        XCTAssertTrue(try Files.isDirectory(l.tasks))
        XCTAssertTrue(try Files.isDirectory(l.spare))
        XCTAssertEqual(Layout.Queue.allCases.map(\.rawValue), ["tmp", "incoming", "claimed", "running", "done", "failed", "rejected", "cancelled"])
    }
}
