import Glibc
import XCTest
@testable import GadugiCore
import SystemPackage

final class TaskIDTests: XCTestCase {
    // MARK: base

    func testBaseDropsTheExtension() {
        XCTAssertEqual(TaskID.base(forFileName: "fix-login.md"), "fix-login")
        XCTAssertEqual(TaskID.base(forFileName: "notes.txt"), "notes")
        XCTAssertEqual(TaskID.base(forFileName: "README"), "README")
    }

    func testBaseKeepsLettersDigitsUnderscoreAndDash() {
        XCTAssertEqual(TaskID.base(forFileName: "Fix_Login-2.md"), "Fix_Login-2")
        XCTAssertEqual(TaskID.base(forFileName: "ABCxyz0189_-q.md"), "ABCxyz0189_-q")
    }

    func testBaseTurnsEachRunOfOtherCharactersIntoOneDash() {
        XCTAssertEqual(TaskID.base(forFileName: "fix login.md"), "fix-login")
        XCTAssertEqual(TaskID.base(forFileName: "fix   login!!  now.md"), "fix-login-now")
        XCTAssertEqual(TaskID.base(forFileName: "a\tb\nc.md"), "a-b-c")
    }

    func testBaseReplacesUnicodeByDashes() {
        XCTAssertEqual(TaskID.base(forFileName: "héllo wörld.md"), "h-llo-w-rld")
        XCTAssertEqual(TaskID.base(forFileName: "résumé.md"), "r-sum")
        XCTAssertEqual(TaskID.base(forFileName: "日本語.md"), "task")
        XCTAssertEqual(TaskID.base(forFileName: "fix 🐛 bug.md"), "fix-bug")
    }

    func testBaseReplacesInnerDots() {
        XCTAssertEqual(TaskID.base(forFileName: "v1.2.3.md"), "v1-2-3")
        XCTAssertEqual(TaskID.base(forFileName: "a..b.md"), "a-b")
        XCTAssertEqual(TaskID.base(forFileName: "...md"), "task")
    }

    func testBaseDropsLeadingAndTrailingDashes() {
        XCTAssertEqual(TaskID.base(forFileName: "--x--.md"), "x")
        XCTAssertEqual(TaskID.base(forFileName: "-rf.md"), "rf")
        XCTAssertEqual(TaskID.base(forFileName: "  spaced  .md"), "spaced")
        XCTAssertEqual(TaskID.base(forFileName: "!!!hello???.md"), "hello")
    }

    func testBaseOfNothingUsableIsTask() {
        XCTAssertEqual(TaskID.base(forFileName: ""), "task")
        XCTAssertEqual(TaskID.base(forFileName: "---.md"), "task")
        XCTAssertEqual(TaskID.base(forFileName: "   .txt"), "task")
        XCTAssertEqual(TaskID.base(forFileName: "!@#$%.md"), "task")
    }

    func testBaseIsCutAt64Characters() {
        let long = String(repeating: "a", count: 100)
        XCTAssertEqual(TaskID.base(forFileName: long + ".md"), String(repeating: "a", count: 64))
        let exact = String(repeating: "b", count: 64)
        XCTAssertEqual(TaskID.base(forFileName: exact + ".md"), exact)
    }

    func testBaseCutDoesNotLeaveATrailingDash() {
        // The 64th character is the dash that replaced the space: it must not end the id.
        let name = String(repeating: "a", count: 63) + " tail.md"
        XCTAssertEqual(TaskID.base(forFileName: name), String(repeating: "a", count: 63))
    }

    func testBaseCountsLengthAfterDroppingLeadingDashes() {
        let name = "---" + String(repeating: "c", count: 70) + ".md"
        XCTAssertEqual(TaskID.base(forFileName: name), String(repeating: "c", count: 64))
    }

    // MARK: candidate

    func testCandidateNumbering() {
        XCTAssertEqual(TaskID.candidate("fix-login", 1), "fix-login")
        XCTAssertEqual(TaskID.candidate("fix-login", 0), "fix-login")
        XCTAssertEqual(TaskID.candidate("fix-login", 2), "fix-login-2")
        XCTAssertEqual(TaskID.candidate("fix-login", 3), "fix-login-3")
        XCTAssertEqual(TaskID.candidate("fix-login", 12), "fix-login-12")
    }

    // MARK: isValid

    func testIsValidAcceptsIdsBaseProduces() {
        for id in ["fix-login", "fix-login-2", "task", "A_b-9", String(repeating: "z", count: 64)] {
            XCTAssertTrue(TaskID.isValid(id), id)
        }
    }

