import XCTest
@testable import GadugiCore

/// `.gadugi/config.yaml` read against its table of keys: the control keys (stalls, timeouts,
/// retries, on_finish, events_max) and what happens to a bad value or a key nobody knows.
final class ConfigKeysTests: SpoolTestCase {
    func load(_ yaml: String) throws -> Settings {
        try write(layout.config, yaml)
        return try Settings.load(layout, agentFlag: nil, parallelFlag: nil, environment: [:])
    }

    /// The message of the refusal of `yaml`, failing the test when it is accepted.
    func refusal(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            let s = try load(yaml)
            XCTFail("\(yaml.debugDescription) must be refused, got stall_after \(s.stallAfter)", file: file, line: line)
            return ""
        } catch {
            return "\(error)"
        }
    }

    // MARK: defaults and values

    func testDefaultsWithoutAFile() throws {
        let s = try Settings.load(layout, agentFlag: nil, parallelFlag: nil, environment: [:])
        XCTAssertEqual(s.stallAfter, 600)
        XCTAssertEqual(s.onStall, .report)
        XCTAssertNil(s.timeout)
        XCTAssertEqual(s.retries, 0)
        XCTAssertEqual(s.retryBackoff, 30)
        XCTAssertEqual(s.retryBackoffMax, 600)
        XCTAssertNil(s.onFinish)
        XCTAssertEqual(s.eventsMax, 64 << 20)
        XCTAssertEqual(s.warnings, [])
    }

    func testEveryControlKeyIsRead() throws {
        let s = try load("""
            stall_after: 90s
            on_stall: kill
            timeout: 2h
            retries: 3
            retry_backoff: 10s
            retry_backoff_max: 5m
            on_finish: notify-send "$GADUGI_TASK_ID"
            events_max: 1M
            """)
        XCTAssertEqual(s.stallAfter, 90)
        XCTAssertEqual(s.onStall, .kill)
        XCTAssertEqual(s.timeout, 7200)
        XCTAssertEqual(s.retries, 3)
        XCTAssertEqual(s.retryBackoff, 10)
        XCTAssertEqual(s.retryBackoffMax, 300)
        XCTAssertEqual(s.onFinish, "notify-send \"$GADUGI_TASK_ID\"")
        XCTAssertEqual(s.eventsMax, 1 << 20)
        XCTAssertEqual(s.warnings, [])
    }

    func testZerosMeanNone() throws {
        let s = try load("timeout: 0\nevents_max: 0\nretries: 0\nretry_backoff: 0\n")
        XCTAssertNil(s.timeout, "timeout 0: no limit")
        XCTAssertEqual(s.eventsMax, 0, "events_max 0: never rotate")
        XCTAssertEqual(s.retries, 0)
        XCTAssertEqual(s.retryBackoff, 0)
        XCTAssertEqual(try load("stall_after: 10m\ntimeout: 90\n").stallAfter, 600)
        XCTAssertEqual(try load("timeout: 90\n").timeout, 90, "a plain number is seconds")
        XCTAssertEqual(try load("retries: 100\n").retries, 100)
    }

    func testTheExistingKeysWorkAsBefore() throws {
        let s = try load("""
            agent: codex exec
            max_parallel: 3
            settle: 500ms
            min_free: 0
            keep_processes: yes
            kill_grace: 2s
            isolation: none
            worktree_setup: npm ci
            """)
        XCTAssertEqual(s.agent, "codex exec")
        XCTAssertEqual(s.agentSource, "agent: in .gadugi/config.yaml")
        XCTAssertEqual(s.maxParallel, 3)
        XCTAssertEqual(s.settle, 0.5)
        XCTAssertEqual(s.minFree, 0)
        XCTAssertTrue(s.keepProcesses)
        XCTAssertEqual(s.killGrace, 2)
        XCTAssertEqual(s.isolation, Settings.Isolation.none)
        XCTAssertEqual(s.worktreeSetup, "npm ci")
    }

    func testAKeyWithNoValueIsNotGiven() throws {
        let s = try load("stall_after:\ntimeout: ~\nretries: null\non_finish:\nagent:\nmax_parallel:\n")
        XCTAssertEqual(s.stallAfter, 600)
        XCTAssertNil(s.timeout)
        XCTAssertEqual(s.retries, 0)
        XCTAssertNil(s.onFinish)
        XCTAssertEqual(s.agent, "claude -p")
        XCTAssertEqual(s.agentSource, "the default")
        XCTAssertEqual(s.maxParallel, 4)
    }

    // MARK: bad values

    /// Each refusal names the file, the key, the value found and what would do, on one line.
    func testBadValuesNameTheKeyWhatWasFoundAndWhatIsExpected() {
        let cases: [(String, String)] = [
            ("stall_after: 0", "stall_after has 0 (a number); expected a duration greater than 0 and at most 365 days, such as 90s or 10m"),
            ("stall_after: soon", "stall_after has 'soon' (a string); expected a duration greater than 0"),
            ("stall_after: -5s", "stall_after has '-5s' (a string)"),
            ("stall_after: 9000h", "stall_after has '9000h' (a string)"),
            ("on_stall: restart", "on_stall has 'restart' (a string); expected report or kill"),
            ("on_stall: true", "on_stall has true (a boolean); expected report or kill"),
            ("timeout: -1", "timeout has -1 (a number); expected a duration of at most 365 days, such as 30m or 2h, or 0 for none"),
            ("timeout: [1m]", "timeout has [1m] (a list); expected a duration"),
            ("retries: 101", "retries has 101 (a number); expected a whole number from 0 to 100, such as 2"),
            ("retries: -1", "retries has -1 (a number); expected a whole number from 0 to 100"),
            ("retries: two", "retries has 'two' (a string)"),
            ("retries: 1.5", "retries has 1.5 (a number)"),
            ("retry_backoff: later", "retry_backoff has 'later' (a string); expected a duration of at most 365 days, such as 30s"),
            ("retry_backoff_max: {a: 1}", "retry_backoff_max has {a: 1} (a mapping); expected a duration"),
            ("on_finish: '  '", "on_finish has '  ' (a string); expected a shell command"),
            ("events_max: lots", "events_max has 'lots' (a string); expected a size such as 64M, or 0 to never rotate"),
            ("events_max: -1M", "events_max has '-1M' (a string)"),
            ("keep_processes: maybe", "keep_processes has 'maybe' (a string); expected true or false"),
            ("settle: [1s]", "settle has [1s] (a list); expected a duration such as 1s, 500ms or 0"),
            ("agent: ''", "agent has '' (a string); expected a shell command, such as claude -p"),
        ]
        for (yaml, words) in cases {
            let message = refusal(yaml + "\n")
            XCTAssertTrue(message.hasPrefix(layout.config + " is not valid: "), "names the file: \(message)")
            XCTAssertTrue(message.contains(words), "\(yaml): '\(message)' should contain '\(words)'")
            XCTAssertFalse(message.contains("\n"), "one line: \(message)")
        }
    }

    func testABackoffCapBelowTheFirstWaitIsRefusedWhenBothAreWritten() throws {
        let message = refusal("retry_backoff: 2m\nretry_backoff_max: 30s\n")
        XCTAssertTrue(message.contains("retry_backoff_max has 30s (less than retry_backoff, 2m); expected a duration at least as long as retry_backoff"),
                      message)
        let s = try load("retry_backoff: 20m\n")
        XCTAssertEqual(s.retryBackoff, 1200, "the default cap caps a long first wait; not an error")
        XCTAssertEqual(s.retryBackoffMax, 600)
        XCTAssertEqual(try load("retry_backoff: 1m\nretry_backoff_max: 1m\n").retryBackoffMax, 60, "equal is fine")
    }

    // MARK: unknown keys

    func testUnknownKeysAreWarningsWithTheKeyTheyMisspell() throws {
        let s = try load("""
            max_paralel: 3
            max_parallel: 2
            agnet: x
            Timeout: 5m
            stall: 1m
            on-stall: kill
            reviewer: ana
            """)
        XCTAssertEqual(s.maxParallel, 2, "the known key is read; the misspelled one is not")
        XCTAssertEqual(s.timeout, nil)
        XCTAssertEqual(s.onStall, .report)
        XCTAssertEqual(s.agent, "claude -p")
        XCTAssertEqual(s.warnings, [
            ".gadugi/config.yaml: unknown key 'max_paralel' (did you mean max_parallel?); it is ignored",
            ".gadugi/config.yaml: unknown key 'agnet' (did you mean agent?); it is ignored",
            ".gadugi/config.yaml: unknown key 'Timeout' (did you mean timeout?); it is ignored",
            ".gadugi/config.yaml: unknown key 'stall' (did you mean stall_after?); it is ignored",
            ".gadugi/config.yaml: unknown key 'on-stall' (did you mean on_stall?); it is ignored",
            ".gadugi/config.yaml: unknown key 'reviewer'; it is ignored",
        ])
    }

    func testAnUnknownKeyIsWarnedAboutEvenWithABadValue() throws {
        XCTAssertEqual(try load("max_paralel: [many]\n").warnings,
                       [".gadugi/config.yaml: unknown key 'max_paralel' (did you mean max_parallel?); it is ignored"],
                       "its value is never looked at")
    }

    func testUnknownKeysAreEscapedAndCut() throws {
        let long = String(repeating: "k", count: 200)
        let s = try load("\"a\\e[31mb\": 1\n\(long): 2\n1: x\n")
        XCTAssertEqual(s.warnings[0], ".gadugi/config.yaml: unknown key 'a\\e[31mb'; it is ignored")
        XCTAssertEqual(s.warnings[1], ".gadugi/config.yaml: unknown key '\(String(repeating: "k", count: 60))…'; it is ignored")
        XCTAssertEqual(s.warnings[2], ".gadugi/config.yaml: unknown key '1'; it is ignored")
        XCTAssertFalse(s.warnings.contains { $0.contains("\n") || $0.contains("\u{1B}") })
    }

    // MARK: durations as shown

    func testDurationsAreShownAsAUserWritesThem() {
        XCTAssertEqual(Settings.shown(duration: 90), "90s")
        XCTAssertEqual(Settings.shown(duration: 600), "10m")
        XCTAssertEqual(Settings.shown(duration: 7200), "2h")
        XCTAssertEqual(Settings.shown(duration: 1.5), "1.5s")
        XCTAssertEqual(Settings.shown(duration: 0), "0s")
    }
}
