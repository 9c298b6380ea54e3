import Glibc
import XCTest
@testable import GadugiCore
import SystemPackage

final class SparePoolTests: SpoolTestCase {
    let spareFiles = [".heartbeat", "outcome", "output.log"]

    func isEmptyRegularFile(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFREG && st.st_size == 0
    }

    func testRefillMakesUpToTargetSparesWithTheirFiles() {
        let pool = SparePool(layout: layout, target: 3)
        XCTAssertEqual(pool.count, 0)
        pool.refill(atMost: 10)
        XCTAssertEqual(pool.count, 3)
        let spares = names(layout.spare)
        XCTAssertEqual(spares.count, 3)
        for spare in spares {
            let dir = layout.spare + "/" + spare
            XCTAssertTrue(isDirectory(dir))
            XCTAssertEqual(names(dir), spareFiles, spare)
            for file in spareFiles {
                XCTAssertTrue(isEmptyRegularFile(dir + "/" + file), "\(spare)/\(file) is an empty regular file")
            }
        }
        pool.refill(atMost: 10)
        XCTAssertEqual(names(layout.spare).count, 3, "never more than target")
    }

    func testRefillMakesAtMostLimitPerCall() {
        let pool = SparePool(layout: layout, target: 3)
        pool.refill(atMost: 1)
        XCTAssertEqual(pool.count, 1)
        XCTAssertEqual(names(layout.spare).count, 1)
        pool.refill(atMost: 1)
        XCTAssertEqual(pool.count, 2)
        pool.refill(atMost: 0)
        XCTAssertEqual(pool.count, 2)
        XCTAssertEqual(names(layout.spare).count, 2)
    }

    func testTakeRenamesASpareIntoPlace() throws {
        let pool = SparePool(layout: layout, target: 2)
        pool.refill(atMost: 2)
        let directory = layout.taskDirectory("x")
        XCTAssertTrue(try pool.take(into: directory))
        XCTAssertEqual(pool.count, 1)
        XCTAssertEqual(names(layout.spare).count, 1, "the spare moved out of spare/")
        XCTAssertEqual(names(directory), spareFiles)
    }

    func testTakeReturnsFalseWhenTheDirectoryExists() throws {
        let pool = SparePool(layout: layout, target: 1)
        pool.refill(atMost: 1)
        let directory = layout.taskDirectory("taken")
        XCTAssertEqual(mkdir(directory, 0o755), 0)
        try write(directory + "/submitted", "1:2\n")
        XCTAssertFalse(try pool.take(into: directory))
        XCTAssertEqual(pool.count, 1, "the spare is still ready")
        XCTAssertEqual(names(layout.spare).count, 1)
        XCTAssertEqual(names(directory), ["submitted"], "the existing folder is untouched")
        XCTAssertEqual(text(directory + "/submitted"), "1:2\n")
        // An empty existing folder is refused too.
        let empty = layout.taskDirectory("empty")
        XCTAssertEqual(mkdir(empty, 0o755), 0)
        XCTAssertFalse(try pool.take(into: empty))
        XCTAssertEqual(names(empty), [])
        XCTAssertEqual(pool.count, 1)
    }

    func testTakeFallsBackToMkdirWhenEmpty() throws {
        let pool = SparePool(layout: layout, target: 0)
        pool.refill(atMost: 5)
        XCTAssertEqual(pool.count, 0)
        let directory = layout.taskDirectory("plain")
        XCTAssertTrue(try pool.take(into: directory))
        XCTAssertTrue(isDirectory(directory))
        XCTAssertEqual(names(directory), [])
        XCTAssertFalse(try pool.take(into: directory), "the id is taken now")
    }

