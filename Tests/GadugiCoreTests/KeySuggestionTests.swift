import XCTest
@testable import GadugiCore

/// Which known key a misspelled one is taken for ("did you mean ...?"), and when none is.
final class KeySuggestionTests: XCTestCase {
    let config = Settings.configKeyNames

    func distance(_ a: String, _ b: String) -> Int { KeySuggestion.distance(Array(a), Array(b)) }

    func testDistanceCountsInsertsDeletesSubstitutionsAndSwaps() {
        XCTAssertEqual(distance("", ""), 0)
        XCTAssertEqual(distance("", "abc"), 3)
        XCTAssertEqual(distance("agent", "agent"), 0)
        XCTAssertEqual(distance("max_paralel", "max_parallel"), 1)
        XCTAssertEqual(distance("agnet", "agent"), 1, "a swap of neighbours is one edit")
        XCTAssertEqual(distance("timeuot", "timeout"), 1)
        XCTAssertEqual(distance("kitten", "sitting"), 3)
    }

    func testTyposFindTheirKey() {
        XCTAssertEqual(KeySuggestion.closest(to: "max_paralel", among: config), "max_parallel")
        XCTAssertEqual(KeySuggestion.closest(to: "max-parallel", among: config), "max_parallel", "- for _ is free")
        XCTAssertEqual(KeySuggestion.closest(to: "MAX_PARALLEL", among: config), "max_parallel", "case is free")
        XCTAssertEqual(KeySuggestion.closest(to: "retrys", among: config), "retries")
        XCTAssertEqual(KeySuggestion.closest(to: "kill_grase", among: config), "kill_grace")
        XCTAssertEqual(KeySuggestion.closest(to: "stall", among: config), "stall_after", "the beginning of a key")
        XCTAssertEqual(KeySuggestion.closest(to: "retry", among: config), "retry_backoff", "the shortest key it begins")
        XCTAssertEqual(KeySuggestion.closest(to: "dependson", among: TaskSpec.knownKeyOrder), "depends_on")
        XCTAssertEqual(KeySuggestion.closest(to: "ids", among: TaskSpec.knownKeyOrder), "id")
    }

    func testFarKeysGetNoSuggestion() {
        for key in ["reviewer", "owner", "x", "ab", "zz", "", String(repeating: "x", count: 100_000)] {
            XCTAssertNil(KeySuggestion.closest(to: key, among: config), key.prefix(20).debugDescription)
            XCTAssertNil(KeySuggestion.closest(to: key, among: TaskSpec.knownKeyOrder), key.prefix(20).debugDescription)
        }
        XCTAssertNil(KeySuggestion.closest(to: "ag", among: config), "too short to be the start of a key")
    }
}
