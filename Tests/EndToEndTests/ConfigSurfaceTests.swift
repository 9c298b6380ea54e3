import Foundation
import XCTest

/// Bad settings, as a user meets them through the built binary: an agent that is not installed,
/// a `--max-parallel` or `max_parallel` that could start nothing, a misspelled key in config.yaml
/// or in front matter, a control setting of the wrong kind. What is checked: the exit status, that
/// the message says what was found and what to do, and that no prompt is lost or half-processed.
final class ConfigSurfaceTests: GadugiTestCase {
    /// A prompt file outside the spool, as a user's `prompts/a.md`.
    func userPrompt(_ name: String = "a.md", _ text: String? = nil) throws -> URL {
        let src = try makeScratchDir("src")
        return try write(text ?? promptText(name), to: src.appendingPathComponent(name))
    }

    // MARK: the agent is checked once, at start

    func testAMissingAgentFromTheFlagRefusesToStartAndQueuesNothing() throws {
        let file = try userPrompt()
        let before = try Data(contentsOf: file)
        let r = try gadugiRun(["run", "--agent", "no-such-agent-xyz", file.path], timeout: 30)
        XCTAssertFalse(r.timedOut, "\(r)")
        XCTAssertEqual(r.status, 1, "\(r)")
        for words in ["'no-such-agent-xyz'", "(from --agent)", "was not found", "--agent CMD", "GADUGI_AGENT",
                      "nothing was queued or claimed"] {
            XCTAssertTrue(r.stderr.contains(words), "the message should say \(words):\n\(r)")
        }
        XCTAssertEqual(allQueued(), [], "the file is never queued, so nothing is claimed or failed")
        XCTAssertFalse(FileManager.default.fileExists(atPath: spool.appendingPathComponent("monitoring/tasks/a").path),
                       "no task id was reserved")
        XCTAssertEqual(try Data(contentsOf: file), before, "the user's file is untouched")
    }