    func testTakeSkipsASpareThatVanished() throws {
        let pool = SparePool(layout: layout, target: 1)
        pool.refill(atMost: 1)
        for spare in names(layout.spare) { removeTree(layout.spare + "/" + spare) }
        let directory = layout.taskDirectory("y")
        XCTAssertTrue(try pool.take(into: directory))
        XCTAssertTrue(isDirectory(directory))
        XCTAssertEqual(pool.count, 0)
    }

    func testTakeIntoAMissingParentThrowsAndKeepsTheSpare() throws {
        let pool = SparePool(layout: layout, target: 1)
        pool.refill(atMost: 1)
        assertSystemError(.noSuchFileOrDirectory) { _ = try pool.take(into: root + "/no/such/dir/x") }
        XCTAssertEqual(pool.count, 1)
        XCTAssertEqual(names(layout.spare).count, 1)
    }

    func testGiveBackReturnsAnUnusedFolder() throws {
        let pool = SparePool(layout: layout, target: 1)
        pool.refill(atMost: 1)
        let directory = layout.taskDirectory("unused")
        XCTAssertTrue(try pool.take(into: directory))
        XCTAssertEqual(pool.count, 0)
        XCTAssertTrue(pool.giveBack(directory))
        XCTAssertFalse(exists(directory))
        XCTAssertEqual(pool.count, 1)
        let spares = names(layout.spare)
        XCTAssertEqual(spares.count, 1)
        XCTAssertEqual(names(layout.spare + "/" + (spares.first ?? "?")), spareFiles, "it keeps its files")
        XCTAssertTrue(try pool.take(into: layout.taskDirectory("next")), "and is handed out again")
        XCTAssertEqual(names(layout.taskDirectory("next")), spareFiles)
    }

    func testGiveBackOfAMissingFolderFails() {
        let pool = SparePool(layout: layout, target: 1)
        XCTAssertFalse(pool.giveBack(layout.taskDirectory("never-made")))
        XCTAssertEqual(pool.count, 0)
        XCTAssertEqual(names(layout.spare), [])
    }

    func testWithoutTheSpareDirectoryRefillMakesNothingAndTakeStillWorks() throws {
        removeTree(layout.spare)
        let pool = SparePool(layout: layout, target: 2)
        pool.refill(atMost: 2)
        XCTAssertEqual(pool.count, 0)
        XCTAssertTrue(try pool.take(into: layout.taskDirectory("z")))
        XCTAssertTrue(isDirectory(layout.taskDirectory("z")))
    }

    func testANewPoolAdoptsSparesLeftBehind() throws {
        let first = SparePool(layout: layout, target: 2)
        first.refill(atMost: 2)
        let left = names(layout.spare)
        XCTAssertEqual(left.count, 2)

        let second = SparePool(layout: layout, target: 2)
        XCTAssertEqual(second.count, 2, "spares in .gadugi/spare are adopted")
        second.refill(atMost: 5)
        XCTAssertEqual(names(layout.spare), left, "no new spare while the adopted ones fill the target")
        XCTAssertTrue(try second.take(into: layout.taskDirectory("a")))
        XCTAssertTrue(try second.take(into: layout.taskDirectory("b")))
        XCTAssertEqual(second.count, 0)
        XCTAssertEqual(names(layout.spare), [])
        XCTAssertEqual(names(layout.taskDirectory("a")), spareFiles)
        XCTAssertEqual(names(layout.taskDirectory("b")), spareFiles)
    }

    func testAdoptionIgnoresDotfiles() throws {
        try write(layout.spare + "/.scratch", "x")
        let pool = SparePool(layout: layout, target: 1)
        XCTAssertEqual(pool.count, 0)
    }

    func testASecondPoolInTheSameProcessDoesNotReuseNames() {
        let first = SparePool(layout: layout, target: 2)
        first.refill(atMost: 2)
        let second = SparePool(layout: layout, target: 4)
        second.refill(atMost: 4)
        XCTAssertEqual(second.count, 4)
        XCTAssertEqual(names(layout.spare).count, 4, "two adopted plus two new, none clobbered")
    }
}
