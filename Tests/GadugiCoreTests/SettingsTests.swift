import Glibc
import XCTest
@testable import GadugiCore
import SystemPackage

final class SettingsTests: SpoolTestCase {
    var savedDirectory = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        savedDirectory = Settings.currentDirectory()
    }

    override func tearDownWithError() throws {
        XCTAssertEqual(chdir(savedDirectory), 0)
        try super.tearDownWithError()
    }

    func makeDirectories(_ path: String) {
        XCTAssertNoThrow(try Files.makeDirectories(path))
    }

    // MARK: root

    func testRootFromTheFlag() {
        XCTAssertEqual(Settings.root(flag: "/some/where/", environment: ["GADUGI_ROOT": "/elsewhere"]), "/some/where")
        XCTAssertEqual(Settings.root(flag: "/", environment: [:]), "/")
    }

    func testRelativeFlagIsMadeAbsolute() {
        XCTAssertEqual(chdir(root), 0)
        XCTAssertEqual(Settings.root(flag: "sub/dir", environment: [:]), root + "/sub/dir")
    }

    func testRootFromTheEnvironment() {
        XCTAssertEqual(Settings.root(flag: nil, environment: ["GADUGI_ROOT": "/from/env"]), "/from/env")
        XCTAssertEqual(Settings.root(flag: "", environment: ["GADUGI_ROOT": "/from/env"]), "/from/env", "an empty flag is no flag")
        XCTAssertEqual(chdir(root), 0)
        XCTAssertEqual(Settings.root(flag: nil, environment: ["GADUGI_ROOT": "rel/"]), root + "/rel")
    }

    func testRootWalksUpToTheGitTopLevel() {
        let repo = root + "/repo"
        makeDirectories(repo + "/.git")
        makeDirectories(repo + "/a/b/c")
        XCTAssertEqual(chdir(repo + "/a/b/c"), 0)
        XCTAssertEqual(Settings.root(flag: nil, environment: [:]), repo)
        XCTAssertEqual(Settings.root(flag: nil, environment: ["GADUGI_ROOT": ""]), repo, "an empty GADUGI_ROOT is none")
        XCTAssertEqual(chdir(repo), 0)
        XCTAssertEqual(Settings.root(flag: nil, environment: [:]), repo)
    }

    func testNearestGitWins() throws {
        makeDirectories(root + "/outer/.git")
        makeDirectories(root + "/outer/inner/deep")
        try write(root + "/outer/inner/.git", "gitdir: ../.git/worktrees/inner\n")   // a worktree's .git file
        XCTAssertEqual(chdir(root + "/outer/inner/deep"), 0)
        XCTAssertEqual(Settings.root(flag: nil, environment: [:]), root + "/outer/inner")
    }

    func testRootWithoutGitIsTheCurrentDirectory() throws {
        var dir = root
        while dir != "/" {
            if exists(dir + "/.git") { throw XCTSkip("\(dir) has a .git above the temporary directory") }
            dir = Files.split(dir).0
        }
        if exists("/.git") { throw XCTSkip("/.git exists") }
        makeDirectories(root + "/x/y")
        XCTAssertEqual(chdir(root + "/x/y"), 0)
        XCTAssertEqual(Settings.root(flag: nil, environment: [:]), root + "/x/y")
    }

    func testAbsolute() {
        XCTAssertEqual(Settings.absolute("a/b/", from: "/cwd"), "/cwd/a/b")
        XCTAssertEqual(Settings.absolute("/x//", from: "/cwd"), "/x")
        XCTAssertEqual(Settings.absolute("/", from: "/cwd"), "/")
    }

    // MARK: load

    func load(agent: String? = nil, parallel: Int? = nil, env: [String: String] = [:]) throws -> Settings {
        try Settings.load(layout, agentFlag: agent, parallelFlag: parallel, environment: env)
    }

    func testDefaults() throws {
        let s = try load()
        XCTAssertEqual(s.agent, "claude -p")
        XCTAssertEqual(s.agentSource, "the default")
        XCTAssertEqual(s.maxParallel, 4)
    }

    func testEnvironmentAgent() throws {
        let s = try load(env: ["GADUGI_AGENT": "my-agent --fast"])
        XCTAssertEqual(s.agent, "my-agent --fast")
        XCTAssertEqual(s.agentSource, "GADUGI_AGENT")
        XCTAssertEqual(try load(env: ["GADUGI_AGENT": ""]).agent, "claude -p", "an empty GADUGI_AGENT is none")
    }

    func testConfigBeatsTheEnvironment() throws {
        try write(layout.config, "agent: codex exec\nmax_parallel: 3\n")
        let s = try load(env: ["GADUGI_AGENT": "from-env"])
        XCTAssertEqual(s.agent, "codex exec")
        XCTAssertEqual(s.agentSource, "agent: in .gadugi/config.yaml")
        XCTAssertEqual(s.maxParallel, 3)
    }

    func testFlagsBeatTheConfig() throws {
        try write(layout.config, "agent: codex exec\nmax_parallel: 3\n")
        let s = try load(agent: "from-flag", parallel: 9, env: ["GADUGI_AGENT": "from-env"])
        XCTAssertEqual(s.agent, "from-flag")
        XCTAssertEqual(s.agentSource, "--agent")
        XCTAssertEqual(s.maxParallel, 9)
    }

    func testConfigWithOnlyMaxParallelKeepsTheAgentFromTheEnvironment() throws {
        try write(layout.config, "max_parallel: 2\n")
        let s = try load(env: ["GADUGI_AGENT": "from-env"])
        XCTAssertEqual(s.agent, "from-env")
        XCTAssertEqual(s.maxParallel, 2)
    }

    func testEmptyOrCommentOnlyConfigIsDefaults() throws {
        for content in ["", "# nothing here\n"] {
            try write(layout.config, content)
            let s = try load()
            XCTAssertEqual(s.agent, "claude -p", "config '\(content)'")
            XCTAssertEqual(s.maxParallel, 4)
        }
    }

    func assertBadConfig(_ content: String, mentions words: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        try write(layout.config, content)
        do {
            _ = try load()
            XCTFail("config '\(content)' must be refused", file: file, line: line)
        } catch let failure as Settings.Failure {
            let message = failure.description
            XCTAssertTrue(message.contains(layout.config), "names the file: \(message)", file: file, line: line)
            for word in words {
                XCTAssertTrue(message.contains(word), "'\(message)' should mention '\(word)'", file: file, line: line)
            }
            XCTAssertFalse(message.contains("\n"), "one line: \(message)", file: file, line: line)
        } catch {
            XCTFail("expected Settings.Failure, got \(error)", file: file, line: line)
        }
    }

    /// A file that is not a mapping at all gets the list of keys it could hold.
    static let keyList = ["agent, max_parallel, settle", "events_max"]

    func testInvalidYAMLIsAHelpfulError() throws {
        try assertBadConfig("agent: [unclosed\n", mentions: ["is not valid"] + Self.keyList)
    }

    /// The same words as `--max-parallel 0` (`Settings.maxParallelFlagProblem`), and the value found.
    func testBadMaxParallelIsAHelpfulError() throws {
        for (value, found) in [("0", "0 (a number)"), ("-2", "-2 (a number)"), ("many", "'many' (a string)"), ("1.5", "1.5 (a number)")] {
            try assertBadConfig("max_parallel: \(value)\n", mentions: [
                "max_parallel has \(found); expected a whole number of at least 1 (how many agents may run at once), such as max_parallel: 4"])
        }
    }

    func testMaxParallelFlagProblemSaysWhatToPass() {
        for text in ["0", "-2", "many", "1.5", ""] {
            let problem = Settings.maxParallelFlagProblem(text)
            XCTAssertEqual(problem, "--max-parallel has '\(text)'; expected a whole number of at least 1 (how many agents may run at once), "
                + "such as --max-parallel 4; or leave it out to use max_parallel from .gadugi/config.yaml (else 4)")
        }
        XCTAssertNil(Settings.maxParallelFlagProblem("1"))
        XCTAssertNil(Settings.maxParallelFlagProblem("64"))
        XCTAssertThrowsError(try load(parallel: 0), "load refuses it too, should a caller skip the check") { error in
            XCTAssertTrue("\(error)".hasPrefix("--max-parallel has '0'"), "\(error)")
        }
    }

    func testConfigThatIsNotAMappingIsAHelpfulError() throws {
        try assertBadConfig("- agent\n- claude\n", mentions: ["not a mapping"] + Self.keyList)
    }

    /// `agent:` with no value (or `--agent ""`) must not become an empty command: the wrapper would
    /// `eval ""`, exit 0, and every task would be "done" without any agent having run.
    func testAnEmptyAgentIsNeverTheCommand() throws {
        for content in ["agent:\n", "agent: \"\"\n", "agent: ''\n", "agent: null\n", "agent: ~\n"] {
            try write(layout.config, content)
            do {
                let s = try load(env: ["GADUGI_AGENT": "from-env"])
                XCTAssertFalse(s.agent.trimmingCharacters(in: .whitespaces).isEmpty,
                               "config '\(content.dropLast())' gave the empty agent (source: \(s.agentSource))")
            } catch {
                XCTAssertTrue("\(error)".contains("agent"), "\(error)")
            }
        }
        try Files.remove(layout.config)
        do {
            let s = try load(agent: "")
            XCTAssertFalse(s.agent.isEmpty, "--agent '' gave the empty agent")
        } catch {
            XCTAssertTrue("\(error)".contains("agent"), "\(error)")
        }
    }

    // MARK: agent command

    func testAgentCommand() throws {
        XCTAssertEqual(try load(agent: "gadugi:simulate").agentCommand, "exec \"$GADUGI_BIN\" simulate-agent")
        XCTAssertEqual(try load(agent: "claude -p --verbose").agentCommand, "claude -p --verbose")
    }

    // MARK: missing agent

    func testMissingPlainCommandGetsAdvice() throws {
        let s = try load(agent: "gadugi-no-such-agent-xyz --flag")
        let message = s.missingAgentMessage(path: "/usr/local/bin:/usr/bin:/bin")
        XCTAssertNotNil(message)
        XCTAssertTrue(message?.contains("'gadugi-no-such-agent-xyz'") ?? false, message ?? "")
        XCTAssertTrue(message?.contains("--agent") ?? false, message ?? "")
        XCTAssertTrue(message?.contains("from --agent") ?? false, "names where the agent came from: \(message ?? "")")
        XCTAssertTrue(message?.contains("gadugi:simulate") ?? false, message ?? "")
    }

    func testMissingAgentMessageNamesTheConfigAsSource() throws {
        try write(layout.config, "agent: gadugi-no-such-agent-xyz\n")
        let message = try load().missingAgentMessage(path: "/usr/bin:/bin")
        XCTAssertTrue(message?.contains("agent: in .gadugi/config.yaml") ?? false, message ?? "nil")
    }

    func testExistingCommandsAreFine() throws {
        XCTAssertNil(try load(agent: "sh -c 'echo hi'").missingAgentMessage(path: "/usr/bin:/bin"))
        XCTAssertNil(try load(agent: "sh").missingAgentMessage(path: nil), "the default search path")
        XCTAssertNil(try load(agent: "/bin/true").missingAgentMessage(path: "/nowhere"))
        XCTAssertNil(try load(agent: "cat").missingAgentMessage(path: "/nowhere:/bin"))
    }

    func testMissingAbsoluteCommand() throws {
        let message = try load(agent: "/no/such/agent --x").missingAgentMessage(path: "/usr/bin:/bin")
        XCTAssertTrue(message?.contains("'/no/such/agent'") ?? false, message ?? "nil")
    }

    func testCommandIsLookedUpInTheGivenPath() throws {
        let bin = root + "/bin"
        makeDirectories(bin)
        try write(bin + "/my-agent", "#!/bin/sh\nexit 0\n")
        XCTAssertEqual(chmod(bin + "/my-agent", 0o755), 0)
        try write(bin + "/not-executable", "#!/bin/sh\n")
        XCTAssertEqual(chmod(bin + "/not-executable", 0o644), 0)
        XCTAssertNil(try load(agent: "my-agent").missingAgentMessage(path: "/usr/bin:" + bin))
        XCTAssertNotNil(try load(agent: "my-agent").missingAgentMessage(path: "/usr/bin:/bin"))
        XCTAssertNotNil(try load(agent: "not-executable").missingAgentMessage(path: bin), "found but not executable")
    }

    func testShellishCommandsAreTrusted() throws {
        for agent in ["FOO=1 gadugi-no-such-agent", "$HOME/bin/agent", "exec gadugi-no-such-agent", "cd x && agent",
                      "(gadugi-no-such-agent)", "'gadugi no such'", "~/bin/agent", "{ agent; }", "if true; then x; fi",
                      "gadugi:simulate"] {
            XCTAssertNil(try load(agent: agent).missingAgentMessage(path: "/nowhere"), agent)
        }
    }
}
