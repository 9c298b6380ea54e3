// Randomised interleavings of everything that can happen to a queue: prompts dropped (some
// depending on earlier ones), coordinators started and killed with SIGKILL, task processes killed
// with SIGKILL, cancels, retries, holds and releases, in a random order from a printed seed. After
// each schedule a last coordinator drains the queue, and every prompt must have ended in exactly
// one place, none run twice at once, none lost. A failing seed is reproduced with
// GADUGI_INTERLEAVING_SEED=<seed>.

import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

final class InterleavingTests: GadugiTestCase {
    enum Step: CaseIterable {
        case drop, dropDependant, startCoordinator, killCoordinator, killTask, cancel, retry, hold, release, pause
    }

    /// Appends `<id> <attempt> start|end` to $LEDGER around a short sleep, under a lock per task
    /// (a second live attempt finds it taken and writes OVERLAP). Fails when the prompt says so.
    private let agent = #"""
        exec 9>>"$LOCKS/$GADUGI_TASK_ID"
        flock -n 9 || echo "$GADUGI_TASK_ID $GADUGI_ATTEMPT OVERLAP" >> "$LEDGER"
        echo "$GADUGI_TASK_ID $GADUGI_ATTEMPT start" >> "$LEDGER"
        read seconds verdict
        sleep "$seconds"
        echo "$GADUGI_TASK_ID $GADUGI_ATTEMPT end" >> "$LEDGER"
        [ "$verdict" != fail ]
        """#

    func testRandomInterleavingsLoseAndDuplicateNothing() throws {
        let fixed = ProcessInfo.processInfo.environment["GADUGI_INTERLEAVING_SEED"].flatMap(UInt64.init)
        let seeds = fixed.map { [$0] } ?? (0..<8).map { _ in UInt64.random(in: 1...UInt64(UInt32.max)) }
        for seed in seeds {
            print("interleaving: seed \(seed)")
            try run(seed: seed)
            if testRun?.failureCount ?? 0 > 0 {
                return XCTFail("reproduce with GADUGI_INTERLEAVING_SEED=\(seed)")
            }
            try resetRoot()
        }
    }

    /// One schedule of 20 steps, then a drain, then the checks.
    private func run(seed: UInt64) throws {
        var random = SplitMix(seed: seed)
        try initSpool()
        try writeConfig("retries: 1\nretry_backoff: 0.1s\nkill_grace: 1s\nsettle: 0\n")
        let locks = try makeScratchDir("locks-\(seed)")
        let ledger = try makeScratchDir("ledger-\(seed)").appendingPathComponent("ledger")
        let env = ["LOCKS": locks.path, "LEDGER": ledger.path]
        let args = ["--isolation", "none", "--max-parallel", "3", "--agent", agent]
        var dropped: [String] = []
        var coordinator: BackgroundProcess?
        var counts: [String: Int] = [:]
        for _ in 0..<20 {
            let step = Step.allCases[Int(random.next() % UInt64(Step.allCases.count))]
            counts["\(step)", default: 0] += 1
            switch step {
            case .drop, .dropDependant:
                let id = String(format: "p%02d", dropped.count + 1)
                let seconds = String(format: "0.%02d", 5 + Int(random.next() % 30))
                let verdict = random.next() % 5 == 0 ? "fail" : "ok"
                var front = ""
                if step == .dropDependant, let target = dropped.randomElement(using: &random) { front = "---\ndepends_on: \(target)\n---\n" }
                try dropPrompt(name: "\(id).md", content: front + "\(seconds) \(verdict)\n")
                dropped.append(id)
            case .startCoordinator where coordinator == nil:
                coordinator = try startCoordinator(args, env: env)
            case .killCoordinator:
                if let c = coordinator {
                    c.signal(SIGKILL)
                    XCTAssertTrue(waitForExit(c.process, timeout: 10))
                }
                coordinator = nil
            case .killTask:
                if let pid = runningPids().randomElement(using: &random) { kill(pid, SIGKILL) }
            case .cancel:
                if let id = dropped.randomElement(using: &random) { _ = try gadugiRun(["cancel", id], timeout: 30) }
            case .retry:
                if let id = dropped.randomElement(using: &random) { _ = try gadugiRun(["retry", id], timeout: 30) }
            case .hold:
                _ = try gadugiRun(["hold"])
            case .release:
                _ = try gadugiRun(["release"])
            case .pause, .startCoordinator:
                Thread.sleep(forTimeInterval: Double(random.next() % 300) / 1000)
            }
        }
        if let c = coordinator {
            c.signal(SIGKILL)
            XCTAssertTrue(waitForExit(c.process, timeout: 10))
        }
        _ = try gadugiRun(["release"])
        let drain = try gadugiRun(["run", "--until-idle"] + args, timeout: 120, env: env)
        XCTAssertEqual(drain.status, 0, "seed \(seed): \(drain)")
        check(dropped, ledger: ledger, seed: seed)
        let ended = ["done", "failed", "cancelled", "claimed"].map { "\($0) \(list(QueueDir(rawValue: $0)!).count)" }
        print("interleaving: seed \(seed): steps \(counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")); \(dropped.count) prompts: \(ended.joined(separator: ", "))")
    }

    /// Every prompt in exactly one folder, final unless it waits on a task that did not succeed;
    /// no attempt overlapped another of its task.
    private func check(_ dropped: [String], ledger: URL, seed: UInt64) {
        var places: [String: [String]] = [:]
        var renamed: [String] = []
        for entry in allQueued() {
            let parts = entry.split(separator: "/", maxSplits: 1).map(String.init)
            var id = String(parts[1].prefix { $0 != "." })
            // Claimed under a suffixed id (a crash can leave its plain id's folder in use): the
            // same prompt, neither lost nor doubled. Counted under its name, and reported.
            if !dropped.contains(id), let dash = id.lastIndex(of: "-"), Int(id[id.index(after: dash)...]) != nil {
                renamed.append(id)
                id = String(id[..<dash])
            }
            places[id, default: []].append(parts[0])
        }
        if !renamed.isEmpty { print("interleaving: seed \(seed): claimed under another id: \(renamed)") }
        for id in dropped {
            let where_ = places[id] ?? []
            XCTAssertEqual(where_.count, 1, "seed \(seed): \(id) is in \(where_) (lost, or twice); all: \(allQueued())")
            if where_.count != 1, let debug = ProcessInfo.processInfo.environment["GADUGI_INTERLEAVING_DEBUG"] {
                let tasks = (try? FileManager.default.contentsOfDirectory(atPath: spool.appendingPathComponent("monitoring/tasks").path)) ?? []
                let dump = tasks.sorted().map { t in "\(t): \((try? FileManager.default.contentsOfDirectory(atPath: taskDir(t).path)) ?? [])" }.joined(separator: "\n")
                try? (dump + "\n" + (readText(spool.appendingPathComponent("monitoring/events.jsonl")) ?? "")).write(toFile: debug, atomically: true, encoding: .utf8)
            }
            guard let place = where_.first else { continue }
            if place == "claimed" {
                // Left behind only when it cannot run: blocked, or waiting for a blocked task.
                let record = progress(id)
                let waitsOnBlocked = (record?["waiting_for"] as? [String])?.allSatisfy { $0.hasSuffix("(blocked)") } ?? false
                XCTAssertTrue(record?.string("state") == "blocked" || (record?.string("state") == "waiting" && waitsOnBlocked),
                              "seed \(seed): \(id) left in claimed/ though it could run: \(String(describing: record)); claimed: "
                                + list(.claimed).map { name in let r = progress(String(name.prefix { $0 != "." })); return "\(name) \(r?.string("state") ?? "?") \(String(describing: r?["waiting_for"])) \(String(describing: r?["blocked_reason"])) deps \(String(describing: r?["depends_on"]))" }.joined(separator: " | ")
                                + "; names.log: " + (readText(spool.appendingPathComponent("monitoring/names.log")) ?? "-"))
            } else {
                XCTAssertTrue(["done", "failed", "cancelled"].contains(place), "seed \(seed): \(id) ended in \(place)/")
            }
        }
        XCTAssertEqual(Set(places.keys), Set(dropped), "seed \(seed): no prompt appears that was not dropped")
        let overlaps = (readText(ledger) ?? "").split(separator: "\n").filter { $0.hasSuffix("OVERLAP") }
        XCTAssertEqual(overlaps, [], "seed \(seed): two attempts of a task ran at once")
    }

    /// Pids of running tasks, from registry.json.
    private func runningPids() -> [pid_t] {
        guard let registry = readJSON(spool.appendingPathComponent("monitoring/registry.json")),
              let tasks = registry["tasks"] as? [[String: Any]] else { return [] }
        return tasks.compactMap { task in
            task["state"] as? String == "running" ? (task["pid"] as? NSNumber)?.int32Value : nil
        }.filter { $0 > 1 }
    }

    /// A fresh spool for the next schedule, in the same test.
    private func resetRoot() throws {
        try? FileManager.default.removeItem(at: spool)
    }
}

/// A small seeded generator (SplitMix64), so a schedule can be replayed from its seed.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
