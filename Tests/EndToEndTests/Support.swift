// Shared helpers for the end-to-end tests: they drive the real `gadugi` binary in real temporary
// directories, with real processes. Nothing here is mocked.

import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Locating the binary

enum GadugiBinary {
    /// Paths tried, in order, to find the built `gadugi` executable.
    static func candidates() -> [URL] {
        var result: [URL] = []
        if let override = ProcessInfo.processInfo.environment["GADUGI_E2E_BIN"], !override.isEmpty {
            result.append(URL(fileURLWithPath: override))
        }
        // The xctest bundle (on Linux an executable, `gadugiPackageTests.xctest`) lives in the same
        // build directory as the `gadugi` product.
        if let arg0 = CommandLine.arguments.first, !arg0.isEmpty {
            let url = URL(fileURLWithPath: arg0).resolvingSymlinksInPath()
            result.append(url.deletingLastPathComponent().appendingPathComponent("gadugi"))
        }
        result.append(Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("gadugi"))
        if let exe = Bundle.main.executableURL {
            result.append(exe.resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("gadugi"))
        }
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            result.append(bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("gadugi"))
        }
        // Tests/EndToEndTests/Support.swift -> package root.
        let packageRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        result.append(packageRoot.appendingPathComponent(".build/debug/gadugi"))
        return result
    }

    /// The `gadugi` executable, or nil (the caller fails the test with `candidates()`).
    static func locate() -> URL? {
        let fm = FileManager.default
        for url in candidates() {
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue,
               fm.isExecutableFile(atPath: url.path) {
                return url.resolvingSymlinksInPath()
            }
        }
        return nil
    }
}

// MARK: - Results of a finished process

struct RunResult: CustomStringConvertible {
    var arguments: [String]
    var status: Int32
    var exitedNormally: Bool
    var timedOut: Bool
    var stdout: String
    var stderr: String
    var seconds: Double

    var description: String {
        let how = timedOut ? "TIMED OUT (killed)" : (exitedNormally ? "exit \(status)" : "signal \(status)")
        return """
        gadugi \(arguments.joined(separator: " ")) -> \(how) after \(String(format: "%.2f", seconds)) s
        --- stdout ---
        \(stdout.suffix(4000))
        --- stderr ---
        \(stderr.suffix(4000))
        """
    }
}

// MARK: - Time and waiting

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Polls `condition` until it holds or `timeout` seconds pass. Returns whether it held.
@discardableResult
func waitUntil(timeout: Double, interval: Double = 0.02, _ condition: () -> Bool) -> Bool {
    let deadline = monotonicSeconds() + timeout
    while true {
        if condition() { return true }
        if monotonicSeconds() >= deadline { return condition() }
        Thread.sleep(forTimeInterval: interval)
    }
}

/// Waits for a process to exit, at most `timeout` seconds. Never blocks forever.
@discardableResult
func waitForExit(_ process: Process, timeout: Double) -> Bool {
    waitUntil(timeout: timeout, interval: 0.01) { !process.isRunning }
}

// MARK: - Queue states

enum QueueDir: String, CaseIterable {
    case tmp, incoming, claimed, running, done, failed, rejected, cancelled
}

/// The queue directories whose files are the states of prompts (tmp is a producer's scratch area).
let stateDirs: [QueueDir] = [.incoming, .claimed, .running, .done, .failed, .rejected, .cancelled]

// MARK: - A background process (the coordinator)

final class BackgroundProcess {
    let process: Process
    let arguments: [String]
    let stdoutURL: URL
    let stderrURL: URL
    let startedAt: Double

