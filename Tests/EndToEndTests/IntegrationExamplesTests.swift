// The integrations under examples/ executed as a user would run them: the shell scripts with real
// coordinators and the simulated agent, the VS Code tasks' commands with their variables filled in,
// and the systemd unit's ExecStart (plus `systemd-analyze verify` where it exists). Every script is
// run by argv (`/bin/sh SCRIPT ARGS`), never through a shell string.

import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

final class IntegrationExamplesTests: GadugiTestCase {
    /// The package's examples/ (this file is Tests/EndToEndTests/…).
    private static let examples = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("examples")

    private static func script(_ name: String) -> URL { examples.appendingPathComponent("shell/\(name)") }

    /// The example prompt set (`make demo`'s); flaky-test fails on purpose.
    private static let prompts = examples.appendingPathComponent("prompts")

    /// Verbs the examples use that other parts of issue 9 add. Until the binary has one, the test
    /// accepts it by name only; once it has it, it is checked like any other verb.
    private static let comingVerbs: Set<String> = ["watch", "logs"]

    // MARK: drop-folder.sh, the on_finish hook and wait-and-report.sh together

    func testADroppedFolderRunsToTheEndAndTheHookAndTheReportSeeEachTask() throws {
        try requireJQ()
        let names = try promptNames()
        let inbox = try makeScratchDir("inbox")
        for name in names {
            try FileManager.default.copyItem(at: Self.prompts.appendingPathComponent(name),
                                             to: inbox.appendingPathComponent(name))
        }
        // Not prompts: a draft (dotfile), another extension, a subfolder.
        try write("A draft.\n", to: inbox.appendingPathComponent(".draft.md"))
        try write("{}\n", to: inbox.appendingPathComponent("notes.json"))
        try write("Old.\n", to: inbox.appendingPathComponent("old/x.md"))

        let hook = try hookEnvironment(notifySendSucceeds: false)
        try initSpool()
        try writeConfig("on_finish: sh \"$NOTIFY_HOOK\"\n")
        guard let coordinator = try startCoordinator(["--agent", "gadugi:simulate", "--max-parallel", "4"],
                                                     env: hook.env.merging(["GADUGI_SIMULATE_STEP": "0.01"]) { $1 })
        else { return }

        let drop = try runScript("drop-folder.sh", [inbox.path, root.path])
        XCTAssertEqual(drop.status, 0, "\(drop)")
        XCTAssertEqual(lines(drop.stdout).sorted(), names, "drop-folder.sh prints each queued name: \(drop)")

        // It waits for the coordinator to finish all ten, then names the one failure.
        let report = try runScript("wait-and-report.sh", [root.path], timeout: 180)
        XCTAssertEqual(report.status, 1, "\(report)")
        let reported = lines(report.stdout)
        XCTAssertEqual(reported.count, 1, "only flaky-test failed: \(report)")
        let fields = reported.first?.split(separator: " ", omittingEmptySubsequences: true).map(String.init) ?? []
        let log = taskDir("flaky-test").appendingPathComponent("output.log").path
        XCTAssertEqual(fields, ["flaky-test", "failed", "exit", "1", log], "\(report)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: log))

        // Nothing is left to run when it returns; no partial or stray file anywhere.
        XCTAssertEqual(list(.incoming) + list(.claimed) + list(.running), [], "\(allQueued())")
        XCTAssertEqual(list(.failed), ["flaky-test.md"])
        XCTAssertEqual(list(.done).count, names.count - 1, "\(list(.done))")
        XCTAssertEqual(list(.tmp), [], "drop-folder.sh leaves nothing in queue/tmp")
        XCTAssertEqual(list(.rejected), [])

        // The hook ran once per task (after its finish, in its own process): notify-send was tried
        // and failed (no notification daemon), so each end is a line in GADUGI_NOTIFY_FILE.
        let ids = names.map { ($0 as NSString).deletingPathExtension }
        XCTAssertTrue(waitUntil(timeout: 30) { self.lines(self.readText(hook.notes) ?? "").count >= ids.count },
                      "on_finish lines: \(readText(hook.notes) ?? "none")\n\(coordinator.stderr.suffix(3000))")
        var seen: [String: [String]] = [:]
        for line in lines(readText(hook.notes) ?? "") {
            let f = line.split(separator: " ").map(String.init)
            guard f.count == 5 else { XCTFail("not '<time> <id> <state> exit=<code> log=<file>': \(line)"); continue }
            seen[f[1], default: []].append(line)
            let failed = f[1] == "flaky-test"
            XCTAssertEqual(f[2], failed ? "failed" : "done", line)
            XCTAssertEqual(f[3], failed ? "exit=1" : "exit=0", line)
            XCTAssertEqual(f[4], "log=" + taskDir(f[1]).appendingPathComponent("output.log").path, line)
        }
        XCTAssertEqual(seen.keys.sorted(), ids.sorted(), "one line per task")
        XCTAssertTrue(seen.values.allSatisfy { $0.count == 1 }, "exactly one line per task: \(seen)")
        let calls = lines(readText(hook.calls) ?? "")
        XCTAssertEqual(calls.count, ids.count, "notify-send was tried for every task: \(calls)")
        XCTAssertTrue(calls.contains { $0.contains("--urgency=critical|gadugi: flaky-test failed|") }, "\(calls)")
        XCTAssertTrue(calls.contains { $0.contains("--urgency=normal|gadugi: fix-login done|") }, "\(calls)")
        XCTAssertEqual(coordinator.stop().status, 0)
    }

    func testDropFolderNeverReplacesAPromptWaitingInIncoming() throws {
        try initSpool()
        let inbox = try makeScratchDir("inbox")
        try write("First version.\n", to: inbox.appendingPathComponent("fix.md"))
        XCTAssertEqual(lines(try runScript("drop-folder.sh", [inbox.path, root.path]).stdout), ["fix.md"])
        try write("Second version.\n", to: inbox.appendingPathComponent("fix.md"))
        let again = try runScript("drop-folder.sh", [inbox.path, root.path])
        XCTAssertEqual(again.status, 0, "\(again)")
        XCTAssertEqual(lines(again.stdout), ["fix-2.md"], "\(again)")
        XCTAssertEqual(list(.incoming), ["fix-2.md", "fix.md"])
        XCTAssertEqual(readText(queue(.incoming).appendingPathComponent("fix.md")), "First version.\n")
        XCTAssertEqual(readText(queue(.incoming).appendingPathComponent("fix-2.md")), "Second version.\n")
        XCTAssertEqual(list(.tmp), [])

        let empty = try runScript("drop-folder.sh", [try makeScratchDir("empty").path, root.path])
        XCTAssertEqual(empty.status, 0, "\(empty)")
        XCTAssertTrue(empty.stderr.contains("no prompt files"), "\(empty)")
        let usage = try runScript("drop-folder.sh", [root.appendingPathComponent("missing").path])
        XCTAssertEqual(usage.status, 2, "\(usage)")
        XCTAssertTrue(usage.stderr.contains("usage: drop-folder.sh DIR [ROOT]"), "\(usage)")
    }

    // MARK: wait-and-report.sh

    func testWaitAndReportIsZeroAndQuietForAnAllGoodSpool() throws {
        try requireJQ()
        let src = try makeScratchDir("prompts")
        let a = try write("Do a.\n", to: src.appendingPathComponent("a.md"))
        let b = try write("Do b.\n", to: src.appendingPathComponent("b.txt"))
        let run = try gadugiRun(["run", "--agent", "gadugi:simulate", a.path, b.path], timeout: 60,
                                env: ["GADUGI_SIMULATE_STEP": "0.01"])
        XCTAssertEqual(run.status, 0, "\(run)")
        let report = try runScript("wait-and-report.sh", [root.path])
        XCTAssertEqual(report.status, 0, "\(report)")
        XCTAssertEqual(report.stdout, "", "\(report)")
        XCTAssertTrue(report.stderr.contains("all 2 finished tasks succeeded"), "\(report)")

        // ROOT from $GADUGI_ROOT, as gadugi takes it.
        let byEnv = try runScript("wait-and-report.sh", [], env: ["GADUGI_ROOT": root.path])
        XCTAssertEqual(byEnv.status, 0, "\(byEnv)")

        let none = try runScript("wait-and-report.sh", [try makeScratchDir("no-spool").path])
        XCTAssertEqual(none.status, 2, "\(none)")
        XCTAssertTrue(none.stderr.contains("no spool"), "\(none)")
    }

    func testWaitAndReportNamesABlockedDependantAndDoesNotWaitForIt() throws {
        try requireJQ()
        let src = try makeScratchDir("prompts")
        let fail = try write("---\nsimulate: fail\n---\nBreak.\n", to: src.appendingPathComponent("breaks.md"))
        let after = try write("---\ndepends_on: breaks\n---\nThen this.\n", to: src.appendingPathComponent("after.md"))
        let run = try gadugiRun(["run", "--agent", "gadugi:simulate", fail.path, after.path], timeout: 60,
                                env: ["GADUGI_SIMULATE_STEP": "0.01"])
        XCTAssertEqual(run.status, 1, "\(run)")
        XCTAssertEqual(list(.claimed), ["after.md"], "the dependant stays claimed, blocked")

        let report = try runScript("wait-and-report.sh", [root.path], timeout: 30)
        XCTAssertEqual(report.status, 1, "\(report)")
        let rows = lines(report.stdout).map { $0.split(separator: " ").map(String.init) }
        XCTAssertEqual(rows.map { Array($0.prefix(2)) }, [["breaks", "failed"], ["after", "blocked"]], "\(report)")
        XCTAssertEqual(rows.first.map { Array($0.dropFirst(2).prefix(2)) }, ["exit", "1"], "\(report)")
    }

    // MARK: notify-hook.sh

    func testNotifyHookUsesNotifySendWhenItWorksAndSaysWhatIsMissing() throws {
        let hook = try hookEnvironment(notifySendSucceeds: true)
        var env = hook.env
        env["GADUGI_TASK_ID"] = "fix-login"
        env["GADUGI_TASK_NAME"] = "Fix the login"
        env["GADUGI_STATE"] = "timeout"
        env["GADUGI_EXIT_CODE"] = ""
        env["GADUGI_LOG_FILE"] = "/x/output.log"
        let sent = try runScript("notify-hook.sh", [], env: env)
        XCTAssertEqual(sent.status, 0, "\(sent)")
        XCTAssertEqual(lines(readText(hook.calls) ?? ""),
                       ["--app-name=gadugi|--urgency=critical|gadugi: fix-login timeout|Fix the login: timeout /x/output.log|"])
        XCTAssertNil(readText(hook.notes), "a notification shown is not written to the file too")

        // Not run as a hook: it says which variable is missing.
        env["GADUGI_TASK_ID"] = nil
        let bare = try runScript("notify-hook.sh", [], env: env)
        XCTAssertNotEqual(bare.status, 0)
        XCTAssertTrue(bare.stderr.contains("GADUGI_TASK_ID"), "\(bare)")
    }

    func testNotifyHookWritesToStderrWithoutAFileOrANotifier() throws {
        var env = try hookEnvironment(notifySendSucceeds: false).env
        env["GADUGI_NOTIFY_FILE"] = nil
        env["GADUGI_TASK_ID"] = "a"
        env["GADUGI_STATE"] = "done"
        env["GADUGI_EXIT_CODE"] = "0"
        env["GADUGI_LOG_FILE"] = "/x/a.log"
        let r = try runScript("notify-hook.sh", [], env: env)
        XCTAssertEqual(r.status, 0, "\(r)")
        let f = r.stderr.split(separator: " ").map(String.init)
        XCTAssertEqual(Array(f.dropFirst()), ["a", "done", "exit=0", "log=/x/a.log\n"], "\(r)")
    }

    // MARK: VS Code tasks

    func testVSCodeTasksAreJSONAndTheirCommandsRun() throws {
        let url = Self.examples.appendingPathComponent("editors/vscode/tasks.json")
        let data = try Data(contentsOf: url)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any], "tasks.json is a JSON object")
        XCTAssertEqual(json["version"] as? String, "2.0.0")
        let tasks = try XCTUnwrap(json["tasks"] as? [[String: Any]])
        XCTAssertGreaterThanOrEqual(tasks.count, 4)
        let verbs = try binaryVerbs()

