import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Requirement 2: every way a producer can put a prompt into the queue works, each prompt runs exactly
/// once, and its agent receives the prompt byte for byte.
final class ProducerTests: GadugiTestCase {
    /// The agent: write the prompt (stdin) to $OUT/<task id>. OUT comes from the coordinator's environment.
    let catAgent = #"cat > "$OUT/$GADUGI_TASK_ID""#

    private func finishedCount() -> Int { count(.done) + count(.failed) + count(.rejected) }

    /// Asserts that $OUT holds exactly one file per expected id, with the expected bytes.
    private func assertAgentsReceived(_ expected: [String: Data], out: URL,
                                      file: StaticString = #filePath, line: UInt = #line) {
        let got = Set((try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? [])
        XCTAssertEqual(got, Set(expected.keys),
                       "agents ran for a different set of tasks (missing \(Set(expected.keys).subtracting(got).sorted().prefix(10)), "
                       + "extra \(got.subtracting(expected.keys).sorted().prefix(10)))", file: file, line: line)
        var mismatches: [String] = []
        for (id, data) in expected.sorted(by: { $0.key < $1.key }) {
            guard let received = FileManager.default.contents(atPath: out.appendingPathComponent(id).path) else { continue }
            if received != data {
                mismatches.append("\(id): expected \(data.count) bytes, agent got \(received.count)")
            }
        }
        XCTAssertTrue(mismatches.isEmpty, "prompts not received byte for byte: \(mismatches.prefix(10))",
                      file: file, line: line)
    }

    /// Waits (bounded) for `n` prompts to be finished, then stops the coordinator with SIGTERM and
    /// asserts it exits 0.
    private func finish(_ coordinator: BackgroundProcess, expecting n: Int, timeout: Double = 30,
                        file: StaticString = #filePath, line: UInt = #line) {
        let ok = waitUntil(timeout: timeout, interval: 0.05) { self.finishedCount() >= n || !coordinator.isRunning }
        XCTAssertTrue(ok && coordinator.isRunning,
                      "expected \(n) finished prompts within \(timeout) s; queue: \(allQueued().prefix(30))\n\(coordinator.result())",
                      file: file, line: line)
        let r = coordinator.stop(SIGTERM, timeout: 10)
        XCTAssertFalse(r.timedOut, "coordinator did not exit on SIGTERM:\n\(r)", file: file, line: line)
        XCTAssertTrue(r.exitedNormally && r.status == 0, "coordinator should exit 0 on SIGTERM:\n\(r)", file: file, line: line)
    }

    // (a) Maildir style: write into queue/tmp, then rename into queue/incoming.
    func testProducerWritingInTmpThenRenamingIntoIncoming() throws {
        try initSpool()
        let out = try makeScratchDir("out")
        guard let coordinator = try startCoordinator(["--agent", catAgent], env: ["OUT": out.path]) else { return }

        var expected: [String: Data] = [:]
        for i in 1...5 {
            let id = "maildir-\(i)"
            let data = Data(promptText(id, size: 300 * i).utf8)
            let tmp = queue(.tmp).appendingPathComponent("\(id).md")
            try write(data, to: tmp)
            XCTAssertEqual(rename(tmp.path, queue(.incoming).appendingPathComponent("\(id).md").path), 0,
                           "rename into incoming failed: errno \(errno)")
            expected[id] = data
        }

        finish(coordinator, expecting: expected.count)
        assertAllDone(expected.keys.sorted())
        assertAgentsReceived(expected, out: out)
    }

    // (b) A plain copy straight into incoming, including a slow writer.
    func testProducerCopyingStraightIntoIncomingIncludingASlowWriter() throws {
        try initSpool()
        let out = try makeScratchDir("out")
        let src = try makeScratchDir("src")
        guard let coordinator = try startCoordinator(["--agent", catAgent], env: ["OUT": out.path]) else { return }

        var expected: [String: Data] = [:]
        // Plain copies, one of them large enough to take several writes.
        for (id, size) in [("copy-small", 150), ("copy-medium", 20_000), ("copy-large", 400_000)] {
            let from = try write(promptText(id, size: size), to: src.appendingPathComponent("\(id).md"))
            try FileManager.default.copyItem(at: from, to: queue(.incoming).appendingPathComponent("\(id).md"))
            expected[id] = FileManager.default.contents(atPath: from.path)
        }

        // A slow writer: one open, half the file, 0.5 s pause, the rest, close.
        let slowText = promptText("slow-writer", size: 8_000)
        let bytes = Array(slowText.utf8)
        // Split at a newline so each half is valid UTF-8 text on its own.
        let mid = bytes[(bytes.count / 2)...].firstIndex(of: UInt8(ascii: "\n"))! + 1
        let path = queue(.incoming).appendingPathComponent("slow-writer.md").path
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0, "cannot create \(path): errno \(errno)")
        if fd >= 0 {
            let first = bytes[..<mid].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            XCTAssertEqual(first, mid)
            Thread.sleep(forTimeInterval: 0.5)
            let second = bytes[mid...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            XCTAssertEqual(second, bytes.count - mid)
            XCTAssertEqual(close(fd), 0)
        }
        expected["slow-writer"] = Data(bytes)

        finish(coordinator, expecting: expected.count)
        assertAllDone(expected.keys.sorted())
        assertAgentsReceived(expected, out: out)
    }

    // (c) Prompts already in incoming when the coordinator starts.
    func testPromptsPresentInIncomingBeforeTheCoordinatorStarts() throws {
        try initSpool()
        let out = try makeScratchDir("out")
        var expected: [String: Data] = [:]
        for i in 1...6 {
            let id = "early-\(i)"
            let data = Data(promptText(id, size: 100 * i).utf8)
            try write(data, to: queue(.incoming).appendingPathComponent("\(id).md"))
            expected[id] = data
        }

        let r = try gadugiRun(["run", "--until-idle", "--agent", catAgent], timeout: 30, env: ["OUT": out.path])
        XCTAssertFalse(r.timedOut, "run --until-idle did not finish:\n\(r)")
        XCTAssertEqual(r.status, 0, "\(r)")
        assertAllDone(expected.keys.sorted())
        assertAgentsReceived(expected, out: out)
    }

    // (d) 200 prompts dropped at once (renamed into incoming in a tight loop) while the coordinator runs.
    func testTwoHundredPromptsDroppedAtOnce() throws {
        try initSpool()
        let out = try makeScratchDir("out")
        let staging = try makeScratchDir("staging") // same file system as the spool
        var expected: [String: Data] = [:]
        for i in 1...200 {
            let id = String(format: "bulk-%03d", i)
            let data = Data(promptText(id, size: 64 + (i * 37) % 3000).utf8)
            try write(data, to: staging.appendingPathComponent("\(id).md"))
            expected[id] = data
        }
        guard let coordinator = try startCoordinator(["--agent", catAgent, "--max-parallel", "8"],
                                                     env: ["OUT": out.path]) else { return }
        for id in expected.keys.sorted() {
            XCTAssertEqual(rename(staging.appendingPathComponent("\(id).md").path,
                                  queue(.incoming).appendingPathComponent("\(id).md").path), 0,
                           "rename failed: errno \(errno)")
        }

        finish(coordinator, expecting: expected.count, timeout: 60)
        assertAllDone(expected.keys.sorted())
        assertAgentsReceived(expected, out: out)
    }
}
