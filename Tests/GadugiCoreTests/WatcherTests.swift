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

        let got = take(box) { $0.contains(.arrived("written.md")) && $0.contains(.arrived("moved.md")) }
        XCTAssertTrue(got.contains(.arrived("written.md")), "\(got)")
        XCTAssertTrue(got.contains(.arrived("moved.md")), "\(got)")
        XCTAssertFalse(got.contains(.arrived("other.md")), "\(got)")
        XCTAssertFalse(got.contains(.arrived("t1")), "\(got)")
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
