import XCTest
@testable import GadugiCore

final class TaskSpecTests: SpoolTestCase {
    // MARK: helpers

    private func check(_ yaml: String) -> Result<Prompt, Prompt.Rejection> {
        Prompt.check(Array("---\n\(yaml)\n---\nDo the thing.\n".utf8))
    }

    private func spec(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> TaskSpec? {
        switch check(yaml) {
        case .success(let p): return p.spec
        case .failure(let r):
            XCTFail("expected a spec from \(yaml.debugDescription), got the rejection: \(r)", file: file, line: line)
            return nil
        }
    }

    /// (key, found, expected) of the rejection, failing the test for any other outcome.
    private func bad(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> (key: String, found: String, expected: String)? {
        switch check(yaml) {
        case .success(let p):
            XCTFail("expected \(yaml.debugDescription) to be rejected, got \(p.spec)", file: file, line: line)
        case .failure(.badFrontMatterKey(let key, let found, let expected)):
            return (key, found, expected)
        case .failure(let other):
            XCTFail("expected a bad key in \(yaml.debugDescription), got: \(other)", file: file, line: line)
        }
        return nil
    }

    private func glob(_ pattern: String) throws -> Glob { try Glob(pattern) }

    // MARK: no front matter

    func testNoFrontMatterMeansTheEmptySpec() {
        let plain = Prompt.check(Array("Do the thing.\n".utf8))
        XCTAssertEqual(try plain.get().spec, .empty)
        XCTAssertEqual(try Prompt.check(Array("---\n---\nBody\n".utf8)).get().spec, .empty)
        XCTAssertEqual(spec("name: Fix the login"), .empty, "name: is the display name, not part of the spec")
        XCTAssertEqual(TaskSpec.empty.priority, 0)
    }

    func testNullMeansNotGiven() {
        XCTAssertEqual(spec("id:\ndepends_on:\nfiles: ~\npriority: null\nagent:\nbase: ~"), .empty)
    }

    // MARK: id

    func testID() {
        XCTAssertEqual(spec("id: fix-login")?.id, "fix-login")
        XCTAssertEqual(spec("id: fix_login_2")?.id, "fix_login_2")
        XCTAssertEqual(spec("id: '42'")?.id, "42", "a quoted number is a string")
        XCTAssertEqual(spec("id: " + String(repeating: "a", count: TaskID.maxLength))?.id?.count, TaskID.maxLength)
    }

    func testUnsafeIDsAreRefused() {
        for id in ["fix login", "-x", "x-", "../etc", "a/b", "é", "a.b", "''", String(repeating: "a", count: TaskID.maxLength + 1),
                   String(repeating: "a", count: TaskID.maxLength) + "-2"] {
            let r = bad("id: \(id)")
            XCTAssertEqual(r?.key, "id", id)
            XCTAssertTrue(r?.found.hasSuffix("(not a task id)") ?? false, r?.found ?? id)
            XCTAssertTrue(r?.expected.contains("such as fix-login") ?? false, r?.expected ?? id)
        }
    }

    func testIDOfTheWrongType() {
        XCTAssertEqual(bad("id: 42")?.found, "42 (a number)")
        XCTAssertEqual(bad("id: true")?.found, "true (a boolean)")
        XCTAssertEqual(bad("id: [a]")?.found, "[a] (a list)")
        XCTAssertEqual(bad("id: {a: 1}")?.found, "{a: 1} (a mapping)")
        XCTAssertEqual(bad("id: 2024-01-02")?.found, "2024-01-02 (a date)")
    }

    // MARK: depends_on

    func testDependsOnTakesOneIdOrAList() {
        XCTAssertEqual(spec("depends_on: setup")?.dependsOn, ["setup"])
        XCTAssertEqual(spec("depends_on: [setup, schema]")?.dependsOn, ["setup", "schema"])
        XCTAssertEqual(spec("depends_on:\n  - schema\n  - setup")?.dependsOn, ["schema", "setup"], "order is kept")
        XCTAssertEqual(spec("depends_on: [b, a, b, a, c]")?.dependsOn, ["b", "a", "c"], "duplicates go, first place kept")
        XCTAssertEqual(spec("depends_on: []")?.dependsOn, [])
    }

    func testDependsOnOfTheWrongType() {
        XCTAssertEqual(bad("depends_on: 42")?.found, "42 (a number)")
        XCTAssertEqual(bad("depends_on: [setup, 42]")?.found, "42 (a number, item 2 of the list)")
        XCTAssertEqual(bad("depends_on: [[a]]")?.found, "[a] (a list, item 1 of the list)")
        XCTAssertEqual(bad("depends_on: {a: b}")?.found, "{a: b} (a mapping)")
        XCTAssertEqual(bad("depends_on: [ok, 'not ok']")?.found, "'not ok' (not a task id, item 2 of the list)")
        XCTAssertEqual(bad("depends_on: ../x")?.found, "'../x' (not a task id)")
    }

    func testATaskCannotDependOnItself() {
        let r = bad("id: setup\ndepends_on: [schema, setup]")
        XCTAssertEqual(r?.key, "depends_on")
        XCTAssertEqual(r?.found, "'setup' (this task's own id)")
        XCTAssertEqual(bad("depends_on: setup\nid: setup")?.found, "'setup' (this task's own id)", "whatever the key order")
        XCTAssertEqual(spec("depends_on: setup")?.dependsOn, ["setup"], "without an id: the spool's id is not known here")
    }

    // MARK: files

    func testFilesTakeOnePatternOrAList() throws {
        XCTAssertEqual(spec("files: src/")?.files, [try glob("src/")])
        XCTAssertEqual(spec("files: [src/**/*.swift, README.md, src/**/*.swift]")?.files,
                       [try glob("src/**/*.swift"), try glob("README.md")])
        XCTAssertEqual(spec("files: ['*.md']")?.files, [try glob("*.md")])
    }

    func testBadFilesAreRefusedWithTheGlobsReason() {
        let r = bad("files: [docs/, 'src/[ab']")
        XCTAssertEqual(r?.key, "files")
        XCTAssertEqual(r?.found, "'src/[ab' (it has a '[' without its ']' at character 5, item 2 of the list)")
        XCTAssertEqual(r?.expected, "a path or glob relative to the repository root, or a list of them, such as [src/**, README.md]")
        XCTAssertTrue(bad("files: /etc/passwd")?.found.contains("is an absolute path") ?? false)
        XCTAssertTrue(bad("files: ../other-repo/x")?.found.contains("'..'") ?? false)
        XCTAssertTrue(bad("files: 'a**b'")?.found.contains("'**' must be a whole segment") ?? false)
        XCTAssertEqual(bad("files: ''")?.found.hasPrefix("'' (it is empty"), true)
        XCTAssertEqual(bad("files: 42")?.found, "42 (a number)")
        XCTAssertEqual(bad("files: [src/, {a: 1}]")?.found, "{a: 1} (a mapping, item 2 of the list)")
    }

    // MARK: priority

    func testPriority() {
        XCTAssertEqual(spec("priority: 5")?.priority, 5)
        XCTAssertEqual(spec("priority: -1000")?.priority, -1000)
        XCTAssertEqual(spec("priority: 1000")?.priority, 1000)
        XCTAssertEqual(spec("priority: 0x10")?.priority, 16, "a YAML int in any of its spellings")
    }

    func testBadPriority() {
        XCTAssertEqual(bad("priority: 1001")?.found, "1001 (out of range)")
        XCTAssertEqual(bad("priority: -1001")?.found, "-1001 (out of range)")
        XCTAssertEqual(bad("priority: 99999999999999999999999")?.found, "99999999999999999999999 (out of range)")
        XCTAssertEqual(bad("priority: 1.5")?.found, "1.5 (a number)")
        XCTAssertEqual(bad("priority: high")?.found, "'high' (a string)")
        XCTAssertEqual(bad("priority: '5'")?.found, "'5' (a string)")
        XCTAssertEqual(bad("priority: [1]")?.expected, "a whole number from -1000 to 1000, such as 10")
    }

    // MARK: agent

    func testAgentIsKeptAsText() {
        XCTAssertEqual(spec("agent: claude -p --model opus")?.agent, "claude -p --model opus")
        XCTAssertEqual(spec("agent: 'codex exec \"$(cat notes)\"'")?.agent, "codex exec \"$(cat notes)\"", "never interpreted")
        XCTAssertEqual(spec("agent: |\n  set -e\n  make test")?.agent, "set -e\nmake test", "a multi-line script")
    }

    func testBadAgent() {
        XCTAssertEqual(bad("agent: ''")?.found, "'' (an empty command)")
        XCTAssertEqual(bad("agent: '   '")?.found, "'   ' (an empty command)")
        XCTAssertEqual(bad("agent: 42")?.found, "42 (a number)")
        XCTAssertEqual(bad("agent: [claude, -p]")?.found, "[claude, -p] (a list)")
    }

    // MARK: base

    func testBase() {
        for base in ["main", "origin/main", "HEAD", "4f2a9c1", "4f2a", String(repeating: "ab12", count: 10), "v1.2.3",
                     "feature/x-y", "release_2", "my@branch", "ünïcode"] {
            XCTAssertEqual(spec("base: '\(base)'")?.base, base)
        }
    }

    func testUnsafeBases() {
        let cases: [(String, String)] = [
            ("-rf", "it starts with '-', which git would read as an option"),
            ("--upload-pack=x", "it starts with '-', which git would read as an option"),
            ("a..b", "it contains '..'"),
            ("x y", "it has whitespace"),
            ("x\u{A0}y", "it has whitespace"),
            ("HEAD~1", "it contains '~'"),
            ("HEAD^", "it contains '^'"),
            ("a:b", "it contains ':'"),
            ("a?", "it contains '?'"),
            ("a*", "it contains '*'"),
            ("a[1]", "it contains '['"),
            ("a\\b", "it contains '\\'"),
            ("main@{1}", "it contains '@{'"),
            ("a//b", "it contains '//'"),
            ("main.lock", "it ends in '.lock'"),
            ("a.lock/b", "a part of it ends in '.lock'"),
            ("main/", "it ends in '/'"),
            ("main.", "it ends in '.'"),
            ("/main", "it starts with '/'"),
            (".hidden", "a part of it starts with '.'"),
            ("a/.b", "a part of it starts with '.'"),
            ("@", "'@' alone is not a branch name"),
            ("", "it is empty"),
            (String(repeating: "a", count: 256), "it is 256 bytes long; the limit is 255"),
        ]
        for (base, problem) in cases {
            let r = bad("base: '\(base.replacingOccurrences(of: "'", with: "''"))'")
            XCTAssertEqual(r?.key, "base", base)
            XCTAssertTrue(r?.found.hasSuffix("(\(problem))") ?? false, "\(base): \(r?.found ?? "nil")")
            XCTAssertEqual(r?.expected, "a branch, tag or commit to start from, such as main, origin/main or 4f2a9c1")
        }
        XCTAssertEqual(bad("base: \"a\\tb\"")?.found, "'a\\tb' (it has a control character)", "escaped in the reason")
        XCTAssertEqual(bad("base: 1234567")?.found, "1234567 (a number)", "a commit id of digits only must be quoted")
        XCTAssertEqual(spec("base: '1234567'")?.base, "1234567")
    }

    // MARK: stall_after, on_stall, timeout, retries

    func testStallAfterAndTimeoutTakeADurationOrSeconds() {
        XCTAssertEqual(spec("stall_after: 90s")?.stallAfter, 90)
        XCTAssertEqual(spec("stall_after: 10m")?.stallAfter, 600)
        XCTAssertEqual(spec("stall_after: 90")?.stallAfter, 90, "a number is seconds")
        XCTAssertEqual(spec("stall_after: 1.5")?.stallAfter, 1.5)
        XCTAssertEqual(spec("stall_after: '45'")?.stallAfter, 45, "quoted seconds are a duration too")
        XCTAssertEqual(spec("timeout: 2h")?.timeout, 7200)
        XCTAssertEqual(spec("timeout: 1800")?.timeout, 1800)
        XCTAssertEqual(spec("timeout: 0")?.timeout, 0, "0: no timeout for this task, which is not the same as not given")
        XCTAssertEqual(spec("timeout: 0s")?.timeout, 0)
    }

    func testBadStallAfterAndTimeout() {
        let expectedStall = "a duration greater than 0 and at most 365 days, such as 90s, 10m or 600 (seconds)"
        let expectedTimeout = "a duration of at most 365 days, such as 30m, 2h or 1800 (seconds), or 0 for none"
        let cases: [(String, String, String, String)] = [
            ("stall_after: 0", "stall_after", "0 (out of range)", expectedStall),
            ("stall_after: 0s", "stall_after", "'0s' (out of range)", expectedStall),
            ("stall_after: -5", "stall_after", "-5 (out of range)", expectedStall),
            ("stall_after: -5s", "stall_after", "'-5s' (out of range)", expectedStall),
            ("stall_after: soon", "stall_after", "'soon' (not a duration)", expectedStall),
            ("stall_after: 3d", "stall_after", "'3d' (not a duration)", expectedStall),
            ("stall_after: 9000h", "stall_after", "'9000h' (out of range)", expectedStall),
            ("stall_after: .inf", "stall_after", ".inf (out of range)", expectedStall),
            ("stall_after: 99999999999999999999999", "stall_after", "99999999999999999999999 (out of range)", expectedStall),
            ("stall_after: true", "stall_after", "true (a boolean)", expectedStall),
            ("stall_after: [90s]", "stall_after", "[90s] (a list)", expectedStall),
            ("timeout: -1", "timeout", "-1 (out of range)", expectedTimeout),
            ("timeout: forever", "timeout", "'forever' (not a duration)", expectedTimeout),
            ("timeout: {m: 5}", "timeout", "{m: 5} (a mapping)", expectedTimeout),
            ("timeout: 2024-01-02", "timeout", "2024-01-02 (a date)", expectedTimeout),
        ]
        for (yaml, key, found, expected) in cases {
            let r = bad(yaml)
            XCTAssertEqual(r?.key, key, yaml)
            XCTAssertEqual(r?.found, found, yaml)
            XCTAssertEqual(r?.expected, expected, yaml)
        }
    }

    func testOnStall() {
        XCTAssertEqual(spec("on_stall: kill")?.onStall, .kill)
        XCTAssertEqual(spec("on_stall: report")?.onStall, .report)
        XCTAssertEqual(bad("on_stall: restart")?.found, "'restart'")
        XCTAssertEqual(bad("on_stall: Kill")?.expected, "report or kill")
        XCTAssertEqual(bad("on_stall: true")?.found, "true (a boolean)")
        XCTAssertEqual(bad("on_stall: [kill]")?.found, "[kill] (a list)")
    }

    func testRetries() {
        XCTAssertEqual(spec("retries: 0")?.retries, 0)
        XCTAssertEqual(spec("retries: 3")?.retries, 3)
        XCTAssertEqual(spec("retries: 100")?.retries, 100)
        let expected = "a whole number from 0 to 100, such as 2"
        for (yaml, found) in [("retries: 101", "101 (out of range)"), ("retries: -1", "-1 (out of range)"),
                              ("retries: 1.5", "1.5 (a number)"), ("retries: '2'", "'2' (a string)"),
                              ("retries: many", "'many' (a string)"), ("retries: [1]", "[1] (a list)")] {
            let r = bad(yaml)
            XCTAssertEqual(r?.key, "retries", yaml)
            XCTAssertEqual(r?.found, found, yaml)
            XCTAssertEqual(r?.expected, expected, yaml)
        }
    }

    func testControlKeysWithNoValueAreNotGiven() {
        XCTAssertEqual(spec("stall_after:\non_stall: ~\ntimeout: null\nretries:"), .empty)
    }

    func testLimitsTakeTheFrontMatterOverTheSettings() {
        var settings = Settings(agent: "true")
        settings.stallAfter = 300
        settings.onStall = .report
        settings.timeout = 3600
        settings.retries = 2
        XCTAssertEqual(TaskSpec.empty.limits(under: settings),
                       TaskSpec.Limits(stallAfter: 300, onStall: .report, timeout: 3600, retries: 2), "nothing given: the settings")
        XCTAssertEqual(spec("stall_after: 90s\non_stall: kill\ntimeout: 10m\nretries: 0")?.limits(under: settings),
                       TaskSpec.Limits(stallAfter: 90, onStall: .kill, timeout: 600, retries: 0))
        XCTAssertNil(spec("timeout: 0")?.limits(under: settings).timeout, "timeout 0 lifts the configured one")
        settings.timeout = nil
        XCTAssertEqual(spec("timeout: 5m")?.limits(under: settings).timeout, 300, "a task's own timeout where none is configured")
    }

    // MARK: unknown keys, the whole spec

    func testUnknownKeysAreKeptAndListedSorted() {
        guard case .success(let p) = check("zeta: 1\nname: N\nowner: ana\nalpha: [x, y]\nid: t") else {
            return XCTFail("unknown keys must not reject")
        }
        XCTAssertEqual(p.spec.unknownKeys, ["alpha", "owner", "zeta"])
        XCTAssertEqual(p.frontMatter["owner"], "ana")
        XCTAssertEqual(p.frontMatter["zeta"], "1")
        XCTAssertEqual(p.name, "N")
    }

    func testUnknownKeyWarningNamesTheKeyItMisspells() {
        XCTAssertEqual(TaskSpec.unknownKeyWarning("dependson"), "unknown front matter key 'dependson' (did you mean depends_on?)")
        XCTAssertEqual(TaskSpec.unknownKeyWarning("depends-on"), "unknown front matter key 'depends-on' (did you mean depends_on?)")
        XCTAssertEqual(TaskSpec.unknownKeyWarning("priorty"), "unknown front matter key 'priorty' (did you mean priority?)")
        XCTAssertEqual(TaskSpec.unknownKeyWarning("file"), "unknown front matter key 'file' (did you mean files?)")
        XCTAssertEqual(TaskSpec.unknownKeyWarning("retrys"), "unknown front matter key 'retrys' (did you mean retries?)")
        XCTAssertEqual(TaskSpec.unknownKeyWarning("stall"), "unknown front matter key 'stall' (did you mean stall_after?)")
        XCTAssertEqual(TaskSpec.unknownKeyWarning("reviewer"), "unknown front matter key 'reviewer'", "no known key is close")
        XCTAssertEqual(TaskSpec.unknownKeyWarning("a\u{1B}[31m"), "unknown front matter key 'a\\e[31m'", "escaped for a terminal")
        for key in TaskSpec.knownKeys {
            XCTAssertNil(TaskSpec.unknownKeyWarning(key), key)
            XCTAssertNil(TaskSpec.suggestion(for: key), key)
        }
        XCTAssertEqual(Set(TaskSpec.knownKeyOrder), TaskSpec.knownKeys, "the suggestion order lists every known key")
    }

    func testACompleteExample() throws {
        let yaml = """
            name: Add the users table
            id: users-table
            depends_on: [setup, schema]
            files:
              - db/migrations/
              - src/models/user*.swift
            priority: 10
            agent: claude -p --model opus
            base: origin/main
            timeout: 30m
            stall_after: 5m
            on_stall: kill
            retries: 2
            reviewer: ana
            """
        let expected = TaskSpec(id: "users-table", dependsOn: ["setup", "schema"],
                                files: [try glob("db/migrations/"), try glob("src/models/user*.swift")],
                                priority: 10, agent: "claude -p --model opus", base: "origin/main",
                                stallAfter: 300, onStall: .kill, timeout: 1800, retries: 2, unknownKeys: ["reviewer"])
        XCTAssertEqual(spec(yaml), expected)
    }

    // MARK: the reason, as a user reads it

    func testTheReasonNamesKeyValueAndWhatIsExpected() {
        guard case .failure(let r) = check("depends_on: 42") else { return XCTFail("must be rejected") }
        XCTAssertEqual(r.description,
                       "front matter key 'depends_on' has 42 (a number); expected a task id or a list of task ids, such as [setup, schema]")
    }

    func testLongValuesAreCutAndControlCharactersEscaped() {
        let long = String(repeating: "x", count: 100)
        XCTAssertEqual(bad("base: '-\(long)'")?.found,
                       "'-" + String(repeating: "x", count: 59) + "…' (it starts with '-', which git would read as an option)")
        let escape = bad("id: \"a\\e[31mb\"")?.found
        XCTAssertEqual(escape, "'a\\e[31mb' (not a task id)")
        guard case .failure(let r) = check("id: \"a\\nb\"") else { return XCTFail("must be rejected") }
        XCTAssertFalse(r.description.contains("\n"), r.description)
    }

    func testTheSizeCapsComeFirst() {
        let list = "depends_on: [" + Array(repeating: "abcdefghi", count: 600).joined(separator: ", ") + "]"
        guard case .failure(.frontMatterValueTooLong(let key, _, _)) = check(list) else {
            return XCTFail("a long list is refused for its size")
        }
        XCTAssertEqual(key, "depends_on")
    }

    // MARK: spool and submit

    func testTheCoordinatorsClaimRejectsABadKeyWithItsReason() throws {
        try write(incoming("bad-base.md"), "---\nbase: -rf\n---\nDo the thing.\n")
        var suffixes: [String: Int] = [:]
        let intake = try Spool(layout: layout).claim("bad-base.md", suffixes: &suffixes)
        guard case .rejected(let target, let reason) = intake else { return XCTFail("expected a rejection, got \(intake)") }
        XCTAssertTrue(reason.hasPrefix("front matter key 'base' has '-rf'"), reason)
        let file = try String(contentsOfFile: layout.queue(.rejected, target + ".reason"), encoding: .utf8)
        XCTAssertTrue(file.contains("front matter key 'base' has '-rf' (it starts with '-'"), file)
    }

    func testSubmitRefusesABadKeyWithTheSameReason() throws {
        let source = root + "/p.md"
        try write(source, "---\ndepends_on: 42\n---\nDo the thing.\n")
        XCTAssertThrowsError(try Spool(layout: layout).submit(source)) { error in
            XCTAssertEqual((error as? Spool.SubmitError)?.description,
                           "front matter key 'depends_on' has 42 (a number); expected a task id or a list of task ids, such as [setup, schema]")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: layout.queue(.incoming)), [])
    }

    func testAGoodSpecIsClaimed() throws {
        try write(incoming("good.md"), "---\nid: good\ndepends_on: setup\nfiles: src/\n---\nDo the thing.\n")
        var suffixes: [String: Int] = [:]
        let intake = try Spool(layout: layout).claim("good.md", suffixes: &suffixes)
        guard case .claimed = intake else { return XCTFail("expected a claim, got \(intake)") }
    }
}