    init(process: Process, arguments: [String], stdoutURL: URL, stderrURL: URL) {
        self.process = process
        self.arguments = arguments
        self.stdoutURL = stdoutURL
        self.stderrURL = stderrURL
        self.startedAt = monotonicSeconds()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    func signal(_ sig: Int32) {
        if process.isRunning { _ = kill(process.processIdentifier, sig) }
    }

    /// Sends `sig` and waits up to `timeout` s for the exit. If it has not exited by then it is
    /// killed with SIGKILL and `timedOut` is set in the result.
    func stop(_ sig: Int32 = SIGTERM, timeout: Double = 10) -> RunResult {
        signal(sig)
        var timedOut = false
        if !waitForExit(process, timeout: timeout) {
            timedOut = true
            signal(SIGKILL)
            waitForExit(process, timeout: 10)
        }
        return result(timedOut: timedOut)
    }

    func result(timedOut: Bool = false) -> RunResult {
        let running = process.isRunning
        return RunResult(
            arguments: arguments,
            status: running ? -1 : process.terminationStatus,
            exitedNormally: running ? false : process.terminationReason == .exit,
            timedOut: timedOut || running,
            stdout: stdout, stderr: stderr,
            seconds: monotonicSeconds() - startedAt)
    }
}

// MARK: - One test's sandbox

/// Why a sandbox could not be made, said so that the reader knows what to do.
struct WorkspaceError: Error, CustomStringConvertible {
    let description: String
}

/// Everything one test owns: a fresh git repository as the spool's root, a scratch folder beside it,
/// and the processes it started. Shared by XCTest cases (`GadugiTestCase`) and Swift Testing tests
/// (`Sandbox`), which differ only in how they record a failure.
final class Workspace {
    let gadugi: URL
    /// The per-test temporary directory holding `root` and `scratch`; removed after a passing test.
    let base: URL
    /// The root of this test's spool: a fresh, git-initialised temporary directory.
    var root: URL
    let scratch: URL
    var background: [BackgroundProcess] = []
    /// Helper processes (shell producers, writers) started by `startShell`; killed by `stop`.
    var helpers: [Process] = []
    /// Run by `stop` after every coordinator and agent of the test is stopped, last added first
    /// (unmounts, restoring permissions), before the test directory is removed.
    var afterStop: [() -> Void] = []
    var counter = 0
    /// Extra environment given to every gadugi process of this test (and so to its agents).
    var extraEnvironment: [String: String] = [:]

    init() throws {
        guard let bin = GadugiBinary.locate() else {
            let tried = GadugiBinary.candidates().map { "  " + $0.path }.joined(separator: "\n")
            throw WorkspaceError(description: "The gadugi executable was not found; run `swift build --build-tests` first, "
                + "or set GADUGI_E2E_BIN. Tried:\n\(tried)")
        }
        gadugi = bin
        let fm = FileManager.default
        let made = fm.temporaryDirectory
            .appendingPathComponent("gadugi-e2e-\(getpid())-\(UUID().uuidString.prefix(8))")
        try fm.createDirectory(at: made, withIntermediateDirectories: true)
        base = made.resolvingSymlinksInPath()
        root = base.appendingPathComponent("repo")
        scratch = base.appendingPathComponent("scratch")
        try fm.createDirectory(at: root, withIntermediateDirectories: true)
        try fm.createDirectory(at: scratch, withIntermediateDirectories: true)
        try gitInit()
    }

    /// Stops every coordinator (SIGTERM, then SIGKILL), helper and agent the test started, runs
    /// `afterStop`, then removes the test directory unless `keep` (a failed test's is kept).
    func stop(keep: Bool) {
        for bg in background where bg.isRunning {
            bg.signal(SIGTERM)
        }
        for bg in background where bg.isRunning {
            if !waitForExit(bg.process, timeout: 3) {
                bg.signal(SIGKILL)
                waitForExit(bg.process, timeout: 5)
            }
        }
        background.removeAll()
        for h in helpers where h.isRunning {
            _ = kill(h.processIdentifier, SIGKILL)
            waitForExit(h, timeout: 5)
        }
        helpers.removeAll()
        killLeftoverAgents(marker: root.path)
        for action in afterStop.reversed() { action() }
        afterStop.removeAll()
        if keep {
            print("gadugi e2e: kept the test directory \(base.path) for inspection")
        } else {
            try? FileManager.default.removeItem(at: base)
        }
    }

    /// Agents outlive the coordinator by design (setsid). Kill the processes this test caused: those
    /// whose environment carries this test's marker (every gadugi process of the test gets
    /// GADUGI_E2E_MARK=<root>, and agents inherit it). Each is killed by its own pid.
    private func killLeftoverAgents(marker: String) {
        let needle = "GADUGI_E2E_MARK=\(marker)"
        let me = getpid()
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return }
        for entry in entries {
            guard let pid = Int32(entry), pid != me, pid > 1 else { continue }
            guard let env = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { continue }
            let vars = env.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if vars.contains(needle) {
                _ = kill(pid, SIGKILL)
            }
        }
    }