    func testIsValidRejectsWhatBaseNeverProduces() {
        let bad = ["", "a b", "-x", "x-", "a..b", "a.b", "a/b", "../etc", "täst", "a\nb",
                   String(repeating: "z", count: 65), "a.md"]
        for id in bad {
            XCTAssertFalse(TaskID.isValid(id), "'\(id)' must not be a valid id")
        }
    }

    /// The spool numbers ids (`<base>-2`, ...), so every numbered candidate of any base must be
    /// accepted as `--task` / `GADUGI_TASK_ID`, also for a base of the full 64 characters.
    func testIsValidAcceptsNumberedCandidatesOfEveryBase() {
        for base in ["fix", String(repeating: "a", count: 60), String(repeating: "a", count: 64)] {
            for n in [2, 3, 10, 999] {
                let id = TaskID.candidate(base, n)
                XCTAssertTrue(TaskID.isValid(id), "candidate \(n) of a \(base.count)-character base (\(id.count) characters) must be valid")
            }
        }
    }

    // MARK: safety as a path component and a git branch component

    /// Properties every id must have, checked over fixed nasty names and a deterministic fuzz.
    func testIdsAreSafePathAndBranchComponents() {
        var names = ["..md", "../../etc/passwd.md", "a..b.md", "-rf .md", "--.md", "x.lock.md", "@{u}.md",
                     "feature/x.md", "a~1^2:3?4*5[6\\7.md", "HEAD.md", " .md", "\u{0}nul.md", "tab\tname.md",
                     ".hidden.md", "ends with dot..md", "end-.md", "ünïcödé.md", "🙂.md", "a b c.txt", ""]
        var state: UInt64 = 0x9E3779B97F4A7C15
        let alphabet = Array("ab-_. /\\~^:?*[]@{}!$`'\";|&<>\tüé🙂0Z".unicodeScalars)
        for _ in 0..<500 {
            var s = ""
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let length = Int(state >> 58) + 1
            for _ in 0..<length {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                s.unicodeScalars.append(alphabet[Int(state >> 33) % alphabet.count])
            }
            names.append(s + ".md")
        }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
        for name in names {
            let id = TaskID.base(forFileName: name)
            XCTAssertFalse(id.isEmpty, name)
            XCTAssertLessThanOrEqual(id.count, TaskID.maxLength, name)
            XCTAssertTrue(id.allSatisfy { allowed.contains($0) }, "'\(id)' from '\(name)' has a character outside [A-Za-z0-9_-]")
            XCTAssertFalse(id.contains(".."), name)
            XCTAssertFalse(id.hasPrefix("-"), "'\(id)' from '\(name)' starts with '-'")
            XCTAssertFalse(id.hasSuffix("-"), "'\(id)' from '\(name)' ends with '-'")
            XCTAssertFalse(id.contains(" "), name)
            XCTAssertFalse(id.contains("/"), name)
            XCTAssertTrue(TaskID.isValid(id), "'\(id)' from '\(name)' is not accepted by isValid")
            XCTAssertEqual(TaskID.base(forFileName: id + ".md"), id, "base is idempotent on ids")
        }
    }

    /// Asks git itself: each id (and its numbered form) is a valid branch name component.
    func testGitAcceptsIdsAsBranchNames() throws {
        guard access("/usr/bin/git", X_OK) == 0 else { throw XCTSkip("git is not installed") }
        let names = ["..md", "-rf .md", "@{u}.md", "a~1^2:3?4*5[6\\7.md", "x.lock.md", "HEAD.md", "ünïcödé.md",
                     "a b.md", "--.md", "feature/x.md", String(repeating: "q", count: 90) + ".md"]
        let ids = names.map { TaskID.base(forFileName: $0) } + names.map { TaskID.candidate(TaskID.base(forFileName: $0), 2) }
        let dir = try makeTemporaryDirectory()
        defer { removeTree(dir) }
        let out = dir + "/out"
        let script = #"for id; do git check-ref-format "refs/heads/gadugi/$id" || echo "rejected: $id"; git check-ref-format --branch "gadugi/$id" >/dev/null || echo "rejected branch: gadugi/$id"; done"#
        let status = runProcess(["/bin/sh", "-c", script, "sh"] + ids, output: out)
        let output = (try? String(contentsOfFile: out, encoding: .utf8)) ?? "?"
        XCTAssertEqual(status, 0, output)
        XCTAssertFalse(output.contains("rejected"), output)
    }
}
