import DequeModule
import Foundation
import Glibc
import Logging

/// The long-running coordinator: claims prompts from `incoming/`, starts them under the
/// parallelism limit, and commits their outcomes. All spool state lives on the thread that calls
/// `run()`; the watcher, the reaper and the signal thread only post events to its mailbox.
public final class Coordinator {
    public struct Options: Sendable {
        /// Return once nothing is queued, claimed or running.
        public var untilIdle = false
        /// How often running tasks' reports and heartbeats are looked at, and adopted tasks' locks.
        public var tick = 0.5
        /// The safety-net rescan of `incoming/` (for lost events and file systems inotify can't see).
        public var rescanInterval = 2.0
        /// A file found by a rescan (not announced by inotify) is claimed only once it has not been
        /// modified for this long, so a half-written file is never taken.
        public var quietPeriod = 2.0
        /// The `gadugi` executable, given to agents as `$GADUGI_BIN`.
        public var executable: String
        /// The environment agents inherit, as `KEY=value`.
        public var environment: [String]

        public init(executable: String, environment: [String]) {
            self.executable = executable
            self.environment = environment
        }
    }

    /// How a task of a `gadugi run FILE...` batch ended.
    public enum Result: Sendable {
        case finished(TaskRecord)
        case rejected(name: String, reason: String)
    }

    let layout: Layout
    let spool: Spool
    let settings: Settings
    let options: Options
    let logger: Logger
    let monitor: Monitor
    let supervisor = Supervisor()
    let spares: SparePool
    let mailbox = Mailbox()
    let startedAt = Timestamp.now()
    let baseEnvironment: [String]
    let searchPath: String?
    let host = ProcessInfo.processInfo.hostName

    /// Claimed and running tasks; finished ones leave memory, so it stays O(active).
    var tasks: [String: TaskRecord] = [:]
    var waiting = Deque<String>()
    var children: [pid_t: String] = [:]
    /// Running tasks whose process belongs to an earlier coordinator: watched through their locks.
    var adopted = Set<String>()
    /// Names in `incoming/` to claim, in arrival order.
    var pending = ArrivalQueue()
    /// Names a rescan saw that were modified too recently to be known complete.
    var fresh = Set<String>()
    var suffixes: [String: Int] = [:]
    var finishedCounts: [Layout.Queue: Int] = [:]
    /// Last seen mtimes of each running task's report and heartbeat.
    var seen: [String: (report: Timestamp?, heartbeat: Timestamp?)] = [:]
    /// `progress.json` writes put off a little: a task that leaves the state first never gets
    /// that record written, which spares a file creation per task when tasks are short.
    var deferred: [(id: String, state: TaskState, due: Double)] = []
    /// How long a `running` record waits: shorter than anyone could watch, longer than `true` runs.
    let runningRecordDelay = 0.02
    /// Tasks whose process has ended, committed after the freed slots are refilled so that the
    /// next agent does not wait for this one's bookkeeping.
    var exited: [(id: String, status: Int32)] = []
    var stopSignal: Int32?
    var lastRescan = Timestamp(seconds: 0, nanoseconds: 0)
    var nextTick = Timestamp.now()
    /// The batch of `gadugi run FILE...`: incoming name → id, and what became of each.
    var batch: [String: String] = [:]
    var batchIDs = Set<String>()
    public private(set) var results: [String: Result] = [:]

