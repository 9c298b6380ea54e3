import Glibc
import XCTest
@testable import GadugiCore
import SystemPackage

final class TaskReporterTests: SpoolTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        XCTAssertEqual(mkdir(layout.taskDirectory("fix-login"), 0o755), 0)
    }

    func failure(flag: String?, env: [String: String], file: StaticString = #filePath, line: UInt = #line) -> TaskReporter.Failure? {
        do {
            let r = try TaskReporter(layout: layout, flag: flag, environment: env)
            XCTFail("expected a failure, got a reporter for \(r.id)", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    func report() -> JSON? {
        bytes(layout.report("fix-login")).flatMap(JSON.parse)
    }

    // MARK: finding the task

    func testTaskFromTheEnvironment() throws {
        let r = try TaskReporter(layout: layout, flag: nil, environment: ["GADUGI_TASK_ID": "fix-login"])
        XCTAssertEqual(r.id, "fix-login")
    }

    func testFlagBeatsTheEnvironment() throws {
        XCTAssertEqual(mkdir(layout.taskDirectory("other"), 0o755), 0)
        let r = try TaskReporter(layout: layout, flag: "other", environment: ["GADUGI_TASK_ID": "fix-login"])
        XCTAssertEqual(r.id, "other")
    }

    func testNoTask() {
        guard case .noTask = failure(flag: nil, env: [:]) else { return XCTFail("expected .noTask") }
        guard case .noTask = failure(flag: nil, env: ["GADUGI_TASK_ID": ""]) else { return XCTFail("expected .noTask for an empty id") }
        XCTAssertTrue(TaskReporter.Failure.noTask.description.contains("--task"))
    }

    func testInvalidIds() {
        for id in ["a b", "../fix-login", "-x", "fix-login/..", "x.md", "é"] {
            guard case .badTask(let named) = failure(flag: id, env: [:]) else { XCTFail("expected .badTask for '\(id)'"); continue }
            XCTAssertEqual(named, id)
        }
        guard case .badTask = failure(flag: nil, env: ["GADUGI_TASK_ID": "../../etc"]) else { return XCTFail("expected .badTask") }
    }

    func testUnknownId() {
        guard case .unknownTask(let id, let where_) = failure(flag: "no-such-task", env: [:]) else { return XCTFail("expected .unknownTask") }
        XCTAssertEqual(id, "no-such-task")
        XCTAssertEqual(where_, root)
        XCTAssertTrue(TaskReporter.Failure.unknownTask(id, root).description.contains(root))
    }

    func testATaskIdThatIsAFileIsUnknown() throws {
        try write(layout.taskDirectory("plain-file"), "")
        guard case .unknownTask = failure(flag: "plain-file", env: [:]) else { return XCTFail("expected .unknownTask") }
    }

    /// The spool gives a second prompt with a 64-character base the id `<base>-2`: its agent
    /// must be able to report progress.
    func testANumberedIdOfALongBaseIsAccepted() throws {
        let id = TaskID.candidate(String(repeating: "a", count: 64), 2)
        XCTAssertEqual(mkdir(layout.taskDirectory(id), 0o755), 0)
        XCTAssertNoThrow(try TaskReporter(layout: layout, flag: nil, environment: ["GADUGI_TASK_ID": id]),
                         "an id the spool made (\(id.count) characters) must be accepted")
    }

    // MARK: progress and heartbeat

    func testProgressWritesTheReportAndBeatsTheHeart() throws {
        let r = try TaskReporter(layout: layout, flag: "fix-login", environment: [:])
        XCTAssertFalse(exists(layout.heartbeat("fix-login")))
        try r.progress(percent: 40, message: "running tests")
        XCTAssertEqual(report(), .object([("schema_version", .int(1)), ("percent", .int(40)), ("message", .string("running tests"))]))
        XCTAssertTrue(exists(layout.heartbeat("fix-login")), "progress touches the heartbeat")
        XCTAssertEqual(AgentReport.load(layout.report("fix-login")), AgentReport(percent: 40, message: "running tests"))
        XCTAssertEqual(names(layout.taskDirectory("fix-login")), ["report.json"], "no temporary file left behind")
    }

    func testAMissingValueKeepsTheOldOne() throws {
        let r = try TaskReporter(layout: layout, flag: "fix-login", environment: [:])
        try r.progress(percent: 40, message: "running tests")
        try r.progress(percent: nil, message: "writing docs")
        XCTAssertEqual(report()?["percent"], .int(40))
        XCTAssertEqual(report()?["message"], .string("writing docs"))
        try r.progress(percent: 62.5, message: nil)
        XCTAssertEqual(report()?["percent"], .double(62.5))
        XCTAssertEqual(report()?["message"], .string("writing docs"))
        try r.progress(percent: nil, message: nil)
        XCTAssertEqual(AgentReport.load(layout.report("fix-login")), AgentReport(percent: 62.5, message: "writing docs"))
    }

    func testProgressMergesIntoAReportTheAgentWroteItself() throws {
        try write(layout.report("fix-login"), #"{"percent": 10, "message": "by hand"}"#)
        let r = try TaskReporter(layout: layout, flag: "fix-login", environment: [:])
        try r.progress(percent: 20, message: nil)
        XCTAssertEqual(AgentReport.load(layout.report("fix-login")), AgentReport(percent: 20, message: "by hand"))
    }

    /// `gadugi progress --message` after the agent wrote a huge percent into report.json itself.
    func testProgressAfterAnAgentWroteAHugePercentDoesNotCrash() throws {
        for text in [#"{"percent": 1e19}"#, #"{"percent": 1e999}"#, #"{"percent": -1e300}"#] {
            try write(layout.report("fix-login"), text)
            let layout = self.layout!
            let status = runInChildProcess {
                guard let r = try? TaskReporter(layout: layout, flag: "fix-login", environment: [:]) else { return 3 }
                return (try? r.progress(percent: nil, message: "still here")) == nil ? 2 : 0
            }
            XCTAssertEqual(describeWaitStatus(status), "exit 0", "report.json was \(text)")
            XCTAssertEqual(report()?["message"], .string("still here"), "report.json was \(text)")
        }
    }

    func testAnUnreadableReportIsReplaced() throws {
        try write(layout.report("fix-login"), "not json {")
        let r = try TaskReporter(layout: layout, flag: "fix-login", environment: [:])
        try r.progress(percent: 5, message: nil)
        XCTAssertEqual(report(), .object([("schema_version", .int(1)), ("percent", .int(5)), ("message", .null)]))
    }

    func testHeartbeatTouchesTheFile() throws {
        let r = try TaskReporter(layout: layout, flag: "fix-login", environment: [:])
        try r.heartbeat()
        XCTAssertTrue(exists(layout.heartbeat("fix-login")))
        setMtime(layout.heartbeat("fix-login"), seconds: 1_000_000_000)
        try r.heartbeat()
        XCTAssertGreaterThan(mtime(layout.heartbeat("fix-login"))?.seconds ?? 0, 1_000_000_000, "the mtime moved to now")
        try r.progress(percent: 1, message: nil)
        setMtime(layout.heartbeat("fix-login"), seconds: 1_000_000_000)
        try r.progress(percent: 2, message: nil)
        XCTAssertGreaterThan(mtime(layout.heartbeat("fix-login"))?.seconds ?? 0, 1_000_000_000)
    }

    func testHeartbeatWithoutTheHeartbeatsDirectoryIsAnIOFailure() throws {
        let r = try TaskReporter(layout: layout, flag: "fix-login", environment: [:])
        removeTree(layout.heartbeats)
        do {
            try r.heartbeat()
            XCTFail("expected a failure")
        } catch {
            guard case .io(let e) = error else { return XCTFail("expected .io, got \(error)") }
            XCTAssertEqual(e.errno, .noSuchFileOrDirectory)
        }
    }
}
