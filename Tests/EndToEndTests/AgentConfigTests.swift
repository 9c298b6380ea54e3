// The Claude Code configuration the README recommends, config-examples/claude-code.yaml, run
// verbatim through the binary. Claude Code itself is not available here, so a stand-in `claude`
// (a small /bin/sh script first on PATH) records what it was given — its arguments, working
// directory, stdin, environment and whether worktree_setup copied `.env` — into a folder outside
// the worktree, prints stream-json-looking lines and leaves edits uncommitted, as the real one may.
// Real git repository, real processes.

import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

final class AgentConfigTests: GadugiTestCase {
    /// The package's config-examples/claude-code.yaml (this file is Tests/EndToEndTests/…).
    private static let configFile = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("config-examples/claude-code.yaml")

    /// The flags the configuration gives `claude`, one per argument.
    private let configuredFlags = ["-p", "--permission-mode", "acceptEdits", "--max-turns", "40",
                                   "--output-format", "stream-json", "--verbose"]

    /// The stand-in: records into $FAKE_CLAUDE_OUT, prints three stream-json lines, changes the
    /// tracked README.md and makes notes/claude.txt without committing, exits $FAKE_CLAUDE_EXIT.
    private let fakeClaude = #"""
        #!/bin/sh
        out="$FAKE_CLAUDE_OUT"
        printf '%s\n' "$@" > "$out/argv"
        pwd -P > "$out/cwd"
        cat > "$out/stdin"
        if [ -f .env ]; then cp .env "$out/env-copied"; fi
        printf 'GADUGI_WORKTREE=%s\nGADUGI_BRANCH=%s\n' "$GADUGI_WORKTREE" "$GADUGI_BRANCH" > "$out/environment"
        echo '{"type":"system","subtype":"init","session_id":"fake-session"}'
        echo '{"type":"assistant","message":{"content":[{"type":"text","text":"Editing README.md"}]}}'
        echo 'Greetings, edited by the stand-in claude.' >> README.md
        mkdir -p notes && echo 'made by the stand-in claude' > notes/claude.txt
        echo '{"type":"result","subtype":"success","is_error":false,"num_turns":2,"result":"done"}'
        exit "${FAKE_CLAUDE_EXIT:-0}"
        """#

    private let prompt = "---\nname: Fix the greeting\n---\nMake the README greet the reader.\n"

    /// The repository as the configuration expects it: `.env` in the root, ignored by git; the
    /// configuration copied verbatim; the stand-in `claude` in a bin folder. Returns the prompt's
    /// path, the folder the stand-in records into and the environment for the coordinator.
    private func prepare() throws -> (prompt: String, record: URL, env: [String: String]) {
        try write("API_KEY=not-a-secret\n", to: root.appendingPathComponent(".env"))
        try write(".env\n", to: root.appendingPathComponent(".gitignore"))
        _ = git(["add", ".gitignore"])
        _ = git(["-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid", "-c", "commit.gpgsign=false",
                 "commit", "-qm", "ignore .env"])
        XCTAssertEqual(git(["status", "--porcelain"]), "", "the repository starts clean, .env ignored")

        let config = try Data(contentsOf: Self.configFile)
        try write(config, to: spool.appendingPathComponent("config.yaml"))

        let bin = try makeScratchDir("bin")
        let claude = try write(fakeClaude + "\n", to: bin.appendingPathComponent("claude"))
        XCTAssertEqual(chmod(claude.path, 0o755), 0)
        let record = try makeScratchDir("claude-record")
        let src = try makeScratchDir("prompts")
        let promptFile = try write(prompt, to: src.appendingPathComponent("fix-greeting.md"))
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return (promptFile.path, record, ["PATH": bin.path + ":" + path, "FAKE_CLAUDE_OUT": record.path])
    }

    func testTheClaudeCodeConfigurationRunsClaudeInTheTasksWorktreeAndCommitsItsWork() throws {
        let (promptFile, record, env) = try prepare()
        let r = try gadugiRun(["run", promptFile], timeout: 90, env: env)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertTrue(r.stderr.contains("claude -p --permission-mode acceptEdits"), "the configured agent is used:\n\(r.stderr)")
        let id = "fix-greeting"
        let worktree = spool.appendingPathComponent("worktrees/\(id)").path

        func recorded(_ name: String) -> String? { readText(record.appendingPathComponent(name)) }
        XCTAssertEqual(recorded("argv")?.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init),
                       configuredFlags, "claude gets exactly the configured flags")
        XCTAssertEqual(recorded("cwd"), worktree + "\n", "claude runs in the task's worktree")
        XCTAssertEqual(recorded("stdin"), prompt, "claude reads the prompt file on stdin")
        XCTAssertEqual(recorded("env-copied"), "API_KEY=not-a-secret\n", "worktree_setup copied .env before claude started")
        XCTAssertEqual(recorded("environment"), "GADUGI_WORKTREE=\(worktree)\nGADUGI_BRANCH=gadugi/\(id)\n")

        let log = readText(taskDir(id).appendingPathComponent("output.log")) ?? ""
        for line in [#"{"type":"system","subtype":"init","session_id":"fake-session"}"#,
                     #"{"type":"result","subtype":"success","is_error":false,"num_turns":2,"result":"done"}"#] {
            XCTAssertTrue(log.contains(line + "\n"), "output.log holds claude's stream line \(line):\n\(log)")
        }

        // What claude left uncommitted is one commit on the task's branch; .env is ignored, so not in it.
        let branch = "gadugi/\(id)"
        XCTAssertEqual(git(["log", "-1", "--format=%s", branch]), "gadugi: Fix the greeting\n")
        let changed = git(["diff-tree", "--no-commit-id", "--name-status", "-r", branch])
        XCTAssertEqual(changed.split(separator: "\n").sorted(), ["A\tnotes/claude.txt", "M\tREADME.md"], changed)
        XCTAssertEqual(git(["show", "\(branch):README.md"]), "# e2e test repository\nGreetings, edited by the stand-in claude.\n")
        XCTAssertEqual(git(["show", "\(branch):notes/claude.txt"]), "made by the stand-in claude\n")
        XCTAssertFalse(git(["ls-tree", "-r", "--name-only", branch]).split(separator: "\n").contains(".env"),
                       "the git-ignored .env is not committed")

        XCTAssertFalse(FileManager.default.fileExists(atPath: worktree), "the worktree is removed after success")
        XCTAssertEqual(git(["worktree", "list", "--porcelain"]).components(separatedBy: "worktree ").count - 1, 1,
                       git(["worktree", "list"]))
        XCTAssertEqual(git(["status", "--porcelain"]), "", "the main checkout is never modified")
        XCTAssertEqual(readText(root.appendingPathComponent("README.md")), "# e2e test repository\n")
        XCTAssertEqual(list(.done), ["\(id).md"])
        let p = progress(id)
        XCTAssertEqual(p?.string("state"), "done")
        XCTAssertEqual(p?.int("exit_code"), 0)
        XCTAssertEqual(p?.string("branch"), branch)
    }

    func testAFailingClaudeFailsTheTaskWithItsExitCodeAndKeepsTheWorktree() throws {
        let (promptFile, record, env) = try prepare()
        var failing = env
        failing["FAKE_CLAUDE_EXIT"] = "3"
        let r = try gadugiRun(["run", promptFile], timeout: 90, env: failing)
        XCTAssertEqual(r.status, 1, "\(r)")
        let id = "fix-greeting"
        XCTAssertEqual(readText(record.appendingPathComponent("argv"))?.split(separator: "\n").map(String.init),
                       configuredFlags, "claude was run")
        XCTAssertEqual(list(.failed), ["\(id).md"])
        let p = try XCTUnwrap(progress(id))
        XCTAssertEqual(p.string("state"), "failed")
        XCTAssertEqual(p.int("exit_code"), 3, "\(p)")
        XCTAssertNil(p.int("signal"), "\(p)")
        let worktree = spool.appendingPathComponent("worktrees/\(id)")
        XCTAssertEqual(p.string("worktree"), ".gadugi/worktrees/\(id)", "progress.json names the kept worktree")
        XCTAssertTrue(FileManager.default.fileExists(atPath: worktree.appendingPathComponent("notes/claude.txt").path),
                      "the worktree is kept for inspection, with claude's work")
        XCTAssertTrue(FileManager.default.fileExists(atPath: worktree.appendingPathComponent(".env").path))
        XCTAssertEqual(git(["log", "-1", "--format=%s", "gadugi/\(id)"]), "gadugi: Fix the greeting\n",
                       "a failed task's leftovers are committed too")
        XCTAssertEqual(git(["status", "--porcelain"]), "", "the main checkout is never modified")
    }

    /// The README shows the same agent line and points at the file, so what it recommends is what
    /// is tested here.
    func testTheREADMEPointsAtThisConfiguration() throws {
        let readme = try String(contentsOf: Self.configFile.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("README.md"), encoding: .utf8)
        let config = try String(contentsOf: Self.configFile, encoding: .utf8)
        XCTAssertTrue(readme.contains("config-examples/claude-code.yaml"))
        let agentLine = try XCTUnwrap(config.split(separator: "\n").first { $0.hasPrefix("agent: ") })
        XCTAssertTrue(readme.contains(agentLine + "\n"), "README.md shows \(agentLine)")
        XCTAssertEqual(agentLine, "agent: claude " + configuredFlags.joined(separator: " "))
    }
}