    private func gitInit() throws {
        try Data("# e2e test repository\n".utf8).write(to: root.appendingPathComponent("README.md"))
        for args in [["init", "-q"], ["add", "README.md"],
                     ["-c", "user.name=gadugi-e2e", "-c", "user.email=e2e@example.invalid",
                      "-c", "commit.gpgsign=false", "commit", "-q", "-m", "init"]] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["git"] + args
            p.currentDirectoryURL = root
            p.standardInput = FileHandle.nullDevice
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            if !waitForExit(p, timeout: 20) {
                _ = kill(p.processIdentifier, SIGKILL)
                throw WorkspaceError(description: "git \(args) hung in \(root.path)")
            }
            if p.terminationStatus != 0 {
                throw WorkspaceError(description: "git \(args) failed in \(root.path)")
            }
        }
    }
}

/// What every end-to-end test uses: its workspace, and a way to record a failure. The helpers below
/// are written once, for XCTest and Swift Testing alike.
protocol SpoolHarness: AnyObject {
    var workspace: Workspace { get }
    func fail(_ message: String, file: StaticString, line: UInt)
}

// MARK: - The XCTest base class

class GadugiTestCase: XCTestCase, SpoolHarness {
    private var current: Workspace?
    var workspace: Workspace { current! }

    func fail(_ message: String, file: StaticString, line: UInt) {
        XCTFail(message, file: file, line: line)
    }

    override func setUpWithError() throws {
        try super.setUpWithError()
        do {
            current = try Workspace()
        } catch let error as WorkspaceError {
            XCTFail(error.description)
            throw error
        }
    }

    override func tearDownWithError() throws {
        // (hasSucceeded is false until the run stops, which is after tearDown.)
        let passed = testRun.map { $0.totalFailureCount == 0 && $0.unexpectedExceptionCount == 0 } ?? false
        current?.stop(keep: !passed)
        current = nil
        try super.tearDownWithError()
    }
}

// MARK: - The helpers

extension SpoolHarness {
    var root: URL { workspace.root }
    var gadugi: URL { workspace.gadugi }
    var afterStop: [() -> Void] {
        get { workspace.afterStop }
        set { workspace.afterStop = newValue }
    }
    var extraEnvironment: [String: String] {
        get { workspace.extraEnvironment }
        set { workspace.extraEnvironment = newValue }
    }

    // MARK: paths

    var spool: URL { root.appendingPathComponent(".gadugi") }
    func queue(_ dir: QueueDir) -> URL { spool.appendingPathComponent("queue/\(dir.rawValue)") }
    func taskDir(_ id: String) -> URL { spool.appendingPathComponent("monitoring/tasks/\(id)") }
    func progressURL(_ id: String) -> URL { taskDir(id).appendingPathComponent("progress.json") }

