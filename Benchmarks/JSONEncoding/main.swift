// `make bench-json`: the cost of writing and reading the spool's JSON with gadugi's own encoder
// (`JSON`, ordered keys) and with Foundation's `JSONEncoder`/`JSONDecoder` on a Codable mirror of
// the same fields, every optional set so that both write the same keys. See BENCHMARKS.md,
// "JSON encoding": it is why progress.json and events.jsonl are not encoded with Codable.

import Foundation
import GadugiCore

struct ProgressMirror: Codable {
    struct Dependency: Codable { var name: String; var resolved: String }
    var schemaVersion = 1
    var id: String, name: String, state: String, attempts: Int, pid: Int32
    var createdAt, claimedAt, startedAt, finishedAt: String
    var exitCode, signal: Int
    var lastHeartbeat: String, percent: Double, message, log, prompt, taskName: String
    var dependsOn: [Dependency], files: [String], priority: Int, agent, base, isolation: String
    var unknownKeys: [String], batch: String, batchSize: Int, waitingFor: [String], blockedReason: String
    var branch, baseCommit, head, worktree: String, stallAfter: Double, onStall: String, timeout: Double
    var retries: Int, stalled: Bool, lastActivity, notBefore: String

    /// Explicit keys (no key strategy), the fastest way to use Codable.
    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version"
        case id
        case name
        case state
        case attempts
        case pid
        case createdAt = "created_at"
        case claimedAt = "claimed_at"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case exitCode = "exit_code"
        case signal
        case lastHeartbeat = "last_heartbeat"
        case percent
        case message
        case log
        case prompt
        case taskName = "task_name"
        case dependsOn = "depends_on"
        case files
        case priority
        case agent
        case base
        case isolation
        case unknownKeys = "unknown_keys"
        case batch
        case batchSize = "batch_size"
        case waitingFor = "waiting_for"
        case blockedReason = "blocked_reason"
        case branch
        case baseCommit = "base_commit"
        case head
        case worktree
        case stallAfter = "stall_after"
        case onStall = "on_stall"
        case timeout
        case retries
        case stalled
        case lastActivity = "last_activity"
        case notBefore = "not_before"
    }

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
    var schemaVersion = 1
    var at: String, id: String, state: String, pid: Int32
    enum CodingKeys: String, CodingKey { case schemaVersion = "schema_version", at, id, state, pid }
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
pretty.outputFormatting = [.prettyPrinted, .withoutEscapingSlashes]
let compact = JSONEncoder()
compact.outputFormatting = [.withoutEscapingSlashes]
let decoder = JSONDecoder()
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

/// The first keys each writes: Foundation's order is its dictionary's (not the declaration's), so
/// it changes from build to build; `.sortedKeys` would fix it alphabetically.
func firstKeys(_ bytes: [UInt8]) -> String {
    String(decoding: bytes, as: UTF8.self).split(separator: "\n").dropFirst().prefix(4)
        .map { $0.trimmingCharacters(in: .whitespaces).split(separator: ":").first.map(String.init) ?? "" }.joined(separator: " ")
}
print("first keys, gadugi's JSON: \(firstKeys(file))")
print("first keys, Foundation:    \(firstKeys(Array(try pretty.encode(mirror))))")
