// Stall detection and time limits through the binary: front matter and config, the summary, and
// a deadline kept across a coordinator killed with SIGKILL. Real processes, real time (short).

import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

final class LivenessTests: GadugiTestCase {
    func testATaskPastItsTimeoutEndsAsTimeoutAndTheSummarySaysSo() throws {
        let src = try makeScratchDir("src")
        let slow = try write("---\ntimeout: 1s\n---\nNever ends.\n", to: src.appendingPathComponent("slow.md")).path
        let quick = try write("Ends.\n", to: src.appendingPathComponent("quick.md")).path
        let agent = #"[ "$GADUGI_TASK_ID" = quick ] || sleep 60"#
        let r = try gadugiRun(["run", "--isolation", "none", "--agent", agent, slow, quick], timeout: 60)
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stdout.contains("2 task(s): 1 done, 0 failed, 1 timed out"), r.stdout)
        XCTAssertTrue(r.stdout.contains("timeout   slow"), r.stdout)
        XCTAssertEqual(list(.failed), ["slow.md"])
        let p = progress("slow")
        XCTAssertEqual(p?.string("state"), "timeout")
        XCTAssertEqual(p?.string("message"), "it ran longer than its timeout (1s)")
    }

    func testATimeoutHoldsAcrossACoordinatorKilledWithSIGKILL() throws {
        try initSpool()
        try writeConfig("timeout: 3s\n")
        guard let first = try startCoordinator(["--isolation", "none", "--agent", "sleep 60"]) else { return }
        try dropPrompt(name: "long.md", content: "Long.\n")
        XCTAssertTrue(waitUntil(timeout: 20) { self.list(.running) == ["long.md"] })
        first.signal(SIGKILL)
        XCTAssertTrue(waitForExit(first.process, timeout: 10))
        let r = try gadugiRun(["run", "--until-idle", "--isolation", "none", "--agent", "sleep 60"], timeout: 60)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(list(.failed), ["long.md"], "the restarted coordinator stopped it by its recorded start")
        let p = progress("long")
        XCTAssertEqual(p?.string("state"), "timeout")
    }

    func testAQuietTaskIsShownStalledWhileItRuns() throws {
        try initSpool()
        try writeConfig("stall_after: 1s\n")
        let gate = try makeScratchDir("gate")
        let agent = #"while [ ! -e "$GATE/go" ]; do sleep 0.05; done"#
        guard let c = try startCoordinator(["--isolation", "none", "--agent", agent], env: ["GATE": gate.path]) else { return }
        try dropPrompt(name: "quiet.md", content: "Quiet.\n")
        XCTAssertTrue(waitUntil(timeout: 20) { self.progress("quiet")?["stalled"] as? Bool == true }, "\(String(describing: progress("quiet")))")
        let status = try gadugiRun(["status"]).stdout
        XCTAssertTrue(status.contains("stalled"), status)
        let json = try JSONSerialization.jsonObject(with: Data(try gadugiRun(["status", "--json"]).stdout.utf8)) as? [String: Any]
        let row = (json?["tasks"] as? [[String: Any]])?.first
        XCTAssertEqual(row?["stalled"] as? Bool, true)
        XCTAssertGreaterThanOrEqual(row?["idle_seconds"] as? Double ?? 0, 1)
        try write("", to: gate.appendingPathComponent("go"))
        XCTAssertTrue(waitUntil(timeout: 20) { self.list(.done) == ["quiet.md"] })
        let events = readText(spool.appendingPathComponent("monitoring/events.jsonl")) ?? ""
        XCTAssertTrue(events.contains(#""stalled":true"#), events)
        XCTAssertTrue(c.isRunning)
    }
}
