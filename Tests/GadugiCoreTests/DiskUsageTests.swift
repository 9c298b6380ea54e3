import XCTest
@testable import GadugiCore

final class DiskUsageTests: XCTestCase {
    func testCountsAllocatedBlocksOnceAndFollowsNoLink() throws {
        let dir = try makeTemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir + "/a/b", withIntermediateDirectories: true)
        let big = [UInt8](repeating: 7, count: 256 * 1024)
        try Files.writeAtomically(dir + "/a/b/big", big)
        try Files.writeAtomically(dir + "/a/small", [1, 2, 3])
        XCTAssertEqual(link(dir + "/a/b/big", dir + "/a/hard"), 0)
        // A link to a large tree outside must not be followed.
        let outside = try makeTemporaryDirectory()
        try Files.writeAtomically(outside + "/huge", [UInt8](repeating: 1, count: 1 << 20))
        XCTAssertEqual(symlink(outside, dir + "/a/elsewhere"), 0)

        let usage = DiskUsage.of(dir)
        removeTree(outside)
        XCTAssertTrue(usage.complete)
        XCTAssertGreaterThanOrEqual(usage.bytes, 256 * 1024, "the big file counts")
        XCTAssertLessThan(usage.bytes, 2 * 256 * 1024 + 64 * 1024, "the hard link is not counted twice, the link not followed")
        XCTAssertEqual(usage.entries, 7, "the folder, a, b, big, small, hard, elsewhere")
    }

    func testAWalkStoppedAtItsLimitSaysSo() throws {
        let dir = try makeTemporaryDirectory()
        for i in 0..<20 { try Files.writeAtomically(dir + "/f\(i)", [1]) }
        let usage = DiskUsage.of(dir, limit: 5)
        XCTAssertFalse(usage.complete)
        XCTAssertTrue(usage.description.hasPrefix("more than "), usage.description)
        XCTAssertEqual(DiskUsage.of(dir + "/missing"), DiskUsage())
    }

    func testDescriptionIsShortAndHuman() {
        XCTAssertEqual(DiskUsage(bytes: 512).description, "512 bytes")
        XCTAssertEqual(DiskUsage(bytes: 1536).description, "1.5 kB")
        XCTAssertEqual(DiskUsage(bytes: 340 << 20).description, "340 MB")
        XCTAssertEqual(DiskUsage(bytes: Int64(1.2 * Double(1 << 30))).description, "1.2 GB")
    }
}
