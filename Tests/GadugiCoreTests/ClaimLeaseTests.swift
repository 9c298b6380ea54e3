import Glibc
import XCTest
@testable import GadugiCore

/// The claim takes a prompt only as its producer finished it: never while someone has it open for
/// writing, and a file written in place only once it has settled.
final class ClaimLeaseTests: SpoolTestCase {
    var spool: Spool!
    var suffixes: [String: Int] = [:]

    override func setUpWithError() throws {
        try super.setUpWithError()
        spool = Spool(layout: layout)
    }

    func claim(_ name: String, settle: Double = 0) throws -> Spool.Intake {
        try spool.claim(name, suffixes: &suffixes, settle: settle)
    }

    func testAFileOpenForWritingIsNotClaimedUntilItIsClosed() throws {
        let fd = Glibc.open(incoming("w.md"), O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        _ = Glibc.write(fd, "half", 4)
        guard case .busy(let until) = try claim("w.md") else { return XCTFail("a file open for writing must not be claimed") }
        XCTAssertNil(until, "it is looked at again when closed, not at a time")
        XCTAssertTrue(exists(incoming("w.md")), "it stays in incoming/")
        XCTAssertFalse(isDirectory(layout.taskDirectory("w")), "no id is reserved for it")
        _ = Glibc.write(fd, " and the rest\n", 14)
        close(fd)
        guard case .claimed(let record) = try claim("w.md") else { return XCTFail("closed: claimed") }
        XCTAssertEqual(text(layout.queue(.claimed, record.fileName)), "half and the rest\n")
    }

    func testAReaderDoesNotHoldTheClaimBack() throws {
        try write(incoming("r.md"), "Read me.\n")
        let fd = Glibc.open(incoming("r.md"), O_RDONLY | O_CLOEXEC)
        defer { close(fd) }
        guard case .claimed = try claim("r.md") else { return XCTFail("a reader is no writer") }
    }

    func testAFileWrittenInPlaceIsClaimedOnlyOnceSettled() throws {
        try write(incoming("s.md"), "Settle first.\n")
        guard case .busy(let until) = try claim("s.md", settle: 30) else { return XCTFail("just written: not settled") }
        let due = try XCTUnwrap(until)
        let mtime = try XCTUnwrap(self.mtime(incoming("s.md")))
        XCTAssertEqual(due.asDouble, mtime.asDouble + 30, accuracy: 0.001, "due when it will have been quiet for the settle time")
        XCTAssertTrue(exists(incoming("s.md")))
        setMtime(incoming("s.md"), seconds: Int(Timestamp.now().seconds) - 31)
        guard case .claimed = try claim("s.md", settle: 30) else { return XCTFail("quiet for longer than the settle time: claimed") }
    }

    func testSettleZeroClaimsAtOnce() throws {
        try write(incoming("z.md"), "Now.\n")
        guard case .claimed = try claim("z.md", settle: 0) else { return XCTFail("settle 0 (renamed in) claims at once") }
    }

    func testABusyFileIsNeverRejectedForWhatItHoldsSoFar() throws {
        // Empty so far, but still open: its producer has not finished; it is not rejected as empty.
        let fd = Glibc.open(incoming("e.md"), O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        guard case .busy = try claim("e.md") else { return XCTFail("an empty file still open is busy, not rejected") }
        close(fd)
        XCTAssertTrue(exists(incoming("e.md")))
    }
}

final class ArrivalAndParkingTests: XCTestCase {
    func testTheLatestArrivalDecidesWhetherANameSettles() {
        var q = ArrivalQueue()
        q.append("a.md", settles: true)
        q.append("a.md", settles: false)
        q.append("b.md", settles: true)
        XCTAssertEqual(q.count, 2)
        XCTAssertEqual(q.popArrival()?.settles, false, "renamed in after being written: complete")
        XCTAssertEqual(q.popArrival()?.settles, true)
        XCTAssertNil(q.popArrival())
    }

    func testParkedNamesComeBackWhenDueAndOnlyOnce() {
        var p = Parking()
        let t0 = Timestamp(seconds: 1000, nanoseconds: 0)
        p.park("late.md", until: t0.adding(5))
        p.park("soon.md", until: t0.adding(1))
        p.park("open.md", until: nil)
        XCTAssertEqual(p.count, 3)
        XCTAssertTrue(p.awaitsClose("open.md"))
        XCTAssertFalse(p.awaitsClose("soon.md"))
        XCTAssertEqual(p.nextDue(), t0.adding(1))
        XCTAssertEqual(p.takeDue(now: t0), [])
        XCTAssertEqual(p.takeDue(now: t0.adding(1)), ["soon.md"])
        XCTAssertEqual(p.takeDue(now: t0.adding(1)), [], "taken once")
        XCTAssertEqual(p.nextDue(), t0.adding(5))
        // Parked again later (a further write): the earlier time is stale and skipped.
        p.park("late.md", until: t0.adding(9))
        XCTAssertEqual(p.nextDue(), t0.adding(9))
        XCTAssertEqual(p.takeDue(now: t0.adding(6)), [])
        XCTAssertTrue(p.remove("late.md"))
        XCTAssertNil(p.nextDue(), "a removed name is not due; a name awaiting its close has no time")
        XCTAssertEqual(p.takeDue(now: t0.adding(100)), [])
        XCTAssertEqual(p.count, 1)
        XCTAssertTrue(p.contains("open.md"))
    }
}

final class ComplaintsTests: XCTestCase {
    func testALastingFaultIsSaidOnceThenAtMostOncePerInterval() {
        let log = CapturedLog()
        var now = 0.0
        let complaints = Complaints(logger: log.logger) { now }
        for _ in 0..<100 { complaints.say("disk", "the disk is full"); now += 0.1 }
        XCTAssertEqual(log.messages, ["warning the disk is full"], "a hundred attempts in ten seconds: one line")
        now = 61
        complaints.say("disk", "the disk is full")
        XCTAssertEqual(log.messages.count, 2)
        XCTAssertTrue(log.messages[1].contains("100 more time(s)"), "\(log.messages)")
        complaints.resolve("disk", "space is back")
        complaints.resolve("disk", "space is back")
        XCTAssertEqual(log.messages.last, "info space is back")
        XCTAssertEqual(log.messages.count, 3, "resolved once")
        complaints.say("disk", "the disk is full")
        XCTAssertEqual(log.messages.count, 4, "a new episode is said again at once")
    }
}

final class DiskSpaceTests: XCTestCase {
    func testShortageIsReportedOnlyBelowTheMinimum() {
        XCTAssertNil(DiskSpace.shortage("/", minFree: 0), "0 turns the check off")
        XCTAssertNil(DiskSpace.shortage("/", minFree: 1), "some byte is free on /")
        let short = DiskSpace.shortage("/", minFree: Int64.max / 2)
        XCTAssertNotNil(short)
        XCTAssertTrue(short?.contains("min_free") ?? false, "\(short ?? "")")
    }
}
