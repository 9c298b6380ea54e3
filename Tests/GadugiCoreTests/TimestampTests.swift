import Glibc
import XCTest
@testable import GadugiCore
import SystemPackage

final class TimestampTests: XCTestCase {
    func testEpochFormat() {
        XCTAssertEqual(Timestamp(seconds: 0, nanoseconds: 0).iso8601, "1970-01-01T00:00:00.000Z")
    }

    func testKnownInstantWithMilliseconds() {
        // date -u -d '2026-11-27T08:01:02Z' +%s == 1795766462
        XCTAssertEqual(Timestamp(seconds: 1_795_766_462, nanoseconds: 345_678_901).iso8601, "2026-11-27T08:01:02.345Z")
    }

    func testMillisecondsAreTruncatedAndPadded() {
        XCTAssertEqual(Timestamp(seconds: 0, nanoseconds: 999_999_999).iso8601, "1970-01-01T00:00:00.999Z")
        XCTAssertEqual(Timestamp(seconds: 0, nanoseconds: 5_000_000).iso8601, "1970-01-01T00:00:00.005Z")
        XCTAssertEqual(Timestamp(seconds: 0, nanoseconds: 999_999).iso8601, "1970-01-01T00:00:00.000Z")
    }

    func testLeapDay() {
        // date -u -d '2024-02-29T23:59:59Z' +%s == 1709251199
        XCTAssertEqual(Timestamp(seconds: 1_709_251_199, nanoseconds: 0).iso8601, "2024-02-29T23:59:59.000Z")
        XCTAssertEqual(Timestamp(seconds: 1_709_251_200, nanoseconds: 0).iso8601, "2024-03-01T00:00:00.000Z")
    }

    func testFormatHasTheDocumentedShape() {
        let text = Timestamp.now().iso8601
        XCTAssertEqual(text.count, 24, text)
        let shape = text.map { $0.isNumber ? "9" : String($0) }.joined()
        XCTAssertEqual(shape, "9999-99-99T99:99:99.999Z", text)
    }

    func testParsesWhatItWrites() {
        XCTAssertEqual(Timestamp(iso8601: "2026-11-27T08:01:02.345Z"), Timestamp(seconds: 1_795_766_462, nanoseconds: 345_000_000))
        XCTAssertEqual(Timestamp(iso8601: "1970-01-01T00:00:00.000Z"), Timestamp(seconds: 0, nanoseconds: 0))
    }

    func testParsesWithoutFraction() {
        XCTAssertEqual(Timestamp(iso8601: "2026-11-27T08:01:02Z"), Timestamp(seconds: 1_795_766_462, nanoseconds: 0))
    }

    func testRoundTripKeepsMilliseconds() {
        for (s, ns) in [(0, 0), (1_795_766_462, 345_678_901), (1_709_251_199, 999_999_999), (951_782_400, 1_000_000), (4_102_444_800, 123_000_000)] {
            let t = Timestamp(seconds: Int64(s), nanoseconds: Int64(ns))
            let parsed = Timestamp(iso8601: t.iso8601)
            XCTAssertEqual(parsed, Timestamp(seconds: Int64(s), nanoseconds: Int64(ns / 1_000_000 * 1_000_000)), t.iso8601)
        }
        let now = Timestamp.now()
        XCTAssertEqual(Timestamp(iso8601: now.iso8601)?.iso8601, now.iso8601)
    }

    func testRejectsWhatItDoesNotWrite() {
        for text in ["", "garbage", "2026-11-27T08:01:02.345", "2026-11-27 08:01Z", "abcd-11-27T08:01:02.345Z",
                     "2026-1x-27T08:01:02.345Z", "2026-11-27T08:01:0x.345Z", "2026-11-27T08:01:02.345+01:00"] {
            XCTAssertNil(Timestamp(iso8601: text), "'\(text)' must not parse")
        }
    }

    func testOrderingAndDouble() {
        let a = Timestamp(seconds: 10, nanoseconds: 999_999_999)
        let b = Timestamp(seconds: 11, nanoseconds: 0)
        let c = Timestamp(seconds: 11, nanoseconds: 1)
        XCTAssertLessThan(a, b)
        XCTAssertLessThan(b, c)
        XCTAssertFalse(b < b)
        XCTAssertEqual(Timestamp(seconds: 2, nanoseconds: 500_000_000).asDouble, 2.5, accuracy: 1e-9)
    }

    func testNowIsTheWallClock() {
        let before = time(nil)
        let now = Timestamp.now()
        let after = time(nil)
        XCTAssertGreaterThanOrEqual(now.seconds, Int64(before))
        XCTAssertLessThanOrEqual(now.seconds, Int64(after))
        XCTAssertTrue((0..<1_000_000_000).contains(now.nanoseconds))
    }
}
