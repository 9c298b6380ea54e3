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
        /// A dependency failed (or was rejected or withdrawn): it cannot run unless that is retried.
        case blocked(TaskRecord)
    }

    let layout: Layout
    let spool: Spool
    let settings: Settings
    let options: Options
    let logger: Logger
    let monitor: Monitor
    /// Starts task processes and reports their ends (the real `Supervisor`, or a test's fake).
    let launcher: any TaskLauncher
    /// The time every deadline of the loop is measured on (the real clock, or a test's fake).
    let clock: any TimeSource
    let spares: SparePool
    let mailbox = Mailbox()
    let startedAt: Timestamp
    let baseEnvironment: [String]
    /// No `GIT_DIR` and the like in the agents' environment: only then may the wrapper run its own
    /// `git worktree add` as it is (`worktree-prepare` clears them itself). Fixed at start.
    let gitIsPlain: Bool
    let searchPath: String?
    let host = ProcessInfo.processInfo.hostName
    /// The git top-level the tasks get worktrees of, or nil when they run in the root.
    let repository: String?

    /// Claimed and running tasks, one entry each; finished ones leave memory, so it stays O(active).
    var tasks: [String: TaskEntry] = [:]
    /// Which claimed task starts next (dependencies, files, priority, arrival), and why others wait.
    var scheduler = Scheduler()
    /// The names journal: which task of each name finished how (for dependencies across restarts).
    lazy var names = NamesJournal(path: layout.names)
    /// Our children's pids → task ids (an index into `tasks`, kept by `setPhase`).
    var children: [pid_t: String] = [:]
    /// How many tasks hold a slot, and how many are claimed or gathering (kept by `admit`,
    /// `setPhase`, `forget`).
    var slotsHeld = 0
    var claimedCount = 0
    /// Records owed (`TaskEntry.recordDue`) in due order, and tasks whose process was reaped:
    /// small indexes, so a turn of the loop does not walk every claimed task.
    var dueRecords = Deque<(id: String, due: Double)>()
    var exitedIDs: [String] = []
    /// Names in `incoming/` to claim, in arrival order.
    var pending = ArrivalQueue()
    /// Names a claim found unfinished (open for writing, or not yet settled).
    var parked = Parking()
    var suffixes: [String: Int] = [:]
    var finishedCounts: [Layout.Queue: Int] = [:]
    /// How long a `claimed` or `running` record waits before it is written: shorter than anyone
    /// could watch, longer than a claim usually waits for its slot or `true` runs. A task that
    /// leaves the state first never gets that record, which spares a file creation per task.
    let recordDelay = 0.02
    let complaints: Complaints
    var agentCheck: (at: Double, message: String?) = (-1, nil)
    var stopSignal: Int32?
    /// Running `on_finish` hooks: pid → task id.
    var hooks: [pid_t: String] = [:]
    /// `.gadugi/control/hold` exists: no new task starts.
    var queueHeld = false
    /// Tasks held one by one (`control/hold.<id>`): not started until released.
    var heldTasks: Set<String> = []
    /// SIGINTs received by `gadugi run FILE...`: the first stops new starts, the second cancels
    /// what runs, a third leaves at once (see `interrupted`).
    public internal(set) var interrupts = 0
    /// Cancel and retry by moving files (shared with the verbs that work without a coordinator).
    let control: TaskControl
    var lastRescan = Timestamp(seconds: 0, nanoseconds: 0)
    var nextTick: Timestamp
    /// The batch of `gadugi run FILE...`: incoming name → id, and what became of each.
    var batch: [String: String] = [:]
    public internal(set) var results: [String: Result] = [:]

    /// `launcher` and `clock` are the seams at the operating system's edge: tests pass fakes.
    public init(layout: Layout, settings: Settings, options: Options, logger: Logger,
                launcher: any TaskLauncher = Supervisor(), clock: any TimeSource = SystemTime()) {
        self.launcher = launcher
        self.clock = clock
        self.startedAt = clock.now()
        self.nextTick = clock.now()
        self.layout = layout
        self.spool = Spool(layout: layout)
        self.control = TaskControl(layout: layout)
        self.settings = settings
        self.options = options
        self.logger = logger
        self.monitor = Monitor(layout: layout, eventsMax: settings.eventsMax)
        self.spares = SparePool(layout: layout, target: min(64, settings.maxParallel + 4))
        let ours: Set<String> = ["GADUGI_TASK_ID", "GADUGI_ROOT", "GADUGI_PROMPT_FILE", "GADUGI_HEARTBEAT_FILE",
                                 "GADUGI_PROGRESS_FILE", "GADUGI_LOG_FILE", "GADUGI_OUTCOME_FILE", "GADUGI_BIN"]
        self.baseEnvironment = options.environment.filter { entry in
            !ours.contains(String(entry.prefix { $0 != "=" }))
        } + ["GADUGI_ROOT=\(layout.root)", "GADUGI_BIN=\(options.executable)"]
        self.gitIsPlain = !options.environment.contains { Git.redirecting.contains(String($0.prefix { $0 != "=" })) }
        self.searchPath = options.environment.first { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) }
        self.complaints = Complaints(logger: logger, clock: { clock.now().asDouble })
        // A repository without a commit has nothing to branch from: agents work in the root.
        let top = Git.topLevel(of: layout.root).flatMap { Git.head(topLevel: $0) == nil ? nil : $0 }
        self.repository = settings.isolation == Settings.Isolation.none ? nil : top
        monitor.complaints = complaints
    }

    /// Adds files that `gadugi run FILE...` submitted (incoming name → id); `run` returns when
    /// all of them have finished or been rejected.
    public func track(_ submitted: [(name: String, id: String)]) {
        for (name, id) in submitted {
            batch[name] = id
            pending.append(name)
        }
    }

    // MARK: the loop

    /// Runs until a signal, until idle (`untilIdle`), or until the tracked batch is finished.
    /// Throws only when the queue cannot be read at start.
    public func run() throws(SystemError) {
        let signals = Coordinator.blockTerminationSignals()
        signal(SIGPIPE, SIG_IGN)
        // A claim's read lease (see Spool.claim) could earn a SIGIO, whose default kills; and an
        // inherited SIGCHLD=SIG_IGN would make the kernel reap children before waitpid sees them.
        signal(SIGIO, SIG_IGN)
        signal(SIGCHLD, SIG_DFL)
        startSignalThread(signals)
        try recover()
        announceIsolation()
        try? Files.makeDirectories(layout.control)
        let watcher = Watcher(directory: layout.queue(.incoming), control: layout.control, mailbox: mailbox)
        do { try watcher.start() } catch {
            logger.warning("\(error); new prompts are found by rescans every \(options.rescanInterval) s")
        }
        begin()
        while true {
            turn(wait: waitTime())
            if shouldStop() { break }
            // Spares are made only when nothing waits: under a backlog they would be made and then
            // renamed, costing more than creating the files in place.
            if pending.isEmpty && claimedCount == 0 && !complaints.isOpen(Coordinator.spaceComplaint) { spares.refill(atMost: 2) }
        }
        end()
    }

    /// The start after recovery: the reaper (before any agent starts, so that what an agent leaves
    /// behind is re-parented to us) and the first listing of `incoming/`.
    func begin() {
        let box = mailbox
        launcher.startReaper { pid, status in box.post(.exited(pid, status)) }
        rescan(settles: false)
        readControl()
        logger.info("coordinating \(layout.root) with up to \(settings.maxParallel) agents: \(settings.agent)")
    }

    /// One turn of the loop: what arrived (waiting up to `wait` seconds for it), what is due on
    /// the clock, claims, starts, finishes, and the files that tell about them.
    func turn(wait: Double) {
        for event in mailbox.take(timeout: wait) { handle(event) }
        if clock.now() >= nextTick { tick() }
        claimPending()
        schedule()
        finishExited()
        refreshStandings()
        writeDeferred()
        monitor.flushEvents()
        monitor.flushRegistry { registry(live: true) }
    }

    /// On the way out: every record still owed, the last events and registry, and a word about
    /// what carries on.
    func end() {
        writeDeferred(all: true)
        monitor.flushEvents()
        monitor.flushRegistry(force: true) { registry(live: false) }
        if let s = stopSignal {
            let running = count { if case .running = $0 { true } else if case .adopted = $0 { true } else { false } }
            logger.info("stopping on signal \(s): \(running) running task(s) carry on and record their outcomes")
            for (id, entry) in tasks {
                guard case .stopping(let stop) = entry.phase else { continue }
                logger.warning("\(id): \(Session.signal(stop.session, SIGKILL)) leftover process(es) killed on the way out")
            }
        }
    }

    func waitTime() -> Double {
        if let next = pending.first, mayClaim(next) { return 0 }
        let now = clock.now().asDouble
        var wait = max(0, nextTick.asDouble - now)
        if let due = parked.nextDue() { wait = min(wait, max(0, due.asDouble - now)) }
        if monitor.registryPending { wait = min(wait, monitor.registryInterval) }
        if let due = dueRecords.first?.due { wait = min(wait, max(0, due - now)) }
        return wait
    }

    func shouldStop() -> Bool {
        if stopSignal != nil { return true }
        // Interrupted: once nothing of ours runs any more (what never started stays queued).
        if interrupts > 0 && slotsHeld == 0 && exitedIDs.isEmpty && count(where: { if case .committing = $0 { true } else { false } }) == 0 {
            return true
        }
        if !batch.isEmpty { return results.count >= batch.count }
        return options.untilIdle && pending.isEmpty && parked.isEmpty && isIdle
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
            guard let id = children[pid] else {
                if let hook = hooks.removeValue(forKey: pid) { hookEnded(hook, status: status) }
                return
            }
            // Left processes behind (or died and left its agent): handled now, before the freed
            // slot is refilled, so that `max_parallel` holds for agents, not only for wrappers.
            if Session.mayHaveMembers(pid) { return finish(id, waitStatus: status) }
            setPhase(id, .exited(status))
            exitedIDs.append(id)
        case .signal(let s):
            if s == SIGINT && !batch.isEmpty { return interrupted() }
            stopSignal = s
        case .incomingReplaced(let what):
            logger.warning("\(what)")
        case .watcherFailed(let why):
            logger.warning("\(why)")
        case .control:
            readControl()
        }
    }

    func tick() {
        let now = clock.now()
        nextTick = now.adding(options.tick)
        for (id, entry) in tasks {
            switch entry.phase {
            case .adopted where TaskLock.state(of: layout.taskDirectory(id)) == .free: finish(id, waitStatus: nil)
            case .stalled: setPhase(id, .claimed)
            case .committing(let final): commit(final)
            case .stopping(let stop): checkStopping(id, stop, now)
            case .running, .adopted:
                refreshReport(id)
                checkLiveness(id, now)
            case .backoff(let until) where now >= until: endBackoff(id)
            case .gathering, .claimed, .exited, .backoff: break
            }
            if tasks[id]?.unwritten == true, let record = tasks[id]?.record, monitor.writeProgress(record) {
                tasks[id]?.unwritten = false
            }
        }
        admitted(scheduler.expire(now: now.asDouble))
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
        lastRescan = clock.now()
        restoreQueueFolders()
        readControl()
        guard let names = try? Files.list(layout.queue(.incoming)) else { return }
        let fresh = names.filter { name in
            PromptName.isCandidate(name) && !pending.contains(name) && !(parked.contains(name) && !parked.awaitsClose(name))
        }
        for name in byArrival(fresh) {
            parked.remove(name)
            pending.append(name, settles: settles)
        }
    }

    /// Names found by a listing, oldest first (by mtime, then name): a directory lists in hash
    /// order, and a backlog found at start must be claimed in the order it arrived, or a chain of
    /// dependants would be claimed long before what it waits for (each held in memory meanwhile).
    /// One `lstat` per name not already queued; names already waiting cost nothing.
    func byArrival(_ names: [String]) -> [String] {
        guard names.count > 1 else { return names }
        let folder = layout.queue(.incoming)
        let zero = Timestamp(seconds: 0, nanoseconds: 0)
        let stamped = names.map { name in (name, ((try? Files.linkStatus(folder + "/" + name)) ?? nil)?.modified ?? zero) }
        return stamped.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.map(\.0)
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

    // MARK: entries

    /// Counts how many tasks are in the phases `claimBudget` and `runningCount` need.
    private func count(_ phase: TaskEntry.Phase, _ delta: Int) {
        if phase.holdsSlot { slotsHeld += delta }
        if case .claimed = phase { claimedCount += delta }
        if case .gathering = phase { claimedCount += delta }
    }

    /// The number of entries whose phase matches.
    func count(where matches: (TaskEntry.Phase) -> Bool) -> Int {
        tasks.values.reduce(0) { matches($1.phase) ? $0 + 1 : $0 }
    }

    /// Takes a new task into memory (a claim, or recovery at start).
    func admit(_ entry: TaskEntry) {
        if let old = tasks[entry.record.id] { count(old.phase, -1) }
        tasks[entry.record.id] = entry
        count(entry.phase, 1)
        if case .running(let pid) = entry.phase { children[pid] = entry.record.id }
    }

    /// Moves a task to another phase: the one place that keeps the counts and the pid index.
    func setPhase(_ id: String, _ phase: TaskEntry.Phase) {
        guard let old = tasks[id]?.phase else { return }
        count(old, -1)
        if case .running(let pid) = old { children.removeValue(forKey: pid) }
        tasks[id]?.phase = phase
        count(phase, 1)
        if case .running(let pid) = phase { children[pid] = id }
    }

    /// Forgets a task (committed or withdrawn).
    func forget(_ id: String) {
        guard let entry = tasks.removeValue(forKey: id) else { return }
        count(entry.phase, -1)
        if case .running(let pid) = entry.phase { children.removeValue(forKey: pid) }
    }

    /// Writes an active task's record now, or remembers to write it again.
    func record(_ record: TaskRecord) {
        let written = monitor.writeProgress(record)
        tasks[record.id]?.unwritten = !written
    }
}

