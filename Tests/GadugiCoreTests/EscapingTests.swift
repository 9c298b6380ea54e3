import Glibc
import Logging
import XCTest
@testable import GadugiCore

final class EscapingTests: XCTestCase {
    func testPlainTextIsUnchanged() {
        XCTAssertEqual("fix login – ünïcode 🚀.md".escapedForTerminal, "fix login – ünïcode 🚀.md")
        XCTAssertEqual("".escapedForTerminal, "")
    }

    func testCommonControlsGetTheirShortEscapes() {
        XCTAssertEqual("a\nb\rc\td\u{1B}[31mred".escapedForTerminal, "a\\nb\\rc\\td\\e[31mred")
    }

    func testOtherControlsAndDELBecomeHex() {
        XCTAssertEqual("\u{0}\u{7}\u{8}\u{1F}\u{7F}".escapedForTerminal, "\\x00\\x07\\x08\\x1f\\x7f")
    }

    func testC1ControlsBecomeUnicodeEscapes() {
        // U+009B is CSI: on some terminals it starts an escape sequence by itself.
        XCTAssertEqual("\u{80}x\u{9B}2J\u{9F}".escapedForTerminal, "\\u{0080}x\\u{009b}2J\\u{009f}")
        XCTAssertEqual("\u{A0}é".escapedForTerminal, "\u{A0}é", "U+00A0 and above are printable")
    }

    func testCRLFIsTwoEscapes() {
        XCTAssertEqual("a\r\nb".escapedForTerminal, "a\\r\\nb")
    }

    func testBackslashIsDoubledSoEscapesAreUnambiguous() {
        XCTAssertEqual("a\\nb".escapedForTerminal, "a\\\\nb")
        XCTAssertNotEqual("a\\nb".escapedForTerminal, "a\nb".escapedForTerminal)
    }

    func testEveryControlIsEscapedAndTheResultIsOneLine() {
        let all = String(String.UnicodeScalarView((0..<0xA0).compactMap(Unicode.Scalar.init)))
        let escaped = all.escapedForTerminal
        XCTAssertFalse(escaped.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }, escaped)
    }

    // MARK: JSON

    func testJSONEscapesEveryControlBelow0x20() {
        let all = String(String.UnicodeScalarView((0..<0x20).compactMap(Unicode.Scalar.init))) + "\u{7F}\u{9B}"
        let encoded = JSON.string(all).encoded()
        XCTAssertFalse(encoded.utf8.contains { $0 < 0x20 }, encoded)
        XCTAssertTrue(encoded.contains("\\u001b"), encoded)
        XCTAssertEqual(JSON.parse(Array(encoded.utf8)), .string(all), "and it reads back")
    }

    // MARK: the log

    func testALogLineIsOneLineWithTimestampLevelAndEscapedMessage() {
        let time = Timestamp(seconds: 1_700_000_000, nanoseconds: 123_000_000)
        let line = LineLogHandler.line(at: time, level: .warning, message: "cannot claim evil\n\u{1B}]0;pwned\u{7}.md",
                                       metadata: ["name": "x\ny", "id": "a"])
        XCTAssertEqual(line, "2023-11-14T22:13:20.123Z warning cannot claim evil\\n\\e]0;pwned\\x07.md id=a name=x\\ny\n")
    }

    func testTheHandlerWritesOneLinePerMessage() throws {
        var fds: [CInt] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]) }
        var logger = Logger(label: "gadugi") { _ in LineLogHandler(descriptor: fds[1]) }
        logger.logLevel = .info
        logger.info("started\nforged line", metadata: ["n": "1"])
        logger.debug("below the level")
        logger.error("ended")
        close(fds[1])
        var buffer = [UInt8](repeating: 0, count: 4096)
        var output: [UInt8] = []
        while true {
            let n = read(fds[0], &buffer, buffer.count)
            if n <= 0 { break }
            output += buffer[0..<n]
        }
        let lines = String(decoding: output, as: UTF8.self).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 2, "\(lines)")
        XCTAssertTrue(lines.first?.hasSuffix(" info started\\nforged line n=1") ?? false, "\(lines)")
        XCTAssertTrue(lines.last?.hasSuffix(" error ended") ?? false, "\(lines)")
        XCTAssertNotNil(lines.first.flatMap { Timestamp(iso8601: String($0.prefix(24))) }, "\(lines)")
    }
}
