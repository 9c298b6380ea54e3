import XCTest
@testable import GadugiCore

final class TerminalTextTests: XCTestCase {
    func testOneLineCollapsesLineBreaksAndBlanks() {
        XCTAssertEqual(TerminalText.oneLine("running tests\n\n  step 2\r\n\tdone\n"), "running tests step 2 done")
        XCTAssertEqual(TerminalText.oneLine("a\u{2028}b\u{85}c"), "a b c", "Unicode line separators too")
        XCTAssertEqual(TerminalText.oneLine("  \n "), "")
    }

    func testOneLineEscapesOtherControls() {
        XCTAssertEqual(TerminalText.oneLine("red \u{1B}[31mX\u{7}"), "red \\e[31mX\\x07")
        XCTAssertEqual(TerminalText.oneLine("\u{9B}2J"), "\\u{009b}2J", "a C1 CSI cannot start a sequence")
    }

    func testWidthCountsWideCharactersTwiceAndMarksNever() {
        XCTAssertEqual(TerminalText.width("abc"), 3)
        XCTAssertEqual(TerminalText.width("日本語"), 6)
        XCTAssertEqual(TerminalText.width("🚀 ok"), 5)
        XCTAssertEqual(TerminalText.width("e\u{301}"), 1, "e with a combining accent is one column")
        XCTAssertEqual(TerminalText.width("ünïcödé"), 7)
        XCTAssertEqual(TerminalText.width(""), 0)
    }

    func testFittedCutsWithAnEllipsis() {
        XCTAssertEqual(TerminalText.fitted("short", to: 10), "short")
        XCTAssertEqual(TerminalText.fitted("exactly10!", to: 10), "exactly10!")
        XCTAssertEqual(TerminalText.fitted("a longer message", to: 8), "a longe…")
        XCTAssertEqual(TerminalText.width(TerminalText.fitted("a longer message", to: 8)), 8)
        XCTAssertEqual(TerminalText.fitted("abc", to: 1), "…")
        XCTAssertEqual(TerminalText.fitted("abc", to: 0), "")
    }

    func testFittedNeverSplitsAWideCharacter() {
        // 日本語 is 6 columns; in 4 only one character fits before the ellipsis (2 + 1 = 3).
        XCTAssertEqual(TerminalText.fitted("日本語", to: 4), "日…")
        XCTAssertLessThanOrEqual(TerminalText.width(TerminalText.fitted("日本語テキスト", to: 7)), 7)
    }

    func testPadded() {
        XCTAssertEqual(TerminalText.padded("ab", to: 4), "ab  ")
        XCTAssertEqual(TerminalText.padded("日本", to: 5), "日本 ")
        XCTAssertEqual(TerminalText.padded("abcdef", to: 3), "abcdef")
    }

    func testTerminalWidthTakesCOLUMNSElseOnlyATerminal() {
        XCTAssertEqual(TerminalWidth.columns(environment: ["COLUMNS": "80"]), 80)
        XCTAssertEqual(TerminalWidth.columns(environment: ["COLUMNS": "120"], descriptor: -1), 120)
        // A pipe is no terminal: not cut.
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]); close(fds[1]) }
        XCTAssertNil(TerminalWidth.columns(environment: [:], descriptor: fds[1]))
        XCTAssertNil(TerminalWidth.columns(environment: ["COLUMNS": "wide"], descriptor: fds[1]))
        XCTAssertNil(TerminalWidth.columns(environment: ["COLUMNS": "0"], descriptor: fds[1]))
    }

    func testProcessEndingPhrases() {
        XCTAssertEqual(ProcessEnding.phrase(exitCode: 3, signal: nil), "exit 3")
        XCTAssertEqual(ProcessEnding.phrase(exitCode: nil, signal: 9), "killed by SIGKILL")
        XCTAssertEqual(ProcessEnding.phrase(exitCode: nil, signal: 15), "killed by SIGTERM")
        XCTAssertEqual(ProcessEnding.phrase(exitCode: nil, signal: 40), "killed by signal 40")
        XCTAssertNil(ProcessEnding.phrase(exitCode: nil, signal: nil))
    }
}