        try initSpool()
        let prompt = try write("Fix the login.\n", to: try makeScratchDir("editor").appendingPathComponent("fix-login.md"))
        let values = ["${workspaceFolder}": root.path, "${file}": prompt.path, "${selectedText}": "fix-login"]
        var labels: [String] = []
        for task in tasks {
            let label = try XCTUnwrap(task["label"] as? String)
            labels.append(label)
            XCTAssertEqual(task["type"] as? String, "process", "\(label): no shell between the editor and gadugi")
            XCTAssertEqual(task["command"] as? String, "gadugi", label)
            let args = try XCTUnwrap(task["args"] as? [String], label).map { arg in
                values.reduce(arg) { $0.replacingOccurrences(of: $1.key, with: $1.value) }
            }
            XCTAssertFalse(args.contains { $0.contains("${") }, "\(label): a variable this test does not know: \(args)")
            let verb = try XCTUnwrap(args.first, label)
            guard verbs.contains(verb) else {
                XCTAssertTrue(Self.comingVerbs.contains(verb), "\(label): gadugi has no verb '\(verb)' (it has \(verbs.sorted()))")
                continue
            }
            XCTAssertTrue(args.contains("--root") && args.contains(root.path), "\(label) names the workspace as --root: \(args)")
            if task["isBackground"] as? Bool == true {
                guard verb == "run" else { continue }
                guard let coordinator = try startCoordinator(Array(args.dropFirst()),
                                                             env: ["GADUGI_AGENT": "gadugi:simulate", "GADUGI_SIMULATE_STEP": "0.01"])
                else { continue }
                XCTAssertTrue(waitUntil(timeout: 60) { self.list(.done) == ["fix-login.md"] },
                              "\(label): the submitted prompt runs: \(allQueued())\n\(coordinator.stderr)")
                XCTAssertEqual(coordinator.stop().status, 0, label)
            } else {
                let r = try gadugiRun(args, addRoot: false)
                XCTAssertEqual(r.status, 0, "\(label): \(r)")
                if verb == "submit" { XCTAssertEqual(r.stdout, "fix-login\n", "\(r)") }
            }
        }
        XCTAssertEqual(list(.incoming) + list(.claimed) + list(.running), [], "the submitted prompt ran under the coordinator task: \(allQueued())")
        XCTAssertTrue(labels.contains { $0.contains("submit") } && labels.contains { $0.contains("watch") }
                      && labels.contains { $0.contains("log") } && labels.contains { $0.contains("status") }, "\(labels)")
        let guide = try String(contentsOf: Self.examples.appendingPathComponent("editors/vscode/README.md"), encoding: .utf8)
        for label in labels {
            XCTAssertTrue(guide.contains(label.replacingOccurrences(of: "gadugi: ", with: "")), "the guide lists '\(label)'")
        }
    }

    // MARK: the systemd unit

    func testSystemdUnitKeepsAgentsAndItsExecStartRuns() throws {
        let unitURL = Self.examples.appendingPathComponent("systemd/gadugi.service")
        let unit = try String(contentsOf: unitURL, encoding: .utf8)
        let settings = lines(unit).filter { !$0.hasPrefix("#") && $0.contains("=") }
        XCTAssertTrue(settings.contains("KillMode=process"), "agents must outlive a coordinator restart")
        XCTAssertTrue(settings.contains("Restart=on-failure"))
        XCTAssertTrue(unit.contains("re-adopts"), "the unit says why KillMode=process")
        XCTAssertTrue(unit.contains("systemctl --user"), "the unit says how to install it")
        XCTAssertTrue(settings.contains("WantedBy=default.target"), "a user unit is wanted by default.target")
        let exec = try XCTUnwrap(settings.first { $0.hasPrefix("ExecStart=") }).dropFirst("ExecStart=".count)
        let argv = exec.split(separator: " ").map(String.init)
        XCTAssertEqual(argv.first, "/usr/local/bin/gadugi", "where `make install` puts it")
        XCTAssertEqual(Array(argv.dropFirst()), ["run", "--root", "%h/project"])
        XCTAssertTrue(try binaryVerbs().contains("run"))

        // The unit with the built binary in place of the installed one: systemd accepts it.
        let scratch = try makeScratchDir("systemd")
        let local = unit.replacingOccurrences(of: "/usr/local/bin/gadugi", with: gadugi.path)
        let copy = try write(local, to: scratch.appendingPathComponent("gadugi.service"))
        if let analyze = executable(named: "systemd-analyze") {
            let runtime = try makeScratchDir("xdg-runtime")
            XCTAssertEqual(chmod(runtime.path, 0o700), 0)
            let r = try runProgram(analyze, ["verify", "--user", "--man=no", copy.path],
                                   env: ["XDG_RUNTIME_DIR": runtime.path], timeout: 60)
            XCTAssertEqual(r.status, 0, "\(r)")
            XCTAssertEqual(r.stderr, "", "systemd-analyze verify complains: \(r)")
        } else {
            print("IntegrationExamplesTests: no systemd-analyze here; the unit was checked as text")
        }

        // What systemd would start, with %h/project standing for this test's repository: a
        // coordinator that comes up and stops with exit 0 on SIGTERM (what `systemctl stop` sends).
        let args = argv.dropFirst().map { $0.replacingOccurrences(of: "%h/project", with: root.path) }
        guard let coordinator = try startCoordinator(Array(args.dropFirst()), env: ["GADUGI_AGENT": "gadugi:simulate"]) else { return }
        XCTAssertEqual(coordinator.stop(SIGTERM).status, 0)
    }

    // MARK: helpers

    /// The prompt files of examples/prompts/, sorted.
    private func promptNames() throws -> [String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.prompts.path).filter { !$0.hasPrefix(".") }.sorted()
        XCTAssertGreaterThanOrEqual(names.count, 10, "\(names)")
        return names
    }

    /// A stand-in `notify-send` first on PATH that records its arguments (one line per call in
    /// `calls`, each argument followed by `|`, newlines made spaces) and succeeds or fails (as one with no notification daemon does); and the file the
    /// hook falls back to. `env` holds PATH, NOTIFY_HOOK, NOTIFY_SEND_CALLS and GADUGI_NOTIFY_FILE.
    private func hookEnvironment(notifySendSucceeds: Bool) throws -> (env: [String: String], calls: URL, notes: URL) {
        let bin = try makeScratchDir("bin")
        let calls = bin.appendingPathComponent("notify-send.calls")
        let notes = bin.appendingPathComponent("notes.log")
        let stub = try write("#!/bin/sh\n{ printf '%s|' \"$@\" | tr '\\n' ' '; echo; } >>\"$NOTIFY_SEND_CALLS\"\nexit \(notifySendSucceeds ? 0 : 1)\n",
                             to: bin.appendingPathComponent("notify-send"))
        XCTAssertEqual(chmod(stub.path, 0o755), 0)
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return (["PATH": bin.path + ":" + path, "NOTIFY_HOOK": Self.script("notify-hook.sh").path,
                 "NOTIFY_SEND_CALLS": calls.path, "GADUGI_NOTIFY_FILE": notes.path], calls, notes)
    }

    /// The verbs `gadugi --help` lists (hidden ones, run by gadugi itself, are not among them).
    private func binaryVerbs() throws -> Set<String> {
        let help = try gadugiRun(["--help"], addRoot: false)
        XCTAssertEqual(help.status, 0, "\(help)")
        let section = help.stdout.components(separatedBy: "SUBCOMMANDS:").dropFirst().first ?? ""
        let verbs = lines(section).compactMap { line -> String? in
            guard line.hasPrefix("  "), let first = line.dropFirst(2).first, first.isLetter, first.isLowercase else { return nil }
            return line.split(separator: " ").first.map(String.init)
        }
        XCTAssertTrue(verbs.contains("submit") && verbs.contains("status"), "cannot read the verbs from --help: \(help)")
        return Set(verbs)
    }

    /// Skips the test when jq, which the shell examples read progress.json with, is missing.
    /// (.ci/run installs it.)
    private func requireJQ() throws {
        if executable(named: "jq") == nil {
            throw XCTSkip("jq is not installed (apt-get install jq; .ci/run installs it): the shell examples need it")
        }
    }

    private func executable(named name: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { URL(fileURLWithPath: String($0)).appendingPathComponent(name) }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    private func lines(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    /// `/bin/sh examples/shell/NAME ARGS`, in the root, with this test's environment plus `env`.
    private func runScript(_ name: String, _ args: [String], env: [String: String] = [:], timeout: Double = 60) throws -> RunResult {
        try runProgram(URL(fileURLWithPath: "/bin/sh"), [Self.script(name).path] + args, env: env, timeout: timeout)
    }
}