    /// A fresh directory outside the spool (for source prompts, agent outputs, ledgers…).
    func makeScratchDir(_ name: String) throws -> URL {
        workspace.counter += 1
        let url = workspace.scratch.appendingPathComponent("\(workspace.counter)-\(name)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Sorted names in a queue directory ([] if it does not exist).
    func list(_ dir: QueueDir) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: queue(dir).path)) ?? []).sorted()
    }

    func count(_ dir: QueueDir) -> Int { list(dir).count }

    /// Every name in every state directory, as "dir/name".
    func allQueued() -> [String] {
        stateDirs.flatMap { d in list(d).map { "\(d.rawValue)/\($0)" } }
    }

    /// Asserts that done/ holds exactly `<id>.md` for each of `ids`, each exactly once, and that no
    /// other state directory holds anything (except the names in `allowInIncoming`).
    func assertAllDone(_ ids: [String], ext: String = "md", allowInIncoming: Set<String> = [],
                       file: StaticString = #filePath, line: UInt = #line) {
        let expected = ids.map { "done/\($0).\(ext)" }.sorted()
        let actual = allQueued().filter { entry in
            !allowInIncoming.contains(where: { "incoming/\($0)" == entry })
        }.sorted()
        if actual != expected {
            let missing = Set(expected).subtracting(actual).sorted()
            let extra = Set(actual).subtracting(expected).sorted()
            fail("queue state differs: missing \(missing.prefix(20)) (\(missing.count)), "
                + "unexpected \(extra.prefix(20)) (\(extra.count))", file: file, line: line)
        }
    }

    func readJSON(_ url: URL) -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    func progress(_ id: String) -> [String: Any]? { readJSON(progressURL(id)) }

    func readText(_ url: URL) -> String? { try? String(contentsOf: url, encoding: .utf8) }

    // MARK: files

    @discardableResult
    func write(_ text: String, to url: URL) throws -> URL {
        try write(Data(text.utf8), to: url)
    }

    @discardableResult
    func write(_ data: Data, to url: URL) throws -> URL {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(),
                                                withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: url.path, contents: data) else {
            throw NSError(domain: "e2e", code: 1, userInfo: [NSLocalizedDescriptionKey: "cannot write \(url.path)"])
        }
        return url
    }

    /// A distinct, multi-line UTF-8 prompt (no front matter) of roughly `size` bytes.
    func promptText(_ tag: String, size: Int = 200) -> String {
        var s = "# Task \(tag)\n\nDo the thing for \(tag) — ünïcödé ✓, quotes ' \" $HOME `x` \\n.\n"
        var i = 0
        while s.utf8.count < size {
            s += "line \(i) of \(tag): \(String(repeating: "abcdefghij", count: 5))\n"
            i += 1
        }
        return s
    }

    // MARK: environment

    /// The environment of every gadugi process: ours, minus any GADUGI_* that could steer it,
    /// plus the test marker and `extraEnvironment`.
    func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("GADUGI_") }
        env["GADUGI_E2E_MARK"] = root.path
        for (k, v) in extraEnvironment { env[k] = v }
        for (k, v) in extra { env[k] = v }
        return env
    }

    // MARK: running gadugi

    private func makeProcess(_ args: [String], env: [String: String], program: URL? = nil) throws -> (Process, URL, URL) {
        workspace.counter += 1
        let out = workspace.scratch.appendingPathComponent("proc-\(workspace.counter).stdout")
        let err = workspace.scratch.appendingPathComponent("proc-\(workspace.counter).stderr")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let p = Process()
        p.executableURL = program ?? gadugi
        p.arguments = args
        p.environment = environment(env)
        p.currentDirectoryURL = root
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        return (p, out, err)
    }

    /// Starts `p` and closes this process's copies of its output files: Foundation's Process
    /// keeps them open otherwise, two descriptors per run, and a suite of hundreds of runs would
    /// pass FD_SETSIZE (libinotifytools' select() aborts on a descriptor past 1023).
    private func launch(_ p: Process) throws {
        try p.run()
        for handle in [p.standardOutput, p.standardError] { try? (handle as? FileHandle)?.close() }
    }

    /// Runs `gadugi ARGS --root ROOT` to completion, at most `timeout` s (then SIGKILL, timedOut).
    @discardableResult
    func gadugiRun(_ args: [String], timeout: Double = 30, env: [String: String] = [:],
                   addRoot: Bool = true) throws -> RunResult {
        try runProgram(gadugi, args + (addRoot ? ["--root", root.path] : []), env: env, timeout: timeout)
    }

    /// Runs `program ARGS` in the root, with this test's environment plus `env`, to completion, at
    /// most `timeout` s (then SIGKILL, timedOut).
    @discardableResult
    func runProgram(_ program: URL, _ args: [String], env: [String: String] = [:], timeout: Double = 30) throws -> RunResult {
        let (p, out, err) = try makeProcess(args, env: env, program: program)
        let start = monotonicSeconds()
        try launch(p)
        var timedOut = false
        if !waitForExit(p, timeout: timeout) {
            timedOut = true
            _ = kill(p.processIdentifier, SIGKILL)
            waitForExit(p, timeout: 10)
        }
        let seconds = monotonicSeconds() - start
        let running = p.isRunning
        return RunResult(
            arguments: program == gadugi ? args : [program.lastPathComponent] + args,
            status: running ? -1 : p.terminationStatus,
            exitedNormally: running ? false : p.terminationReason == .exit,
            timedOut: timedOut,
            stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "",
            seconds: seconds)
    }

    /// Starts `gadugi ARGS --root ROOT` in the background. tearDown stops it if the test does not.
    func startGadugi(_ args: [String], env: [String: String] = [:]) throws -> BackgroundProcess {
        let full = args + ["--root", root.path]
        let (p, out, err) = try makeProcess(full, env: env)
        try launch(p)
        let bg = BackgroundProcess(process: p, arguments: full, stdoutURL: out, stderrURL: err)
        workspace.background.append(bg)
        return bg
    }

    /// Starts a coordinator (`gadugi run ARGS`) and waits until it holds the spool: the lock file or
    /// registry.json names its pid. Fails the test (and returns nil) if it does not within 20 s.
    func startCoordinator(_ args: [String], env: [String: String] = [:],
                          file: StaticString = #filePath, line: UInt = #line) throws -> BackgroundProcess? {
        let bg = try startGadugi(["run"] + args, env: env)
        // Ready once its registry names it: written by the loop, after the start-up listing of
        // incoming/ (files written before that listing are taken as finished, without settling).
        let ready = waitUntil(timeout: 20) { !bg.isRunning || registryPid() == bg.pid }
        if !ready || !bg.isRunning {
            fail("coordinator did not come up (lock file or registry.json naming pid \(bg.pid)):\n"
                + "\(bg.result())", file: file, line: line)
            return nil
        }
        return bg
    }

    /// The coordinator pid from `.gadugi/coordinator.lock` (its text) or registry.json.
    func coordinatorPid() -> Int32? {
        let lock = spool.appendingPathComponent("coordinator.lock")
        if let text = readText(lock),
           let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            return pid
        }
        if let reg = readJSON(spool.appendingPathComponent("monitoring/registry.json")),
           let coord = reg["coordinator"] as? [String: Any],
           let pid = (coord["pid"] as? NSNumber)?.int32Value {
            return pid
        }
        return nil
    }

    /// The coordinator pid registry.json names while it runs.
    func registryPid() -> Int32? {
        guard let reg = readJSON(spool.appendingPathComponent("monitoring/registry.json")),
              let coord = reg["coordinator"] as? [String: Any] else { return nil }
        return (coord["pid"] as? NSNumber)?.int32Value
    }

    /// `gadugi init`, asserting success and that the producer directories exist.
    func initSpool(file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try gadugiRun(["init"], timeout: 20)
        if r.status != 0 { fail("gadugi init failed:\n\(r)", file: file, line: line) }
        for d in [QueueDir.tmp, .incoming] {
            var isDir: ObjCBool = false
            if !(FileManager.default.fileExists(atPath: queue(d).path, isDirectory: &isDir) && isDir.boolValue) {
                fail("gadugi init did not create \(queue(d).path)", file: file, line: line)
            }
        }
    }

    // MARK: other roots, config, producers

    /// Makes `url` this test's root instead of the git repository made in setUp (for a spool on
    /// another file system, e.g. a tmpfs). Call it before starting any gadugi process: the leftover
    /// marker every process carries is the root's path.
    func useRoot(_ url: URL) {
        workspace.root = url
    }

    /// `git -C <root> ARGS`: its stdout ("" when git cannot run), stderr dropped.
    func git(_ args: [String]) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["git", "-C", root.path] + args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return "" }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Writes `.gadugi/config.yaml` (creating `.gadugi/` if needed).
    func writeConfig(_ yaml: String) throws {
        try write(yaml, to: spool.appendingPathComponent("config.yaml"))
    }

    /// Drops a prompt the Maildir way: writes `content` to `queue/tmp/` under a fresh name, then
    /// renames it to `queue/incoming/<name>` (replacing any file of that name, as `mv` does).
    func dropPrompt(name: String, content: Data, file: StaticString = #filePath, line: UInt = #line) throws {
        workspace.counter += 1
        let tmp = queue(.tmp).appendingPathComponent(".drop-\(workspace.counter)-\(getpid())")
        try write(content, to: tmp)
        let rc = rename(tmp.path, queue(.incoming).appendingPathComponent(name).path)
        if rc != 0 { fail("rename into incoming/\(name) failed: errno \(errno)", file: file, line: line) }
    }

    func dropPrompt(name: String, content: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try dropPrompt(name: name, content: Data(content.utf8), file: file, line: line)
    }

    /// Writes in place (open, write, close), as `echo >` or an editor would: not
    /// `FileManager.createFile`, which writes a temporary file and renames it into place.
    func writeInPlace(name: String, content: Data) throws {
        let path = queue(.incoming).appendingPathComponent(name).path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw NSError(domain: "e2e", code: 1, userInfo: [NSLocalizedDescriptionKey: "cannot open \(path)"]) }
        defer { close(fd) }
        let written = content.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == content.count else { throw NSError(domain: "e2e", code: 1, userInfo: [NSLocalizedDescriptionKey: "cannot write \(path)"]) }
    }

    /// Starts `bash -c SCRIPT` in the root directory with this test's environment plus `env`.
    /// tearDown kills it if it is still running.
    @discardableResult
    func startShell(_ script: String, env: [String: String] = [:]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", script]
        p.environment = environment(env)
        p.currentDirectoryURL = root
        p.standardInput = FileHandle.nullDevice
        try p.run()
        workspace.helpers.append(p)
        return p
    }

    /// Runs `bash -c SCRIPT` to completion (at most `timeout` s) and returns its exit status
    /// (-1 if it had to be killed).
    @discardableResult
    func runShell(_ script: String, env: [String: String] = [:], timeout: Double = 30) throws -> Int32 {
        let p = try startShell(script, env: env)
        if !waitForExit(p, timeout: timeout) {
            _ = kill(p.processIdentifier, SIGKILL)
            waitForExit(p, timeout: 5)
            return -1
        }
        return p.terminationStatus
    }

    /// Pids of live (non-zombie) processes whose command line contains `needle`, except this one.
    func pids(matching needle: String) -> [Int32] {
        let me = getpid()
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var result: [Int32] = []
        for entry in entries {
            guard let pid = Int32(entry), pid != me, pid > 1 else { continue }
            guard let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !raw.isEmpty else { continue }
            let cmdline = String(decoding: raw.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
            if cmdline.contains(needle) { result.append(pid) }
        }
        return result
    }

    /// SIGKILLs every process whose command line contains `needle`, each by its own pid.
    func killProcesses(matching needle: String) {
        for pid in pids(matching: needle) { _ = kill(pid, SIGKILL) }
    }

    /// Whether a process exists and is not a zombie.
    func isAlive(_ pid: Int32) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let stat = readText(URL(fileURLWithPath: "/proc/\(pid)/stat")),
              let close = stat.lastIndex(of: ")") else { return true }
        let rest = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces)
        return !rest.hasPrefix("Z") && !rest.hasPrefix("X")
    }

    /// The task id the spool derives from a prompt's file name (spool-layout.md, "Task ids").
    func expectedTaskId(forFileName name: String) -> String {
        var stem = name
        for ext in [".md", ".markdown", ".txt", ".prompt"] where stem.hasSuffix(ext) {
            stem.removeLast(ext.count)
            break
        }
        var id = ""
        var inRun = false
        for u in stem.unicodeScalars {
            let ok = (u.isASCII && (CharacterSet.alphanumerics.contains(u))) || u == "_" || u == "-"
            if ok { id.unicodeScalars.append(u); inRun = false }
            else if !inRun { id += "-"; inRun = true }
        }
        while id.hasPrefix("-") { id.removeFirst() }
        while id.hasSuffix("-") { id.removeLast() }
        id = String(id.prefix(64))
        return id.isEmpty ? "task" : id
    }

    /// Which state directories hold `name` (for prompts whose queue name is known).
    func dirsHolding(_ name: String) -> [QueueDir] {
        stateDirs.filter { list($0).contains(name) }
    }
}

// MARK: - JSON helpers

extension Dictionary where Key == String, Value == Any {
    func int(_ key: String) -> Int? { (self[key] as? NSNumber)?.intValue }
    func double(_ key: String) -> Double? { (self[key] as? NSNumber)?.doubleValue }
    func string(_ key: String) -> String? { self[key] as? String }
    func object(_ key: String) -> [String: Any]? { self[key] as? [String: Any] }
    func isNull(_ key: String) -> Bool { self[key] is NSNull }
}
