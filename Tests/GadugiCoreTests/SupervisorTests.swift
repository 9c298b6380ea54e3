import Foundation
import Glibc
import XCTest
@testable import GadugiCore
import SystemPackage

/// Real task processes: `/bin/sh` running the wrapper, with a real agent command. Every child is
/// reaped here with `waitpid(pid)`; `startReaper` (which owns `waitpid(-1)`) is never called.
final class SupervisorTests: SpoolTestCase {
    let id = "t1"
    var prompt: String { layout.queue(.running, "t1.md") }
    var spawned: [pid_t] = []

    override func setUpWithError() throws {
        try super.setUpWithError()
        XCTAssertEqual(mkdir(layout.taskDirectory(id), 0o755), 0)
        try write(prompt, "Fix the login page.\n")
        spawned = []
    }

    override func tearDownWithError() throws {
        // Whatever a failed test left running: the whole session (the wrapper is its leader).
        for pid in spawned {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == 0 {
                kill(-pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
            }
        }
        try super.tearDownWithError()
    }

    // MARK: helpers

    func environment(prompt: String, log: String? = nil, outcome: String? = nil) -> [String] {
        [
            "PATH=/usr/local/bin:/usr/bin:/bin",
            "GADUGI_TASK_ID=\(id)",
            "GADUGI_ROOT=\(root)",
            "GADUGI_PROMPT_FILE=\(prompt)",
            "GADUGI_LOG_FILE=\(log ?? layout.log(id))",
            "GADUGI_OUTCOME_FILE=\(outcome ?? layout.outcome(id))",
            "GADUGI_HEARTBEAT_FILE=\(layout.heartbeat(id))",
            "GADUGI_PROGRESS_FILE=\(layout.report(id))",
        ]
    }

    /// Locks the prompt as the coordinator does, spawns the wrapper with that descriptor, and
    /// closes the descriptor again: from then on only the task's process holds the lock.
    func spawn(_ agent: String, prompt: String? = nil, environment env: [String]? = nil,
               directory: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> pid_t {
        let path = prompt ?? self.prompt
        let fd = try Files.open(path, O_RDONLY | O_NOFOLLOW)
        defer { close(fd) }
        XCTAssertEqual(flock(fd, LOCK_EX | LOCK_NB), 0, "the test locks the prompt", file: file, line: line)
        let pid = try Supervisor().spawn(agent: agent, environment: env ?? environment(prompt: path),
                                         lockFD: fd, directory: directory ?? root)
        spawned.append(pid)
        return pid
    }

    /// Spawns and waits; returns the wrapper's raw wait status.
    func run(_ agent: String, prompt: String? = nil, environment env: [String]? = nil,
             file: StaticString = #filePath, line: UInt = #line) throws -> Int32? {
        let pid = try spawn(agent, prompt: prompt, environment: env, file: file, line: line)
        return waitForChild(pid, file: file, line: line)
    }

    var log: String { text(layout.log(id)) ?? "<no output.log>" }

    /// An agent that says it started, then waits until the test creates `release`.
    let handshakeAgent = ": > started; while [ ! -e release ]; do sleep 0.02; done; echo released"

    func waitUntilStarted(file: StaticString = #filePath, line: UInt = #line) -> Bool {
        let ok = eventually { exists(root + "/started") }
        XCTAssertTrue(ok, "the agent did not start", file: file, line: line)
        return ok
    }

    func release() throws { try write(root + "/release", "") }

    // MARK: outcome and output

    func testOutcomeHoldsTheAgentsExitStatus() throws {
        let status = try run("exit 7")
        XCTAssertEqual(describeWaitStatus(status), "exit 7", "the wrapper exits with the agent's status")
        XCTAssertEqual(text(layout.outcome(id)), "7\n")

        // As the coordinator sees it when it reaped the wrapper itself...
        let reaped = Supervisor.outcome(layout, id: id, waitStatus: status)
        XCTAssertEqual(reaped.exitCode, 7)
        XCTAssertNil(reaped.signal)
        XCTAssertTrue(reaped.recorded)
        XCTAssertFalse(reaped.succeeded)

        // ...and as a later coordinator sees it from the file alone (an adopted task).
        let adopted = Supervisor.outcome(layout, id: id)
        XCTAssertEqual(adopted.exitCode, 7)
        XCTAssertNil(adopted.signal)
        XCTAssertTrue(adopted.recorded)
        XCTAssertEqual(adopted.finishedAt, mtime(layout.outcome(id)), "the finish time is the outcome file's mtime")
    }

    func testSuccessfulAgent() throws {
        _ = try run("true")
        XCTAssertEqual(text(layout.outcome(id)), "0\n")
        let outcome = Supervisor.outcome(layout, id: id)
        XCTAssertEqual(outcome.exitCode, 0)
        XCTAssertTrue(outcome.succeeded)
    }

    func testOutputLogGetsStdoutAndStderrAppended() throws {
        try write(layout.log(id), "earlier attempt\n")
        _ = try run("echo out; echo err >&2; printf 'no newline'")
        XCTAssertEqual(log, "earlier attempt\nout\nerr\nno newline")
        XCTAssertEqual(text(layout.outcome(id)), "0\n")
    }

    func testAgentReadsThePromptOnStdinByteForByte() throws {
        var content = Array("---\nname: x\n---\nline one\r\nüñí 🙂 $HOME `id` $(echo no) \"q\" 'q' \\ ;|&\n\ttab".utf8)
        content += [0x01, 0x7F, 0xFF, 0xFE, 0x0A, 0x0D]
        try write(prompt, content)
        _ = try run("cat")
        XCTAssertEqual(bytes(layout.log(id)), content)
        XCTAssertEqual(text(layout.outcome(id)), "0\n")
    }

    func testAgentRunsInTheGivenDirectoryWithExactlyTheGivenEnvironment() throws {
        let dir = root + "/work dir"
        XCTAssertEqual(mkdir(dir, 0o755), 0)
        let fd = try Files.open(prompt, O_RDONLY)
        defer { close(fd) }
        XCTAssertEqual(flock(fd, LOCK_EX | LOCK_NB), 0)
        let agent = #"pwd; printf '%s|%s|%s\n' "$GADUGI_TASK_ID" "$GADUGI_ROOT" "${HOME-unset}"; touch "$GADUGI_HEARTBEAT_FILE""#
        let pid = try Supervisor().spawn(agent: agent, environment: environment(prompt: prompt), lockFD: fd, directory: dir)
        spawned.append(pid)
        _ = waitForChild(pid)
        XCTAssertEqual(log, "\(dir)\n\(id)|\(root)|unset\n", "HOME of the test process must not leak in")
        XCTAssertTrue(exists(layout.heartbeat(id)), "the agent found its heartbeat file through the environment")
    }

    // MARK: descriptors and the lock

    func testAgentDoesNotInheritDescriptor3() throws {
        _ = try run("if [ -e /proc/self/fd/3 ]; then echo has3; else echo no3; fi")
        XCTAssertEqual(log, "no3\n")
    }

    /// The control for the test above: the same probe does see a descriptor 3 when there is one.
    func testDescriptor3ProbeSeesAnOpenDescriptor() throws {
        _ = try run(#"exec 3<"$GADUGI_PROMPT_FILE"; if [ -e /proc/self/fd/3 ]; then echo has3; else echo no3; fi"#)
        XCTAssertEqual(log, "has3\n")
    }

    func testNoOtherDescriptorOfTheCoordinatorLeaksIntoTheTask() throws {
        // A descriptor opened without close-on-exec, as a careless library might.
        let leaky = Glibc.open("/dev/null", O_RDONLY)
        XCTAssertGreaterThanOrEqual(leaky, 3)
        defer { close(leaky) }
        let probe = (3...max(40, Int(leaky) + 1)).map(String.init).joined(separator: " ")
        _ = try run("for n in \(probe); do if [ -e /proc/self/fd/$n ]; then echo open $n; fi; done; echo checked")
        XCTAssertEqual(log, "checked\n", "the agent must see only 0, 1 and 2")
    }

    func testLockIsHeldWhileTheAgentRunsAndReleasedAfter() throws {
        XCTAssertFalse(TaskLock.isHeld(prompt), "nobody holds it yet")
        let pid = try spawn(handshakeAgent)
        guard waitUntilStarted() else { return }
        XCTAssertTrue(TaskLock.isHeld(prompt), "the task's process holds the lock (the test closed its descriptor)")

        // The wrapper holds exactly 0, 1, 2 and the prompt as 3, in a session of its own.
        let fds = names("/proc/\(pid)/fd").sorted { Int($0)! < Int($1)! }
        XCTAssertEqual(fds, ["0", "1", "2", "3"])
        XCTAssertEqual(try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/3"), prompt)
        if let procStat = text("/proc/\(pid)/stat"), let paren = procStat.lastIndex(of: ")") {
            let fields = procStat[procStat.index(after: paren)...].split(separator: " ")
            XCTAssertEqual(fields.count > 3 ? String(fields[3]) : "", "\(pid)", "session id == pid: setsid")
        } else {
            XCTFail("cannot read /proc/\(pid)/stat")
        }

        try release()
        let status = waitForChild(pid)
        XCTAssertEqual(describeWaitStatus(status), "exit 0")
        XCTAssertFalse(TaskLock.isHeld(prompt), "the kernel dropped the lock with the process")
        XCTAssertEqual(text(layout.outcome(id)), "0\n")
        XCTAssertEqual(log, "released\n")
    }

    func testLockFollowsThePromptThroughARename() throws {
        let pid = try spawn(handshakeAgent)
        guard waitUntilStarted() else { return }
        let done = layout.queue(.done, "t1.md")
        try Files.renameNoReplace(prompt, done)
        XCTAssertTrue(TaskLock.isHeld(done))
        try release()
        _ = waitForChild(pid)
        XCTAssertFalse(TaskLock.isHeld(done))
    }

    func testABackgroundProcessLeftByTheAgentDoesNotHoldTheLock() throws {
        _ = try run("sleep 30 </dev/null >/dev/null 2>&1 & echo $! > daemon.pid")
        guard let text = text(root + "/daemon.pid"), let daemon = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            return XCTFail("the agent did not record its daemon's pid")
        }
        defer { kill(daemon, SIGKILL) }
        XCTAssertEqual(kill(daemon, 0), 0, "the daemon is still alive (the scenario under test)")
        XCTAssertFalse(TaskLock.isHeld(prompt), "a daemon without descriptor 3 cannot keep the task running")
        XCTAssertEqual(self.text(layout.outcome(id)), "0\n")
    }

    func testIsLocked() throws {
        XCTAssertFalse(TaskLock.isHeld(root + "/missing"))
        let fd = try Files.open(prompt, O_RDONLY)
        defer { close(fd) }
        XCTAssertFalse(TaskLock.isHeld(prompt))
        XCTAssertEqual(flock(fd, LOCK_EX | LOCK_NB), 0)
        XCTAssertTrue(TaskLock.isHeld(prompt), "a lock on another open file description, even in this process")
        XCTAssertEqual(flock(fd, LOCK_UN), 0)
        XCTAssertFalse(TaskLock.isHeld(prompt))
    }

    // MARK: nothing from a file name is ever shell code

    func testPromptFileNamesWithShellMetacharactersAreNeverExecuted() throws {
        let hostile = root + "/$(touch pwned-dir) `touch pwned-dir2`"
        XCTAssertEqual(mkdir(hostile, 0o755), 0)
        let names = ["$(touch pwned).md", "a;b'.md", "`touch pwned2`.md", "x\"; touch pwned3; \".md", "q' ; touch pwned4 ; '.md",
                     "-n.md", "$HOME && touch pwned5.md"]
        for (i, name) in names.enumerated() {
            let path = hostile + "/" + name
            try write(path, "prompt \(i)\n")
            let logPath = hostile + "/log \(i) $(touch pwned-log).txt"
            let outcomePath = hostile + "/outcome;touch pwned-outcome \(i)"
            let env = environment(prompt: path, log: logPath, outcome: outcomePath)
            let status = try run(#"cat; printf '%s\n' "$GADUGI_PROMPT_FILE""#, prompt: path, environment: env)
            XCTAssertEqual(describeWaitStatus(status), "exit 0", name)
            XCTAssertEqual(text(logPath), "prompt \(i)\n\(path)\n", name)
            XCTAssertEqual(text(outcomePath), "0\n", name)
        }
        var found: [String] = []
        if let walker = FileManager.default.enumerator(atPath: root) {
            for case let entry as String in walker where (entry as NSString).lastPathComponent.hasPrefix("pwned") {
                found.append(entry)
            }
        }
        XCTAssertEqual(found, [], "a file name was executed as shell code")
        let cwd = Settings.currentDirectory()
        XCTAssertFalse(exists(cwd + "/pwned"), "a file name was executed in the test's directory")
    }

    // MARK: signals

    func testAgentKilledBySignalIsReportedAsSignal() throws {
        let status = try run("sh -c 'kill -TERM $$'")
        XCTAssertEqual(text(layout.outcome(id)), "143\n")
        for outcome in [Supervisor.outcome(layout, id: id), Supervisor.outcome(layout, id: id, waitStatus: status)] {
            XCTAssertEqual(outcome.signal, 15)
            XCTAssertNil(outcome.exitCode)
            XCTAssertTrue(outcome.recorded)
            XCTAssertFalse(outcome.succeeded)
        }
    }

    func testTaskProcessGetsDefaultSignalDispositionsAndAnEmptyMask() throws {
        // The coordinator may ignore or block signals; its agents must not inherit that.
        let oldPipe = signal(SIGPIPE, SIG_IGN)
        let oldInt = signal(SIGINT, SIG_IGN)
        var block = sigset_t(), old = sigset_t()
        sigemptyset(&block)
        sigaddset(&block, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &block, &old)
        defer {
            pthread_sigmask(SIG_SETMASK, &old, nil)
            signal(SIGPIPE, oldPipe)
            signal(SIGINT, oldInt)
        }
        for (name, number) in [("PIPE", 13), ("INT", 2), ("TERM", 15)] {
            try? Files.remove(layout.outcome(id))
            _ = try run("sh -c 'kill -\(name) $$; echo survived'")
            XCTAssertEqual(text(layout.outcome(id)), "\(128 + number)\n", "SIG\(name) must kill the agent; log: \(log)")
        }
        XCTAssertFalse(log.contains("survived"), log)
    }

    func testWrapperKilledBeforeRecordingLeavesNoOutcome() throws {
        let pid = try spawn(handshakeAgent)
        guard waitUntilStarted() else { return }
        XCTAssertEqual(kill(-pid, SIGKILL), 0, "kill the task's whole session")
        let status = waitForChild(pid)
        XCTAssertEqual(describeWaitStatus(status), "killed by signal 9")
        XCTAssertFalse(exists(layout.outcome(id)))
        let outcome = Supervisor.outcome(layout, id: id, waitStatus: status)
        XCTAssertFalse(outcome.recorded)
        XCTAssertEqual(outcome.signal, 9)
        XCTAssertNil(outcome.exitCode)
        XCTAssertFalse(outcome.succeeded)
        XCTAssertTrue(eventually { !TaskLock.isHeld(self.prompt) }, "the lock goes with the processes")
    }

    func testSpawnIntoAMissingDirectoryFails() throws {
        let fd = try Files.open(prompt, O_RDONLY)
        defer { close(fd) }
        var pid: pid_t = 0
        assertSystemError(.noSuchFileOrDirectory) {
            pid = try Supervisor().spawn(agent: "touch ran", environment: environment(prompt: prompt), lockFD: fd,
                                         directory: root + "/no/such/dir")
        }
        if pid > 0 { spawned.append(pid); _ = waitForChild(pid) }
        XCTAssertFalse(exists(layout.outcome(id)))
    }

    // MARK: Supervisor.outcome parsing

    func outcome(_ content: String?, waitStatus: Int32? = nil) throws -> Supervisor.Outcome {
        try? Files.remove(layout.outcome(id))
        if let content { try write(layout.outcome(id), content) }
        return Supervisor.outcome(layout, id: id, waitStatus: waitStatus)
    }

    func testOutcomeParsesExitStatusesAndSignals() throws {
        var o = try outcome("0")
        XCTAssertEqual(o.exitCode, 0); XCTAssertNil(o.signal); XCTAssertTrue(o.recorded); XCTAssertTrue(o.succeeded)
        o = try outcome("1\n")
        XCTAssertEqual(o.exitCode, 1); XCTAssertNil(o.signal); XCTAssertFalse(o.succeeded)
        o = try outcome("128\n")
        XCTAssertEqual(o.exitCode, 128, "128 is an exit status"); XCTAssertNil(o.signal)
        o = try outcome("129\n")
        XCTAssertNil(o.exitCode); XCTAssertEqual(o.signal, 1)
        o = try outcome("137\n")
        XCTAssertNil(o.exitCode); XCTAssertEqual(o.signal, 9); XCTAssertTrue(o.recorded); XCTAssertFalse(o.succeeded)
        o = try outcome(" 3 \n")
        XCTAssertEqual(o.exitCode, 3)
    }

    func testOutcomeFinishTimeIsTheFilesMtime() throws {
        try write(layout.outcome(id), "0\n")
        setMtime(layout.outcome(id), seconds: 1_700_000_000)
        XCTAssertEqual(Supervisor.outcome(layout, id: id).finishedAt, Timestamp(seconds: 1_700_000_000, nanoseconds: 0))
    }

    func testMissingOrEmptyOutcomeIsNotRecorded() throws {
        for content in [nil, "", "\n", "garbage\n"] as [String?] {
            let o = try outcome(content)
            XCTAssertFalse(o.recorded, "outcome file \(String(describing: content))")
            XCTAssertNil(o.exitCode)
            XCTAssertNil(o.signal)
            XCTAssertFalse(o.succeeded)
        }
    }

    func testUnrecordedOutcomeTakesTheSignalFromTheWaitStatus() throws {
        XCTAssertEqual(try outcome(nil, waitStatus: 9).signal, 9, "killed by SIGKILL")
        XCTAssertEqual(try outcome("", waitStatus: 15 | 0x80).signal, 15, "killed by SIGTERM, core dumped bit set")
        XCTAssertNil(try outcome(nil, waitStatus: 1 << 8).signal, "a normal exit is not a signal")
        // A normal exit of the wrapper carries the agent's status, file or no file.
        let exited = try outcome(nil, waitStatus: 7 << 8)
        XCTAssertEqual(exited.exitCode, 7)
        XCTAssertTrue(exited.recorded)
        XCTAssertEqual(try outcome(nil, waitStatus: 137 << 8).signal, 9, "status 137 from the wrapper: the agent died of SIGKILL")
        XCTAssertTrue(try outcome(nil, waitStatus: 0).succeeded)
        XCTAssertNil(try outcome(nil, waitStatus: 0x7f | (19 << 8)).signal, "a stopped status is not a death")
        XCTAssertFalse(try outcome(nil, waitStatus: 9).recorded)
        // A recorded outcome wins over the wait status.
        let o = try outcome("0\n", waitStatus: 9)
        XCTAssertTrue(o.recorded)
        XCTAssertEqual(o.exitCode, 0)
        XCTAssertNil(o.signal)
    }

    // MARK: what a task leaves behind

    /// A pid the agent wrote to `file` in the root.
    func pidFrom(_ file: String) -> pid_t? {
        text(root + "/" + file).flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    func testTheWrapperStopsWhatTheAgentLeftRunning() throws {
        let status = try run("sleep 300 & echo $! > leftover")
        XCTAssertEqual(status.map(describeWaitStatus), "exit 0")
        let leftover = try XCTUnwrap(pidFrom("leftover"))
        XCTAssertTrue(eventually { Session.isZombie(leftover) }, "the background sleep was sent SIGTERM when the agent ended")
    }

    func testKeepProcessesLeavesThemRunning() throws {
        let fd = try Files.open(prompt, O_RDONLY | O_NOFOLLOW)
        let pid = try Supervisor().spawn(agent: "sleep 300 & echo $! > leftover", environment: environment(prompt: prompt),
                                         lockFD: fd, directory: root, keepProcesses: true)
        close(fd)
        spawned.append(pid)
        XCTAssertEqual(waitForChild(pid).map(describeWaitStatus), "exit 0")
        let leftover = try XCTUnwrap(pidFrom("leftover"))
        defer { kill(leftover, SIGKILL) }
        Thread.sleep(forTimeInterval: 0.2)
        XCTAssertFalse(Session.isZombie(leftover), "kept: still running")
        XCTAssertEqual(Session.members(pid), [leftover], "it is the one member left in the task's session")
    }

    func testTheSessionOfAKilledTaskProcessIsFoundAndStopped() throws {
        let pid = try spawn("sleep 300 & echo $! > leftover; " + handshakeAgent)
        guard waitUntilStarted() else { return }
        XCTAssertTrue(Session.mayHaveMembers(pid))
        XCTAssertEqual(kill(pid, SIGKILL), 0)
        XCTAssertEqual(waitForChild(pid).map(describeWaitStatus), "killed by signal 9")
        let leftover = try XCTUnwrap(pidFrom("leftover"))
        XCTAssertTrue(Session.mayHaveMembers(pid), "the agent outlives its killed wrapper")
        let members = Session.members(pid)
        XCTAssertTrue(members.contains(leftover), "\(members) holds the agent's background sleep \(leftover)")
        XCTAssertGreaterThanOrEqual(Session.signal(pid, SIGKILL), 2, "the agent's subshell and its sleep")
        XCTAssertTrue(eventually { Session.members(pid).isEmpty }, "\(Session.members(pid))")
    }

    func testMembersOfALiveLeaderAreNotOurs() throws {
        // A live process whose pid is the session id is not our (ended) wrapper: nothing is reported.
        let pid = try spawn(handshakeAgent)
        guard waitUntilStarted() else { return }
        XCTAssertEqual(Session.members(pid), [], "its leader lives: a recycled pid would look like this")
        try release()
        _ = waitForChild(pid)
    }
}
