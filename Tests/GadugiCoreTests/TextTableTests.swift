import XCTest
@testable import GadugiCore

final class TextTableTests: XCTestCase {
    let columns = [TextTable.Column("ID", minWidth: 4), .init("STATE"), .init("MESSAGE", minWidth: 5)]

    func testWithoutAWidthColumnsTakeTheirWidestCell() {
        let table = TextTable(columns: columns, rows: [["a", "running", "tests pass"], ["longer-id", "done", ""]])
        XCTAssertEqual(table.lines(width: nil), [
            "ID         STATE    MESSAGE",
            "a          running  tests pass",
            "longer-id  done",
        ])
    }

    func testATableThatFitsIsNotCut() {
        let table = TextTable(columns: columns, rows: [["a", "running", "tests pass"]])
        XCTAssertEqual(table.lines(width: 80), table.lines(width: nil))
    }

    func testTheLastShrinkableColumnGivesWayFirst() {
        let table = TextTable(columns: columns, rows: [["fix-login", "failed", "a very long message that goes on and on"]])
        let lines = table.lines(width: 30)
        XCTAssertEqual(lines, ["ID         STATE   MESSAGE", "fix-login  failed  a very lon…"])
        XCTAssertTrue(lines.allSatisfy { TerminalText.width($0) <= 30 }, "\(lines)")
    }

    func testThenTheIdColumnDownToItsLeast() {
        let table = TextTable(columns: columns, rows: [["a-rather-long-task-id", "running", "message here"]])
        // 44 columns wide: MESSAGE gives 7 (down to its least, 5), then ID the 13 still over.
        let lines = table.lines(width: 24)
        XCTAssertEqual(lines, ["ID        STATE    MESS…", "a-rathe…  running  mess…"])
    }

    func testLinesAreCutAtTheWidthWhenColumnsCannotShrinkEnough() {
        let table = TextTable(columns: columns, rows: [["abcdef", "a-state-that-is-wide", "message"]])
        let lines = table.lines(width: 20)
        XCTAssertTrue(lines.allSatisfy { TerminalText.width($0) <= 20 }, "\(lines)")
        XCTAssertTrue(lines[1].hasSuffix("…"), "\(lines)")
    }

    func testWideCharactersAreMeasuredInColumns() {
        let table = TextTable(columns: columns, rows: [["日本", "done", "メッセージがとても長い"]])
        for line in table.lines(width: 25) { XCTAssertLessThanOrEqual(TerminalText.width(line), 25, line) }
        XCTAssertEqual(table.lines(width: nil)[1], "日本  done   メッセージがとても長い")
    }

    func testNoTrailingSpaces() {
        let table = TextTable(columns: columns, rows: [["a", "done", ""], ["b", "running", "x"]])
        for width in [nil, 12, 40] {
            XCTAssertFalse(table.lines(width: width).contains { $0.hasSuffix(" ") }, "\(table.lines(width: width))")
        }
    }
}
