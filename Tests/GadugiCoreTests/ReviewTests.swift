import Foundation
import XCTest
@testable import GadugiCore

/// The merge order, the reading of git's answers, and the review and merge of real branches in a
/// real temporary repository (the spool's root, one commit on `main`).
final class ReviewTests: SpoolTestCase {
    // MARK: - MergePlan

    func at(_ seconds: Int64) -> Timestamp { Timestamp(seconds: seconds, nanoseconds: 0) }

    func testTasksGoInTheOrderTheyFinished() {
        let items = [MergePlan.Item(id: "c", finishedAt: at(30)), .init(id: "a", finishedAt: at(10)), .init(id: "b", finishedAt: at(20))]
        XCTAssertEqual(MergePlan.order(items), ["a", "b", "c"])
    }

    func testADependencyGoesFirstEvenWhenItFinishedLater() {
        // b depends on a but finished first (a was retried, say): a still goes before b, and
        // x, free, keeps its place by finish time.
        let items = [MergePlan.Item(id: "b", dependencies: ["a"], finishedAt: at(10)),
                     .init(id: "x", finishedAt: at(15)),
                     .init(id: "a", finishedAt: at(20))]
        XCTAssertEqual(MergePlan.order(items), ["x", "a", "b"])
    }

    func testAChainAndADiamondFollowTheirDependencies() {
        let items = [MergePlan.Item(id: "join", dependencies: ["left", "right"], finishedAt: at(1)),
                     .init(id: "right", dependencies: ["root"], finishedAt: at(2)),
                     .init(id: "left", dependencies: ["root"], finishedAt: at(3)),
                     .init(id: "root", finishedAt: at(4))]
        XCTAssertEqual(MergePlan.order(items), ["root", "right", "left", "join"])
    }

    func testDependenciesOutsideTheSetAreIgnoredAndUnknownTimesGoLastByID() {
        let items = [MergePlan.Item(id: "z"), .init(id: "y"),
                     .init(id: "b", dependencies: ["not-asked-for"], finishedAt: at(5))]
        XCTAssertEqual(MergePlan.order(items), ["b", "y", "z"])
    }

    func testACycleOrSelfDependencyStillPlacesEveryTaskOnce() {
        let items = [MergePlan.Item(id: "p", dependencies: ["q"], finishedAt: at(1)),
                     .init(id: "q", dependencies: ["p"], finishedAt: at(2)),
                     .init(id: "s", dependencies: ["s"], finishedAt: at(3))]
        // s is free (itself aside); then nothing is, so the earliest of the cycle goes next.
        XCTAssertEqual(MergePlan.order(items), ["s", "p", "q"])
    }

    // MARK: - TrialMerge.parse

    let tree = String(repeating: "a", count: 40)

    func testACleanTrialMergeIsItsTree() {
        XCTAssertEqual(TrialMerge.parse(status: 0, stdout: tree + "\0", stderr: ""), .clean(tree: tree))
    }

    func testAConflictListsEachPathOnceWhateverItHolds() {
        let out = tree + "\0README.md\0dir/sp ace \"q\".txt\0new\nline\0README.md\0"
        XCTAssertEqual(TrialMerge.parse(status: 1, stdout: out, stderr: ""),
                       .conflicts(tree: tree, paths: ["README.md", "dir/sp ace \"q\".txt", "new\nline"]))
    }

    func testGitsMessagesAfterThePathsAreNotPaths() {
        // Without --no-messages, an empty field ends the list and messages follow.
        let out = tree + "\0f\0\0" + "1\0f\0Auto-merging\0Auto-merging f\n\0"
        XCTAssertEqual(TrialMerge.parse(status: 1, stdout: out, stderr: "").paths, ["f"])
    }

    func testAFailureIsNotAConflict() {
        XCTAssertEqual(TrialMerge.parse(status: 128, stdout: "", stderr: "fatal: refusing to merge unrelated histories\n"),
                       .failed("fatal: refusing to merge unrelated histories"))
        // git says 1, with no tree, for "not something we can merge".
        XCTAssertEqual(TrialMerge.parse(status: 1, stdout: "", stderr: "merge-tree: nosuch - not something we can merge\n").failure,
                       "merge-tree: nosuch - not something we can merge")
    }

    func testStatusPathsReadRenamesAndSpaces() {
        let out = " M README.md\0M  src/a b.swift\0R  new.txt\0old.txt\0UU both.txt\0"
        XCTAssertEqual(RootCheckout.statusPaths(out), ["README.md", "src/a b.swift", "new.txt", "both.txt"])
    }

    // MARK: - real repositories

