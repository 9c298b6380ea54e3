import XCTest
@testable import GadugiCore
import SystemPackage

final class TaskRecordTests: SpoolTestCase {
    func full() -> TaskRecord {
        var r = TaskRecord(id: "fix-login", ext: "txt", name: "Fix the login", state: .running)
        r.attempts = 2
        r.pid = 4242
        r.createdAt = Timestamp(seconds: 1_795_766_400, nanoseconds: 0)
        r.claimedAt = Timestamp(seconds: 1_795_766_401, nanoseconds: 5_000_000)
        r.startedAt = Timestamp(seconds: 1_795_766_402, nanoseconds: 345_000_000)
        r.finishedAt = Timestamp(seconds: 1_795_766_462, nanoseconds: 0)
        r.exitCode = 3
        r.signal = nil
        r.lastHeartbeat = Timestamp(seconds: 1_795_766_460, nanoseconds: 0)
        r.percent = 62.5
        r.message = "running \"tests\""
        return r
    }

    func testJSONHasEveryDocumentedKeyInOrder() {
        let json = full().json(layout)
        guard case .object(let pairs) = json else { return XCTFail("not an object") }
        XCTAssertEqual(pairs.map(\.0), ["schema_version", "id", "name", "state", "attempts", "pid", "created_at", "claimed_at",
                                        "started_at", "finished_at", "exit_code", "signal", "last_heartbeat", "percent",
                                        "message", "log", "prompt", "task_name", "depends_on", "files", "priority",
                                        "agent", "base", "isolation", "unknown_keys", "batch", "batch_size", "waiting_for",
                                        "blocked_reason", "branch", "base_commit", "head", "worktree", "stall_after", "on_stall", "timeout", "retries", "stalled", "last_activity", "not_before",
                                        "slurm", "executor", "slurm_job_id"])
        XCTAssertEqual(json["schema_version"], .int(1))
        XCTAssertEqual(json["started_at"], .string("2026-11-27T08:00:02.345Z"))
        XCTAssertEqual(json["signal"], .null, "unknown values are null")
        XCTAssertEqual(json["log"], .string(".gadugi/monitoring/tasks/fix-login/output.log"))
        XCTAssertEqual(json["prompt"], .string(".gadugi/queue/running/fix-login.txt"))
    }

    func testPromptPathFollowsTheState() {
        var r = full()
        for (state, dir) in [(TaskState.claimed, "claimed"), (.running, "running"), (.done, "done"), (.failed, "failed")] {
            r.state = state
            XCTAssertEqual(r.json(layout)["prompt"], .string(".gadugi/queue/\(dir)/fix-login.txt"))
            XCTAssertEqual(state.queue.rawValue, dir)
        }
    }

    func testWholePercentIsAnInteger() {
        var r = full()
        r.percent = 40
        XCTAssertEqual(r.json(layout)["percent"], .int(40))
        r.percent = nil
        XCTAssertEqual(r.json(layout)["percent"], .null)
    }

    /// An agent may write any number into its own report.json, and the coordinator copies it into
    /// the record: encoding the record must never trap. Run in a child so a trap fails only this test.
    func testAnyPercentAnAgentReportsCanBeEncoded() {
        let layout = self.layout!
        for percent in [1e19, -1e19, 1e300, Double.infinity, -Double.infinity, Double.nan, 9.3e18] {
            let status = runInChildProcess {
                var r = TaskRecord(id: "x", ext: "md", name: "x", state: .running)
                r.percent = percent
                let json = r.json(layout)
                return JSON.parse(Array(json.encoded().utf8)) == nil ? 2 : 0
            }
            XCTAssertEqual(describeWaitStatus(status), "exit 0", "TaskRecord.json with percent \(percent)")
            let reportStatus = runInChildProcess {
                JSON.parse(Array(AgentReport(percent: percent, message: nil).json.encoded().utf8)) == nil ? 2 : 0
            }
            XCTAssertEqual(describeWaitStatus(reportStatus), "exit 0", "AgentReport.json with percent \(percent)")
        }
    }

    func testRoundTripThroughProgressJSON() throws {
        let r = full()
        try Files.makeDirectories(layout.taskDirectory(r.id))
        try Files.writeAtomically(layout.progress(r.id), Array(r.json(layout).encoded(pretty: true).utf8))
        XCTAssertEqual(TaskRecord.load(layout, id: r.id), r)
    }

    func testLoadOfMissingOrBrokenProgress() throws {
        XCTAssertNil(TaskRecord.load(layout, id: "nope"))
        try Files.makeDirectories(layout.taskDirectory("x"))
        try write(layout.progress("x"), "{ not json")
        XCTAssertNil(TaskRecord.load(layout, id: "x"))
        try write(layout.progress("x"), #"{"id":"x","state":"exploded"}"#)
        XCTAssertNil(TaskRecord.load(layout, id: "x"), "an unknown state is not a record")
        try write(layout.progress("x"), #"{"id":"x","state":"done"}"#)
        let minimal = TaskRecord.load(layout, id: "x")
        XCTAssertEqual(minimal?.state, .done)
        XCTAssertEqual(minimal?.name, "x")
        XCTAssertEqual(minimal?.ext, "md")
        XCTAssertEqual(minimal?.attempts, 0)
        XCTAssertNil(minimal?.pid)
    }

    func testAgentReport() throws {
        XCTAssertEqual(AgentReport(percent: 40, message: nil).json.encoded(), #"{"schema_version":1,"percent":40,"message":null}"#)
        XCTAssertEqual(AgentReport(percent: 12.5, message: "m").json.encoded(), #"{"schema_version":1,"percent":12.5,"message":"m"}"#)
        let path = root + "/report.json"
        try write(path, #"{"message": "only a message"}"#)
        XCTAssertEqual(AgentReport.load(path), AgentReport(percent: nil, message: "only a message"))
        try write(path, "[1,2]")
        XCTAssertEqual(AgentReport.load(path), AgentReport(percent: nil, message: nil), "JSON but not an object: nothing known")
        XCTAssertNil(AgentReport.load(root + "/missing.json"))
    }

    func testGraphFieldsRoundTrip() {
        var r = full()
        r.state = .waiting
        r.taskName = "api"
        r.dependsOn = ["schema", "auth"]
        r.dependencies = ["schema": "schema-2"]
        r.files = ["src/api/**"]
        r.priority = 5
        r.agent = "claude -p"
        r.base = "main"
        r.unknownKeys = ["owner"]
        r.batch = "b1"
        r.batchSize = 3
        r.waitingFor = ["schema-2 (running)", "auth (not seen yet)"]
        let json = r.json(layout)
        XCTAssertEqual(json["prompt"], .string(".gadugi/queue/claimed/fix-login.txt"), "a waiting task's prompt is in claimed/")
        XCTAssertEqual(TaskRecord(json: json), r)
        XCTAssertEqual(JSON.parse(json.bytes())?["depends_on"]?.array?.first?["resolved"], .string("schema-2"))
    }

    func testEndingIsWordedOneWayEverywhere() {
        var record = TaskRecord(id: "a", ext: "md", name: "a.md", state: .failed)
        XCTAssertNil(record.ending)
        record.exitCode = 3
        XCTAssertEqual(record.ending, "exit 3")
        record.exitCode = nil
        record.signal = 9
        XCTAssertEqual(record.ending, "killed by SIGKILL")
        XCTAssertEqual(TaskLogLine.finished(record, layout: Layout(root: "/r")).message,
                       "failed a (killed by SIGKILL): see .gadugi/monitoring/tasks/a/output.log")
    }
}
