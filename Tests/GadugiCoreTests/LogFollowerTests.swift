import Glibc
import XCTest
@testable import GadugiCore

final class LogFollowerTests: SpoolTestCase {
    var path: String { root + "/output.log" }

    func append(_ text: String) throws { try Files.append(path, Array(text.utf8)) }

    func read(_ follower: LogFollower) -> String {
        var out: [UInt8] = []
        follower.readNew { out += $0 }
        return String(decoding: out, as: UTF8.self)
    }

    func testReadsWhatIsAppended() throws {
        try append("one\n")
        let follower = LogFollower(path: path)
        follower.start(lastLines: nil)
        XCTAssertEqual(read(follower), "one\n")
        XCTAssertEqual(read(follower), "")
        try append("two\nthr")
        XCTAssertEqual(read(follower), "two\nthr")
        try append("ee\n")
        XCTAssertEqual(read(follower), "ee\n")
    }

    func testLastLines() throws {
        try append("1\n2\n3\n4\n")
        for (n, expected) in [(0, ""), (1, "4\n"), (2, "3\n4\n"), (4, "1\n2\n3\n4\n"), (9, "1\n2\n3\n4\n")] {
            let follower = LogFollower(path: path)
            follower.start(lastLines: n)
            XCTAssertEqual(read(follower), expected, "-n \(n)")
        }
    }

    func testALastLineWithoutNewlineCounts() throws {
        try append("1\n2\n3")
        let follower = LogFollower(path: path)
        follower.start(lastLines: 2)
        XCTAssertEqual(read(follower), "2\n3")
    }

    func testLastLinesOfALogLargerThanOneChunk() throws {
        let line = String(repeating: "x", count: 999) + "\n"
        try append(String(repeating: line, count: 200) + "last\n")
        let follower = LogFollower(path: path)
        follower.start(lastLines: 3)
        XCTAssertEqual(read(follower), line + line + "last\n")
    }

    func testAMissingLogIsFollowedOnceItAppears() throws {
        let follower = LogFollower(path: path)
        follower.start(lastLines: 5)
        var got = false
        XCTAssertFalse(follower.readNew { _ in got = true })
        XCTAssertFalse(got)
        try append("hello\n")
        XCTAssertEqual(read(follower), "hello\n", "a log made later is read from its start")
    }

    func testAReplacedLogIsFollowedByName() throws {
        try append("old 1\n")
        let follower = LogFollower(path: path)
        follower.start(lastLines: nil)
        XCTAssertEqual(read(follower), "old 1\n")
        // Rotated: renamed away (its writer still appends to it), a new file under the name.
        let fd = open(path, O_WRONLY | O_APPEND)
        XCTAssertEqual(rename(path, path + ".1"), 0)
        _ = "old 2\n".withCString { Glibc.write(fd, $0, 6) }
        close(fd)
        try append("new 1\n")
        XCTAssertEqual(read(follower), "old 2\nnew 1\n", "the old file's rest, then the new one from its start")
        try append("new 2\n")
        XCTAssertEqual(read(follower), "new 2\n")
    }

    func testARemovedLogIsWaitedForAndItsSuccessorRead() throws {
        try append("first\n")
        let follower = LogFollower(path: path)
        follower.start(lastLines: nil)
        XCTAssertEqual(read(follower), "first\n")
        XCTAssertEqual(unlink(path), 0)
        XCTAssertEqual(read(follower), "")
        try append("second\n")
        XCTAssertEqual(read(follower), "second\n")
    }

    func testATruncatedLogIsReadFromItsStart() throws {
        try append("a long first line\n")
        let follower = LogFollower(path: path)
        follower.start(lastLines: nil)
        XCTAssertEqual(read(follower), "a long first line\n")
        XCTAssertEqual(truncate(path, 0), 0)
        try append("short\n")
        XCTAssertEqual(read(follower), "short\n")
    }
}
