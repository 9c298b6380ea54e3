// Shared helpers for the GadugiCore unit tests: real temporary directories, real files, real
// processes. Nothing here is mocked.

import Foundation
import Glibc
import XCTest
@testable import GadugiCore
import SystemPackage

/// A test case with a fresh spool (`Layout(root:).create()`) in a temporary directory of its own,
/// removed again in `tearDown`.
class SpoolTestCase: XCTestCase {
    var root: String = ""
    var layout: Layout!

    override func setUpWithError() throws {
        try super.setUpWithError()
        root = try makeTemporaryDirectory()
        layout = Layout(root: root)
        try layout.create()
    }

    override func tearDownWithError() throws {
        if !root.isEmpty { removeTree(root) }
        root = ""
        layout = nil
        try super.tearDownWithError()
    }

    // MARK: files

    func write(_ path: String, _ text: String) throws {
        try write(path, Array(text.utf8))
    }

    func write(_ path: String, _ bytes: [UInt8]) throws {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SystemError("open", path, .init(rawValue: errno)) }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            guard n > 0 else { throw SystemError("write", path, .init(rawValue: errno)) }
            offset += n
        }
    }

    func bytes(_ path: String, file: StaticString = #filePath, line: UInt = #line) -> [UInt8]? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return [UInt8](data)
    }

    func text(_ path: String) -> String? {
        bytes(path).map { String(decoding: $0, as: UTF8.self) }
    }

    func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR
    }

    func names(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    }

    func mtime(_ path: String) -> Timestamp? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return Timestamp(seconds: Int64(st.st_mtim.tv_sec), nanoseconds: Int64(st.st_mtim.tv_nsec))
    }

    /// Sets a file's mtime (and atime) to `seconds` since the epoch.
    func setMtime(_ path: String, seconds: Int) {
        var times = [timespec(tv_sec: seconds, tv_nsec: 0), timespec(tv_sec: seconds, tv_nsec: 0)]
        XCTAssertEqual(utimensat(AT_FDCWD, path, &times, 0), 0, "utimensat \(path)")
    }

    func incoming(_ name: String) -> String { layout.queue(.incoming, name) }
}

func makeTemporaryDirectory() throws -> String {
    var template = Array("/tmp/gadugi-core-tests.XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    guard made != nil else { throw SystemError("mkdtemp", "/tmp", .init(rawValue: errno)) }
    let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    guard let real = realpath(path, nil) else { return path }
    defer { free(real) }
    return String(cString: real)
}

func removeTree(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}

/// Asserts that `body` throws a `SystemError` with `errno`, and returns it.
@discardableResult
func assertSystemError(_ expected: Errno, file: StaticString = #filePath, line: UInt = #line,
                       _ body: () throws -> Void) -> SystemError? {
    do {
        try body()
        XCTFail("expected SystemError \(expected), but nothing was thrown", file: file, line: line)
        return nil
    } catch let error as SystemError {
        XCTAssertEqual(error.errno, expected, "\(error)", file: file, line: line)
        return error
    } catch {
        XCTFail("expected SystemError \(expected), got \(error)", file: file, line: line)
        return nil
    }
}

// MARK: processes

/// Waits for our own child `pid` (never `waitpid(-1)`), killing it after `timeout` seconds.
/// Returns the raw wait status, or nil after a timeout.
func waitForChild(_ pid: pid_t, timeout: Double = 20, file: StaticString = #filePath, line: UInt = #line) -> Int32? {
    let deadline = Timestamp.now().asDouble + timeout
    var status: Int32 = 0
    while true {
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid { return status }
        if r < 0 && errno != EINTR {
            XCTFail("waitpid(\(pid)) failed: errno \(errno)", file: file, line: line)
            return nil
        }
        if Timestamp.now().asDouble > deadline {
            kill(pid, SIGKILL)
            _ = waitpid(pid, &status, 0)
            XCTFail("child \(pid) did not end within \(timeout) s; killed it", file: file, line: line)
            return nil
        }
        usleep(5_000)
    }
}

/// Polls `condition` every 10 ms for at most `timeout` seconds (a safety bound, not a measurement).
func eventually(timeout: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Timestamp.now().asDouble + timeout
    while Timestamp.now().asDouble < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

/// Starts `argv` (a real process, found by absolute path) with stdin from /dev/null and stdout
/// and stderr to `output`. The caller waits for it with `waitForChild`.
func spawnProcess(_ argv: [String], output: String = "/dev/null") -> pid_t? {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    var cargv: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    defer { cargv.forEach { free($0) } }
    var pid: pid_t = 0
    guard posix_spawn(&pid, argv[0], &actions, nil, &cargv, environ) == 0 else { return nil }
    return pid
}

/// Runs `argv` and waits for it. Returns the exit status, or -1 if it did not exit normally.
func runProcess(_ argv: [String], output: String = "/dev/null") -> Int32 {
    guard let pid = spawnProcess(argv, output: output), let status = waitForChild(pid) else { return -1 }
    return status & 0x7f == 0 ? (status >> 8) & 0xff : -1
}

/// Runs `body` in a forked child so that a trap (a crash) in it cannot take the test process
/// down. Returns the child's raw wait status; `body`'s return value becomes the exit status.
/// The child only computes and calls `_exit`.
func runInChildProcess(timeout: Double = 20, _ body: () -> Int32) -> Int32? {
    let pid = fork()
    if pid == 0 {
        // The runtime's crash report would only clutter the test log; the wait status tells.
        let null = Glibc.open("/dev/null", O_WRONLY)
        if null >= 0 { dup2(null, 2) }
        _exit(body())
    }
    guard pid > 0 else { return nil }
    return waitForChild(pid, timeout: timeout)
}

func describeWaitStatus(_ status: Int32?) -> String {
    guard let status else { return "timed out" }
    if status & 0x7f == 0 { return "exit \((status >> 8) & 0xff)" }
    return "killed by signal \(status & 0x7f)"
}

import Logging
import Synchronization

/// A logger whose messages the test can read back (no output).
final class CapturedLog: Sendable {
    private let lines = Mutex<[String]>([])

    var messages: [String] { lines.withLock { $0 } }

    var logger: Logger {
        Logger(label: "test") { _ in Handler(log: self) }
    }

    struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            log.lines.withLock { $0.append("\(event.level) \(event.message)") }
        }
    }
}