    /// `git` in the root with a test identity; stdout without its final newline.
    @discardableResult
    func git(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) -> String {
        let output = Git(directory: root, configuration: ["-c", "user.name=test", "-c", "user.email=test@example.com"]).run(arguments)
        XCTAssertEqual(output.status, 0, "\(output.command): \(output.stderr)", file: file, line: line)
        return output.stdout.trimmingCharacters(in: .newlines)
    }

    /// A repository with `README` on `main` and the spool hidden from `git status`.
    func makeRepository() throws -> String {
        git(["init", "-q", "-b", "main"])
        try write(root + "/README", "hello\n")
        git(["add", "README"])
        git(["commit", "-q", "-m", "initial"])
        try Worktrees.exclude(gadugiIn: root)
        return git(["rev-parse", "HEAD"])
    }

    /// A finished task `id` whose branch `gadugi/<id>` adds one commit writing `text` to `file`
    /// from `base`, with the records and the prompt in its queue folder as gadugi leaves them.
    func finishedTask(_ id: String, file: String, text: String, base: String, state: TaskState = .done,
                      dependsOn: [String] = [], finishedAt: Int64) throws {
        git(["switch", "-q", "-c", "gadugi/" + id, base])
        try write(root + "/" + file, text)
        git(["add", file])
        git(["commit", "-q", "-m", "gadugi: " + id])
        let head = git(["rev-parse", "HEAD"])
        git(["switch", "-q", "main"])
        try Files.makeDirectories(layout.taskDirectory(id))
        var record = TaskRecord(id: id, ext: "md", name: id + ".md", state: state)
        record.finishedAt = at(finishedAt)
        record.dependsOn = dependsOn
        for name in dependsOn { record.dependencies[name] = name }
        if state == .failed { record.exitCode = 2 }
        try record.save(layout)
        let baseCommit = git(["rev-parse", base])
        try WorktreeRecord(path: ".gadugi/worktrees/" + id, branch: "gadugi/" + id, base: base, baseCommit: baseCommit,
                           head: head, kept: false).save(layout, id: id)
        try write(layout.queue(state.queue, id + ".md"), "Task \(id).\n")
    }

    func testFinishedTasksAreReadFromTheirQueueFolderAndRecords() throws {
        let main = try makeRepository()
        try finishedTask("a", file: "a.txt", text: "a\n", base: main, finishedAt: 10)
        try finishedTask("b", file: "b.txt", text: "b\n", base: "gadugi/a", dependsOn: ["a"], finishedAt: 20)
        try finishedTask("f", file: "f.txt", text: "f\n", base: main, state: .failed, finishedAt: 5)
        try write(layout.queue(.claimed, "w.md"), "Waiting.\n")
        try Files.makeDirectories(layout.taskDirectory("w"))
        try TaskRecord(id: "w", ext: "md", name: "w.md", state: .waiting).save(layout)

        let tasks = FinishedTask.all(in: layout)
        XCTAssertEqual(tasks.map(\.id), ["a", "b", "f"])
        XCTAssertEqual(tasks.map(\.state), [.done, .done, .failed])
        XCTAssertEqual(tasks[1].dependencies, ["a"])
        XCTAssertEqual(tasks[1].branch, "gadugi/b")
        XCTAssertEqual(tasks[1].baseCommit, git(["rev-parse", "gadugi/a"]))
        XCTAssertEqual(tasks[2].outcome, "failed (exit 2)")

        XCTAssertThrowsError(try FinishedTask.named(["a", "w", "nope"], in: layout)) { error in
            XCTAssertEqual(error as? ReviewFailure, .notFinished([.init(id: "w", reason: "not finished yet (waiting)"),
                                                                   .init(id: "nope", reason: "no such task")]))
        }
    }