/// The scheduler's side of the loop: admitting claimed tasks to the graph, and writing down why
/// a claimed task waits.
extension Coordinator {
    /// Nothing can happen without a new prompt: nothing runs, ends or is ready to start; what is
    /// left waits for a dependency that has not arrived or is blocked (`--until-idle` stops then).
    var isIdle: Bool {
        !scheduler.isGathering && scheduler.readyCount == 0 && tasks.count == claimedCount
    }

    /// Tasks that entered the graph: their phase becomes `claimed`; the members of a cycle one
    /// of them closed are rejected.
    func admitted(_ admissions: [Scheduler.Admission]) {
        for admission in admissions {
            if case .gathering? = tasks[admission.id]?.phase { setPhase(admission.id, .claimed) }
            if heldTasks.contains(admission.id) { scheduler.setHeld(admission.id, true) }
            guard let cycle = admission.cycle else { continue }
            let loop = (cycle + [cycle[0]]).joined(separator: " → ")
            for id in cycle { rejectClaimed(id, reason: "its depends_on closes a cycle: \(loop); fix the front matter of one of them and drop them again") }
        }
    }

    /// Rewrites the records of claimed tasks whose standing changed (waiting for what, blocked
    /// by what, free to start): only the tasks the last changes touched.
    func refreshStandings() {
        // A task that became blocked touches its dependants, whose description then changes:
        // taken in the same turn (the dependency graph has no cycles, so this ends).
        var touched = scheduler.takeTouched()
        while !touched.isEmpty {
            for id in touched { refreshStanding(id) }
            touched = scheduler.takeTouched()
        }
    }

