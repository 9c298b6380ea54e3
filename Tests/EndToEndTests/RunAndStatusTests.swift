import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Requirements 6 and 7: `gadugi run FILE...` exit status, `gadugi status --json`, `gadugi progress`.
final class RunAndStatusTests: GadugiTestCase {
    /// Fails (exit 4) when the prompt has a line `FAILME`, else succeeds.
    let grepAgent = #"if grep -q '^FAILME$'; then exit 4; fi; exit 0"#

    func testRunFilesExitsZeroWhenAllSucceedAndSummarizesThem() throws {
        let src = try makeScratchDir("src")
        let ids = ["alpha-task", "beta-task"]
        let files = try ids.map { try write(promptText($0), to: src.appendingPathComponent("\($0).md")).path }

        let r = try gadugiRun(["run"] + files + ["--agent", grepAgent], timeout: 30)
        XCTAssertFalse(r.timedOut, "\(r)")
        XCTAssertEqual(r.status, 0, "\(r)")
        assertAllDone(ids)
        let output = r.stdout + r.stderr
        for id in ids {
            XCTAssertTrue(output.contains(id), "the summary should mention \(id):\n\(r)")
        }
    }

    func testRunFilesExitsOneWhenOneFails() throws {
        let src = try makeScratchDir("src")
        let good = ["gamma-task", "epsilon-task"]
        let files = try good.map { try write(promptText($0), to: src.appendingPathComponent("\($0).md")).path }
        let bad = try write("Please fail.\nFAILME\n", to: src.appendingPathComponent("delta-task.md")).path

        let r = try gadugiRun(["run", files[0], bad, files[1], "--agent", grepAgent], timeout: 30)
        XCTAssertFalse(r.timedOut, "\(r)")
        XCTAssertEqual(r.status, 1, "one failed task should give exit 1:\n\(r)")
        XCTAssertEqual(allQueued(), ["done/epsilon-task.md", "done/gamma-task.md", "failed/delta-task.md"])
        XCTAssertEqual(progress("delta-task")?.int("exit_code"), 4, "\(String(describing: progress("delta-task")))")
        XCTAssertTrue((r.stdout + r.stderr).contains("delta-task"), "the summary should mention the failed task:\n\(r)")
    }

    func testStatusJsonCountsMatchTheDirectories() throws {
        try initSpool()
        let incoming = queue(.incoming)
        try write(promptText("ok-one"), to: incoming.appendingPathComponent("ok-one.md"))
        try write(promptText("ok-two"), to: incoming.appendingPathComponent("ok-two.txt"))
        try write("This one fails.\nFAILME\n", to: incoming.appendingPathComponent("bad-one.md"))
        let target = try write(promptText("target"), to: root.appendingPathComponent("target.md"))
        XCTAssertEqual(symlink(target.path, incoming.appendingPathComponent("link.md").path), 0)
        try FileManager.default.createDirectory(at: incoming.appendingPathComponent("dir.md"),
                                                withIntermediateDirectories: false)
        try write("editor backup\n", to: incoming.appendingPathComponent("notes.md~"))

        let r = try gadugiRun(["run", "--until-idle", "--agent", grepAgent], timeout: 30)
        XCTAssertFalse(r.timedOut, "\(r)")
        XCTAssertEqual(r.status, 0, "\(r)")

        let s = try gadugiRun(["status", "--json"], timeout: 20)
        XCTAssertEqual(s.status, 0, "\(s)")
        guard let json = (try? JSONSerialization.jsonObject(with: Data(s.stdout.utf8))) as? [String: Any] else {
            return XCTFail("status --json did not print a JSON object:\n\(s)")
        }
        XCTAssertEqual(json.int("schema_version"), 1)
        if let rootPath = json.string("root") {
            XCTAssertEqual(URL(fileURLWithPath: rootPath).resolvingSymlinksInPath().path, root.path)
        } else {
            XCTFail("no root in status --json: \(s.stdout)")
        }
        XCTAssertTrue(json.isNull("coordinator"), "no coordinator is running: \(s.stdout)")

        // Counts as the directories show them.
        let ignored: Set<String> = ["notes.md~"]
        let fromDirs: [String: Int] = [
            "queued": list(.incoming).filter { !ignored.contains($0) }.count,
            "claimed": count(.claimed),
            "running": count(.running),
            "done": count(.done),
            "failed": count(.failed),
            "rejected": list(.rejected).filter { !$0.hasSuffix(".reason") }.count,
        ]
        XCTAssertEqual(fromDirs, ["queued": 0, "claimed": 0, "running": 0, "done": 2, "failed": 1, "rejected": 2],
                       "queue directories: \(allQueued())")
        let counts = json.object("counts")
        for (key, n) in fromDirs {
            XCTAssertEqual(counts?.int(key), n, "counts.\(key) in status --json: \(s.stdout)")
        }
        XCTAssertEqual((json["tasks"] as? [Any])?.count, 0, "no task is claimed or running: \(s.stdout)")

        // --all lists the finished tasks too.
        let all = try gadugiRun(["status", "--json", "--all"], timeout: 20)
        XCTAssertEqual(all.status, 0, "\(all)")
        let allJSON = (try? JSONSerialization.jsonObject(with: Data(all.stdout.utf8))) as? [String: Any]
        let tasks = (allJSON?["tasks"] as? [[String: Any]]) ?? []
        var states: [String: String] = [:]
        for t in tasks { if let id = t.string("id") { states[id] = t.string("state") ?? "?" } }
        XCTAssertEqual(states, ["ok-one": "done", "ok-two": "done", "bad-one": "failed"], "\(all.stdout)")
    }

