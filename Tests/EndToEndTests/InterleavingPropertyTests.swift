// A property of the whole system, checked on random schedules with x-sheep/swift-property-based:
// whatever happens to a queue — prompts dropped (some depending on earlier ones), coordinators
// started and killed with SIGKILL, task processes killed with SIGKILL, cancels, retries, holds and
// releases, in any order — once a last coordinator drains it, every prompt has ended in exactly one
// place, none was run twice at once, none was lost, and none appeared that was not dropped.
//
// Each schedule runs the real binary against a fresh git repository. A failing schedule is shrunk to
// a shorter one that still fails, and the failure names a seed: add `.fixedSeed("<seed>")` to the
// test's traits to replay it. GADUGI_INTERLEAVING_DEBUG=<file> writes each failing schedule's task
// folders and events there. GADUGI_INTERLEAVING_COUNT=<n> runs n schedules instead of 8;
// GADUGI_INTERLEAVING_STEPS='drop(15), retry(37), ...' (as a failure prints it) runs that one.

import Foundation
import PropertyBased
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A Swift Testing test's workspace: the same helpers as `GadugiTestCase`, failures as issues.
final class Sandbox: SpoolHarness {
    let workspace: Workspace
    private(set) var failed = false

    init() throws { workspace = try Workspace() }

    func fail(_ message: String, file: StaticString, line: UInt) {
        failed = true
        Issue.record("\(message) (\(file):\(line))")
    }
}

/// One thing that happens to the queue. `n` (0...99) picks what it happens to, or how long.
struct Step: Sendable, CustomStringConvertible {
    enum Kind: CaseIterable, Sendable {
        case drop, dropDependant, startCoordinator, killCoordinator, killTask, cancel, retry, hold, release, pause
    }
    let kind: Kind
    let n: Int

    var description: String { "\(kind)(\(n))" }

    /// Steps as `description` prints them: `drop(15), retry(37)`, with or without brackets.
    static func parse(_ text: String) -> [Step] {
        text.split(whereSeparator: { ",[] ".contains($0) }).compactMap { word in
            let parts = word.split(whereSeparator: { "()".contains($0) })
            guard parts.count == 2, let n = Int(parts[1]),
                  let kind = Kind.allCases.first(where: { "\($0)" == parts[0] }) else { return nil }
            return Step(kind: kind, n: n)
        }
    }

    /// Schedules of 8 to 20 steps; a shrunk schedule drops steps and lowers `n`.
    static let schedules = zip(Gen<Kind>.case, Gen.int(in: 0...99))
        .map { Step(kind: $0, n: $1) }
        .array(of: 8...20)
}

@Suite struct InterleavingPropertyTests {
    @Test(.timeLimit(.minutes(20)))
    func randomSchedulesLoseAndDuplicateNothing() async {
        let environment = ProcessInfo.processInfo.environment
        if let given = environment["GADUGI_INTERLEAVING_STEPS"] {
            return Self.check(Step.parse(given))
        }
        let count = environment["GADUGI_INTERLEAVING_COUNT"].flatMap(Int.init) ?? 8
        await propertyCheck(count: count, input: Step.schedules) { steps in
            Self.check(steps)
        }
    }

