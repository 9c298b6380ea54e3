import Glibc
import XCTest
@testable import GadugiCore
import SystemPackage

final class CoordinatorLockTests: SpoolTestCase {
    func testTheLockWritesOurPid() throws {
        let lock = try CoordinatorLock(layout)
        XCTAssertEqual(text(layout.coordinatorLock), "\(getpid())\n")
        XCTAssertTrue(CoordinatorLock.isHeld(layout))
        withExtendedLifetime(lock) {}
    }

    func testASecondLockFailsNamingTheHolder() throws {
        let first = try CoordinatorLock(layout)
        do {
            let second = try CoordinatorLock(layout)
            XCTFail("a second coordinator lock must fail")
            withExtendedLifetime(second) {}
        } catch {
            guard case .held(let pid, let root) = error else { return XCTFail("expected .held, got \(error)") }
            XCTAssertEqual(pid, "\(getpid())")
            XCTAssertEqual(root, self.root)
            XCTAssertTrue(error.description.contains("pid \(getpid())"), error.description)
        }
        XCTAssertEqual(text(layout.coordinatorLock), "\(getpid())\n", "the failed attempt did not touch the file")
        withExtendedLifetime(first) {}
    }

    func testTheLockIsReleasedWithItsOwner() throws {
        var first: CoordinatorLock? = try CoordinatorLock(layout)
        XCTAssertTrue(CoordinatorLock.isHeld(layout))
        first = nil
        XCTAssertFalse(CoordinatorLock.isHeld(layout))
        let second = try CoordinatorLock(layout)
        XCTAssertTrue(CoordinatorLock.isHeld(layout))
        withExtendedLifetime((first, second)) {}
    }

    func testAStalePidFileIsTakenOver() throws {
        try write(layout.coordinatorLock, "99999999 and more text from a dead coordinator\n")
        XCTAssertFalse(CoordinatorLock.isHeld(layout))
        let lock = try CoordinatorLock(layout)
        XCTAssertEqual(text(layout.coordinatorLock), "\(getpid())\n", "rewritten, not appended to")
        withExtendedLifetime(lock) {}
    }

    func testALockHeldByAnotherProcess() throws {
        // A real other process holds the lock: the shell opens the file, flock(1) locks that open
        // file description, and the shell (then sleep, which inherits it) keeps it.
        guard access("/usr/bin/flock", X_OK) == 0 else { throw XCTSkip("flock(1) is not installed") }
        try write(layout.coordinatorLock, "4242\n")
        let script = #"exec 9<>"$0" && /usr/bin/flock -x -n 9 && : > "$0.locked" && exec sleep 30"#
        guard let pid = spawnProcess(["/bin/sh", "-c", script, layout.coordinatorLock]) else {
            return XCTFail("cannot start /bin/sh")
        }
        var reaped = false
        defer { if !reaped { kill(pid, SIGKILL); _ = waitForChild(pid) } }
        XCTAssertTrue(eventually { exists(layout.coordinatorLock + ".locked") })
        XCTAssertTrue(CoordinatorLock.isHeld(layout))
        do {
            _ = try CoordinatorLock(layout)
            XCTFail("the lock is held by another process")
        } catch {
            guard case .held(let holder, _) = error else { return XCTFail("expected .held, got \(error)") }
            XCTAssertEqual(holder, "4242", "the pid written in the file")
        }
        kill(pid, SIGKILL)
        XCTAssertEqual(describeWaitStatus(waitForChild(pid)), "killed by signal 9")
        reaped = true
        XCTAssertFalse(CoordinatorLock.isHeld(layout), "the kernel dropped the lock with the holder")
        let lock = try CoordinatorLock(layout)
        XCTAssertEqual(text(layout.coordinatorLock), "\(getpid())\n")
        withExtendedLifetime(lock) {}
    }

    func testWithoutASpoolTheFailureIsASystemError() {
        let missing = Layout(root: root + "/no-spool-here")
        do {
            _ = try CoordinatorLock(missing)
            XCTFail("no .gadugi directory: no lock")
        } catch {
            guard case .system(let e) = error else { return XCTFail("expected .system, got \(error)") }
            XCTAssertEqual(e.errno, .noSuchFileOrDirectory)
        }
    }
}