    private func refreshStanding(_ id: String) {
        guard var entry = tasks[id] else { return }
        switch entry.phase {
        case .claimed, .stalled, .gathering: break
        default: return
        }
        var standing = scheduler.standing(id)
        if let reason = entry.blockedBy { standing = .init(state: .blocked, blockedReason: reason, dependencies: standing.dependencies) }
        let before = entry.record
        entry.record.state = standing.state
        entry.record.waitingFor = standing.waitingFor
        entry.record.blockedReason = standing.blockedReason
        entry.record.dependencies = standing.dependencies
        guard entry.record != before else { return }
        tasks[id]?.record = entry.record
        if entry.recordDue == nil { recordLater(id) }
        if before.state != entry.record.state {
            publish(.standing(entry.record))
            if before.state == .blocked || entry.record.state == .blocked { scheduler.touchDependants(of: id) }
        }
    }

    /// Moves a claimed task to `rejected/` (a dependency cycle), keeping its id used.
    func rejectClaimed(_ id: String, reason: String) {
        guard let record = tasks[id]?.record else { return }
        scheduler.setState(id, .rejected)
        do {
            let target = try spool.rejectClaimed(record, reason: reason)
            publish(.rejected(name: record.fileName, target: target, reason: reason))
            if isInBatch(id) { results[id] = .rejected(name: target, reason: reason) }
        } catch {
            complaints.say("reject", "cannot move \(id) to rejected/: \(error)")
        }
        forget(id)
    }
}
