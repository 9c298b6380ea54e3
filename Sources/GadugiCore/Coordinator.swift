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
        /// Its producer removed the prompt before it ran.
        case withdrawn(id: String)
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
    /// Names a claim found unfinished (open for writing, or not yet settled).
    var parked = Parking()
    var suffixes: [String: Int] = [:]
    var finishedCounts: [Layout.Queue: Int] = [:]
    /// Last seen mtimes of each running task's report and heartbeat.
    var seen: [String: (report: Timestamp?, heartbeat: Timestamp?)] = [:]
    /// `progress.json` writes put off a little: a task that leaves the state first never gets
    /// that record written, which spares a file creation per task when tasks are short.
    var deferred: [(id: String, state: TaskState, due: Double)] = []
    /// How long a `claimed` or `running` record waits: shorter than anyone could watch, longer
    /// than a claim usually waits for its slot or `true` runs.
    let recordDelay = 0.02
    /// Tasks whose process has ended, committed after the freed slots are refilled so that the
    /// next agent does not wait for this one's bookkeeping.
    var exited: [(id: String, status: Int32)] = []
    /// Claimed tasks that could not start for a reason that may pass (tried again at each tick,
    /// not in a spin), and final records whose commit rename failed (likewise).
    var stalledStarts = Set<String>()
    var pendingCommits: [String: TaskRecord] = [:]
    /// Tasks whose process has ended but whose session still has processes: they keep their slot
    /// until those are gone (SIGTERM, then SIGKILL after the grace), then are committed.
    var stopping: [String: Stopping] = [:]
    /// Active tasks whose `progress.json` could not be written (a full disk): written again at
    /// each tick, so no record stays stale once space returns.
    var unwritten = Set<String>()
    let complaints: Complaints
    var agentCheck: (at: Double, message: String?) = (-1, nil)
    var stopSignal: Int32?
    var lastRescan = Timestamp(seconds: 0, nanoseconds: 0)
    var nextTick = Timestamp.now()
    /// The batch of `gadugi run FILE...`: incoming name → id, and what became of each.
    var batch: [String: String] = [:]
    var batchIDs = Set<String>()
    public internal(set) var results: [String: Result] = [:]

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
        self.complaints = Complaints(logger: logger)
        monitor.complaints = complaints
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
    /// Throws only when the queue cannot be read at start.
    public func run() throws(SystemError) {
        let signals = Coordinator.blockTerminationSignals()
        signal(SIGPIPE, SIG_IGN)
        // A lease probe (see Files.isOpenForWriting) could earn a SIGIO, whose default kills; and an
        // inherited SIGCHLD=SIG_IGN would make the kernel reap children before waitpid sees them.
        signal(SIGIO, SIG_IGN)
        signal(SIGCHLD, SIG_DFL)
        startSignalThread(signals)
        try recover()
        let watcher = Watcher(directory: layout.queue(.incoming), mailbox: mailbox)
        // Before any agent starts: what its agent leaves behind is then re-parented to us.
        do { try watcher.start() } catch {
            logger.warning("\(error); new prompts are found by rescans every \(options.rescanInterval) s")
        }
        let box = mailbox
        supervisor.startReaper { pid, status in box.post(.exited(pid, status)) }
        rescan(settles: false)
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
            // Spares are made only when nothing waits: under a backlog they would be made and then
            // renamed, costing more than creating the files in place.
            if pending.isEmpty && waiting.isEmpty && !complaints.isOpen(Coordinator.spaceComplaint) { spares.refill(atMost: 2) }
        }
        monitor.flushEvents()
        monitor.flushRegistry(force: true) { registryJSON(live: false) }
        if let s = stopSignal {
            logger.info("stopping on signal \(s): \(children.count + adopted.count) running task(s) carry on and record their outcomes")
            for (id, stop) in stopping {
                logger.warning("\(id): \(Session.signal(stop.session, SIGKILL)) leftover process(es) killed on the way out")
            }
        }
    }

    func waitTime() -> Double {
        if !pending.isEmpty && claimBudget > 0 { return 0 }
        let now = Timestamp.now().asDouble
        var wait = max(0, nextTick.asDouble - now)
        if let due = parked.nextDue() { wait = min(wait, max(0, due.asDouble - now)) }
        if monitor.registryPending { wait = min(wait, monitor.registryInterval) }
        if let due = deferred.map(\.due).min() { wait = min(wait, max(0, due - Timestamp.now().asDouble)) }
        return wait
    }

    func shouldStop() -> Bool {
        if stopSignal != nil { return true }
        if !batch.isEmpty { return results.count >= batch.count }
        return options.untilIdle && pending.isEmpty && parked.isEmpty && tasks.isEmpty
    }

    func handle(_ event: CoordinatorEvent) {
        switch event {
        case .arrived(let name), .written(let name):
            guard PromptName.isCandidate(name) else { return }
            parked.remove(name)
            pending.append(name, settles: event != .arrived(name))
        case .rescan:
            rescan()
        case .exited(let pid, let status):
            guard let id = children.removeValue(forKey: pid) else { return }
            // Left processes behind (or died and left its agent): handled now, before the freed
            // slot is refilled, so that `max_parallel` holds for agents, not only for wrappers.
            if Session.mayHaveMembers(pid) { finish(id, waitStatus: status) } else { exited.append((id, status)) }
        case .signal(let s):
            stopSignal = s
        case .incomingReplaced(let what):
            logger.warning("\(what)")
        case .watcherFailed(let why):
            logger.warning("\(why)")
        }
    }

    func tick() {
        let now = Timestamp.now()
        nextTick = now.adding(options.tick)
        for id in adopted where Supervisor.lockState(layout.taskDirectory(id)) == .free {
            adopted.remove(id)
            finish(id, waitStatus: nil)
        }
        retryStalled()
        checkStopping(now)
        writeUnwritten()
        for id in tasks.keys where tasks[id]?.state == .running && stopping[id] == nil { refreshReport(id) }
        if now.asDouble - lastRescan.asDouble >= options.rescanInterval { rescan() }
    }

    /// Looks at every name in `incoming/`: the start-up scan and the safety net. Queue folders
    /// removed by hand are made again first.
    ///
    /// How a listed file arrived cannot be told. At start (`settles` false) files are taken as
    /// complete once nobody has them open, like renamed-in ones: they were there before us. Later
    /// listings find names whose close-write event may still be on its way, so those settle (a
    /// file untouched for the settle time is still claimed at once).
    func rescan(settles: Bool = true) {
        lastRescan = .now()
        restoreQueueFolders()
        guard let names = try? Files.list(layout.queue(.incoming)) else { return }
        for name in names where PromptName.isCandidate(name) && !pending.contains(name) {
            if parked.contains(name) && !parked.awaitsClose(name) { continue }
            parked.remove(name)
            pending.append(name, settles: settles)
        }
    }

    /// Makes again the queue folders someone removed (an `rm -r` of `incoming/`, a moved `done/`),
    /// saying so once. Whatever was in them is theirs to restore; nothing new is lost meanwhile.
    func restoreQueueFolders() {
        for q in Layout.Queue.allCases where (try? Files.isDirectory(layout.queue(q))) != true {
            do {
                try Files.makeDirectories(layout.queue(q))
                logger.warning("\(layout.relative(layout.queue(q)))/ was missing (removed or moved?); made it again")
            } catch {
                complaints.say("folder-\(q.rawValue)", "\(layout.relative(layout.queue(q)))/ is missing and cannot be made: \(error)")
            }
        }
    }

    /// Writes again the records of active tasks that could not be written.
    func writeUnwritten() {
        for id in unwritten {
            guard let record = tasks[id] else { unwritten.remove(id); continue }
            if monitor.writeProgress(record) { unwritten.remove(id) } else { return }
        }
    }

    /// Writes an active task's record now, or remembers to write it again.
    func record(_ record: TaskRecord) {
        if !monitor.writeProgress(record) { unwritten.insert(record.id) }
    }
}
