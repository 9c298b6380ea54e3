import Foundation
import Glibc
import XCTest
@testable import GadugiCore

/// Real temporary git repositories: the spool's root is a repository with one commit on `main`.
final class WorktreesTests: SpoolTestCase {
    var worktrees: Worktrees!
    var main = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        git(["init", "-q", "-b", "main"])
        try write(root + "/f.txt", "base\n")
        try write(root + "/README", "hello\n")
        git(["add", "f.txt", "README"])
        git(["commit", "-q", "-m", "initial"])
        main = git(["rev-parse", "HEAD"])
        worktrees = try Worktrees(layout: layout)
    }

    override func tearDownWithError() throws {
        worktrees = nil
        try super.tearDownWithError()
    }

    /// Runs git with a test identity and returns stdout without the final newline; fails the test
    /// on a non-zero exit.
    @discardableResult
    func git(_ arguments: [String], in directory: String? = nil, file: StaticString = #filePath, line: UInt = #line) -> String {
        let runner = Git(directory: directory ?? root, configuration: ["-c", "user.name=test", "-c", "user.email=test@example.com"])
        let output = runner.run(arguments)
        XCTAssertEqual(output.status, 0, "\(output.command): \(output.stderr)", file: file, line: line)
        return output.stdout.trimmed("\n")
    }

    func request(_ id: String, base: String = "main", merge: [String] = []) -> Worktrees.Request {
        Worktrees.Request(id: id, worktree: layout.worktree(id), branch: "gadugi/" + id, base: base, merge: merge)
    }

    func prepare(_ id: String, base: String = "main", merge: [String] = []) throws -> Worktrees.Prepared {
        try Files.makeDirectories(layout.taskDirectory(id))
        return try worktrees.prepare(request(id, base: base, merge: merge))
    }

    /// A finished task whose branch adds `file` with `text`.
    func finishedDependency(_ id: String, file: String, text: String) throws {
        let prepared = try prepare(id)
        try write(prepared.worktree + "/" + file, text)
        _ = try worktrees.finish(id: id, name: id, status: 0)
    }

    func branches() -> [String] {
        git(["for-each-ref", "--format=%(refname:short)", "refs/heads/"]).split(separator: "\n").map(String.init)
    }

    func registered() -> [String] {
        git(["worktree", "list", "--porcelain"]).split(separator: "\n")
            .filter { $0.hasPrefix("worktree ") }.map { String($0.dropFirst(9)) }
    }

    // MARK: exclude

    func testExcludeIsIdempotentAndTheMainCheckoutStaysClean() throws {
        try Worktrees.exclude(gadugiIn: root)
        try Worktrees.exclude(gadugiIn: root)
        let exclude = text(root + "/.git/info/exclude") ?? ""
        XCTAssertEqual(exclude.split(separator: "\n").filter { $0 == "/.gadugi/" }.count, 1, exclude)
        let prepared = try prepare("a")
        try write(prepared.worktree + "/new.txt", "x\n")
        try write(layout.queue(.incoming, "p.md"), "prompt\n")
        XCTAssertEqual(git(["status", "--porcelain"]), "")
        XCTAssertEqual(git(["rev-parse", "HEAD"]), main)
    }

    func testExcludeCreatesAMissingInfoFolder() throws {
        removeTree(root + "/.git/info")
        try Worktrees.exclude(gadugiIn: root)
        XCTAssertEqual(text(root + "/.git/info/exclude")?.contains("\n/.gadugi/\n"), true)
    }

    // MARK: prepare

    func testPrepareMakesTheWorktreeAndBranchFromBase() throws {
        let prepared = try prepare("a")
        XCTAssertEqual(prepared.worktree, root + "/.gadugi/worktrees/a")
        XCTAssertFalse(prepared.reused)
        XCTAssertEqual(git(["branch", "--show-current"], in: prepared.worktree), "gadugi/a")
        XCTAssertEqual(git(["rev-parse", "HEAD"], in: prepared.worktree), main)
        XCTAssertEqual(text(prepared.worktree + "/f.txt"), "base\n")
        let record = try XCTUnwrap(WorktreeRecord.load(layout, id: "a"))
        XCTAssertEqual(record, WorktreeRecord(path: ".gadugi/worktrees/a", branch: "gadugi/a", base: "main",
                                              baseCommit: main, head: nil, kept: true))
        let json = try XCTUnwrap(JSON.parse(bytes(layout.worktreeRecord("a")) ?? []))
        XCTAssertEqual(json["schema_version"], .int(1))
        XCTAssertEqual(json["head"], .null)
    }

    func testABranchClashGetsASuffix() throws {
        git(["branch", "gadugi/a"])
        git(["branch", "gadugi/a-2"])
        let prepared = try prepare("a")
        XCTAssertEqual(prepared.branch, "gadugi/a-3")
        XCTAssertEqual(git(["branch", "--show-current"], in: prepared.worktree), "gadugi/a-3")
        XCTAssertEqual(WorktreeRecord.load(layout, id: "a")?.branch, "gadugi/a-3")
    }

    func testPrepareAgainReusesAValidWorktree() throws {
        let first = try prepare("a")
        try write(first.worktree + "/work.txt", "half done\n")
        let second = try prepare("a")
        XCTAssertTrue(second.reused)
        XCTAssertEqual(second.branch, "gadugi/a")
        XCTAssertEqual(text(second.worktree + "/work.txt"), "half done\n")
        XCTAssertEqual(branches(), ["gadugi/a", "main"])
    }

    func testPrepareAfterACrashThatRemovedTheDirectoryRedoesIt() throws {
        let first = try prepare("a")
        removeTree(first.worktree)
        let second = try prepare("a")
        XCTAssertFalse(second.reused)
        XCTAssertEqual(second.branch, "gadugi/a", "the recorded branch is attached again")
        XCTAssertEqual(git(["status", "--porcelain"], in: second.worktree), "")
        XCTAssertEqual(text(second.worktree + "/f.txt"), "base\n")
        XCTAssertEqual(registered().filter { $0.hasSuffix("/worktrees/a") }.count, 1)
    }

    func testPrepareOverADirectoryGitDoesNotKnowRedoesIt() throws {
        let first = try prepare("a")
        removeTree(root + "/.git/worktrees/a")          // registration gone, directory left
        try write(first.worktree + "/stray.txt", "x\n")
        let second = try prepare("a")
        XCTAssertFalse(second.reused)
        XCTAssertFalse(exists(second.worktree + "/stray.txt"))
        XCTAssertEqual(git(["branch", "--show-current"], in: second.worktree), "gadugi/a")
        XCTAssertTrue(registered().contains(second.worktree))
    }

    func testPrepareWithoutAnyRecordOverAHalfMadeDirectory() throws {
        try Files.makeDirectories(layout.worktree("a"))
        try write(layout.worktree("a") + "/junk", "x")
        let prepared = try prepare("a")
        XCTAssertEqual(git(["rev-parse", "HEAD"], in: prepared.worktree), main)
        XCTAssertFalse(exists(prepared.worktree + "/junk"))
    }

    func testSomethingInTheWayOutsideTheSpoolIsNotRemoved() throws {
        try Files.makeDirectories(root + "/elsewhere")
        try write(root + "/elsewhere/mine.txt", "keep me\n")
        var request = request("a")
        request.worktree = root + "/elsewhere"
        XCTAssertThrowsError(try worktrees.prepare(request)) { error in
            guard case .inTheWay = error as? Worktrees.Failure else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(text(root + "/elsewhere/mine.txt"), "keep me\n")
    }

    func testAnUnknownBaseSaysWhatToDo() throws {
        try Files.makeDirectories(layout.taskDirectory("a"))
        XCTAssertThrowsError(try worktrees.prepare(request("a", base: "no-such-branch"))) { error in
            XCTAssertTrue("\(error)".contains("'no-such-branch' names no commit"), "\(error)")
        }
        XCTAssertThrowsError(try worktrees.prepare(request("a", base: "--force"))) { error in
            guard case .invalidRequest = error as? Worktrees.Failure else { return XCTFail("\(error)") }
        }
    }

    // MARK: dependencies

    func testOneDependencyStartsFromItsBranch() throws {
        try finishedDependency("d1", file: "x.txt", text: "x\n")
        let prepared = try prepare("c", base: "gadugi/d1")
        XCTAssertEqual(text(prepared.worktree + "/x.txt"), "x\n")
        XCTAssertEqual(prepared.baseCommit, git(["rev-parse", "gadugi/d1"]))
    }

    func testTwoDependencyBranchesMergeCleanly() throws {
        try finishedDependency("d1", file: "x.txt", text: "x\n")
        try finishedDependency("d2", file: "y.txt", text: "y\n")
        let prepared = try prepare("c", base: "gadugi/d1", merge: ["gadugi/d2"])
        XCTAssertEqual(prepared.merged, ["gadugi/d2"])
        XCTAssertEqual(text(prepared.worktree + "/x.txt"), "x\n")
        XCTAssertEqual(text(prepared.worktree + "/y.txt"), "y\n")
        XCTAssertEqual(git(["log", "-1", "--format=%s"], in: prepared.worktree), "gadugi: merge dependencies of c")
        XCTAssertEqual(git(["rev-list", "--parents", "-1", "HEAD"], in: prepared.worktree).split(separator: " ").count, 3)
        XCTAssertEqual(git(["status", "--porcelain"], in: prepared.worktree), "")
    }

    func testConflictingDependenciesThrowWithThePathAndLeaveNoMerge() throws {
        try finishedDependency("d1", file: "f.txt", text: "one\n")
        try finishedDependency("d2", file: "f.txt", text: "two\n")
        try Files.makeDirectories(layout.taskDirectory("c"))
        XCTAssertThrowsError(try worktrees.prepare(request("c", base: "gadugi/d1", merge: ["gadugi/d2"]))) { error in
            XCTAssertEqual(error as? Worktrees.Failure, .mergeConflict(paths: ["f.txt"]))
            XCTAssertEqual("\(error)", "merging the work of its dependencies conflicts in: f.txt")
        }
        XCTAssertFalse(exists(root + "/.git/worktrees/c/MERGE_HEAD"))
        XCTAssertFalse(exists(layout.worktree("c")), "the blocked task's worktree holds nothing yet: it goes")
        XCTAssertEqual(git(["branch", "--list", "gadugi/c"]), "", "so does its branch, still at its start")
        XCTAssertNil(WorktreeRecord.load(layout, id: "c"), "and its record: a retry starts anew")
        XCTAssertEqual(git(["status", "--porcelain"]), "", "the main checkout is untouched")
    }

    func testAConflictAfterAnEarlierAttemptsWorkKeepsThatBranch() throws {
        try finishedDependency("d1", file: "f.txt", text: "one\n")
        try finishedDependency("d2", file: "f.txt", text: "two\n")
        try Files.makeDirectories(layout.taskDirectory("c"))
        // An earlier attempt made gadugi/c and committed on it; its worktree is gone.
        git(["branch", "gadugi/c", "gadugi/d1"])
        let other = root + "/elsewhere"
        git(["worktree", "add", "-q", other, "gadugi/c"])
        try write(other + "/g.txt", "work\n")
        git(["add", "g.txt"], in: other)
        git(["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "earlier work"], in: other)
        git(["worktree", "remove", other])
        let tip = git(["rev-parse", "gadugi/c"])
        try WorktreeRecord(path: ".gadugi/worktrees/c", branch: "gadugi/c", base: "gadugi/d1",
                           baseCommit: git(["rev-parse", "gadugi/d1"]), kept: false).save(layout, id: "c")
        XCTAssertThrowsError(try worktrees.prepare(request("c", base: "gadugi/d1", merge: ["gadugi/d2"])))
        XCTAssertEqual(git(["rev-parse", "gadugi/c"]), tip, "a branch holding work is never deleted")
        XCTAssertEqual(WorktreeRecord.load(layout, id: "c")?.branch, "gadugi/c", "and the next attempt still finds it")
        XCTAssertFalse(exists(layout.worktree("c")))
    }

    func testRequestForATaskUsesItsDependenciesRecordedBranches() throws {
        git(["branch", "gadugi/d1"])
        try finishedDependency("d1", file: "x.txt", text: "x\n")    // made as gadugi/d1-2
        let none = Worktrees.Request.forTask("c", layout: layout, base: main, dependencies: [])
        XCTAssertEqual(none, Worktrees.Request(id: "c", worktree: root + "/.gadugi/worktrees/c", branch: "gadugi/c", base: main))
        let several = Worktrees.Request.forTask("c", layout: layout, base: main, dependencies: ["d1", "d2"])
        XCTAssertEqual(several.base, "gadugi/d1-2")
        XCTAssertEqual(several.merge, ["gadugi/d2"])
        XCTAssertEqual(several.environment(startCommit: nil).dropLast().last, "GADUGI_MERGE=gadugi/d2")
    }

    // MARK: finish

    func testFinishCommitsLeftoversAndRemovesTheWorktreeOnSuccess() throws {
        let prepared = try prepare("a")
        try write(prepared.worktree + "/new.txt", "new\n")
        try write(prepared.worktree + "/f.txt", "changed\n")
        let finished = try worktrees.finish(id: "a", name: "Fix the login", status: 0)
        XCTAssertTrue(finished.removed)
        XCTAssertFalse(exists(prepared.worktree))
        XCTAssertFalse(registered().contains(prepared.worktree))
        XCTAssertEqual(git(["log", "-1", "--format=%s", "gadugi/a"]), "gadugi: Fix the login")
        XCTAssertEqual(git(["show", "gadugi/a:new.txt"]), "new")
        XCTAssertEqual(git(["show", "gadugi/a:f.txt"]), "changed")
        let head = git(["rev-parse", "gadugi/a"])
        XCTAssertEqual(finished.leftovers, head)
        XCTAssertEqual(WorktreeRecord.load(layout, id: "a")?.head, head)
        XCTAssertEqual(WorktreeRecord.load(layout, id: "a")?.kept, false)
        XCTAssertEqual(git(["rev-parse", "HEAD"]), main, "the main checkout is untouched")
        XCTAssertEqual(text(root + "/f.txt"), "base\n")
    }

    func testFinishKeepsTheWorktreeOnFailure() throws {
        let prepared = try prepare("a")
        try write(prepared.worktree + "/half.txt", "half\n")
        let finished = try worktrees.finish(id: "a", name: "a", status: 1)
        XCTAssertFalse(finished.removed)
        XCTAssertTrue(exists(prepared.worktree + "/half.txt"))
        XCTAssertEqual(git(["log", "-1", "--format=%s", "gadugi/a"]), "gadugi: a")
        XCTAssertEqual(git(["status", "--porcelain"], in: prepared.worktree), "")
        XCTAssertEqual(WorktreeRecord.load(layout, id: "a")?.kept, true)
        XCTAssertEqual(WorktreeRecord.load(layout, id: "a")?.head, git(["rev-parse", "gadugi/a"]))
    }

    func testFinishWithNothingLeftMakesNoCommit() throws {
        let prepared = try prepare("a")
        try write(prepared.worktree + "/done.txt", "done\n")
        git(["add", "done.txt"], in: prepared.worktree)
        git(["commit", "-q", "-m", "agent's own commit"], in: prepared.worktree)
        let finished = try worktrees.finish(id: "a", name: "a", status: 0)
        XCTAssertNil(finished.leftovers)
        XCTAssertEqual(git(["log", "-1", "--format=%s", "gadugi/a"]), "agent's own commit")
    }

    // MARK: concurrency

    func testEightConcurrentPreparesOnOneRepositoryAllSucceed() throws {
        let ids = (1...8).map { "t\($0)" }
        for id in ids { try Files.makeDirectories(layout.taskDirectory(id)) }
        let results = Results()
        let layout: Layout = self.layout
        let threads = ids.map { id in
            Thread {
                do {
                    _ = try Worktrees(layout: layout).prepare(
                        Worktrees.Request(id: id, worktree: layout.worktree(id), branch: "gadugi/" + id, base: "main"))
                    results.add(nil)
                } catch {
                    results.add("\(id): \(error)")
                }
            }
        }
        threads.forEach { $0.start() }
        XCTAssertTrue(eventually(timeout: 60) { results.count == ids.count })
        XCTAssertEqual(results.errors, [])
        for id in ids { XCTAssertEqual(git(["branch", "--show-current"], in: layout.worktree(id)), "gadugi/" + id) }
        XCTAssertEqual(registered().count, 9)
    }

    // MARK: HEAD without git

    func testHeadReadsALooseRefAPackedRefAndADetachedHead() throws {
        XCTAssertEqual(Git.head(topLevel: root), main)
        git(["pack-refs", "--all"])
        XCTAssertFalse(exists(root + "/.git/refs/heads/main"))
        XCTAssertEqual(Git.head(topLevel: root), main)
        git(["commit", "-q", "--allow-empty", "-m", "second"])
        XCTAssertEqual(Git.head(topLevel: root), git(["rev-parse", "HEAD"]))
        git(["checkout", "-q", "--detach", "HEAD~1"])
        XCTAssertEqual(Git.head(topLevel: root), main)
        let prepared = try prepare("a")
        XCTAssertEqual(Git.head(topLevel: prepared.worktree), git(["rev-parse", "HEAD"], in: prepared.worktree))
        XCTAssertEqual(Git.topLevel(of: prepared.worktree + "/sub/dir"), prepared.worktree)
        XCTAssertEqual(Git.commonDirectory(topLevel: prepared.worktree), root + "/.git")
    }

    func testHeadOfABranchWithoutCommitsIsNil() throws {
        let empty = root + "/empty"
        try Files.makeDirectories(empty)
        git(["init", "-q", "-b", "main"], in: empty)
        XCTAssertNil(Git.head(topLevel: empty))
    }

    // MARK: clean

    func failedTask(_ id: String) throws {
        let prepared = try prepare(id)
        try write(prepared.worktree + "/wip.txt", "wip\n")
        _ = try worktrees.finish(id: id, name: id, status: 1)
        try write(layout.queue(.failed, id + ".md"), "prompt\n")
    }

    func testCleanRemovesAFailedTasksWorktreeOnlyWhenAsked() throws {
        try failedTask("a")
        var report = try worktrees.clean(.init())
        XCTAssertEqual(report.removed, [])
        XCTAssertEqual(report.kept.map(\.name), ["a"])
        XCTAssertTrue(exists(layout.worktree("a")))
        report = try worktrees.clean(.init(failed: true, dryRun: true))
        XCTAssertEqual(report.removed.map(\.name), ["a"])
        XCTAssertTrue(exists(layout.worktree("a")), "a dry run removes nothing")
        report = try worktrees.clean(.init(failed: true))
        XCTAssertEqual(report.removed.map(\.name), ["a"])
        XCTAssertFalse(exists(layout.worktree("a")))
        XCTAssertFalse(registered().contains(layout.worktree("a")))
        XCTAssertEqual(WorktreeRecord.load(layout, id: "a")?.kept, false)
        XCTAssertEqual(git(["show", "gadugi/a:wip.txt"]), "wip", "the branch keeps the work")
    }

    func testCleanNeverTouchesALockedTask() throws {
        try failedTask("a")
        let fd = try TaskLock.take(layout.taskDirectory("a"))
        defer { close(fd) }
        let report = try worktrees.clean(.init(failed: true))
        XCTAssertEqual(report.removed, [])
        XCTAssertEqual(report.kept.first?.reason, "running (its task folder is locked)")
        XCTAssertTrue(exists(layout.worktree("a") + "/wip.txt"))
    }

    func testCleanHonoursOlderThanAndLeavesUnfinishedTasks() throws {
        try failedTask("a")
        _ = try prepare("b")
        var report = try worktrees.clean(.init(failed: true, olderThan: 3600))
        XCTAssertEqual(report.removed, [])
        XCTAssertEqual(Set(report.kept.map(\.name)), ["a", "b"])
        report = try worktrees.clean(.init(failed: true, olderThan: 3600, now: Timestamp.now().adding(7200)))
        XCTAssertEqual(report.removed.map(\.name), ["a"])
        XCTAssertTrue(exists(layout.worktree("b")))
    }

    func testCleanDeletesMergedGadugiBranchesOnly() throws {
        try finishedDependency("merged", file: "m.txt", text: "m\n")
        git(["merge", "-q", "--ff-only", "gadugi/merged"])
        try finishedDependency("open", file: "o.txt", text: "o\n")
        _ = try prepare("running")
        git(["branch", "other", "main"])
        let report = try worktrees.clean(.init(branchesMergedInto: "main"))
        XCTAssertEqual(report.deletedBranches.map(\.name), ["gadugi/merged"])
        XCTAssertEqual(report.keptBranches.map(\.name), ["gadugi/running"])
        XCTAssertEqual(branches(), ["gadugi/open", "gadugi/running", "main", "other"])
    }

    // MARK: the simulated agent

    func testTheSimulatedAgentCommitsItsFileInTheWorktree() throws {
        let prepared = try prepare("a")
        let environment = ["GADUGI_ROOT": root, "GADUGI_TASK_ID": "a", "GADUGI_SIMULATE_STEP": "0",
                           "GADUGI_WORKTREE": prepared.worktree]
        let status = SimulatedAgent.run(environment: environment, input: Array("Do it\n".utf8),
                                        directory: prepared.worktree) { _ in }
        XCTAssertEqual(status, 0)
        XCTAssertEqual(git(["log", "-1", "--format=%s", "gadugi/a"]), "simulated agent: a")
        XCTAssertEqual(git(["show", "gadugi/a:gadugi-simulated/a.txt"]).split(separator: "\n").count, 4)
        XCTAssertEqual(git(["status", "--porcelain"], in: prepared.worktree), "")
    }
}

/// Outcomes gathered from threads.
private final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private var outcomes: [String?] = []

    func add(_ error: String?) { lock.withLock { outcomes.append(error) } }
    var count: Int { lock.withLock { outcomes.count } }
    var errors: [String] { lock.withLock { outcomes.compactMap { $0 } } }
}
