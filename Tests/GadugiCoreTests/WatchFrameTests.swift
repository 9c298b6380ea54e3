import Foundation
import XCTest
@testable import GadugiCore

/// `WatchFrame` on real spools: fitting to widths and heights, the progress bar, colour on and
/// off, "… N more", a stalled task's heartbeat, and when `WatchLoop` counts a spool as idle.
final class WatchFrameTests: SpoolTestCase {
    /// A task's prompt in `queue` and its `progress.json` with these fields.
    func task(_ id: String, in queue: Layout.Queue, _ fields: String) throws {
        try write(layout.queue(queue, id + ".md"), "x\n")
        try Files.makeDirectories(layout.taskDirectory(id))
        try write(layout.progress(id), #"{"schema_version": 1, "id": "\#(id)", "name": "\#(id).md", \#(fields)}"#)
    }

    func populate() throws {
        try task("build-the-whole-api-layer", in: .running, #"""
            "state": "running", "percent": 40, "branch": "gadugi/build-the-whole-api-layer",
            "message": "compiling the API, then running every test suite of the project, which takes a while"
            """#)
        try write(layout.log("build-the-whole-api-layer"), "step 1\nstep 2: a long line of compiler output, much wider than any terminal column\n")
        try task("schema", in: .done, #""state": "done", "percent": 100, "message": "done", "branch": "gadugi/schema""#)
        try task("wait-for-it", in: .claimed, #""state": "waiting", "waiting_for": ["schema (running)"]"#)
        try write(layout.queue(.incoming, "new-thing.md"), "x\n")
    }

    func frame(_ selection: StatusReport.Selection = .init(includeFinished: true)) -> WatchFrame {
        WatchFrame(report: StatusReport(layout: layout, selection: selection)) { [layout] in WatchFrame.lastLogLine(layout!, id: $0) }
    }

    func testEveryLineFitsTheWidthAndTheWideColumnsGiveWayFirst() throws {
        try populate()
        for width in [20, 40, 60, 80, 100, 120, 200] {
            for line in frame().lines(width: width, height: nil, colour: false) {
                XCTAssertLessThanOrEqual(TerminalText.width(line), width, "at \(width): \(line)")
            }
        }
        let narrow = frame().lines(width: 80, height: nil, colour: false)
        XCTAssertFalse(narrow.contains { $0.contains("BRANCH") }, "no room for the branch at 80:\n\(narrow.joined(separator: "\n"))")
        let wide = frame().lines(width: 300, height: nil, colour: false)
        let row = wide.first { $0.hasPrefix("build-the-whole-api-layer") } ?? ""
        XCTAssertTrue(row.hasSuffix("gadugi/build-the-whole-api-layer"), row)
        XCTAssertTrue(row.contains("much wider than any terminal column"), "the log's last line: \(row)")
        let unlimited = frame().lines(width: nil, height: nil, colour: false)
        XCTAssertTrue(unlimited.contains { $0.contains("which takes a while") }, "nothing cut without a width")
    }

    func testProgressBar() {
        XCTAssertEqual(WatchFrame.progress(40, cells: 10), "████░░░░░░  40%")
        XCTAssertEqual(WatchFrame.progress(100, cells: 10), "██████████ 100%")
        XCTAssertEqual(WatchFrame.progress(0, cells: 5), "░░░░░   0%")
        XCTAssertEqual(WatchFrame.progress(99.9, cells: 5), "████░  99%", "a bar is full only when the task is")
        XCTAssertEqual(WatchFrame.progress(250, cells: 5), "█████ 250%", "the bar stays in its cells")
        XCTAssertEqual(WatchFrame.progress(nil, cells: 10), "-")
    }

    func testColourOffIsPlainAndColourOnIsTheSameTextWithCodes() throws {
        try populate()
        let plain = frame().lines(width: 120, height: nil, colour: false)
        XCTAssertFalse(plain.joined().contains("\u{1B}"))
        WatchStyle.configure(colour: true)
        defer { WatchStyle.configure(colour: false) }
        let coloured = frame().lines(width: 120, height: nil, colour: true)
        XCTAssertTrue(coloured.joined().contains("\u{1B}["), "colour codes when asked for")
        XCTAssertEqual(coloured.map(stripped), plain, "colour adds codes, never columns")
    }

    func testRowsBeyondTheHeightAreCounted() throws {
        for i in 0..<30 { try write(layout.queue(.incoming, String(format: "p%02d.md", i)), "x\n") }
        let lines = frame(.init(states: [.queued])).lines(width: 80, height: 10, colour: false)
        XCTAssertEqual(lines.count, 10, lines.joined(separator: "\n"))
        // Counts, coordinator, header, 6 rows, then the rest counted.
        XCTAssertEqual(lines.filter { $0.hasPrefix("p") }.count, 6)
        XCTAssertTrue(lines.last?.hasPrefix("… 24 more") == true, lines.last ?? "")
        XCTAssertEqual(frame(.init(states: [.queued])).lines(width: 80, height: nil, colour: false).filter { $0.hasPrefix("p") }.count, 30)
        XCTAssertEqual(frame(.init(states: [.queued])).lines(width: 80, height: 2, colour: false).count, 2, "a tiny terminal")
    }

    func testAStalledTaskHasItsHeartbeatHighlighted() throws {
        try task("stuck", in: .running, #""state": "running", "stalled": true, "percent": 10, "message": "thinking""#)
        try write(layout.heartbeat("stuck"), "")
        let plain = frame().lines(width: 100, height: nil, colour: false)
        let row = plain.first { $0.hasPrefix("stuck") } ?? ""
        XCTAssertTrue(row.contains("stalled"), row)
        XCTAssertTrue(row.contains("stalled: nothing from it for"), "the message says for how long: \(row)")
        WatchStyle.configure(colour: true)
        defer { WatchStyle.configure(colour: false) }
        let coloured = frame().lines(width: 100, height: nil, colour: true).first { stripped($0).hasPrefix("stuck") } ?? ""
        XCTAssertTrue(coloured.contains("43"), "the heartbeat age on yellow: \(coloured.debugDescription)")
    }

    func testNothingToShow() {
        let lines = frame(.init()).lines(width: 80, height: nil, colour: false)
        XCTAssertEqual(lines.last, "nothing to show: no task is queued or active (--all lists finished ones too)")
    }

    func testIdleMeansNothingQueuedClaimedOrRunning() throws {
        XCTAssertTrue(WatchLoop.isIdle(StatusReport(layout: layout, includeFinished: false)))
        try task("blocked-one", in: .claimed, #""state": "blocked", "blocked_reason": "schema failed""#)
        try task("waiting-one", in: .claimed, #""state": "waiting", "waiting_for": ["x (not seen yet)"]"#)
        XCTAssertTrue(WatchLoop.isIdle(StatusReport(layout: layout, includeFinished: false)),
                      "blocked tasks, and waiting ones with no coordinator to run anything, keep nothing open")
        try write(layout.queue(.incoming, "next.md"), "x\n")
        XCTAssertFalse(WatchLoop.isIdle(StatusReport(layout: layout, includeFinished: false)))
        try FileManager.default.removeItem(atPath: layout.queue(.incoming, "next.md"))
        try task("free", in: .claimed, #""state": "claimed""#)
        XCTAssertFalse(WatchLoop.isIdle(StatusReport(layout: layout, includeFinished: false)))
        try FileManager.default.removeItem(atPath: layout.queue(.claimed, "free.md"))
        try task("in-slurm", in: .running, #""state": "running", "executor": "slurm""#)
        let report = StatusReport(layout: layout, includeFinished: false)
        XCTAssertEqual(report.counts.first { $0.0 == "pending" }?.1, 1)
        XCTAssertEqual(report.counts.first { $0.0 == "running" }?.1, 0)
        XCTAssertFalse(WatchLoop.isIdle(report), "a task pending in Slurm keeps it open")
    }

    func testTheLastLogLineIsTheLastWithSomethingOnIt() throws {
        for id in ["t", "u"] { try Files.makeDirectories(layout.taskDirectory(id)) }
        try write(layout.log("t"), String(repeating: "old line\n", count: 2000) + "building 10%\rbuilding 90%\r  \n\n")
        XCTAssertEqual(WatchFrame.lastLogLine(layout, id: "t"), "building 90%")
        try write(layout.log("u"), "\u{1B}[31mred\u{1B}[0m\n")
        XCTAssertEqual(WatchFrame.lastLogLine(layout, id: "u"), "\\e[31mred\\e[0m", "control characters escaped")
        XCTAssertNil(WatchFrame.lastLogLine(layout, id: "none"))
    }

    /// The text without SGR colour codes.
    func stripped(_ line: String) -> String {
        line.replacingOccurrences(of: "\u{1B}\\[[0-9;]*m", with: "", options: .regularExpression)
    }
}
