// Claim integrity: a prompt is claimed only once its producer is finished with it, and the counts
// the coordinator publishes are true.
//
// What this checks: a queued prompt that its producer rewrites (truncate and slow rewrite), reopens
// for appending, or appends to right after closing is run once with its final content, never half
// written (the claim waits for writers to close, and for `settle` after the last write); a prompt
// renamed into incoming/ is claimed at once however long `settle` is; and `counts.running` in both
// `gadugi status --json` and registry.json never exceeds --max-parallel. Why: producers write with
// plain `echo >`/`>>`, editors and slow generators, not only tmp+rename; an agent started on a half
// file does the wrong work, a second task for an append does it twice, and a count above the limit
// misleads every dashboard built on these files.

import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

final class ClaimIntegrityTests: GadugiTestCase {
    let catAgent = #"cat > "$OUT/$GADUGI_TASK_ID""#

    private func outputs(_ out: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []).sorted()
    }

    func testAQueuedPromptBeingRewrittenIsNotRunHalfWritten() throws {
        try initSpool()
        let out = try makeScratchDir("out")
        let agent = #"case $GADUGI_TASK_ID in b*) sleep 3;; esac; cat > "$OUT/$GADUGI_TASK_ID""#
        guard let coordinator = try startCoordinator(["--max-parallel", "1", "--agent", agent],
                                                     env: ["OUT": out.path]) else { return }
        try writeInPlace(name: "b.md", content: Data("the blocker: holds the only slot for 3 s\n".utf8))
        Thread.sleep(forTimeInterval: 0.5)
        try writeInPlace(name: "p.md", content: Data("old\n".utf8))
        Thread.sleep(forTimeInterval: 0.5)
        let writer = try startShell(#"(for i in 1 2 3 4 5 6; do echo line$i; sleep 1; done) > "$P""#,
                                    env: ["P": queue(.incoming).appendingPathComponent("p.md").path])

        XCTAssertTrue(waitForExit(writer, timeout: 15), "the slow writer did not finish")
        let finished = waitUntil(timeout: 20) {
            self.list(.done).contains("p.md") || self.list(.failed).contains("p.md")
        }
        XCTAssertTrue(finished, "p.md did not finish: \(allQueued())\n\(coordinator.result())")
        let final = "line1\nline2\nline3\nline4\nline5\nline6\n"
        XCTAssertEqual(readText(out.appendingPathComponent("p")), final,
                       "the agent of p must get the whole rewritten prompt, not a half-written one")
        XCTAssertEqual(readText(queue(.done).appendingPathComponent("p.md")), final,
                       "done/p.md should hold the final content")
        Thread.sleep(forTimeInterval: 1.5)
        XCTAssertEqual(allQueued(), ["done/b.md", "done/p.md"], "one task per prompt")
        XCTAssertTrue(coordinator.isRunning, "\(coordinator.result())")
    }

    func testAPromptReopenedForAppendingIsOneTaskWithEveryLine() throws {
        try initSpool()
        let out = try makeScratchDir("out")
        guard let coordinator = try startCoordinator(["--agent", catAgent], env: ["OUT": out.path]) else { return }
        let writer = try startShell(
            #"cd "$IN" && echo header > r.md && exec 3>>r.md && for i in 1 2 3; do echo body$i >&3; sleep 1; done"#,
            env: ["IN": queue(.incoming).path])
        XCTAssertTrue(waitForExit(writer, timeout: 15), "the writer did not finish")
        XCTAssertEqual(writer.terminationStatus, 0)
        XCTAssertTrue(waitUntil(timeout: 15) { self.list(.done).contains("r.md") || self.count(.failed) > 0 },
                      "\(allQueued())\n\(coordinator.result())")
        Thread.sleep(forTimeInterval: 2.5)
        XCTAssertEqual(readText(out.appendingPathComponent("r")), "header\nbody1\nbody2\nbody3\n",
                       "the agent must see the header and every appended line")
        XCTAssertEqual(outputs(out), ["r"], "one task only")
        XCTAssertEqual(allQueued(), ["done/r.md"])
        XCTAssertTrue(coordinator.isRunning, "\(coordinator.result())")
    }

    func testAnAppendWithinTheSettleTimeIsPartOfTheSameTask() throws {
        try initSpool()
        let out = try makeScratchDir("out")
        guard let coordinator = try startCoordinator(["--agent", catAgent], env: ["OUT": out.path]) else { return }
        let writer = try startShell(#"cd "$IN" && echo a > f.md && sleep 0.4 && echo b >> f.md"#,
                                    env: ["IN": queue(.incoming).path])
        XCTAssertTrue(waitForExit(writer, timeout: 10))
        XCTAssertTrue(waitUntil(timeout: 15) { self.list(.done).contains("f.md") }, "\(allQueued())\n\(coordinator.result())")
        Thread.sleep(forTimeInterval: 2.5)
        XCTAssertEqual(outputs(out), ["f"], "an append 0.4 s after the first write (settle 1 s) is the same task")
        XCTAssertEqual(readText(out.appendingPathComponent("f")), "a\nb\n")
        XCTAssertEqual(allQueued(), ["done/f.md"])
        XCTAssertTrue(coordinator.isRunning, "\(coordinator.result())")
    }

    func testRenamedInPromptsAreClaimedAtOnceEvenWithALongSettle() throws {
        try initSpool()
        try writeConfig("settle: 30s\n")
        let out = try makeScratchDir("out")
        guard let coordinator = try startCoordinator(["--agent", catAgent], env: ["OUT": out.path]) else { return }
        let start = monotonicSeconds()
        try dropPrompt(name: "renamed-in.md", content: "written in tmp, renamed into incoming\n")
        XCTAssertTrue(waitUntil(timeout: 10) { self.list(.done).contains("renamed-in.md") },
                      "a renamed-in prompt must not wait for settle: \(allQueued())\n\(coordinator.result())")
        XCTAssertLessThan(monotonicSeconds() - start, 10.5)
        XCTAssertEqual(readText(out.appendingPathComponent("renamed-in")), "written in tmp, renamed into incoming\n")
        XCTAssertTrue(coordinator.isRunning, "\(coordinator.result())")
    }

    func testRunningCountsNeverExceedMaxParallel() throws {
        try initSpool()
        let ids = (1...40).map { String(format: "count-%02d", $0) }
        for id in ids { try dropPrompt(name: "\(id).md", content: "count task \(id)\n") }
        guard let coordinator = try startCoordinator(["--max-parallel", "4", "--agent", "sleep 0.2"]) else { return }

        let registry = spool.appendingPathComponent("monitoring/registry.json")
        var maxStatus = 0, maxRegistry = 0, statusSamples = 0, registrySamples = 0
        var statusOver: [String] = [], registryOver: [String] = []
        let deadline = monotonicSeconds() + 40
        while count(.done) + count(.failed) < ids.count && monotonicSeconds() < deadline && coordinator.isRunning {
            if let data = FileManager.default.contents(atPath: registry.path),
               let reg = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
               let running = reg.object("counts")?.int("running") {
                registrySamples += 1
                maxRegistry = max(maxRegistry, running)
                if running > 4, registryOver.count < 3 { registryOver.append(String(decoding: data, as: UTF8.self)) }
            }
            let r = try gadugiRun(["status", "--json"], timeout: 10)
            if let obj = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any],
               let running = obj.object("counts")?.int("running") {
                statusSamples += 1
                maxStatus = max(maxStatus, running)
                if running > 4, statusOver.count < 3 { statusOver.append(r.stdout) }
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        XCTAssertTrue(coordinator.isRunning, "\(coordinator.result())")
        XCTAssertTrue(waitUntil(timeout: 10) { self.count(.done) == ids.count }, "\(allQueued().prefix(20))")
        assertAllDone(ids)
        XCTAssertGreaterThan(statusSamples, 5, "too few status samples to judge")
        XCTAssertGreaterThan(registrySamples, 5, "too few registry samples to judge")
        XCTAssertGreaterThan(max(maxStatus, maxRegistry), 0, "never saw a running task")
        XCTAssertLessThanOrEqual(maxStatus, 4, "gadugi status --json counted more running than --max-parallel 4:\n\(statusOver.joined(separator: "\n"))")
        XCTAssertLessThanOrEqual(maxRegistry, 4, "registry.json counted more running than --max-parallel 4:\n\(registryOver.joined(separator: "\n"))")
    }
}
