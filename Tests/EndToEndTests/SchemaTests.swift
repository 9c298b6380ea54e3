// The files as an API: a real run's files (done, failed, timeout, blocked, cancelled, rejected,
// retried, stalled tasks) validated against docs/schemas/ with python's jsonschema, closed
// (`--strict`): a field a schema does not describe fails as surely as a wrong type.

import Foundation
import XCTest

final class SchemaTests: GadugiTestCase {
    static let schemas = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/schemas")
    // python() and validate(_:) are in SchemaValidation.swift, shared with CommandSchemaTests.

    func testARealRunsFilesMatchTheirSchemas() throws {
        try initSpool()
        try writeConfig("""
            max_parallel: 3
            settle: 0
            min_free: 1M
            keep_processes: false
            kill_grace: 2s
            isolation: worktree
            worktree_setup: "true"
            stall_after: 1s
            on_stall: report
            timeout: 10m
            retries: 0
            retry_backoff: 100ms
            retry_backoff_max: 1s
            on_finish: "true"
            events_max: 64M

            """)
        let src = try makeScratchDir("prompts")
        let marks = try makeScratchDir("marks")
        let prompts: [(String, String)] = [
            ("ok", "Reports how far it is.\n"),
            ("fail", "Exits 3.\n"),
            ("after-fail", "---\ndepends_on: [fail]\nfiles: [README.md]\npriority: 2\nnonsense: 1\n---\nBlocked.\n"),
            ("quiet", "Says nothing for a while: stalled, then done.\n"),
            ("slow", "---\ntimeout: 1s\n---\nRuns past its timeout.\n"),
            ("flaky", "---\nretries: 1\n---\nFails once, then succeeds.\n"),
            ("held", "Held, then cancelled.\n"),
        ]
        let files = try prompts.map { try write($0.1, to: src.appendingPathComponent("\($0.0).md")).path }
        let agent = try write("""
            case "$GADUGI_TASK_ID" in
              ok) "$GADUGI_BIN" progress --percent 50 --message "half way"; echo changed > ok.txt ;;
              fail) echo "failing on purpose"; exit 3 ;;
              quiet) sleep 3 ;;
              slow) sleep 60 ;;
              flaky) [ -e "$MARKS/flaky" ] || { touch "$MARKS/flaky"; exit 1; } ;;
            esac

            """, to: src.appendingPathComponent("agent.sh"))
        XCTAssertEqual(try gadugiRun(["hold", "held"]).status, 0)
        let env = ["AGENT": agent.path, "MARKS": marks.path]
        let run = try startGadugi(["run", "--json", "--agent", #"sh "$AGENT""#] + files, env: env)
        try dropPrompt(name: "bad.md", content: "---\ndepends_on: [\n---\nMalformed front matter.\n")

        // While it runs: a registry with a coordinator, and status with running tasks.
        XCTAssertTrue(waitUntil(timeout: 30) { self.list(.running).contains("quiet.md") }, allQueued().description)
        let live = try makeScratchDir("live")
        let statusLive = try gadugiRun(["status", "--all", "--json"])
        try write(statusLive.stdout, to: live.appendingPathComponent("status.json"))
        XCTAssertTrue(waitUntil(timeout: 30) { self.readText(self.spool.appendingPathComponent("monitoring/events.jsonl"))?.contains(#""stalled":true"#) == true })
        try FileManager.default.copyItem(at: spool.appendingPathComponent("monitoring/registry.json"), to: live.appendingPathComponent("registry.json"))
        XCTAssertEqual(try gadugiRun(["cancel", "held"]).status, 0)

        XCTAssertTrue(waitForExit(run.process, timeout: 120), "run did not end")
        let result = run.result()
        XCTAssertEqual(result.status, 1, "\(result)")
        try write(result.stdout, to: live.appendingPathComponent("run.json"))
        try write(try gadugiRun(["status", "--all", "--json"]).stdout, to: live.appendingPathComponent("status-after.json"))

        // The run went as planned, so every kind of record and event is there to be checked.
        XCTAssertEqual(list(.done), ["flaky.md", "ok.md", "quiet.md"])
        XCTAssertEqual(list(.failed), ["fail.md", "slow.md"])
        XCTAssertEqual(list(.claimed), ["after-fail.md"])
        XCTAssertEqual(list(.cancelled), ["held.md"])
        XCTAssertEqual(list(.rejected), ["bad.md", "bad.md.reason"])
        XCTAssertEqual(progress("slow")?["state"] as? String, "timeout")
        XCTAssertEqual(progress("after-fail")?["state"] as? String, "blocked")
        let events = readText(spool.appendingPathComponent("monitoring/events.jsonl")) ?? ""
        for needle in [#""state":"rejected""#, #""not_before":"#, #""stalled":true"#, #""waiting_for":"#, #""state":"cancelled""#] {
            XCTAssertTrue(events.contains(needle), "events.jsonl has no \(needle)")
        }
        XCTAssertNotNil(readJSON(taskDir("ok").appendingPathComponent("report.json")))
        XCTAssertNotNil(readJSON(taskDir("fail").appendingPathComponent("worktree.json")))

        let spoolCheck = try validate(["--spool", root.path])
        XCTAssertEqual(spoolCheck.status, 0, "\(spoolCheck)")
        XCTAssertTrue(spoolCheck.stderr.contains("0 problem(s)"), spoolCheck.stderr)
        for (kind, name) in [("registry", "registry.json"), ("status", "status.json"), ("status", "status-after.json"), ("run", "run.json")] {
            let r = try validate([kind, live.appendingPathComponent(name).path])
            XCTAssertEqual(r.status, 0, "\(name): \(r)")
        }
        let coordinator = readJSON(live.appendingPathComponent("registry.json"))?["coordinator"] as? [String: Any]
        XCTAssertNotNil(coordinator?["pid"], "the live registry names its coordinator")
    }

    /// The check is not vacuous: a field no schema describes, a wrong type, an unknown config key
    /// and a malformed event line each fail it, with the place named.
    func testTheValidatorRefusesWhatTheSchemasDoNotDescribe() throws {
        let dir = try makeScratchDir("bad")
        let record = """
            {"schema_version": 1, "id": "a", "name": "a.md", "state": "done", "attempts": 1,
             "log": ".gadugi/monitoring/tasks/a/output.log", "prompt": ".gadugi/queue/done/a.md", "surprise": 1}
            """
        let cases: [(String, String, String)] = [
            ("progress", record, "'surprise' was unexpected"),
            ("progress", record.replacingOccurrences(of: #", "surprise": 1"#, with: "").replacingOccurrences(of: #""attempts": 1"#, with: #""attempts": "1""#), "at attempts"),
            ("config", "max_parallel: 2\nmax_paralel: 3\n", "'max_paralel' was unexpected"),
            ("event", #"{"schema_version":1,"at":"yesterday","id":"a","state":"done"}"# + "\n", "-:1"),
        ]
        for (i, (kind, text, expected)) in cases.enumerated() {
            let file = try write(text, to: dir.appendingPathComponent("\(i).\(kind)"))
            let r = try validate([kind, file.path])
            XCTAssertEqual(r.status, 1, "\(kind) #\(i) passed: \(r)")
            XCTAssertTrue(r.stdout.contains(expected.replacingOccurrences(of: "-:1", with: "\(file.path):1")), "\(kind) #\(i): \(r.stdout)")
        }
    }
}
