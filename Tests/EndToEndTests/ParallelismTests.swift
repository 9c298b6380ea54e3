import Foundation
import XCTest

/// Requirement 1: parallelism is real and bounded by --max-parallel.
final class ParallelismTests: GadugiTestCase {
    func testEightTasksAtMaxParallelFourPeakAtExactlyFourAndBeatSerialTime() throws {
        let src = try makeScratchDir("prompts")
        let ledger = try makeScratchDir("ledger").appendingPathComponent("ledger")
        try write("", to: ledger)
        let ids = (1...8).map { "par-\($0)" }
        let files = try ids.map { try write(promptText($0), to: src.appendingPathComponent("\($0).md")).path }
        // Each agent records when it starts and ends (ns since the epoch), with one append per line.
        let agent = #"echo "start $(date +%s%N) $GADUGI_TASK_ID" >> "$LEDGER"; sleep 0.6; "#
            + #"echo "end $(date +%s%N) $GADUGI_TASK_ID" >> "$LEDGER""#

        let r = try gadugiRun(["run"] + files + ["--max-parallel", "4", "--agent", agent],
                              timeout: 30, env: ["LEDGER": ledger.path])
        XCTAssertFalse(r.timedOut, "\(r)")
        XCTAssertEqual(r.status, 0, "all eight tasks should succeed:\n\(r)")
        assertAllDone(ids)

        // Parse the ledger.
        let text = readText(ledger) ?? ""
        var events: [(t: Int64, delta: Int, id: String)] = []
        var starts: [String: Int] = [:], ends: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ").map(String.init)
            guard f.count == 3, let t = Int64(f[1]) else {
                XCTFail("malformed ledger line: \(line)"); continue
            }
            if f[0] == "start" { events.append((t, 1, f[2])); starts[f[2], default: 0] += 1 }
            else if f[0] == "end" { events.append((t, -1, f[2])); ends[f[2], default: 0] += 1 }
            else { XCTFail("malformed ledger line: \(line)") }
        }
        for id in ids {
            XCTAssertEqual(starts[id], 1, "\(id) should have started exactly once; ledger:\n\(text)")
            XCTAssertEqual(ends[id], 1, "\(id) should have ended exactly once; ledger:\n\(text)")
        }
        // Concurrency over time; on a tie an end is counted before a start.
        events.sort { $0.t != $1.t ? $0.t < $1.t : $0.delta < $1.delta }
        var current = 0, peak = 0
        for e in events {
            current += e.delta
            peak = max(peak, current)
        }
        XCTAssertLessThanOrEqual(peak, 4, "more than --max-parallel 4 agents ran at once; ledger:\n\(text)")
        XCTAssertEqual(peak, 4, "8 tasks of 0.6 s at --max-parallel 4 should reach 4 concurrent agents; ledger:\n\(text)")

        // Serial would be 8 × 0.6 = 4.8 s; two waves of four take ~1.2 s plus overhead.
        XCTAssertLessThan(r.seconds, 3.5, "gadugi run took \(r.seconds) s; serial time is 4.8 s")
        if let first = events.first?.t, let last = events.last?.t {
            let span = Double(last - first) / 1e9
            XCTAssertLessThan(span, 3.5, "agents spanned \(span) s from first start to last end")
        }
    }
}
