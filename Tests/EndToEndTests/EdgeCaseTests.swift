import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Requirement 3: failing and missing agents, ignored names, id collisions, unusable entries.
final class EdgeCaseTests: GadugiTestCase {
    let catAgent = #"cat > "$OUT/$GADUGI_TASK_ID""#

    private func outputs(_ out: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []).sorted()
    }

    func testFailingAgentPutsThePromptInFailedWithItsExitCode() throws {
        let src = try makeScratchDir("src")
        let file = try write(promptText("broken-build"), to: src.appendingPathComponent("broken-build.md"))

        let r = try gadugiRun(["run", file.path, "--agent", "exit 3"], timeout: 30)
        XCTAssertFalse(r.timedOut, "\(r)")
        XCTAssertEqual(r.status, 1, "a failed task should make `gadugi run FILE` exit 1:\n\(r)")
        XCTAssertEqual(allQueued(), ["failed/broken-build.md"])

        let p = progress("broken-build")
        XCTAssertNotNil(p, "no progress.json for broken-build")
        XCTAssertEqual(p?.string("state"), "failed", "progress.json: \(String(describing: p))")
        XCTAssertEqual(p?.int("exit_code"), 3, "progress.json: \(String(describing: p))")
        XCTAssertEqual(p?.string("id"), "broken-build")
    }

    /// A missing agent is found once, at start, instead of failing every prompt in turn (see
    /// ConfigSurfaceTests for where the agent came from); the prompt is never queued.
    func testMissingAgentIsRefusedAtStartAndSaysHowToConfigureAnAgent() throws {
        let src = try makeScratchDir("src")
        let file = try write(promptText("needs-agent"), to: src.appendingPathComponent("needs-agent.md"))

        let r = try gadugiRun(["run", file.path, "--agent", "no-such-agent-xyz"], timeout: 30)
        XCTAssertFalse(r.timedOut, "\(r)")
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertEqual(allQueued(), [], "nothing is queued, so nothing is claimed and failed")
        XCTAssertTrue(r.stderr.contains("--agent"), "the message tells how to configure an agent:\n\(r)")
    }

    func testIgnoredNamesInIncomingAreLeftUntouched() throws {
        try initSpool()
        let out = try makeScratchDir("out")
        let ignored = [".hidden.md", "notes.md~", ".x.md.swp", "4913", "readme.rst"]
        var before: [String: (Data, Date)] = [:]
        for name in ignored {
            let url = queue(.incoming).appendingPathComponent(name)
            try write("scratch content of \(name)\n", to: url)
            let attrs = try FileManager.default.attributesOfItem(atPath: url.path)
            before[name] = (FileManager.default.contents(atPath: url.path)!, attrs[.modificationDate] as! Date)
        }
        let real = Data(promptText("real-prompt").utf8)
        try write(real, to: queue(.incoming).appendingPathComponent("real-prompt.md"))

        let r = try gadugiRun(["run", "--until-idle", "--agent", catAgent], timeout: 30, env: ["OUT": out.path])
        XCTAssertFalse(r.timedOut, "run --until-idle should not wait for ignored files:\n\(r)")
        XCTAssertEqual(r.status, 0, "\(r)")

        XCTAssertEqual(list(.incoming), ignored.sorted(), "ignored files must stay in incoming")
        for name in ignored {
            let url = queue(.incoming).appendingPathComponent(name)
            XCTAssertEqual(FileManager.default.contents(atPath: url.path), before[name]?.0, "\(name) content changed")
            let mtime = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.modificationDate] as? Date
            XCTAssertEqual(mtime, before[name]?.1, "\(name) was modified")
        }
        assertAllDone(["real-prompt"], allowInIncoming: Set(ignored))
        XCTAssertEqual(outputs(out), ["real-prompt"], "only the real prompt should have run")
        XCTAssertEqual(FileManager.default.contents(atPath: out.appendingPathComponent("real-prompt").path), real)
    }

    func testSubmittingTheSameFileNameTwiceGivesDistinctIdsAndKeepsBothPrompts() throws {
        try initSpool()
        let out = try makeScratchDir("out")
        let a = try write("First fix-login prompt: the password field.\n",
                          to: try makeScratchDir("a").appendingPathComponent("fix-login.md"))
        let b = try write("Second fix-login prompt: the OAuth callback.\n",
                          to: try makeScratchDir("b").appendingPathComponent("fix-login.md"))
        let c = try write("Third fix-login prompt: the remember-me box.\n",
                          to: try makeScratchDir("c").appendingPathComponent("fix-login.md"))

        let r1 = try gadugiRun(["submit", a.path], timeout: 20)
        XCTAssertEqual(r1.status, 0, "\(r1)")
        XCTAssertEqual(r1.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "fix-login", "\(r1)")
        let r2 = try gadugiRun(["submit", b.path], timeout: 20)
        XCTAssertEqual(r2.status, 0, "\(r2)")
        XCTAssertEqual(r2.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "fix-login-2", "\(r2)")

        // --json: an array of {"file", "id"}.
        let r3 = try gadugiRun(["submit", "--json", c.path], timeout: 20)
        XCTAssertEqual(r3.status, 0, "\(r3)")
        let json = (try? JSONSerialization.jsonObject(with: Data(r3.stdout.utf8))) as? [[String: Any]]
        XCTAssertEqual(json?.count, 1, "submit --json should print a JSON array with one object:\n\(r3)")
        XCTAssertEqual(json?.first?.string("id"), "fix-login-3", "\(r3)")
        XCTAssertNotNil(json?.first?.string("file"), "\(r3)")

        XCTAssertEqual(count(.incoming), 3, "three submitted prompts should be queued: \(list(.incoming))")

        let r = try gadugiRun(["run", "--until-idle", "--agent", catAgent], timeout: 30, env: ["OUT": out.path])
        XCTAssertFalse(r.timedOut, "\(r)")
        XCTAssertEqual(r.status, 0, "\(r)")
        assertAllDone(["fix-login", "fix-login-2", "fix-login-3"])
        XCTAssertEqual(FileManager.default.contents(atPath: out.appendingPathComponent("fix-login").path),
                       FileManager.default.contents(atPath: a.path), "fix-login should run the first prompt")
        XCTAssertEqual(FileManager.default.contents(atPath: out.appendingPathComponent("fix-login-2").path),
                       FileManager.default.contents(atPath: b.path), "fix-login-2 should run the second prompt")
        XCTAssertEqual(FileManager.default.contents(atPath: out.appendingPathComponent("fix-login-3").path),
                       FileManager.default.contents(atPath: c.path), "fix-login-3 should run the third prompt")
        for (id, src) in [("fix-login", a), ("fix-login-2", b), ("fix-login-3", c)] {
            XCTAssertEqual(FileManager.default.contents(atPath: queue(.done).appendingPathComponent("\(id).md").path),
                           FileManager.default.contents(atPath: src.path), "done/\(id).md should hold its own prompt")
        }
    }

    func testSymlinkAndDirectoryInIncomingAreRejectedWithAReason() throws {
        try initSpool()
        let out = try makeScratchDir("out")
        let target = root.appendingPathComponent("docs/target.md")
        let targetText = promptText("target-of-symlink")
        try write(targetText, to: target)
        let targetMtime = try FileManager.default.attributesOfItem(atPath: target.path)[.modificationDate] as? Date

        XCTAssertEqual(symlink(target.path, queue(.incoming).appendingPathComponent("link.md").path), 0)
        try FileManager.default.createDirectory(at: queue(.incoming).appendingPathComponent("dir.md"),
                                                withIntermediateDirectories: false)

        let r = try gadugiRun(["run", "--until-idle", "--agent", catAgent], timeout: 30, env: ["OUT": out.path])
        XCTAssertFalse(r.timedOut, "\(r)")
        XCTAssertEqual(r.status, 0, "\(r)")

        XCTAssertEqual(list(.rejected), ["dir.md", "dir.md.reason", "link.md", "link.md.reason"])
        for name in ["link.md.reason", "dir.md.reason"] {
            let reason = readText(queue(.rejected).appendingPathComponent(name)) ?? ""
            XCTAssertFalse(reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(name) is empty or missing")
        }
        XCTAssertEqual(list(.incoming), [])
        XCTAssertEqual(list(.done) + list(.failed) + list(.claimed) + list(.running), [])
        XCTAssertEqual(outputs(out), [], "nothing should have been run")

        // The symlink's target is untouched.
        var isDir: ObjCBool = true
        XCTAssertTrue(FileManager.default.fileExists(atPath: target.path, isDirectory: &isDir) && !isDir.boolValue)
        XCTAssertEqual(readText(target), targetText, "the symlink's target was changed")
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: target.path)[.modificationDate] as? Date,
                       targetMtime, "the symlink's target was modified")
        let targetType = try FileManager.default.attributesOfItem(atPath: target.path)[.type] as? FileAttributeType
        XCTAssertEqual(targetType, .typeRegular)
    }
}
