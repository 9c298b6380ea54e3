import Glibc
import XCTest
@testable import GadugiCore

final class TaskLockTests: SpoolTestCase {
    func testTakeHoldsTheLockUntilClosedAndASecondTakeIsRefused() throws {
        let dir = layout.taskDirectory("t")
        XCTAssertEqual(TaskLock.state(of: dir), .free, "a missing folder is not locked")
        let fd = try TaskLock.take(dir)
        XCTAssertTrue(isDirectory(dir), "a missing folder is made again: the id is ours")
        XCTAssertEqual(TaskLock.state(of: dir), .held)
        // flock locks belong to the open file description: a second open is a second taker.
        do {
            let again = try TaskLock.take(dir)
            close(again)
            XCTFail("a held lock must not be taken twice")
        } catch {
            guard case .held = error else { return XCTFail("expected .held, got \(error)") }
            XCTAssertTrue(error.description.contains("locked by another process"))
        }
        close(fd)
        XCTAssertEqual(TaskLock.state(of: dir), .free, "closing the descriptor drops it")
    }

    func testAFolderThatCannotBeMadeIsASystemFailure() {
        do {
            close(try TaskLock.take(root + "/no/such/parent/t"))
            XCTFail("expected a failure")
        } catch {
            guard case .system(let e, let mayPass) = error else { return XCTFail("expected .system, got \(error)") }
            XCTAssertEqual(e.errno, .noSuchFileOrDirectory)
            XCTAssertFalse(mayPass)
        }
    }
}
