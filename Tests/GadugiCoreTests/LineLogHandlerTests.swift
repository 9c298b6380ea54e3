import Glibc
import Logging
import XCTest
@testable import GadugiCore

/// The log line format (README, "The log"): `<time> <level> <message> key=value... error=...`,
/// one line whatever the message, metadata or error hold, and no label.
final class LineLogHandlerTests: XCTestCase {
    let time = Timestamp(seconds: 1_700_000_000, nanoseconds: 7_000_000)

    func testALineIsTimeInMillisecondsLevelMessageAndSortedMetadata() {
        XCTAssertEqual(LineLogHandler.line(at: time, level: .info, message: "started a (pid 42)", metadata: ["z": "1", "id": "a"]),
                       "2023-11-14T22:13:20.007Z info started a (pid 42) id=a z=1\n")
    }

    func testMetadataValuesWithLineBreaksOrSpacesStayOnTheLineAndReadAsOneValue() {
        let line = LineLogHandler.line(at: time, level: .warning, message: "claim", metadata: [
            "name": "evil\nline.md", "reason": "two words", "quote": "say \"hi\"", "empty": "", "eq": "a=b",
        ])
        XCTAssertEqual(line, "2023-11-14T22:13:20.007Z warning claim empty=\"\" eq=\"a=b\" "
            + "name=evil\\nline.md quote=\"say \\\"hi\\\"\" reason=\"two words\"\n")
    }

    func testAnErrorWithLineBreaksIsOneQuotedValueAtTheEnd() {
        let line = LineLogHandler.line(at: time, level: .error, message: "cannot start", metadata: ["id": "b"],
                                       error: "first line\nsecond line\u{1B}[2J")
        XCTAssertEqual(line, "2023-11-14T22:13:20.007Z error cannot start id=b error=\"first line\\nsecond line\\e[2J\"\n")
    }

    struct Broken: Error, CustomStringConvertible {
        var description: String { "disk\nfull" }
    }

    func testTheHandlerWritesNoLabelAndKeepsErrorsAndMetadataOnOneLine() throws {
        var fds: [CInt] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]) }
        var logger = Logger(label: "gadugi.module.label") { _ in LineLogHandler(descriptor: fds[1]) }
        logger.logLevel = .debug
        logger[metadataKey: "run"] = "r 1"
        logger.debug("claimed a\nfrom a.md", metadata: ["from": "a\n.md"])
        logger.error("failed", error: Broken())
        logger.trace("below the level")
        close(fds[1])
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while case let n = read(fds[0], &buffer, buffer.count), n > 0 { output += buffer[0..<n] }
        let lines = String(decoding: output, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines.count, 3, "\(lines)")  // two lines and the empty rest after the last "\n"
        XCTAssertEqual(lines[0].dropFirst(25), "debug claimed a\\nfrom a.md from=a\\n.md run=\"r 1\"")
        XCTAssertEqual(lines[1].dropFirst(25), "error failed run=\"r 1\" error=disk\\nfull")
        XCTAssertFalse(lines.joined().contains("gadugi.module.label"))
        for line in lines.prefix(2) {
            XCTAssertNotNil(Timestamp(iso8601: String(line.prefix(24))), line)
            XCTAssertTrue(line.prefix(24).hasSuffix("Z") && line.prefix(24).dropFirst(19).hasPrefix("."), "milliseconds: \(line)")
        }
    }
}