    /// Runs one schedule in a fresh sandbox, kept for inspection when it fails.
    private static func check(_ steps: [Step]) {
        let sandbox: Sandbox
        do { sandbox = try Sandbox() } catch {
            Issue.record("no sandbox: \(error)")
            return
        }
        var schedule = Schedule(sandbox)
        do { try schedule.run(steps) } catch { sandbox.fail("schedule \(steps) threw \(error)", file: #filePath, line: #line) }
            sandbox.workspace.stop(keep: sandbox.failed)
    }
}

/// One schedule against one sandbox: the steps, a drain, the checks.
struct Schedule {
    let sandbox: Sandbox
    var dropped: [String] = []
    var coordinator: BackgroundProcess?
    let args: [String]
    let env: [String: String]
    let ledger: URL

    /// Appends `<id> <attempt> start|end` to $LEDGER around a short sleep, under a lock per task
    /// (a second live attempt finds it taken and writes OVERLAP). Fails when the prompt says so.
    private static let agent = #"""
        exec 9>>"$LOCKS/$GADUGI_TASK_ID"
        flock -n 9 || echo "$GADUGI_TASK_ID $GADUGI_ATTEMPT OVERLAP" >> "$LEDGER"
        echo "$GADUGI_TASK_ID $GADUGI_ATTEMPT start" >> "$LEDGER"
        read seconds verdict
        sleep "$seconds"
        echo "$GADUGI_TASK_ID $GADUGI_ATTEMPT end" >> "$LEDGER"
        [ "$verdict" != fail ]
        """#

    init(_ sandbox: Sandbox) {
        self.sandbox = sandbox
        let scratch = sandbox.workspace.scratch
        ledger = scratch.appendingPathComponent("ledger")
        env = ["LOCKS": scratch.path, "LEDGER": ledger.path]
        args = ["--isolation", "none", "--max-parallel", "3", "--agent", Self.agent]
    }

    mutating func run(_ steps: [Step]) throws {
        try sandbox.initSpool()
        try sandbox.writeConfig("retries: 1\nretry_backoff: 0.1s\nkill_grace: 1s\nsettle: 0\n")
        for step in steps { try perform(step) }
        killCoordinator()
        try sandbox.gadugiRun(["release"])
        let drain = try sandbox.gadugiRun(["run", "--until-idle"] + args, timeout: 120, env: env)
        #expect(drain.status == 0, "drain after \(steps): \(drain)")
        check(after: steps)
    }

    private mutating func perform(_ step: Step) throws {
        let n = step.n
        switch step.kind {
        case .drop, .dropDependant:
            let id = String(format: "p%02d", dropped.count + 1)
            let body = String(format: "0.%02d %@\n", 5 + n % 30, n % 5 == 0 ? "fail" : "ok")
            let front = step.kind == .dropDependant && !dropped.isEmpty ? "---\ndepends_on: \(dropped[n % dropped.count])\n---\n" : ""
            try sandbox.dropPrompt(name: "\(id).md", content: front + body)
            dropped.append(id)
        case .startCoordinator where coordinator == nil:
            coordinator = try sandbox.startCoordinator(args, env: env)
        case .killCoordinator:
            killCoordinator()
        case .killTask:
            let pids = runningPids()
            if !pids.isEmpty { kill(pids[n % pids.count], SIGKILL) }
        case .cancel where !dropped.isEmpty:
            try sandbox.gadugiRun(["cancel", dropped[n % dropped.count]], timeout: 30)
        case .retry where !dropped.isEmpty:
            try sandbox.gadugiRun(["retry", dropped[n % dropped.count]], timeout: 30)
        case .hold:
            try sandbox.gadugiRun(["hold"])
        case .release:
            try sandbox.gadugiRun(["release"])
        case .pause, .startCoordinator, .cancel, .retry:
            Thread.sleep(forTimeInterval: Double(n * 3) / 1000)
        }
    }

    private mutating func killCoordinator() {
        guard let c = coordinator else { return }
        c.signal(SIGKILL)
        #expect(waitForExit(c.process, timeout: 10), "a coordinator outlived SIGKILL")
        coordinator = nil
    }

    /// Pids of running tasks, from registry.json, in a stable order.
    private func runningPids() -> [pid_t] {
        guard let registry = sandbox.readJSON(sandbox.spool.appendingPathComponent("monitoring/registry.json")),
              let tasks = registry["tasks"] as? [[String: Any]] else { return [] }
        return tasks.compactMap { task in
            task["state"] as? String == "running" ? (task["pid"] as? NSNumber)?.int32Value : nil
        }.filter { $0 > 1 }.sorted()
    }

    /// Every prompt in exactly one folder, final unless it waits on a task that did not succeed;
    /// no attempt overlapped another of its task; nothing appeared that was not dropped.
    private func check(after steps: [Step]) {
        let places = placesById(after: steps)
        for id in dropped {
            let found = places[id] ?? []
            #expect(found.count == 1, "\(id) is in \(found) (lost, or twice) after \(steps); all: \(sandbox.allQueued())")
            guard found.count == 1, let place = found.first else { continue }
            if place == "claimed" {
                #expect(cannotRun(id), "\(id) left in claimed/ though it could run, after \(steps): \(String(describing: sandbox.progress(id)))")
            } else {
                #expect(["done", "failed", "cancelled"].contains(place), "\(id) ended in \(place)/ after \(steps)")
            }
        }
        #expect(Set(places.keys) == Set(dropped), "a prompt appeared that was not dropped, after \(steps): \(sandbox.allQueued())")
        let overlaps = (sandbox.readText(ledger) ?? "").split(separator: "\n").filter { $0.hasSuffix("OVERLAP") }
        #expect(overlaps.isEmpty, "two attempts of a task ran at once, after \(steps): \(overlaps)")
        let ended = ["done", "failed", "cancelled", "claimed"].map { "\($0) \(sandbox.list(QueueDir(rawValue: $0)!).count)" }
        print("interleaving: \(steps.count) steps, \(dropped.count) prompts: \(ended.joined(separator: ", "))")
        if sandbox.failed || places.values.contains(where: { $0.count != 1 }) { writeDebugDump() }
    }

    /// A task left in claimed/ at the end may stay there only when it cannot run: it is blocked, or
    /// it waits only for tasks that cannot run either (a chain: c waits for b, which waits for
    /// blocked a).
    private func cannotRun(_ id: String, seen: Set<String> = []) -> Bool {
        guard !seen.contains(id), let record = sandbox.progress(id) else { return false }
        if record.string("state") == "blocked" { return true }
        guard record.string("state") == "waiting", let waits = record["waiting_for"] as? [String], !waits.isEmpty else { return false }
        return waits.allSatisfy { phrase in
            // "p03 (waiting)", "p02 (blocked)": the task's name (its id here) and its state.
            guard let open = phrase.range(of: " (") else { return false }
            return phrase.hasSuffix("(blocked)") || cannotRun(String(phrase[..<open.lowerBound]), seen: seen.union([id]))
        }
    }

    /// The queue folders holding each task id. A prompt claimed under a suffixed id (`p03-2`) is
    /// the same prompt, counted under its name and printed. (This found a spare folder left by a
    /// crash before the claim not being taken over; see SpoolTests.)
    private func placesById(after steps: [Step]) -> [String: [String]] {
        var places: [String: [String]] = [:]
        for entry in sandbox.allQueued() {
            let parts = entry.split(separator: "/", maxSplits: 1).map(String.init)
            var id = String(parts[1].prefix { $0 != "." })
            if !dropped.contains(id), let dash = id.lastIndex(of: "-"), Int(id[id.index(after: dash)...]) != nil {
                print("interleaving: \(id) was claimed under a suffixed id, after \(steps)")
                id = String(id[..<dash])
            }
            places[id, default: []].append(parts[0])
        }
        return places
    }

    private func writeDebugDump() {
        guard let path = ProcessInfo.processInfo.environment["GADUGI_INTERLEAVING_DEBUG"] else { return }
        let fm = FileManager.default
        let tasks = (try? fm.contentsOfDirectory(atPath: sandbox.spool.appendingPathComponent("monitoring/tasks").path)) ?? []
        let dump = tasks.sorted().map { t in "\(t): \((try? fm.contentsOfDirectory(atPath: sandbox.taskDir(t).path)) ?? [])" }
        let events = sandbox.readText(sandbox.spool.appendingPathComponent("monitoring/events.jsonl")) ?? ""
        try? (dump.joined(separator: "\n") + "\n" + events).write(toFile: path, atomically: true, encoding: .utf8)
    }
}
