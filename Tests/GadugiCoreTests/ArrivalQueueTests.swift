import XCTest
@testable import GadugiCore

final class ArrivalQueueTests: XCTestCase {
    func testKeepsArrivalOrderAndEachNameOnce() {
        var q = ArrivalQueue()
        XCTAssertTrue(q.isEmpty)
        for name in ["b.md", "a.md", "b.md", "c.md", "a.md"] { q.append(name) }
        XCTAssertEqual(q.count, 3)
        XCTAssertTrue(q.contains("a.md"))
        XCTAssertFalse(q.contains("z.md"))
        XCTAssertEqual(q.popFirst(), "b.md")
        XCTAssertFalse(q.contains("b.md"))
        q.append("b.md")
        XCTAssertEqual([q.popFirst(), q.popFirst(), q.popFirst()], ["a.md", "c.md", "b.md"], "taken names may arrive again")
        XCTAssertNil(q.popFirst())
        XCTAssertTrue(q.isEmpty)
    }

    func testALargeBacklogDrainsInOrder() {
        var q = ArrivalQueue()
        for i in 0..<50_000 { q.append("p\(i).md") }
        for i in 0..<50_000 { q.append("p\(i).md") }
        XCTAssertEqual(q.count, 50_000)
        var i = 0
        while let name = q.popFirst() {
            if name != "p\(i).md" { return XCTFail("got \(name) at \(i)") }
            i += 1
        }
        XCTAssertEqual(i, 50_000)
    }
}