    public init(layout: Layout, settings: Settings, options: Options, logger: Logger) {
        self.layout = layout
        self.spool = Spool(layout: layout)
        self.settings = settings
        self.options = options
        self.logger = logger
        self.monitor = Monitor(layout: layout)
        self.spares = SparePool(layout: layout, target: min(64, settings.maxParallel + 4))
        let ours: Set<String> = ["GADUGI_TASK_ID", "GADUGI_ROOT", "GADUGI_PROMPT_FILE", "GADUGI_HEARTBEAT_FILE",
                                 "GADUGI_PROGRESS_FILE", "GADUGI_LOG_FILE", "GADUGI_OUTCOME_FILE", "GADUGI_BIN"]
        self.baseEnvironment = options.environment.filter { entry in
            !ours.contains(String(entry.prefix { $0 != "=" }))
        } + ["GADUGI_ROOT=\(layout.root)", "GADUGI_BIN=\(options.executable)"]
        self.searchPath = options.environment.first { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) }
        let log = logger
        monitor.warn = { log.warning("\($0)") }
    }

    /// Adds files that `gadugi run FILE...` submitted (incoming name → id); `run` returns when
    /// all of them have finished or been rejected.
    public func track(_ submitted: [(name: String, id: String)]) {
        for (name, id) in submitted {
            batch[name] = id
            batchIDs.insert(id)
            pending.append(name)
        }
    }

    // MARK: the loop

    /// Runs until a signal, until idle (`untilIdle`), or until the tracked batch is finished.
    public func run() {
        let signals = Coordinator.blockTerminationSignals()
        signal(SIGPIPE, SIG_IGN)
        startSignalThread(signals)
        recover()
        let watcher = Watcher(directory: layout.queue(.incoming), mailbox: mailbox)
        do { try watcher.start() } catch {
            logger.warning("\(error); new prompts are found by rescans every \(options.rescanInterval) s")
        }
        let box = mailbox
        supervisor.startReaper { pid, status in box.post(.exited(pid, status)) }
        rescan()
        logger.info("coordinating \(layout.root) with up to \(settings.maxParallel) agents: \(settings.agent)")
        while true {
            for event in mailbox.take(timeout: waitTime()) { handle(event) }
            if Timestamp.now() >= nextTick { tick() }
            claimPending()
            schedule()
            finishExited()
            writeDeferred()
            monitor.flushEvents()
            monitor.flushRegistry { registryJSON(live: true) }
            if shouldStop() { break }
            if pending.isEmpty || claimBudget <= 0 { spares.refill(atMost: 2) }
        }
        monitor.flushEvents()
        monitor.flushRegistry(force: true) { registryJSON(live: false) }
        if let s = stopSignal {
            logger.info("stopping on signal \(s): \(children.count + adopted.count) running task(s) carry on and record their outcomes")
        }
    }

    func waitTime() -> Double {
        if !pending.isEmpty && claimBudget > 0 { return 0 }
        var wait = max(0, nextTick.asDouble - Timestamp.now().asDouble)
        if monitor.registryPending { wait = min(wait, monitor.registryInterval) }
        if let due = deferred.map(\.due).min() { wait = min(wait, max(0, due - Timestamp.now().asDouble)) }
        return wait
    }

    func shouldStop() -> Bool {
        if stopSignal != nil { return true }
        if !batchIDs.isEmpty || !batch.isEmpty { return results.count >= batch.count }
        return options.untilIdle && pending.isEmpty && fresh.isEmpty && tasks.isEmpty
    }

    func handle(_ event: CoordinatorEvent) {
        switch event {
        case .arrived(let name):
            if PromptName.isCandidate(name) { pending.append(name) }
        case .rescan:
            rescan()
        case .exited(let pid, let status):
            if let id = children.removeValue(forKey: pid) { exited.append((id, status)) }
        case .signal(let s):
            stopSignal = s
        case .watcherFailed(let why):
            logger.warning("\(why)")
        }
    }

    func tick() {
        let now = Timestamp.now()
        nextTick = Timestamp(seconds: now.seconds, nanoseconds: now.nanoseconds + Int64(options.tick * 1e9))
        for id in adopted where !Supervisor.isLocked(layout.queue(.running, tasks[id]?.fileName ?? id)) {
            adopted.remove(id)
            finish(id, waitStatus: nil)
        }
        for id in tasks.keys where tasks[id]?.state == .running { refreshReport(id) }
        if now.asDouble - lastRescan.asDouble >= options.rescanInterval { rescan() }
    }

    /// Looks at every name in `incoming/`: the start-up scan and the safety net.
    func rescan() {
        lastRescan = .now()
        guard let names = try? Files.list(layout.queue(.incoming)) else { return }
        fresh.removeAll()
        let now = Timestamp.now().asDouble
        for name in names where PromptName.isCandidate(name) && !pending.contains(name) {
            guard let st = try? Files.linkStatus(layout.queue(.incoming, name)) else { continue }
            if !st.isRegularFile || now - st.modified.asDouble >= options.quietPeriod {
                pending.append(name)
            } else {
                fresh.insert(name)
            }
        }
    }

    // MARK: claim

    /// How many more prompts to claim now. A prompt is claimed when a slot is about to take it,
    /// not earlier: a backlog waits in `incoming/` (where its producer may still withdraw it), and
    /// the coordinator's work and memory stay O(active tasks) rather than O(backlog).
    var claimBudget: Int { settings.maxParallel - runningCount - waiting.count }

    func claimPending() {
        var looked = 0
        while claimBudget > 0, looked < 256, let name = pending.popFirst() {
            looked += 1
            fresh.remove(name)
            do {
                switch try spool.claim(name, suffixes: &suffixes, spares: spares) {
                case .ignored, .vanished:
                    break
                case .claimed(let record):
                    tasks[record.id] = record
                    waiting.append(record.id)
                    deferred.append((record.id, .claimed, 0))
                    monitor.event(record, extra: [("from", .string(name))])
                    if let id = batch[name] { batchIDs.insert(record.id); batch[name] = record.id; _ = id }
                case .rejected(let target, let reason):
                    finishedCounts[.rejected, default: 0] += 1
                    monitor.appendEvent(.object([
                        ("schema_version", .int(1)), ("at", .string(Timestamp.now().iso8601)),
                        ("name", .string(name)), ("state", .string("rejected")),
                        ("rejected", .string(layout.relative(layout.queue(.rejected, target)))),
                        ("reason", .string(reason)),
                    ]))
                    monitor.markRegistryDirty()
                    logger.warning("rejected \(name): \(reason)")
                    if let id = batch[name] {
                        results[id] = .rejected(name: target, reason: reason)
                        try? Files.remove(layout.submitted(id))
                        try? Files.removeDirectory(layout.taskDirectory(id))
                    }
                }
            } catch {
                logger.error("cannot claim \(name): \(error); it stays in incoming/ and is tried again later")
            }
        }
    }

    func finishExited() {
        for (id, status) in exited { finish(id, waitStatus: status) }
        exited.removeAll(keepingCapacity: true)
    }

    /// Writes the deferred records that are due and still true. A claim is written at the end of
    /// the loop's turn unless the task started in it; a start 20 ms later unless it has finished.
    func writeDeferred() {
        guard !deferred.isEmpty else { return }
        let now = Timestamp.now().asDouble
        deferred.removeAll { entry in
            guard entry.due <= now else { return false }
            if let record = tasks[entry.id], record.state == entry.state { monitor.writeProgress(record) }
            return true
        }
    }

    // MARK: start

    var runningCount: Int { children.count + adopted.count }

    func schedule() {
        while runningCount < settings.maxParallel, let id = waiting.popFirst() {
            start(id)
        }
    }

    func start(_ id: String) {
        guard var record = tasks[id] else { return }
        if let missing = settings.missingAgentMessage(path: searchPath) {
            return failWithoutProcess(record, message: missing)
        }
        // The prompt file is the task's lock (as in nq): locked here, handed to the task's process,
        // and it follows the file through the rename into running/. No file is created for it.
        let lockFD: CInt
        do { lockFD = try Files.open(layout.queue(.claimed, record.fileName), O_RDONLY | O_NOFOLLOW) } catch {
            logger.error("cannot start \(id): \(error)")
            if error.errno == .noSuchFileOrDirectory { tasks.removeValue(forKey: id) }
            return
        }
        defer { close(lockFD) }
        guard flock(lockFD, LOCK_EX | LOCK_NB) == 0 else {
            logger.error("cannot start \(id): its prompt file is locked by another process; it stays claimed")
            return
        }
        if record.attempts > 0 { try? Files.writeAtomically(layout.outcome(id), []) }
        do { try spool.start(record) } catch {
            logger.error("cannot start \(id): \(error)")
            if error.errno == .noSuchFileOrDirectory { tasks.removeValue(forKey: id) }
            return
        }
        record.state = .running
        let pid: pid_t
        do {
            pid = try supervisor.spawn(agent: settings.agentCommand, environment: environment(for: record),
                                       lockFD: lockFD, directory: layout.root)
        } catch {
            tasks[id] = record
            return failRunning(record, message: "could not start /bin/sh: \(error)")
        }
        let madeAhead = layout.taskDirectory(id) + "/" + SparePool.heartbeat
        if (try? Files.renameNoReplace(madeAhead, layout.heartbeat(id))) == nil { try? Files.remove(madeAhead) }
        try? Files.touch(layout.heartbeat(id))
        record.pid = pid
        record.attempts += 1
        record.startedAt = .now()
        record.finishedAt = nil
        record.exitCode = nil
        record.signal = nil
        tasks[id] = record
        children[pid] = id
        seen[id] = (nil, nil)
        deferred.append((id, .running, record.startedAt!.asDouble + runningRecordDelay))
        monitor.event(record)
        logger.info("started \(id) (pid \(pid))")
    }

    func environment(for record: TaskRecord) -> [String] {
        baseEnvironment + [
            "GADUGI_TASK_ID=\(record.id)",
            "GADUGI_PROMPT_FILE=\(layout.queue(.running, record.fileName))",
            "GADUGI_HEARTBEAT_FILE=\(layout.heartbeat(record.id))",
            "GADUGI_PROGRESS_FILE=\(layout.report(record.id))",
            "GADUGI_LOG_FILE=\(layout.log(record.id))",
            "GADUGI_OUTCOME_FILE=\(layout.outcome(record.id))",
        ]
    }

    /// Fails a claimed task that cannot be started at all (no agent, no lock file): it still moves
    /// through running/ so that `finish` stays the only way into failed/.
    func failWithoutProcess(_ record: TaskRecord, message: String) {
        do { try spool.start(record) } catch {
            logger.error("cannot move \(record.id) to running/: \(error)")
            return
        }
        var running = record
        running.state = .running
        tasks[record.id] = running
        failRunning(running, message: message)
    }

    func failRunning(_ record: TaskRecord, message: String) {
        try? Files.append(layout.log(record.id), Array("gadugi: \(message)\n".utf8))
        try? Files.writeAtomically(layout.outcome(record.id), Array("1\n".utf8))
        var r = record
        r.message = message
        tasks[record.id] = r
        finish(record.id, waitStatus: nil, message: message)
    }

    // MARK: finish

    /// Commits a task whose process has ended: `progress.json` first, then the rename that is the
    /// commit, so a crash between the two only repeats the work on the next start.
    func finish(_ id: String, waitStatus: Int32?, message: String? = nil) {
        guard var record = tasks[id] else { return }
        let outcome = Supervisor.outcome(layout, id: id, waitStatus: waitStatus)
        refreshReport(id, write: false, into: &record)
        record.exitCode = outcome.exitCode
        record.signal = outcome.signal
        record.finishedAt = outcome.finishedAt
        record.state = outcome.succeeded ? .done : .failed
        if let message {
            record.message = message
        } else if !outcome.recorded {
            record.message = "the task's process ended without recording an outcome"
                + (outcome.signal.map { " (killed by signal \($0))" } ?? "")
        } else if outcome.exitCode == 127 {
            record.message = "the agent exited 127 (command not found?): " + Settings.advice(settings.agent, settings.agentSource)
        }
        monitor.writeProgress(record)
        do { try spool.finish(record, succeeded: outcome.succeeded) } catch {
            logger.error("cannot move \(id) out of running/: \(error); it is retried at the next start")
            return
        }
        try? Files.remove(layout.heartbeat(id))
        tasks.removeValue(forKey: id)
        seen.removeValue(forKey: id)
        adopted.remove(id)
        finishedCounts[record.state.queue, default: 0] += 1
        monitor.event(record)
        if batchIDs.contains(id) { results[id] = .finished(record) }
        logFinish(record)
    }

    func logFinish(_ record: TaskRecord) {
        let took = { record.startedAt.map { String(format: " in %.1fs", (record.finishedAt?.asDouble ?? 0) - $0.asDouble) } ?? "" }
        if record.state == .done {
            logger.info("done \(record.id)\(took())")
        } else {
            let how = record.exitCode.map { "exit \($0)" } ?? record.signal.map { "signal \($0)" } ?? "no outcome"
            logger.warning("failed \(record.id) (\(how))\(took()): see \(layout.relative(layout.log(record.id)))")
        }
    }

    /// Copies the agent's report and heartbeat into `progress.json` when they changed.
    func refreshReport(_ id: String) {
        guard var record = tasks[id] else { return }
        if refreshReport(id, write: true, into: &record) { tasks[id] = record }
    }

    @discardableResult
    func refreshReport(_ id: String, write: Bool, into record: inout TaskRecord) -> Bool {
        let reportTime = (try? Files.linkStatus(layout.report(id)))??.modified
        let beat = monitor.heartbeatTime(id)
        let last = seen[id]
        guard last == nil || last!.report != reportTime || last!.heartbeat != beat else { return false }
        seen[id] = (reportTime, beat)
        if reportTime != nil, let report = AgentReport.load(layout.report(id)) {
            record.percent = report.percent ?? record.percent
            record.message = report.message ?? record.message
        }
        if let beat { record.lastHeartbeat = beat }
        if write { monitor.writeProgress(record) }
        return true
    }

    // MARK: recovery

    /// Rebuilds memory from the queue after a start or a crash: claimed files wait again in their
    /// old order; running files are adopted (lock held), committed (outcome written), failed
    /// (process gone without an outcome) or requeued (never spawned).
    func recover() {
        for q in [Layout.Queue.done, .failed, .rejected] {
            finishedCounts[q] = Files.count(layout.queue(q)) { !$0.hasPrefix(".") && !$0.hasSuffix(".reason") }
        }
        var requeued: [TaskRecord] = []
        for name in (try? Files.list(layout.queue(.running))) ?? [] where !name.hasPrefix(".") {
            var record = loadRecord(name, state: .running)
            let id = record.id
            if Supervisor.isLocked(layout.queue(.running, name)) {
                record.state = .running
                tasks[id] = record
                adopted.insert(id)
                monitor.writeProgress(record)
                logger.info("adopted \(id), still running (pid \(record.pid.map(String.init) ?? "?"))")
            } else if Supervisor.outcome(layout, id: id).recorded || (record.state == .running && record.pid != nil) {
                record.state = .running
                tasks[id] = record
                finish(id, waitStatus: nil)
            } else {
                do { try spool.requeue(record) } catch {
                    logger.error("cannot requeue \(id): \(error)")
                    continue
                }
                record.state = .claimed
                requeued.append(record)
            }
        }
        var claimed = requeued
        for name in (try? Files.list(layout.queue(.claimed))) ?? [] where !name.hasPrefix(".") {
            let record = loadRecord(name, state: .claimed)
            if !requeued.contains(where: { $0.id == record.id }) { claimed.append(record) }
        }
        claimed.sort { ($0.claimedAt ?? startedAt, $0.id) < ($1.claimedAt ?? startedAt, $1.id) }
        for var record in claimed {
            record.state = .claimed
            tasks[record.id] = record
            waiting.append(record.id)
            monitor.writeProgress(record)
        }
        if !tasks.isEmpty {
            logger.info("recovered \(claimed.count) claimed and \(adopted.count) running task(s)")
        }
    }

    func loadRecord(_ fileName: String, state: TaskState) -> TaskRecord {
        let id = PromptName.stem(of: fileName)
        let ext = PromptName.extension(of: fileName) ?? "md"
        var record = TaskRecord.load(layout, id: id) ?? TaskRecord(id: id, ext: ext, name: fileName, state: state)
        record.ext = ext
        if record.claimedAt == nil { record.claimedAt = .now() }
        return record
    }

    // MARK: registry

    func registryJSON(live: Bool) -> JSON {
        let active = tasks.values.sorted { $0.id < $1.id }
        let running = active.filter { $0.state == .running }.count
        return .object([
            ("schema_version", .int(1)),
            ("updated_at", .string(Timestamp.now().iso8601)),
            ("coordinator", live ? .object([
                ("pid", .int(Int64(getpid()))), ("host", .string(host)), ("started_at", .string(startedAt.iso8601)),
            ]) : .null),
            ("counts", .object([
                ("queued", .int(Int64(pending.count + fresh.count))),
                ("claimed", .int(Int64(active.count - running))),
                ("running", .int(Int64(running))),
                ("done", .int(Int64(finishedCounts[.done] ?? 0))),
                ("failed", .int(Int64(finishedCounts[.failed] ?? 0))),
                ("rejected", .int(Int64(finishedCounts[.rejected] ?? 0))),
            ])),
            ("tasks", .array(active.map { t in
                .object([
                    ("id", .string(t.id)), ("state", .string(t.state.rawValue)),
                    ("pid", .optional(t.pid.map(Int64.init))), ("started_at", .optional(t.startedAt)),
                ])
            })),
        ])
    }

    // MARK: signals

    /// Blocks SIGINT, SIGTERM and SIGHUP in this thread and so in every thread started after it;
    /// the signal thread takes them with `sigwait`. Children get a clean mask from `posix_spawn`.
    static func blockTerminationSignals() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for s in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&set, s) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
        return set
    }

    func startSignalThread(_ set: sigset_t) {
        let box = mailbox
        let thread = Thread {
            var waitSet = set
            while true {
                var received: Int32 = 0
                if sigwait(&waitSet, &received) == 0 { box.post(.signal(received)) }
            }
        }
        thread.start()
    }
}
