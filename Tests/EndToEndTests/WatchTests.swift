import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// `gadugi watch`: one frame of a known spool to the character, plain frames without a
/// terminal, `--until-idle` against a real coordinator, and the terminal given back after q and
/// Ctrl-C under a real pseudo-terminal (`script`).
final class WatchTests: GadugiTestCase {
    override func setUpWithError() throws {
        try super.setUpWithError()
        try initSpool()
    }

    func testOnceFrameForAKnownSpool() throws {
        try write("Add a feature\n", to: queue(.incoming).appendingPathComponent("new-feature.md"))
        // Queued three days and 5 s ago: ELAPSED 72h0m for the next 55 s.
        var times = [timespec(tv_sec: time(nil) - 259_205, tv_nsec: 0), timespec(tv_sec: time(nil) - 259_205, tv_nsec: 0)]
        XCTAssertEqual(utimensat(AT_FDCWD, queue(.incoming).appendingPathComponent("new-feature.md").path, &times, 0), 0)
        try task("build-api", in: "running", #"""
            "state": "running", "percent": 40, "branch": "gadugi/build-api",
            "message": "compiling the API\nthen running every test suite of the project"
            """#)
        try write("reading the code\ncompiling 10%\r compiling 80% \n\n", to: taskDir("build-api").appendingPathComponent("output.log"))
        try task("users-tests", in: "claimed", #""state": "waiting", "waiting_for": ["users-api (running)"]"#)
        try task("fix-login", in: "failed", #"""
            "state": "failed", "exit_code": 3, "percent": 90, "message": "almost there", "branch": "gadugi/fix-login",
            "started_at": "2026-01-02T03:04:05.000Z", "finished_at": "2026-01-02T03:04:17.500Z"
            """#)
        try write(#"{"percent": 90, "message": "almost there"}"#, to: taskDir("fix-login").appendingPathComponent("report.json"))
        try write("step 3/4: running the tests\nsimulated failure, as the prompt asked\n",
                  to: taskDir("fix-login").appendingPathComponent("output.log"))
        try task("schema", in: "done", #"""
            "state": "done", "exit_code": 0, "percent": 100, "message": "migrations written", "branch": "gadugi/schema",
            "started_at": "2026-01-02T03:00:00.000Z", "finished_at": "2026-01-02T03:01:05.000Z"
            """#)

        let r = try gadugiRun(["watch", "--once", "--all"], env: ["NO_COLOR": "1", "COLUMNS": "80"])
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertEqual(r.stdout, """
            queued 1  claimed 0  waiting 1  running 1  done 1  failed 1  rejected 0
            coordinator: not running (start one with 'gadugi run')
            ID              STATE    ELAPSED  BEAT  PROGRESS    MESSAGE           LOG
            build-api       running  -        -     ██░░░  40%  compiling the A…  compiling…
            users-tests     waiting  -        -     -           waiting for use…
            new-feature.md  queued   72h0m    -     -
            fix-login       failed   12.5s    -     ████░  90%  exit 3            simulated…
            schema          done     1m5s     -     █████ 100%  migrations writ…

            """)
        XCTAssertFalse(r.stdout.contains("\u{1B}"), "no escape codes with NO_COLOR, not on a terminal")

        // Wide: the branch and the log lines whole, the bar of ten cells.
        let wide = try gadugiRun(["watch", "--once", "--all"], env: ["COLUMNS": "160"])
        let row = wide.stdout.split(separator: "\n").first { $0.hasPrefix("build-api") }.map(String.init) ?? ""
        XCTAssertTrue(row.contains("████░░░░░░  40%"), row)
        XCTAssertTrue(row.contains("compiling the API then running every test suite of the project  compiling 80%"), row)
        XCTAssertTrue(row.hasSuffix("gadugi/build-api"), row)
        // Only the active ones by default; --state picks.
        let active = try gadugiRun(["watch", "--once"], env: ["COLUMNS": "80"])
        XCTAssertFalse(active.stdout.contains("schema"), "\(active)")
        let failed = try gadugiRun(["watch", "--once", "--state", "failed"], env: ["COLUMNS": "80"])
        XCTAssertEqual(failed.stdout.split(separator: "\n").filter { $0.hasPrefix("fix-login") || $0.hasPrefix("build-api") }.count, 1)
        XCTAssertEqual(try gadugiRun(["watch", "--state", "finished"]).status, 64)
        XCTAssertEqual(try gadugiRun(["watch", "--interval", "0"]).status, 64)
    }

    /// Without a terminal and with `--until-idle`: plain frames, and an end with exit 0 once the
    /// coordinator has run every prompt.
    func testUntilIdleEndsOnceTheSpoolDrains() throws {
        for name in ["a", "b", "c"] { try write("# \(name)\n", to: queue(.incoming).appendingPathComponent("\(name).md")) }
        let watch = try startGadugi(["watch", "--all", "--until-idle", "--interval", "0.2"], env: ["COLUMNS": "100"])
        // Queued and no coordinator yet: it keeps watching.
        XCTAssertFalse(waitUntil(timeout: 1.5) { !watch.isRunning }, "ended while prompts were queued:\n\(watch.result())")
        guard let coordinator = try startCoordinator(["--agent", "gadugi:simulate", "--isolation", "none"],
                                                     env: ["GADUGI_SIMULATE_STEP": "0.05"]) else { return }
        XCTAssertTrue(waitUntil(timeout: 60) { !watch.isRunning }, "watch --until-idle did not end:\n\(watch.result())")
        let r = watch.result()
        XCTAssertEqual(r.status, 0, "\(r)")
        XCTAssertTrue(r.stdout.hasPrefix("gadugi watch, "), r.stdout)
        XCTAssertTrue(r.stdout.contains("queued 3"), "the first frame shows the queue:\n\(r.stdout)")
        let last = r.stdout.components(separatedBy: "\ngadugi watch, ").last ?? ""
        XCTAssertTrue(last.contains("queued 0  claimed 0  running 0  done 3"), "the last frame shows all done:\n\(last)")
        XCTAssertFalse(r.stdout.contains("\u{1B}"), "plain frames have no escape codes:\n\(r.stdout)")
        _ = coordinator.stop()

        let once = try gadugiRun(["watch", "--once"])
        XCTAssertEqual(once.status, 0, "\(once)")
        XCTAssertTrue(once.stdout.contains("nothing to show"), once.stdout)
    }

    /// Under a pseudo-terminal: the alternate screen and a hidden cursor while it runs, and both
    /// given back as the last thing written, whether it ends by q or by Ctrl-C.
    func testTheTerminalIsRestoredAfterQAndCtrlC() throws {
        try task("build-api", in: "running", #""state": "running", "percent": 40, "message": "compiling""#)
        for key in ["q", "\u{03}"] {
            let (status, output) = try underTerminal(["watch", "--root", root.path], key: key)
            XCTAssertEqual(status, 0, "key \(key.debugDescription): \(output.debugDescription)")
            XCTAssertTrue(output.contains("\u{1B}[?1049h"), "the alternate screen: \(output.debugDescription)")
            XCTAssertTrue(output.contains("build-api"), "a frame was drawn: \(output.debugDescription)")
            XCTAssertTrue(output.hasSuffix("\u{1B}[?25h\u{1B}[?1049l"),
                          "ends with the cursor shown and the main screen back: \(output.suffix(80).debugDescription)")
        }
    }

    /// Ctrl-Z gives the terminal back (main screen, cursor) before the process stops, and takes it
    /// again when it continues. Under `script` its process group is orphaned, so the kernel discards
    /// the stop itself and it continues at once; a shell's `fg` continues it the same way.
    func testCtrlZGivesTheTerminalBackAndTakesItAgain() throws {
        try task("build-api", in: "running", #""state": "running", "percent": 40, "message": "compiling""#)
        let enter = "\u{1B}[?1049h"
        let (status, output) = try underTerminal(["watch", "--root", root.path], keys: [
            ("\u{1A}", { $0.contains("build-api") }),
            ("q", { $0.components(separatedBy: enter).count == 3 && $0.hasSuffix("build-api  running  -        -     ██░░░  40%  compiling\u{1B}[K\u{1B}[J") }),
        ])
        XCTAssertEqual(status, 0, output.suffix(600).debugDescription)
        let visits = output.components(separatedBy: enter).dropFirst()
        XCTAssertEqual(visits.count, 2, "the alternate screen entered, then entered again: \(output.suffix(600).debugDescription)")
        XCTAssertTrue(visits.first?.hasSuffix(LiveScreenLeave) == true,
                      "left before the stop: \(visits.first?.suffix(80).debugDescription ?? "")")
        XCTAssertTrue(visits.last?.contains("build-api") == true, "drawn again after it: \(output.suffix(600).debugDescription)")
        XCTAssertTrue(output.hasSuffix(LiveScreenLeave), output.suffix(80).debugDescription)
    }

    let LiveScreenLeave = "\u{1B}[?25h\u{1B}[?1049l"

    /// Runs gadugi ARGS in a pseudo-terminal (`script`), types `key` once a frame is drawn, and
    /// returns its exit status and what it wrote to the terminal.
    func underTerminal(_ args: [String], key: String) throws -> (Int32, String) {
        try underTerminal(args, keys: [(key, { $0.contains("build-api") })])
    }

    /// Runs gadugi ARGS in a pseudo-terminal (`script`); types each key once what it wrote so far
    /// passes the key's check, and returns its exit status and all it wrote to the terminal.
    func underTerminal(_ args: [String], keys: [(String, (String) -> Bool)]) throws -> (Int32, String) {
        let quoted = ([gadugi.path] + args).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let out = try makeScratchDir("pty").appendingPathComponent("out")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        // -e: script exits with the command's status; -f: output written as it comes. `exec`: the
        // shell script starts ($SHELL, or dash) is replaced by gadugi; a dash left waiting would die
        // of the Ctrl-C itself and script would report 130 whatever gadugi did.
        p.arguments = ["-qefc", "exec " + quoted.joined(separator: " "), "/dev/null"]
        p.environment = environment(["TERM": "xterm", "NO_COLOR": "1"])
        let input = Pipe()
        p.standardInput = input
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = FileHandle.nullDevice
        try p.run()
        try? (p.standardOutput as? FileHandle)?.close()
        defer { try? input.fileHandleForWriting.close() }
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        for (key, ready) in keys {
            let drawn = waitUntil(timeout: 15) { ready(self.readText(out) ?? "") }
            XCTAssertTrue(drawn, "not ready for \(key.debugDescription): \((readText(out) ?? "").suffix(600).debugDescription)")
            input.fileHandleForWriting.write(Data(key.utf8))
        }
        XCTAssertTrue(waitForExit(p, timeout: 15), "still running after \(keys.map(\.0).debugDescription)")
        // What the terminal shows ends with the program's last bytes (script adds nothing after them).
        return (p.terminationStatus, readText(out) ?? "")
    }

    /// A task's prompt in `queue/<folder>/` and its `progress.json` with these fields.
    func task(_ id: String, in folder: String, _ fields: String) throws {
        try write("x\n", to: spool.appendingPathComponent("queue/\(folder)/\(id).md"))
        try write(#"{"schema_version": 1, "id": "\#(id)", "name": "\#(id).md", \#(fields)}"#, to: progressURL(id))
    }
}
