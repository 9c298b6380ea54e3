// gadugi review and gadugi merge, through the binary, on branches made by real tasks: agents are a
// shell script that edits files in its worktree (gadugi commits what it leaves, or it commits
// itself), so that two branches edit the same line of one file.

import Foundation
import XCTest

final class ReviewMergeTests: GadugiTestCase {
    /// a; b depends on a; x and y both rewrite the one line of README.md (x commits it itself,
    /// and finishes a second before y); f fails after writing a file, which gadugi commits.
    private let agent = #"""
        case "$GADUGI_TASK_ID" in
          a) echo a > a.txt ;;
          b) echo b > b.txt ;;
          x) sleep 1; echo "# x was here" > README.md
             git add README.md && git -c user.name=x -c user.email=x@example.invalid commit -q -m "x: README" ;;
          y) sleep 2; echo "# y was here" > README.md ;;
          f) echo half > f.txt; exit 2 ;;
        esac
        """#

    /// Runs the five tasks to their end (f fails, so the run exits 1).
    private func runTasks(file: StaticString = #filePath, line: UInt = #line) throws {
        let src = try makeScratchDir("prompts")
        let files = try [("a.md", "A.\n"), ("b.md", "---\ndepends_on: a\n---\nB.\n"), ("x.md", "X.\n"),
                         ("y.md", "Y.\n"), ("f.md", "F.\n")].map { try write($1, to: src.appendingPathComponent($0)).path }
        let r = try gadugiRun(["run", "--max-parallel", "6", "--agent", agent] + files, timeout: 120)
        XCTAssertEqual(r.status, 1, "f fails, the others succeed:\n\(r)", file: file, line: line)
        XCTAssertEqual(list(.done), ["a.md", "b.md", "x.md", "y.md"], "\(r)", file: file, line: line)
        XCTAssertEqual(list(.failed), ["f.md"], file: file, line: line)
    }

    private func json(_ r: RunResult, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "\(r)", file: file, line: line)
    }

    private func head() -> String { git(["rev-parse", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines) }

    func testReviewNamesExactlyTheConflictingPairAndSaysTheOthersMergeCleanly() throws {
        try runTasks()
        let before = head()
        let text = try gadugiRun(["review"])
        XCTAssertEqual(text.status, 0, "\(text)")
        XCTAssertTrue(text.stdout.contains("conflicts with y in README.md"), text.stdout)
        XCTAssertTrue(text.stdout.contains("conflicts with x in README.md"), text.stdout)
        XCTAssertTrue(text.stdout.contains("1 pair of branches conflicts: x and y"), text.stdout)
        XCTAssertTrue(text.stdout.contains("f  failed (exit 2)  gadugi/f"), "a failed task with commits is shown, marked:\n\(text.stdout)")

        let r = try gadugiRun(["review", "--json"])
        XCTAssertEqual(r.status, 0, "\(r)")
        let report = try json(r)
        XCTAssertEqual(report.int("schema_version"), 1)
        XCTAssertEqual(report.object("into")?.string("branch").map { ["main", "master"].contains($0) }, true, "\(report)")
        let tasks = Dictionary(uniqueKeysWithValues: ((report["tasks"] as? [[String: Any]]) ?? []).map { ($0.string("id") ?? "", $0) })
        XCTAssertEqual(tasks.keys.sorted(), ["a", "b", "f", "x", "y"])
        func others(_ id: String) -> [String] { ((tasks[id]?["conflicts_with"] as? [[String: Any]]) ?? []).compactMap { $0.string("id") } }
        XCTAssertEqual(others("x"), ["y"])
        XCTAssertEqual(others("y"), ["x"])
        for id in ["a", "b", "f"] { XCTAssertEqual(others(id), [], "\(id) conflicts with no other branch") }
        for id in tasks.keys { XCTAssertEqual(tasks[id]?["merges_cleanly"] as? Bool, true, "\(id) merges cleanly into HEAD alone") }
        XCTAssertEqual(tasks["f"]?.string("state"), "failed")
        XCTAssertEqual(tasks["b"]?.int("commits_ahead"), 1, "b counts from its base, a's branch")
        XCTAssertEqual(tasks["b"]?["files_changed"] as? [String], ["b.txt"])
        XCTAssertEqual(tasks["x"]?["files_changed"] as? [String], ["README.md"])
        XCTAssertEqual(git(["log", "-1", "--format=%s", "gadugi/x"]), "x: README\n", "x committed its work itself")
        let order = (report["merge_order"] as? [String] ?? []).filter { $0 != "f" }
        XCTAssertEqual(order, ["a", "b", "x", "y"], "dependencies first, then by finish time")

        // Limited to two ids, y is not among the others.
        let two = try json(try gadugiRun(["review", "x", "a", "--json"]))
        XCTAssertEqual(((two["tasks"] as? [[String: Any]]) ?? []).map { ($0["conflicts_with"] as? [Any])?.count ?? -1 }, [0, 0])
        XCTAssertEqual(head(), before, "review touches nothing")
        XCTAssertEqual(git(["status", "--porcelain"]), "")

        let unknown = try gadugiRun(["review", "nope"])
        XCTAssertEqual(unknown.status, 1, "\(unknown)")
        XCTAssertTrue(unknown.stderr.contains("nope: no such task"), unknown.stderr)
    }

    func testMergeRefusesADirtyCheckoutThenMergesInDependencyOrderAndStopsCleanAtTheConflict() throws {
        try runTasks()
        let start = head()

        // A change to a tracked file: refused before anything is merged, the change left alone.
        try write("# mine\n", to: root.appendingPathComponent("README.md"))
        let dirty = try gadugiRun(["merge", "--done"])
        XCTAssertEqual(dirty.status, 1, "\(dirty)")
        XCTAssertTrue(dirty.stderr.contains("README.md") && dirty.stderr.contains("git stash"), dirty.stderr)
        XCTAssertEqual(head(), start, "nothing merged")
        XCTAssertEqual(readText(root.appendingPathComponent("README.md")), "# mine\n")
        XCTAssertEqual(git(["checkout", "--", "README.md"]), "")

        let dry = try gadugiRun(["merge", "--done", "--dry-run"])
        XCTAssertEqual(dry.status, 0, "\(dry)")
        XCTAssertTrue(dry.stdout.contains("in this order: a, b, x, y"), dry.stdout)
        XCTAssertEqual(head(), start)

        let r = try gadugiRun(["merge", "--done"])
        XCTAssertEqual(r.status, 1, "stopped at the conflict:\n\(r)")
        XCTAssertTrue(r.stdout.contains("conflict: y (gadugi/y) conflicts with"), r.stdout)
        XCTAssertTrue(r.stdout.contains("README.md"), r.stdout)
        XCTAssertEqual(git(["status", "--porcelain"]), "", "the merge was aborted: the checkout is clean")
        let subjects = git(["log", "--first-parent", "--format=%s", start + "..HEAD"]).split(separator: "\n").map(String.init)
        XCTAssertEqual(subjects, ["gadugi: merge task x from gadugi/x", "gadugi: merge task b from gadugi/b",
                                  "gadugi: merge task a from gadugi/a"], "a, then b (its dependant), then x; f (failed) left out")
        XCTAssertEqual(git(["rev-parse", "HEAD^2"]), git(["rev-parse", "gadugi/x"]), "HEAD is the last good merge")
        XCTAssertEqual(readText(root.appendingPathComponent("README.md")), "# x was here\n")

        // Again, as JSON: what is merged is skipped, and it stops at y once more.
        let again = try gadugiRun(["merge", "--done", "--json"])
        XCTAssertEqual(again.status, 1, "\(again)")
        let outcome = try json(again)
        XCTAssertEqual(outcome.int("schema_version"), 1)
        XCTAssertEqual(outcome["ok"] as? Bool, false)
        XCTAssertEqual(outcome.string("stopped_at"), "y")
        let steps = (outcome["steps"] as? [[String: Any]]) ?? []
        XCTAssertEqual(steps.compactMap { $0.string("id") }, ["a", "b", "x", "y"])
        XCTAssertEqual(steps.compactMap { $0.string("action") }, ["skipped", "skipped", "skipped", "conflict"])
        XCTAssertEqual(steps.last?["conflicts"] as? [String], ["README.md"])
        XCTAssertEqual(git(["status", "--porcelain"]), "")

        // Named, a failed task can be taken too.
        let failed = try gadugiRun(["merge", "f"])
        XCTAssertEqual(failed.status, 0, "\(failed)")
        XCTAssertTrue(failed.stdout.contains("merged f (gadugi/f) [failed (exit 2)]"), failed.stdout)
    }

    /// b was built on a's branch: merging b alone would bring a's commit in under b's merge, so a
    /// is merged first, as its own merge, and the output says why.
    func testMergingATaskMergesTheDependencyItIsBuiltOnFirst() throws {
        try runTasks()
        let start = head()
        let r = try gadugiRun(["merge", "b", "--json"])
        XCTAssertEqual(r.status, 0, "\(r)")
        let steps = (try json(r)["steps"] as? [[String: Any]]) ?? []
        XCTAssertEqual(steps.compactMap { $0.string("id") }, ["a", "b"])
        XCTAssertEqual(steps.compactMap { $0.string("action") }, ["merged", "merged"])
        XCTAssertEqual(steps.first?.string("reason"), "merged first: b is built on it")
        XCTAssertNil(steps.last?.string("reason"))
        let subjects = git(["log", "--first-parent", "--format=%s", start + "..HEAD"]).split(separator: "\n").map(String.init)
        XCTAssertEqual(subjects, ["gadugi: merge task b from gadugi/b", "gadugi: merge task a from gadugi/a"])

        // x was built on nothing: merged alone; a, already merged, is not mentioned again.
        let x = try gadugiRun(["merge", "x", "b"])
        XCTAssertEqual(x.status, 0, "\(x)")
        XCTAssertTrue(x.stdout.contains("merged x (gadugi/x) as "), x.stdout)
        XCTAssertTrue(x.stdout.contains("skipped b: already merged"), x.stdout)
        XCTAssertFalse(x.stdout.contains("a (gadugi/a)") || x.stdout.contains("skipped a"), x.stdout)
    }

    func testARootOutsideAnyRepositoryIsRefusedWithAMessage() throws {
        useRoot(try makeScratchDir("plain"))
        try initSpool()
        for args in [["review"], ["merge", "--done"]] {
            let r = try gadugiRun(args)
            XCTAssertEqual(r.status, 1, "\(r)")
            XCTAssertTrue(r.stderr.contains("is not inside a git repository"), r.stderr)
        }
        let usage = try gadugiRun(["merge"])
        XCTAssertEqual(usage.status, 64, "neither ids nor --done is a usage error:\n\(usage)")
    }
}
