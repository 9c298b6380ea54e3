// The --json outputs of plan, review, merge (its refusal too), clean and submit, from real tasks
// in a real git repository, validated against docs/schemas/ closed (`--strict`). Each test makes
// every kind of object its verbs can print, with the nullable fields both null and not, so a field
// a schema forgot, or a type it got wrong, fails.

import Foundation
import XCTest

final class CommandSchemaTests: GadugiTestCase {
    /// Saves what a verb printed and validates it as `kind`.
    private func assertValid(_ kind: String, _ r: RunResult, file: StaticString = #filePath, line: UInt = #line) throws {
        let saved = try write(r.stdout, to: try makeScratchDir("json").appendingPathComponent("\(kind).json"))
        let check = try validate([kind, saved.path])
        XCTAssertEqual(check.status, 0, "\(r.arguments.joined(separator: " ")) printed what \(kind).schema.json refuses:\n\(check)\n\(r.stdout)",
                       file: file, line: line)
        XCTAssertTrue(check.stderr.contains("1 document(s) checked, 0 problem(s)"), check.stderr, file: file, line: line)
    }

    private func object(_ r: RunResult, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r)", file: file, line: line)
    }

    /// The objects of `key`, by their `id`.
    private func byID(_ json: [String: Any], _ key: String) -> [String: [String: Any]] {
        let items = (json[key] as? [[String: Any]]) ?? []
        return Dictionary(items.map { ($0.string("id") ?? "", $0) }, uniquingKeysWith: { a, _ in a })
    }

    private func names(_ json: [String: Any], _ key: String) -> [String] {
        ((json[key] as? [[String: Any]]) ?? []).compactMap { $0.string("name") }.sorted()
    }

    private func trimmed(_ s: String) -> String { s.trimmingCharacters(in: .whitespacesAndNewlines) }

    // MARK: - plan and submit

    /// plan with a running task, a dependency, a files conflict, a stuck task, a rejected file and
    /// every front matter control given; then submit, and plan of the queue it made.
    func testPlanAndSubmitJSONMatchTheirSchemas() throws {
        try initSpool()
        let src = try makeScratchDir("prompts")
        let go = src.appendingPathComponent("go")
        let slow = try write("Runs until go exists.\n", to: src.appendingPathComponent("slow.md"))
        let run = try startGadugi(["run", "--agent", #"while [ ! -e "$GO" ]; do sleep 0.1; done"#, slow.path], env: ["GO": go.path])
        XCTAssertTrue(waitUntil(timeout: 30) { self.list(.running) == ["slow.md"] }, allQueued().description)

        let prompts: [(String, String)] = [
            ("schema", """
                ---
                id: schema
                files: [db/]
                priority: 5
                agent: sh -c true
                base: HEAD
                isolation: worktree
                stall_after: '500ms'
                on_stall: kill
                timeout: 0
                retries: 2
                slurm: {cpus: 4, mem: 8G, partition: debug, time: 2h, args: [--exclusive]}
                dependson: slow
                ---
                Makes the schema.

                """),
            ("api", "---\ndepends_on: [schema, slow]\nfiles: [src/api.swift]\ntimeout: 90s\n---\nThe API.\n"),
            ("notes", "---\nfiles: [db/notes.md]\n---\nShares db/ with schema.\n"),
            ("orphan", "---\ndepends_on: nowhere\n---\nWaits for a task nobody wrote.\n"),
            ("empty", ""),
        ]
        let files = try prompts.map { try write($0.1, to: src.appendingPathComponent("\($0.0).md")).path }

        let plan = try gadugiRun(["plan", "--json"] + files)
        XCTAssertEqual(plan.status, 1, "a rejected file and a stuck task:\n\(plan)")
        try assertValid("plan", plan)
        let json = try object(plan)
        XCTAssertEqual(json["waves"] as? [[String]], [["schema"], ["api", "notes"]], "\(json)")
        XCTAssertEqual((json["problems"] as? [String])?.count, 2, "\(json)")
        let tasks = byID(json, "tasks")
        XCTAssertEqual(tasks.keys.sorted(), ["api", "notes", "orphan", "schema", "slow"])
        XCTAssertEqual(tasks["slow"]?.string("state"), "running")
        XCTAssertEqual(tasks["slow"]?.isNull("wave"), true)
        XCTAssertEqual(tasks["orphan"]?.isNull("wave"), true)
        XCTAssertNotNil(tasks["orphan"]?.string("stuck"))
        XCTAssertEqual((tasks["orphan"]?["depends_on"] as? [[String: Any]])?.first?.isNull("resolved"), true)
        XCTAssertEqual((tasks["api"]?["depends_on"] as? [[String: Any]])?.compactMap { $0.string("resolved") }, ["schema", "slow"])
        XCTAssertEqual(tasks["schema"]?.object("did_you_mean") as? [String: String], ["dependson": "depends_on"])
        XCTAssertEqual(tasks["schema"]?.double("stall_after"), 0.5)
        XCTAssertEqual(tasks["schema"]?.int("timeout"), 0)
        XCTAssertEqual(tasks["schema"]?.int("retries"), 2)
        let slurm = tasks["schema"]?.object("slurm")
        XCTAssertEqual(slurm?.int("cpus"), 4)
        XCTAssertEqual(slurm?.int("time"), 7200, "time in seconds")
        XCTAssertEqual(slurm?["args"] as? [String], ["--exclusive"])
        XCTAssertEqual(tasks["api"]?.isNull("slurm"), true)
        XCTAssertEqual(tasks["api"]?.int("timeout"), 90)

        let good = try gadugiRun(["plan", "--json"] + files.prefix(3))
        XCTAssertEqual(good.status, 0, "\(good)")
        try assertValid("plan", good)
        XCTAssertEqual(try object(good)["problems"] as? [String], [])

        try write("", to: go)
        XCTAssertTrue(waitForExit(run.process, timeout: 60), "run did not end")
        XCTAssertEqual(run.result().status, 0, "\(run.result())")

        let submit = try gadugiRun(["submit", "--json", files[0], files[1]])
        XCTAssertEqual(submit.status, 0, "\(submit)")
        try assertValid("submit", submit)
        let submitted = (try JSONSerialization.jsonObject(with: Data(submit.stdout.utf8)) as? [[String: Any]]) ?? []
        XCTAssertEqual(submitted.compactMap { $0.string("id") }, ["schema", "api"])
        XCTAssertEqual(submitted.compactMap { $0.string("file") }, [files[0], files[1]])

        let queue = try gadugiRun(["plan", "--json"])
        XCTAssertEqual(queue.status, 0, "api's dependencies are schema (queued) and slow (done):\n\(queue)")
        try assertValid("plan", queue)
        XCTAssertEqual(byID(try object(queue), "tasks").keys.sorted(), ["api", "schema"])

        let refused = try gadugiRun(["submit", "--json", files[4]])
        XCTAssertEqual(refused.status, 1, "\(refused)")
        XCTAssertEqual(refused.stdout, "", "a refused submit prints no JSON")
    }

    // MARK: - review, merge and clean

    /// a; b depends on a; x and y rewrite README.md's one line (x first); w depends on y; n runs
    /// without a worktree; f fails after writing a file (gadugi commits it); g fails having done
    /// nothing, so its branch holds no commits.
    private let agent = #"""
        case "$GADUGI_TASK_ID" in
          a) echo a > a.txt ;;
          b) echo b > b.txt ;;
          x) sleep 1; echo "# x was here" > README.md ;;
          y) sleep 2; echo "# y was here" > README.md ;;
          w) echo w > w.txt ;;
          f) echo half > f.txt; exit 2 ;;
          g) exit 1 ;;
        esac
        """#

    func testReviewMergeAndCleanJSONMatchTheirSchemas() throws {
        let src = try makeScratchDir("prompts")
        let prompts = [("a", "A.\n"), ("b", "---\ndepends_on: a\n---\nB.\n"), ("x", "X.\n"), ("y", "Y.\n"),
                       ("w", "---\ndepends_on: y\n---\nW.\n"), ("n", "---\nisolation: none\n---\nN.\n"),
                       ("f", "F.\n"), ("g", "G.\n")]
        let files = try prompts.map { try write($1, to: src.appendingPathComponent("\($0).md")).path }
        let run = try gadugiRun(["run", "--max-parallel", "8", "--agent", agent] + files, timeout: 120)
        XCTAssertEqual(run.status, 1, "f and g fail:\n\(run)")
        XCTAssertEqual(list(.done), ["a.md", "b.md", "n.md", "w.md", "x.md", "y.md"], "\(run)")
        XCTAssertEqual(list(.failed), ["f.md", "g.md"])
        let branch = trimmed(git(["rev-parse", "--abbrev-ref", "HEAD"]))

        // f's branch re-pointed by hand at a commit of an unrelated history: git cannot tell how
        // it merges (review: error), and refuses to merge it (merge: failed).
        let tree = trimmed(git(["rev-parse", "HEAD^{tree}"]))
        let unrelated = trimmed(git(["-c", "user.name=t", "-c", "user.email=t@example.invalid",
                                     "commit-tree", "--no-gpg-sign", tree, "-m", "an unrelated history"]))
        XCTAssertEqual(unrelated.count, 40, "commit-tree made no commit")
        XCTAssertEqual(git(["update-ref", "refs/heads/gadugi/f", unrelated]), "")

        // review: conflicts between branches, a failed task, one git cannot judge, two not reviewed.
        let review = try gadugiRun(["review", "--json"])
        XCTAssertEqual(review.status, 0, "\(review)")
        try assertValid("review", review)
        let report = try object(review)
        let reviewed = byID(report, "tasks")
        XCTAssertEqual(reviewed.keys.sorted(), ["a", "b", "f", "w", "x", "y"])
        XCTAssertEqual(((reviewed["x"]?["conflicts_with"] as? [[String: Any]]) ?? []).compactMap { $0.string("id") }.sorted(), ["w", "y"])
        XCTAssertEqual(reviewed["f"]?.string("state"), "failed")
        XCTAssertEqual(reviewed["f"]?.string("ending"), "exit 2")
        XCTAssertEqual(reviewed["f"]?.isNull("merges_cleanly"), true, "\(reviewed["f"] ?? [:])")
        XCTAssertNotNil(reviewed["f"]?.string("error"))
        XCTAssertEqual(byID(report, "not_reviewed").keys.sorted(), ["g", "n"])
        XCTAssertEqual(report.object("summary")?.int("unknown"), 1)
        XCTAssertEqual(report.object("summary")?.int("conflicting_pairs"), 2)
        XCTAssertEqual(report.object("into")?.string("branch"), branch)

        let unpaired = try gadugiRun(["review", "--json", "--pairwise-limit", "0"])
        XCTAssertEqual(unpaired.status, 0, "\(unpaired)")
        try assertValid("review", unpaired)
        XCTAssertEqual(try object(unpaired).object("pairwise")?["checked"] as? Bool, false)

        // The refusals: a changed checkout (its files named), a task that does not exist.
        try write("# mine\n", to: root.appendingPathComponent("README.md"))
        let dirty = try gadugiRun(["merge", "--done", "--json"])
        XCTAssertEqual(dirty.status, 1, "\(dirty)")
        try assertValid("merge", dirty)
        XCTAssertEqual(try object(dirty)["dirty_files"] as? [String], ["README.md"])
        XCTAssertEqual(git(["checkout", "--", "README.md"]), "")
        let unknown = try gadugiRun(["merge", "nope", "--json"])
        XCTAssertEqual(unknown.status, 1, "\(unknown)")
        try assertValid("merge", unknown)
        XCTAssertEqual(try object(unknown)["dirty_files"] as? [String], [])
        XCTAssertTrue(try object(unknown).string("error")?.contains("nope: no such task") == true, unknown.stdout)

        // A dry run: would_merge, nothing stopped.
        let dry = try gadugiRun(["merge", "--done", "--dry-run", "--json"])
        XCTAssertEqual(dry.status, 0, "\(dry)")
        try assertValid("merge", dry)
        XCTAssertEqual(try object(dry).isNull("stopped_at"), true)

        // The merge: merged, a conflict that stops it, not reached, skipped for want of a branch.
        let merge = try gadugiRun(["merge", "--done", "--json"])
        XCTAssertEqual(merge.status, 1, "stopped at y's conflict:\n\(merge)")
        try assertValid("merge", merge)
        let outcome = try object(merge)
        XCTAssertEqual(outcome.string("stopped_at"), "y")
        XCTAssertNotNil(outcome.string("next"))
        let steps = byID(outcome, "steps")
        XCTAssertEqual(steps.mapValues { $0.string("action") ?? "" },
                       ["a": "merged", "b": "merged", "x": "merged", "y": "conflict", "w": "not_reached", "n": "skipped"])
        XCTAssertEqual(steps["n"]?.isNull("branch"), true)
        XCTAssertEqual(steps["y"]?["conflicts"] as? [String], ["README.md"])
        XCTAssertEqual(git(["status", "--porcelain", "--untracked-files=no"]), "", "the conflicting merge was aborted")

        // A merge git refuses: f's unrelated history.
        let refused = try gadugiRun(["merge", "f", "--json"])
        XCTAssertEqual(refused.status, 1, "\(refused)")
        try assertValid("merge", refused)
        XCTAssertEqual(byID(try object(refused), "steps")["f"]?.string("action"), "failed")

        // A detached HEAD: into.branch is null.
        XCTAssertEqual(git(["checkout", "-q", "--detach"]), "")
        for args in [["review", "--json"], ["merge", "--done", "--dry-run", "--json"]] {
            let r = try gadugiRun(args)
            XCTAssertEqual(r.status, 0, "\(r)")
            try assertValid(args[0], r)
            XCTAssertEqual(try object(r).object("into")?.isNull("branch"), true, r.stdout)
        }
        XCTAssertEqual(git(["checkout", "-q", branch]), "")

        // clean: failed tasks' worktrees kept, merged branches deleted, g's kept (checked out in
        // its worktree); then, with --failed, dry and for real, the worktrees removed.
        let clean = try gadugiRun(["clean", "--branches", "--json"])
        XCTAssertEqual(clean.status, 0, "\(clean)")
        try assertValid("clean", clean)
        let cleaned = try object(clean)
        XCTAssertEqual(names(cleaned, "kept"), ["f", "g"])
        XCTAssertEqual(names(cleaned, "removed"), [])
        XCTAssertEqual(names(cleaned, "deleted_branches"), ["gadugi/a", "gadugi/b", "gadugi/x"])
        XCTAssertEqual(names(cleaned, "kept_branches"), ["gadugi/g"])
        for args in [["clean", "--failed", "--dry-run", "--json"], ["clean", "--failed", "--json"]] {
            let r = try gadugiRun(args)
            XCTAssertEqual(r.status, 0, "\(r)")
            try assertValid("clean", r)
            XCTAssertEqual(names(try object(r), "removed"), ["f", "g"], r.stdout)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: spool.appendingPathComponent("worktrees/f").path))
    }
}