    func testProgressReportedFromInsideTheAgentEndsInProgressJson() throws {
        let src = try makeScratchDir("src")
        let file = try write(promptText("reports-progress"), to: src.appendingPathComponent("reports-progress.md"))
        let agent = #""$GADUGI_BIN" progress --percent 50 --message hi; sleep 1.5"#

        let r = try gadugiRun(["run", file.path, "--agent", agent], timeout: 30)
        XCTAssertFalse(r.timedOut, "\(r)")
        XCTAssertEqual(r.status, 0, "\(r)\noutput.log:\n\(readText(taskDir("reports-progress").appendingPathComponent("output.log")) ?? "")")
        assertAllDone(["reports-progress"])

        let p = progress("reports-progress")
        XCTAssertEqual(p?.string("state"), "done", "\(String(describing: p))")
        XCTAssertEqual(p?.double("percent"), 50, "progress.json: \(String(describing: p))")
        XCTAssertEqual(p?.string("message"), "hi", "progress.json: \(String(describing: p))")
        XCTAssertEqual(p?.int("exit_code"), 0, "progress.json: \(String(describing: p))")
    }
}

final class RunJSONSummaryTests: GadugiTestCase {
    func testRunFilesJSONSummaryNamesEachTasksEnd() throws {
        let src = try makeScratchDir("src")
        let ok = try write("fine\n", to: src.appendingPathComponent("ok.md"))
        let bad = try write("simulate: fail\n", to: src.appendingPathComponent("bad.md"))
        let r = try gadugiRun(["run", "--json", "--quiet", "--agent", "gadugi:simulate", ok.path, bad.path],
                              env: ["GADUGI_SIMULATE_STEP": "0.01"])
        XCTAssertEqual(r.status, 1, "one task failed: \(r)")
        let json = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any]
        XCTAssertEqual(json?.int("schema_version"), 1, "stdout must be the JSON summary alone:\n\(r.stdout)")
        XCTAssertEqual(json?["all_done"] as? Bool, false)
        let tasks = json?["tasks"] as? [[String: Any]] ?? []
        XCTAssertEqual(tasks.map { $0.string("id") ?? "" }, ["ok", "bad"])
        XCTAssertEqual(tasks.map { $0.string("state") ?? "" }, ["done", "failed"])
        XCTAssertEqual(tasks.last?.int("exit_code"), 1)
        XCTAssertEqual(tasks.first?.string("file"), ok.path)
    }
}
