import Glibc
import XCTest
@testable import GadugiCore

final class FolderWatchTests: SpoolTestCase {
    func testWakesOnAChangeAndTimesOutWithout() throws {
        let watch = try FolderWatch()
        let dir = layout.queue(.done)
        XCTAssertTrue(watch.watch(dir))
        XCTAssertFalse(watch.wait(timeout: 0.05), "nothing changed")
        try write(dir + "/a.md", "x\n")
        XCTAssertTrue(watch.wait(timeout: 5))
        XCTAssertFalse(watch.wait(timeout: 0.05), "every pending event was consumed")
        XCTAssertEqual(rename(dir + "/a.md", layout.queue(.failed, "a.md")), 0)
        XCTAssertTrue(watch.wait(timeout: 5), "a rename out of the folder")
    }

    func testAFolderMadeLaterOrAgainIsWatchedOnceAsked() throws {
        let watch = try FolderWatch()
        let dir = layout.taskDirectory("t")
        XCTAssertFalse(watch.watch(dir), "not there yet")
        XCTAssertEqual(mkdir(dir, 0o755), 0)
        XCTAssertTrue(watch.watch(dir))
        XCTAssertTrue(watch.watch(dir), "asking again is harmless")
        XCTAssertEqual(rmdir(dir), 0)
        _ = watch.wait(timeout: 1)
        XCTAssertEqual(mkdir(dir, 0o755), 0)
        XCTAssertTrue(watch.watch(dir), "watched again after it was removed and made again")
        try write(dir + "/output.log", "x\n")
        XCTAssertTrue(watch.wait(timeout: 5))
    }

    func testUnwatch() throws {
        let watch = try FolderWatch()
        let dir = layout.monitoring
        XCTAssertTrue(watch.watch(dir))
        watch.unwatch(dir)
        _ = watch.wait(timeout: 0.05)
        try write(dir + "/x", "x\n")
        XCTAssertFalse(watch.wait(timeout: 0.1))
    }
}
