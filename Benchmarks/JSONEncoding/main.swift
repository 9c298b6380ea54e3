// `make bench-json`: the cost of writing and reading the spool's JSON with gadugi's own encoder
// (`JSON`, ordered keys) and with Foundation's `JSONEncoder`/`JSONDecoder` on a Codable mirror of
// the same fields, every optional set so that both write the same keys. See BENCHMARKS.md,
// "JSON encoding": it is why progress.json and events.jsonl are not encoded with Codable.

import Foundation
import GadugiCore

struct ProgressMirror: Codable {
    struct Dependency: Codable { var name: String; var resolved: String }
    var schemaVersion = 1, id: String, name: String, state: String, attempts: Int, pid: Int32
    var createdAt, claimedAt, startedAt, finishedAt: String
    var exitCode, signal: Int
    var lastHeartbeat: String, percent: Double, message, log, prompt, taskName: String
    var dependsOn: [Dependency], files: [String], priority: Int, agent, base, isolation: String
    var unknownKeys: [String], batch: String, batchSize: Int, waitingFor: [String], blockedReason: String
    var branch, baseCommit, head, worktree: String, stallAfter: Double, onStall: String, timeout: Double
    var retries: Int, stalled: Bool, lastActivity, notBefore: String

    init(_ r: TaskRecord, _ layout: Layout) {
        let t = r.startedAt!.iso8601
        id = r.id; name = r.name; state = r.state.rawValue; attempts = r.attempts; pid = r.pid!
        createdAt = t; claimedAt = t; startedAt = t; finishedAt = t; exitCode = 0; signal = 0
        lastHeartbeat = t; percent = r.percent!; message = r.message!; log = layout.relative(layout.log(r.id))
        prompt = layout.relative(layout.queue(.running, r.fileName)); taskName = r.taskName!
        dependsOn = r.dependsOn.map { Dependency(name: $0, resolved: $0) }; files = r.files; priority = r.priority
        agent = r.agent!; base = r.base!; isolation = "worktree"; unknownKeys = r.unknownKeys; batch = r.batch!
        batchSize = r.batchSize!; waitingFor = r.waitingFor; blockedReason = "none"; branch = r.branch!
        baseCommit = r.baseCommit!; head = r.head!; worktree = r.worktree!; stallAfter = 600; onStall = "report"
        timeout = 3600; retries = 1; stalled = false; lastActivity = t; notBefore = t
    }
}

struct EventMirror: Codable {
    var schemaVersion = 1, at: String, id: String, state: String, pid: Int32
}

func sample() -> TaskRecord {
    let t = Timestamp.now()
    var r = TaskRecord(id: "fix-login", ext: "md", name: "fix-login.md", state: .running)
    r.attempts = 1; r.pid = 4242; r.createdAt = t; r.claimedAt = t; r.startedAt = t; r.finishedAt = t
    r.exitCode = 0; r.signal = 0; r.lastHeartbeat = t; r.percent = 37.5; r.message = "step 3 of 8: \"running the tests\""
    r.taskName = "fix-login"; r.dependsOn = ["users-api"]; r.dependencies = ["users-api": "users-api"]
    r.files = ["src/auth/**"]; r.agent = "claude -p"; r.base = "main"; r.isolation = .worktree; r.unknownKeys = ["owner"]
    r.batch = "2026-11-27T08:01:02.345Z-4242"; r.batchSize = 10; r.waitingFor = []; r.blockedReason = "none"
    r.branch = "gadugi/fix-login"; r.baseCommit = String(repeating: "a", count: 40); r.head = String(repeating: "b", count: 40)
    r.worktree = ".gadugi/worktrees/fix-login"; r.stallAfter = 600; r.onStall = .report; r.timeout = 3600; r.retries = 1
    r.lastActivity = t; r.notBefore = t
    return r
}

/// Median microseconds per call over 5 rounds of `n` calls.
func measure(_ label: String, n: Int = 20_000, _ body: () throws -> Int) rethrows {
    var rounds: [Double] = []
    var sink = 0
    for _ in 0..<5 {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<n { sink &+= try body() }
        rounds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / Double(n) / 1000)
    }
    print(label.padding(toLength: 52, withPad: " ", startingAt: 0), String(format: "%7.2f µs", rounds.sorted()[2]), sink == 42 ? "" : "")
}

let layout = Layout(root: "/tmp/project")
let record = sample()
let mirror = ProgressMirror(record, layout)
let pretty = JSONEncoder()
pretty.keyEncodingStrategy = .convertToSnakeCase
pretty.outputFormatting = [.prettyPrinted, .withoutEscapingSlashes]
let compact = JSONEncoder()
compact.keyEncodingStrategy = .convertToSnakeCase
compact.outputFormatting = [.withoutEscapingSlashes]
let decoder = JSONDecoder()
decoder.keyDecodingStrategy = .convertFromSnakeCase
let file = record.json(layout).bytes(pretty: true)
let fileData = try pretty.encode(mirror)

print("one task record (\(file.count) bytes as progress.json), per call:")
measure("progress.json, gadugi's JSON (TaskRecord.json)") { record.json(layout).bytes(pretty: true).count }
try measure("progress.json, Foundation JSONEncoder (Codable)") { try pretty.encode(ProgressMirror(record, layout)).count }
measure("events.jsonl line, gadugi's JSON (Event.json)") { Event(record).json.bytes().count }
try measure("events.jsonl line, Foundation JSONEncoder (Codable)") {
    try compact.encode(EventMirror(at: Timestamp.now().iso8601, id: record.id, state: "running", pid: record.pid!)).count
}
measure("read progress.json, gadugi's JSON (TaskRecord(json:))") { TaskRecord(json: JSON.parse(file)!)!.attempts }
try measure("read progress.json, Foundation JSONDecoder (Codable)") { try decoder.decode(ProgressMirror.self, from: fileData).attempts }
