import Glibc
import XCTest
@testable import GadugiCore
import SystemPackage

/// libinotifytools keeps its state in process globals and the watcher's thread lives as long as
/// the process, so this file starts exactly one watcher that reads events.
final class WatcherTests: SpoolTestCase {
    func take(_ box: Mailbox, until done: ([CoordinatorEvent]) -> Bool) -> [CoordinatorEvent] {
        var got: [CoordinatorEvent] = []
        let deadline = Timestamp.now().asDouble + 10
        while !done(got) && Timestamp.now().asDouble < deadline {
            got += box.take(timeout: 0.5)
        }
        return got
    }

    func testReportsFilesClosedAfterWritingAndFilesMovedIn() throws {
        let box = Mailbox()
        try Watcher(directory: layout.queue(.incoming), mailbox: box).start()
        // Written in place: reported when closed, not while open.
        let fd = Glibc.open(incoming("written.md"), O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        _ = Glibc.write(fd, "x", 1)
        XCTAssertEqual(box.take(timeout: 0.1), [], "nothing before the writer closes the file")
        close(fd)
        // Renamed in from tmp/, Maildir style.
        try write(layout.queue(.tmp, "t1"), "y")
        try Files.renameNoReplace(layout.queue(.tmp, "t1"), incoming("moved.md"))
        // Created elsewhere in the spool: not reported.
        try write(layout.queue(.claimed, "other.md"), "z")

        let got = take(box) { $0.contains(.written("written.md")) && $0.contains(.arrived("moved.md")) }
        XCTAssertTrue(got.contains(.written("written.md")), "a file closed after writing is reported as written: \(got)")
        XCTAssertTrue(got.contains(.arrived("moved.md")), "\(got)")
        XCTAssertFalse(got.contains(.arrived("other.md")) || got.contains(.written("other.md")), "\(got)")
        XCTAssertFalse(got.contains(.arrived("t1")), "\(got)")

        // incoming/ removed: noticed, made again, watched again.
        for name in try Files.list(layout.queue(.incoming)) { try Files.remove(incoming(name)) }
        try Files.removeDirectory(layout.queue(.incoming))
        let replaced = take(box) { events in
            events.contains(.rescan) && events.contains { if case .incomingReplaced = $0 { true } else { false } }
        }
        XCTAssertTrue(replaced.contains(.rescan), "a rescan follows, for files dropped meanwhile: \(replaced)")
        XCTAssertTrue(try Files.isDirectory(layout.queue(.incoming)), "incoming/ was made again")
        try write(layout.queue(.tmp, "t2"), "y")
        try Files.renameNoReplace(layout.queue(.tmp, "t2"), incoming("after.md"))
        let after = take(box) { $0.contains(.arrived("after.md")) }
        XCTAssertTrue(after.contains(.arrived("after.md")), "the new incoming/ is watched: \(after)")

        // Moved aside and replaced by another folder: the new one is watched.
        try Files.renameNoReplace(layout.queue(.incoming), layout.queue(.tmp, "old-incoming"))
        _ = take(box) { events in events.contains { if case .incomingReplaced = $0 { true } else { false } } }
        try write(layout.queue(.tmp, "t3"), "y")
        try Files.renameNoReplace(layout.queue(.tmp, "t3"), incoming("third.md"))
        let third = take(box) { $0.contains(.arrived("third.md")) }
        XCTAssertTrue(third.contains(.arrived("third.md")), "\(third)")
    }

    func testAMissingDirectoryFailsToStart() {
        let missing = root + "/no/such/incoming"
        do {
            try Watcher(directory: missing, mailbox: Mailbox()).start()
            XCTFail("watching a missing directory must fail")
        } catch {
            guard case .watch(let path, let errno) = error else { return XCTFail("expected .watch, got \(error)") }
            XCTAssertEqual(path, missing)
            XCTAssertEqual(errno, ENOENT)
            XCTAssertTrue(error.description.contains(missing))
        }
    }
}
