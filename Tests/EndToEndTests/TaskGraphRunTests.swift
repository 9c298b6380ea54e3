// The task graph and worktrees, through the binary: front matter drives the order, each task
// works in its own git worktree and branch, a dependant starts from its dependencies' work, and
// what cannot run (a failed dependency, a cycle, a merge conflict) says why and stays visible.
// Real git repositories (the test root is one), real processes.

import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

final class TaskGraphRunTests: GadugiTestCase {
    /// Writes prompt files into a scratch folder; returns their paths in the order given.
    private func prompts(_ files: [(String, String)]) throws -> [String] {
        let src = try makeScratchDir("prompts-\(UUID().uuidString.prefix(6))")
        return try files.map { name, text in try write(text, to: src.appendingPathComponent(name)).path }
    }

    /// An agent that logs `<id> start|end <seconds>` to $OUT/log and appends its id to notes.txt.
    private let loggingAgent = #"""
        echo "$GADUGI_TASK_ID start $(date +%s.%N)" >> "$OUT/log"
        echo "$GADUGI_TASK_ID" >> notes.txt
        sleep 0.3
        echo "$GADUGI_TASK_ID end $(date +%s.%N)" >> "$OUT/log"
        """#

    /// (start, end) per task id from the agent log.
    private func spans(_ out: URL) -> [String: (Double, Double)] {
        var starts: [String: Double] = [:], result: [String: (Double, Double)] = [:]
        for line in (readText(out.appendingPathComponent("log")) ?? "").split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 3, let t = Double(parts[2]) else { continue }
            if parts[1] == "start" { starts[String(parts[0])] = t }
            if parts[1] == "end", let s = starts[String(parts[0])] { result[String(parts[0])] = (s, t) }
        }
        return result
    }

    func testAChainRunsInOrderAndEachStartsFromTheWorkBeforeIt() throws {
        let out = try makeScratchDir("out")
        let files = try prompts([
            ("c.md", "---\ndepends_on: b\n---\nThird.\n"),
            ("b.md", "---\ndepends_on: a\n---\nSecond.\n"),
            ("a.md", "First.\n"),
        ])
        let r = try gadugiRun(["run", "--max-parallel", "4", "--agent", loggingAgent] + files, timeout: 60, env: ["OUT": out.path])
        XCTAssertEqual(r.status, 0, "\(r)")
        let s = spans(out)
        guard let a = s["a"], let b = s["b"], let c = s["c"] else { return XCTFail("spans: \(s)\n\(r)") }
        XCTAssertLessThanOrEqual(a.1, b.0, "b starts after a ends")
        XCTAssertLessThanOrEqual(b.1, c.0, "c starts after b ends")
        // c's branch holds the commits of a and b (gadugi committed what each agent left).
        let log = git(["log", "--format=%s", "gadugi/c"])
        for task in ["a", "b", "c"] { XCTAssertTrue(log.contains("gadugi: \(task).md"), "gadugi/c lacks \(task)'s commit:\n\(log)") }
        XCTAssertEqual(git(["show", "gadugi/c:notes.txt"]), "a\nb\nc\n")
        XCTAssertEqual(git(["status", "--porcelain"]), "", "the main checkout is never modified")
        XCTAssertFalse(FileManager.default.fileExists(atPath: spool.appendingPathComponent("worktrees/c").path),
                       "a succeeded task's worktree is removed; its branch is kept")
        let p = progress("c")
        XCTAssertEqual(p?.string("branch"), "gadugi/c")
        XCTAssertNotNil(p?.string("head"))
        XCTAssertEqual((p?["depends_on"] as? [[String: Any]])?.first?.string("resolved"), "b")
    }

    func testIndependentTasksOverlapAndTasksSharingAFileDoNot() throws {
        let out = try makeScratchDir("out")
        let files = try prompts([
            ("p.md", "---\nfiles: src/**\n---\nOne.\n"),
            ("q.md", "---\nfiles: src/app.swift\n---\nTwo.\n"),
            ("r.md", "---\nfiles: docs/\n---\nThree.\n"),
        ])
        let r = try gadugiRun(["run", "--isolation", "none", "--max-parallel", "4", "--agent", loggingAgent] + files,
                              timeout: 60, env: ["OUT": out.path])
        XCTAssertEqual(r.status, 0, "\(r)")
        let s = spans(out)
        guard let p = s["p"], let q = s["q"], let rr = s["r"] else { return XCTFail("spans: \(s)") }
        XCTAssertTrue(p.1 <= q.0 || q.1 <= p.0, "p and q share src/app.swift: they must not overlap (\(p), \(q))")
        XCTAssertTrue(rr.0 < p.1 && p.0 < rr.1, "r shares nothing with p: they run together (\(p), \(rr))")
    }

    func testPrioritiesOrderEveryFileOfARunNotOnlyThoseThatFitTheSlots() throws {
        let out = try makeScratchDir("out")
        let files = try prompts([
            ("low.md", "---\npriority: -5\n---\nLow.\n"),
            ("plain.md", "Plain.\n"),
            ("urgent.md", "---\npriority: 10\n---\nUrgent.\n"),
            ("high.md", "---\npriority: 5\n---\nHigh.\n"),
        ])
        let r = try gadugiRun(["run", "--isolation", "none", "--max-parallel", "1", "--agent", loggingAgent] + files,
                              timeout: 60, env: ["OUT": out.path])
        XCTAssertEqual(r.status, 0, "\(r)")
        let order = spans(out).sorted { $0.value.0 < $1.value.0 }.map(\.key)
        XCTAssertEqual(order, ["urgent", "high", "plain", "low"], "one slot: higher priority first, whatever the order given")
    }

    func testABacklogFoundAtStartIsClaimedInTheOrderItArrived() throws {
        try initSpool()
        let out = try makeScratchDir("out")
        // Names and directory order say nothing; mtimes say z-07 came first, then z-06, ...
        let ids = (1...8).map { String(format: "z-%02d", $0) }
        for (n, id) in ids.enumerated() {
            let url = queue(.incoming).appendingPathComponent("\(id).md")
            try write("Task \(id).\n", to: url)
            let when = Date(timeIntervalSinceNow: Double(-100 + (ids.count - n) * 5))
            try FileManager.default.setAttributes([.modificationDate: when], ofItemAtPath: url.path)
        }
        let r = try gadugiRun(["run", "--until-idle", "--isolation", "none", "--max-parallel", "1", "--agent", loggingAgent],
                              timeout: 60, env: ["OUT": out.path])
        XCTAssertEqual(r.status, 0, "\(r)")
        let order = spans(out).sorted { $0.value.0 < $1.value.0 }.map(\.key)
        XCTAssertEqual(order, ids.reversed(), "oldest first, whatever the names or the directory's hash order")
    }

    func testAFailedDependencyBlocksItsDependantVisibly() throws {
        let files = try prompts([
            ("setup.md", "simulate: fail\n"),
            ("build.md", "---\ndepends_on: setup\n---\nBuild.\n"),
        ])
        let r = try gadugiRun(["run", "--agent", "gadugi:simulate"] + files, timeout: 60, env: ["GADUGI_SIMULATE_STEP": "0.01"])
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stdout.contains("blocked   build"), r.stdout)
        XCTAssertEqual(allQueued().sorted(), ["claimed/build.md", "failed/setup.md"], "a blocked task stays in claimed/")
        let p = progress("build")
        XCTAssertEqual(p?.string("state"), "blocked")
        XCTAssertEqual(p?.string("blocked_reason"), "dependency setup failed")
        let status = try gadugiRun(["status", "--json"])
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        XCTAssertEqual((json["counts"] as? [String: Any])?.int("blocked"), 1, status.stdout)
        let events = readText(spool.appendingPathComponent("monitoring/events.jsonl")) ?? ""
        XCTAssertTrue(events.contains(#""id":"build","state":"blocked""#), events)
    }

    func testACycleIsRejectedWithItsMembersNamed() throws {
        let files = try prompts([
            ("x.md", "---\ndepends_on: y\n---\nX.\n"),
            ("y.md", "---\ndepends_on: x\n---\nY.\n"),
            ("free.md", "Free.\n"),
        ])
        let r = try gadugiRun(["run", "--isolation", "none", "--agent", "true"] + files, timeout: 60)
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertEqual(list(.done), ["free.md"])
        for name in ["x.md", "y.md"] {
            let reason = readText(queue(.rejected).appendingPathComponent(name + ".reason")) ?? ""
            XCTAssertTrue(reason.contains("cycle") && reason.contains("x") && reason.contains("y"), "\(name): \(reason)")
        }
    }

    func testADiamondStartsFromAMergeAndAConflictBlocksWithThePaths() throws {
        let files = try prompts([
            ("left.md", "Left.\n"),
            ("right.md", "Right.\n"),
            ("join.md", "---\ndepends_on: [left, right]\n---\nJoin.\n"),
        ])
        // Both write README.md differently: merging their branches conflicts there.
        let r = try gadugiRun(["run", "--agent", #"echo "$GADUGI_TASK_ID" > README.md"#] + files, timeout: 60)
        XCTAssertEqual(r.status, 1, "\(r)")
        let p = progress("join")
        XCTAssertEqual(p?.string("state"), "blocked", "\(String(describing: p))")
        XCTAssertTrue(p?.string("blocked_reason")?.contains("README.md") ?? false, "\(String(describing: p))")
        XCTAssertEqual(list(.claimed), ["join.md"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: spool.appendingPathComponent("worktrees/join").path),
                       "a blocked task leaves no half-made worktree")
        XCTAssertEqual(git(["branch", "--list", "gadugi/join*"]), "", "nor a branch")
        XCTAssertEqual(git(["worktree", "list", "--porcelain"]).components(separatedBy: "worktree ").count - 1, 1)

        // Without a conflict, the join starts from a merge of both branches.
        let more = try prompts([
            ("one.md", "One.\n"),
            ("two.md", "Two.\n"),
            ("both.md", "---\ndepends_on: [one, two]\n---\nBoth.\n"),
        ])
        let r2 = try gadugiRun(["run", "--agent", #"echo "$GADUGI_TASK_ID" > "$GADUGI_TASK_ID.txt""#] + more, timeout: 60)
        XCTAssertEqual(r2.status, 0, "\(r2)")
        let tree = git(["ls-tree", "--name-only", "gadugi/both"])
        for file in ["one.txt", "two.txt", "both.txt"] { XCTAssertTrue(tree.contains(file), "gadugi/both lacks \(file):\n\(tree)") }
    }

    func testTheSameFilesRunAgainResolveToTheirOwnRun() throws {
        let out = try makeScratchDir("out")
        let files = try prompts([
            ("b.md", "---\ndepends_on: a\n---\nSecond.\n"),
            ("a.md", "First.\n"),
        ])
        for _ in 0..<2 {
            let r = try gadugiRun(["run", "--isolation", "none", "--agent", loggingAgent] + files, timeout: 60, env: ["OUT": out.path])
            XCTAssertEqual(r.status, 0, "\(r)")
        }
        XCTAssertEqual((progress("b-2")?["depends_on"] as? [[String: Any]])?.first?.string("resolved"), "a-2",
                       "the second run's b waits for the second run's a, not last week's")
        let s = spans(out)
        guard let a2 = s["a-2"], let b2 = s["b-2"] else { return XCTFail("spans: \(s)") }
        XCTAssertLessThanOrEqual(a2.1, b2.0)
    }

    func testARunningTasksRecordNamesItsBranchAndWorktree() throws {
        try initSpool()
        let gate = try makeScratchDir("gate")
        let agent = #"echo beat > /dev/null; while [ ! -e "$GATE/go" ]; do "$GADUGI_BIN" heartbeat; sleep 0.1; done"#
        guard let c = try startCoordinator(["--agent", agent], env: ["GATE": gate.path]) else { return }
        try dropPrompt(name: "busy.md", content: "Busy.\n")
        XCTAssertTrue(waitUntil(timeout: 20) { self.progress("busy")?.string("branch") == "gadugi/busy" },
                      "while it runs: \(String(describing: progress("busy")))")
        XCTAssertEqual(progress("busy")?.string("state"), "running")
        XCTAssertEqual(progress("busy")?.string("worktree"), ".gadugi/worktrees/busy")
        let frame = try gadugiRun(["watch", "--once"], env: ["COLUMNS": "200", "NO_COLOR": "1"]).stdout
        XCTAssertTrue(frame.contains("gadugi/busy"), "watch shows the branch of a running task: \(frame)")
        try write("", to: gate.appendingPathComponent("go"))
        XCTAssertTrue(waitUntil(timeout: 20) { self.list(.done) == ["busy.md"] })
        XCTAssertTrue(c.isRunning)
    }

    func testAFailedTasksWorktreeIsKeptUntilCleaned() throws {
        let files = try prompts([("broken.md", "Break.\n")])
        let r = try gadugiRun(["run", "--agent", "echo half > wip.txt; exit 2"] + files, timeout: 60)
        XCTAssertEqual(r.status, 1, "\(r)")
        let worktree = try XCTUnwrap(progress("broken")?.string("worktree"), "progress.json names the kept worktree")
        XCTAssertTrue(FileManager.default.fileExists(atPath: root.appendingPathComponent(worktree).path))
        XCTAssertTrue(git(["log", "--format=%s", "gadugi/broken"]).contains("gadugi: broken.md"), "its leftovers are committed")
        let status = try gadugiRun(["status", "--json"])
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any], status.stdout)
        XCTAssertEqual(json["worktrees"] as? Int, 1)
        XCTAssertGreaterThan(json["worktree_bytes"] as? Int ?? 0, 0, "status says how much disk the kept worktree takes")
        XCTAssertTrue(try gadugiRun(["status"]).stdout.contains("worktrees kept: 1 in .gadugi/worktrees, "))
        let clean = try gadugiRun(["clean", "--failed"])
        XCTAssertEqual(clean.status, 0, "\(clean)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.appendingPathComponent(worktree).path), "\(clean)")
    }

    func testKillingTheCoordinatorWhileWorktreesComeAndGoLosesAndDuplicatesNothing() throws {
        try initSpool()
        let ids = (1...16).map { String(format: "wt-%02d", $0) }
        for (n, id) in ids.enumerated() {
            // Every fourth depends on the one before it: some tasks start from another's branch.
            let front = n % 4 == 3 ? "---\ndepends_on: \(ids[n - 1])\n---\n" : ""
            try dropPrompt(name: "\(id).md", content: front + "prompt \(id)\n")
        }
        let agent = #"echo "$GADUGI_TASK_ID" > "$GADUGI_TASK_ID.txt"; sleep 0.2"#
        for round in 1...3 {
            guard let c = try startCoordinator(["--max-parallel", "4", "--agent", agent]) else { return }
            Thread.sleep(forTimeInterval: 0.4)
            XCTAssertTrue(c.isRunning, "round \(round):\n\(c.result())")
            c.signal(SIGKILL)
            XCTAssertTrue(waitForExit(c.process, timeout: 10))
        }
        let r = try gadugiRun(["run", "--until-idle", "--max-parallel", "4", "--agent", agent], timeout: 120)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(list(.done).sorted(), ids.map { "\($0).md" }, "every task done exactly once: \(allQueued())")
        XCTAssertEqual(allQueued().filter { !$0.hasPrefix("done/") }, [])
        for id in ids {
            XCTAssertEqual(git(["show", "gadugi/\(id):\(id).txt"]), "\(id)\n", "branch gadugi/\(id) holds its task's work")
        }
        XCTAssertEqual(git(["worktree", "list", "--porcelain"]).components(separatedBy: "worktree ").count - 1, 1,
                       "every task's worktree is removed after success; none is left half-made:\n\(git(["worktree", "list"]))")
        XCTAssertEqual(git(["branch", "--list", "gadugi/*"]).split(separator: "\n").count, ids.count,
                       "one branch per task, none doubled:\n\(git(["branch", "--list", "gadugi/*"]))")
        XCTAssertEqual(git(["status", "--porcelain"]), "")
    }

    func testWorktreeSetupRunsBeforeTheAgentAndItsFailureSaysSo() throws {
        try initSpool()
        try write("SECRET=1\n", to: root.appendingPathComponent(".env"))
        try write(".env\n", to: root.appendingPathComponent(".gitignore"))
        _ = git(["add", ".gitignore"])
        _ = git(["-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid", "commit", "-qm", "ignore .env"])
        try writeConfig(#"worktree_setup: cp "$GADUGI_ROOT/.env" .env"# + "\n")
        let files = try prompts([("uses-env.md", "Read .env.\n")])
        let r = try gadugiRun(["run", "--agent", "cat .env"] + files, timeout: 60)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertTrue(readText(taskDir("uses-env").appendingPathComponent("output.log"))?.contains("SECRET=1") ?? false,
                      "the agent found what worktree_setup copied")
        XCTAssertFalse(git(["ls-tree", "--name-only", "gadugi/uses-env"]).contains(".env"), "ignored files are not committed")

        try writeConfig("worktree_setup: exit 7\n")
        let more = try prompts([("no-setup.md", "Never runs.\n")])
        let r2 = try gadugiRun(["run", "--agent", "touch agent-ran"] + more, timeout: 60)
        XCTAssertEqual(r2.status, 1, "\(r2)")
        let p = progress("no-setup")
        XCTAssertEqual(p?.int("exit_code"), 7)
        XCTAssertTrue(p?.string("message")?.contains("worktree_setup") ?? false, "\(String(describing: p))")
        XCTAssertFalse(git(["ls-tree", "--name-only", "gadugi/no-setup"]).contains("agent-ran"), "the agent never started")
    }

    /// A `git` first on PATH that logs its arguments (one call per line) to $OUT/git.log.
    private func loggingGit(_ out: URL) throws -> String {
        let bin = try makeScratchDir("git-shim")
        let real = ["/usr/bin/git", "/usr/local/bin/git", "/bin/git"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/bin/git"
        let shim = bin.appendingPathComponent("git")
        try write("#!/bin/sh\necho \"$*\" >> \"$OUT/git.log\"\nexec \(real) \"$@\"\n", to: shim)
        chmod(shim.path, 0o755)
        return bin.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
    }

    func testAPlainTaskCostsOneAddAndOneRemoveAndItsRecordsStayTrue() throws {
        let out = try makeScratchDir("out")
        let path = try loggingGit(out)
        let files = try prompts([("plain.md", "Nothing to change.\n")])
        let r = try gadugiRun(["run", "--agent", "true"] + files, timeout: 60, env: ["OUT": out.path, "PATH": path])
        XCTAssertEqual(r.status, 0, "\(r)")
        let calls = (readText(out.appendingPathComponent("git.log")) ?? "").split(separator: "\n")
        XCTAssertEqual(calls.filter { !$0.hasPrefix("config ") }.map { $0.split(separator: " ").prefix(2).joined(separator: " ") },
                       ["worktree add", "worktree remove"], "a plain task is one add and one remove: \(calls)")
        let head = git(["rev-parse", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let p = progress("plain")
        XCTAssertEqual(p?.string("branch"), "gadugi/plain")
        XCTAssertEqual(p?.string("base_commit"), head)
        XCTAssertEqual(p?.string("head"), head, "the agent changed nothing, so the branch is where it started")
        XCTAssertNil(p?.string("worktree"), "removed after success")
        let record = readJSON(taskDir("plain").appendingPathComponent("worktree.json"))
        XCTAssertEqual(record?["kept"] as? Bool, false, "\(String(describing: record))")
        XCTAssertEqual(record?.string("head"), head)
        XCTAssertTrue(readText(taskDir("plain").appendingPathComponent("output.log"))?.contains("nothing was left uncommitted") ?? false)
        XCTAssertFalse(FileManager.default.fileExists(atPath: spool.appendingPathComponent("worktrees/plain").path))
    }

    func testLeftoversAClashingBranchAndARootTaskTakeTheLongWay() throws {
        // An old gadugi/clash from elsewhere, one commit ahead: never reused, never moved.
        _ = git(["branch", "gadugi/clash"])
        _ = git(["-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid", "commit", "-q", "--allow-empty", "-m", "main moves on"])
        let foreign = git(["rev-parse", "gadugi/clash"])
        let files = try prompts([
            ("clash.md", "Edit.\n"),
            ("reader.md", "---\nisolation: none\n---\nRead only.\n"),
            ("after.md", "---\ndepends_on: reader\n---\nAfter the reader.\n"),
        ])
        let agent = #"pwd > "$OUT/$GADUGI_TASK_ID.pwd"; [ "$GADUGI_TASK_ID" = reader ] || echo left > left.txt"#
        let out = try makeScratchDir("out")
        let r = try gadugiRun(["run", "--agent", agent] + files, timeout: 60, env: ["OUT": out.path])
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(git(["rev-parse", "gadugi/clash"]), foreign, "the other branch is untouched")
        XCTAssertEqual(progress("clash")?.string("branch"), "gadugi/clash-2")
        XCTAssertEqual(git(["show", "gadugi/clash-2:left.txt"]), "left\n", "what the agent left is committed")
        XCTAssertEqual(readText(out.appendingPathComponent("reader.pwd")), root.path + "\n", "isolation: none runs in the root")
        XCTAssertEqual(git(["branch", "--list", "gadugi/reader*"]), "", "and makes no branch")
        XCTAssertNil(progress("reader")?.string("branch"))
        XCTAssertEqual(progress("after")?.string("base_commit"), git(["rev-parse", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines),
                       "a dependant of a root task starts from the base")
        XCTAssertEqual(git(["status", "--porcelain"]), "")
    }

    func testARepositoryWithoutACommitRunsAgentsInTheRoot() throws {
        let empty = try makeScratchDir("empty-repo")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["git", "-C", empty.path, "init", "-q"]
        try p.run()
        p.waitUntilExit()
        let files = try prompts([("first.md", "First.\n")])
        let r = try gadugiRun(["run", "--root", empty.path, "--agent", "pwd > where.txt"] + files, timeout: 60, addRoot: false)
        XCTAssertEqual(r.status, 0, "nothing to branch from is no reason to fail: \(r)")
        XCTAssertTrue(r.stderr.contains("no commit yet"), r.stderr)
        XCTAssertEqual(readText(empty.appendingPathComponent("where.txt")), empty.path + "\n")
    }
}