    func testAMissingAgentFromTheConfigLeavesQueuedPromptsInIncoming() throws {
        try initSpool()
        try writeConfig("agent: no-such-agent-xyz --verbose\n")
        try dropPrompt(name: "waiting.md", content: promptText("waiting"))
        let r = try gadugiRun(["run", "--until-idle"], timeout: 30)
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stderr.contains("'no-such-agent-xyz' (from agent: in .gadugi/config.yaml)"), "\(r)")
        XCTAssertEqual(allQueued(), ["incoming/waiting.md"], "the prompt waits in incoming/ for a run with an agent")
        XCTAssertNil(readJSON(spool.appendingPathComponent("monitoring/registry.json")), "no coordinator ran")
    }

    func testAMissingAgentFromTheEnvironmentSaysSo() throws {
        let file = try userPrompt()
        let r = try gadugiRun(["run", file.path], timeout: 30, env: ["GADUGI_AGENT": "no-such-agent-xyz"])
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stderr.contains("'no-such-agent-xyz' (from GADUGI_AGENT)"), "\(r)")
        XCTAssertEqual(allQueued(), [])
    }

    /// The check refuses only what is plainly missing: shell syntax, builtins and absolute paths
    /// run as before, and the simulated agent needs nothing on PATH.
    func testAgentsThatExistOrAreShellCommandsStillRun() throws {
        for (n, agent) in ["true", "/bin/true", "FOO=1 true", "exit 0", "cat >/dev/null && echo ok"].enumerated() {
            let file = try userPrompt("ok-\(n).md")
            let r = try gadugiRun(["run", "--isolation", "none", "--agent", agent, file.path], timeout: 30)
            XCTAssertEqual(r.status, 0, "agent \(agent.debugDescription):\n\(r)")
        }
        let file = try userPrompt("simulated.md")
        let r = try gadugiRun(["run", "--isolation", "none", "--agent", "gadugi:simulate", file.path], timeout: 30,
                              env: ["PATH": "/nonexistent", "GADUGI_SIMULATE_STEP": "0.01"])
        XCTAssertEqual(r.status, 0, "gadugi:simulate is always there:\n\(r)")
    }

    // MARK: max_parallel

    func testZeroOrNegativeMaxParallelIsAUsageErrorSayingWhatToPass() throws {
        let file = try userPrompt()
        for value in ["0", "-2", "many"] {
            let r = try gadugiRun(["run", "--agent", "true", "--max-parallel", value, file.path], timeout: 20)
            XCTAssertEqual(r.status, 64, "\(r)")
            XCTAssertTrue(r.stderr.contains("--max-parallel has '\(value)'; expected a whole number of at least 1 (how many agents may run at once), such as --max-parallel 4"),
                          "\(r)")
            XCTAssertFalse(r.stderr.contains("Missing value"), "the parser's own words point nowhere:\n\(r)")
        }
        XCTAssertEqual(allQueued(), [])
    }

    func testZeroMaxParallelInTheConfigSaysTheSame() throws {
        try initSpool()
        try writeConfig("max_parallel: 0\n")
        let file = try userPrompt()
        let r = try gadugiRun(["run", "--agent", "true", file.path], timeout: 20)
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stderr.contains("config.yaml is not valid: max_parallel has 0 (a number); expected a whole number of at least 1 (how many agents may run at once), such as max_parallel: 4"),
                      "\(r)")
        XCTAssertEqual(allQueued(), [])
    }

    // MARK: config.yaml keys

    func testAnUnknownConfigKeyIsAWarningAndTheRunGoesOn() throws {
        try initSpool()
        try writeConfig("max_paralel: 2\nstall_after: 90s\n")
        let file = try userPrompt()
        let r = try gadugiRun(["run", "--isolation", "none", "--agent", "true", file.path], timeout: 30)
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertTrue(r.stderr.contains("warning: .gadugi/config.yaml: unknown key 'max_paralel' (did you mean max_parallel?); it is ignored"),
                      "\(r)")
        XCTAssertEqual(allQueued(), ["done/a.md"])
    }

    func testABadControlSettingStopsTheRunNamingTheKey() throws {
        try initSpool()
        for (yaml, words) in [("on_stall: restart\n", "on_stall has 'restart' (a string); expected report or kill"),
                              ("retries: 500\n", "retries has 500 (a number); expected a whole number from 0 to 100"),
                              ("timeout: soon\n", "timeout has 'soon' (a string); expected a duration"),
                              ("events_max: lots\n", "events_max has 'lots' (a string); expected a size")] {
            try writeConfig(yaml)
            let file = try userPrompt()
            let r = try gadugiRun(["run", "--agent", "true", file.path], timeout: 20)
            XCTAssertEqual(r.status, 1, "\(r)")
            XCTAssertTrue(r.stderr.contains(words), "\(yaml): \(r)")
            XCTAssertEqual(allQueued(), [], "nothing is queued under settings that cannot be read")
        }
    }

    // MARK: front matter

    func testPlanSuggestsTheKeyAMisspelledOneMeant() throws {
        let file = try userPrompt("api.md", "---\ndependson: schema\nreviewer: ana\ntimeout: 10m\nretries: 2\n---\nBuild the API.\n")
        let r = try gadugiRun(["plan", file.path])
        XCTAssertEqual(r.status, 0, "an unknown key is kept, not refused:\n\(r)")
        XCTAssertTrue(r.stdout.contains("other keys dependson (did you mean depends_on?) reviewer"), "\(r)")
        XCTAssertTrue(r.stdout.contains("timeout 10m, retries 2"), "\(r)")

        let json = try gadugiRun(["plan", "--json", file.path])
        let object = (try? JSONSerialization.jsonObject(with: Data(json.stdout.utf8))) as? [String: Any]
        let task = (object?["tasks"] as? [[String: Any]])?.first
        XCTAssertEqual(task?["did_you_mean"] as? [String: String], ["dependson": "depends_on"], "\(json)")
        XCTAssertEqual(task?["timeout"] as? Double, 600)
        XCTAssertEqual(task?["retries"] as? Int, 2)
    }

    func testSubmitRefusesABadControlKeyWithTheReason() throws {
        try initSpool()
        let file = try userPrompt("t.md", "---\nstall_after: 0\n---\nDo it.\n")
        let r = try gadugiRun(["submit", file.path])
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stderr.contains("front matter key 'stall_after' has 0 (out of range); expected a duration greater than 0"), "\(r)")
        XCTAssertEqual(allQueued(), [])
    }
}