    func testReviewNamesExactlyTheConflictingPairAndTheOrder() throws {
        let main = try makeRepository()
        try finishedTask("a", file: "a.txt", text: "a\n", base: main, finishedAt: 10)
        try finishedTask("b", file: "b.txt", text: "b\n", base: "gadugi/a", dependsOn: ["a"], finishedAt: 20)
        try finishedTask("x", file: "README", text: "x\n", base: main, finishedAt: 30)
        try finishedTask("y", file: "README", text: "y\n", base: main, finishedAt: 40)
        try finishedTask("f", file: "f.txt", text: "f\n", base: main, state: .failed, finishedAt: 1)

        let review = try Review(layout: layout)
        XCTAssertEqual(review.into, Review.Into(branch: "main", head: main))
        XCTAssertEqual(review.order, ["f", "a", "b", "x", "y"])
        let byID = Dictionary(uniqueKeysWithValues: review.entries.map { ($0.task.id, $0) })
        XCTAssertEqual(byID["x"]?.conflictsWith.map(\.id), ["y"])
        XCTAssertEqual(byID["x"]?.conflictsWith.first?.paths, ["README"])
        XCTAssertEqual(byID["y"]?.conflictsWith.map(\.id), ["x"])
        for id in ["a", "b", "f"] { XCTAssertEqual(byID[id]?.conflictsWith, [], id) }
        for id in ["a", "b", "x", "y", "f"] { XCTAssertEqual(byID[id]?.intoHead?.isClean, true, id) }
        XCTAssertEqual(byID["b"]?.commitsAhead, 1, "counted from its base, a's branch")
        XCTAssertEqual(byID["b"]?.files, ["b.txt"])
        XCTAssertEqual(review.conflictingPairs.map { [$0.0, $0.1] }, [["x", "y"]])
        XCTAssertEqual(review.json["schema_version"], .int(1))

        // Over the limit, the pairs are left out and the report says so.
        let capped = try Review(layout: layout, pairwiseLimit: 2)
        XCTAssertFalse(capped.pairwise.checked)
        XCTAssertEqual(capped.pairwise.pairs, 10)
        XCTAssertTrue(capped.entries.allSatisfy(\.conflictsWith.isEmpty))
        XCTAssertTrue(capped.text.contains("--pairwise-limit 5"), capped.text)
    }

    func testMergeStopsAtTheConflictWithTheCheckoutCleanAtTheLastGoodMerge() throws {
        let main = try makeRepository()
        try finishedTask("x", file: "README", text: "x\n", base: main, finishedAt: 30)
        try finishedTask("a", file: "a.txt", text: "a\n", base: main, finishedAt: 20)
        try finishedTask("b", file: "b.txt", text: "b\n", base: "gadugi/a", dependsOn: ["a"], finishedAt: 10)
        try finishedTask("y", file: "README", text: "y\n", base: main, finishedAt: 40)

        let dry = try MergeBack.run(layout, .done, dryRun: true)
        XCTAssertEqual(dry.order, ["a", "b", "x", "y"], "b after a, its dependency, though it finished first")
        XCTAssertEqual(git(["rev-parse", "HEAD"]), main, "a dry run merges nothing")

        let outcome = try MergeBack.run(layout, .done, dryRun: false)
        XCTAssertEqual(outcome.steps.map(\.action), [.merged, .merged, .merged, .conflict])
        XCTAssertEqual(outcome.stop?.task.id, "y")
        XCTAssertEqual(outcome.stop?.paths, ["README"])
        XCTAssertEqual(git(["status", "--porcelain"]), "")
        XCTAssertEqual(git(["rev-parse", "HEAD"]), outcome.headAfter)
        XCTAssertEqual(git(["rev-parse", "HEAD^2"]), git(["rev-parse", "gadugi/x"]), "HEAD is the merge of x")
        XCTAssertEqual(git(["log", "-1", "--format=%s"]), "gadugi: merge task x from gadugi/x")

        // Again: what is merged is skipped, and it stops at the same place.
        let again = try MergeBack.run(layout, .done, dryRun: false)
        XCTAssertEqual(again.steps.map(\.action), [.skipped, .skipped, .skipped, .conflict])
        XCTAssertEqual(again.steps.first?.reason, "already merged into main")
        XCTAssertTrue(again.text.contains("'gadugi merge --done' again"), again.text)
    }

    func testMergeRefusesAChangedCheckoutAndAMergeInProgress() throws {
        let main = try makeRepository()
        try finishedTask("a", file: "a.txt", text: "a\n", base: main, finishedAt: 10)
        try write(root + "/README", "changed\n")
        XCTAssertThrowsError(try MergeBack.run(layout, .done, dryRun: false)) { error in
            XCTAssertEqual(error as? ReviewFailure, .dirty(root: root, files: ["README"]))
        }
        XCTAssertEqual(git(["rev-parse", "HEAD"]), main)
        XCTAssertEqual(try MergeBack.run(layout, .done, dryRun: true).steps.map(\.action), [.wouldMerge],
                       "a dry run does not look at the working tree")
        git(["checkout", "README"])
        try write(root + "/.git/MERGE_HEAD", git(["rev-parse", "gadugi/a"]) + "\n")
        XCTAssertThrowsError(try MergeBack.run(layout, .ids(["a"]), dryRun: false)) { error in
            XCTAssertEqual(error as? ReviewFailure, .mergeInProgress(root))
        }
    }

    func testARootOutsideAnyRepositoryIsRefused() {
        XCTAssertThrowsError(try Review(layout: layout)) { error in
            XCTAssertEqual(error as? ReviewFailure, .notARepository(root))
            XCTAssertTrue("\(error)".contains("not inside a git repository"))
        }
    }
}
