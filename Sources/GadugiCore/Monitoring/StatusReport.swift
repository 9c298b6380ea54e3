import Foundation

/// A snapshot of a spool for `gadugi status`, read from the files alone (no coordinator needed).
/// Counts come from the queue directories, which are the truth; details from `progress.json`.
/// A file in `running/` whose task has ended but is not yet committed (its folder unlocked, its
/// `outcome` written) counts as done or failed: status never shows more running than run.
public struct StatusReport {
    /// One task as status shows it.
    public struct Row {
        public var record: TaskRecord
        public var elapsed: Double?
        public var heartbeatAge: Double?
        /// For a running task: seconds since its last sign of life (heartbeat, log or report
        /// changed, or its start), the measure of `stall_after`.
        public var idle: Double?
        /// Where the prompt file is; `running/` for a finished task not yet committed.
        public var queue: Layout.Queue
        /// A claimed task that may not start because of a hold (`control/hold.<id>`, or
        /// `control/hold` for one free to start).
        public var held = false

        /// Its state as status shows it (a held, stalled or timed-out task named as such).
        public var shown: DisplayState {
            if held { return .held }
            switch record.state {
            case .claimed: return .claimed
            case .waiting: return .waiting
            case .blocked: return .blocked
            case .running: return record.isPendingInSlurm ? .pending : record.stalled ? .stalled : .running
            case .done: return .done
            case .failed: return .failed
            case .timeout: return .timeout
            case .cancelled: return .cancelled
            }
        }
    }

    /// A prompt that is no task (yet): waiting in `incoming/` to be claimed, or `rejected/`.
    public struct Prompt {
        /// Its file name in the queue.
        public var name: String
        public var queue: Layout.Queue
        /// When it got there (its mtime in `incoming/`, its status-change time in `rejected/`).
        public var at: Timestamp?
        /// `rejected/` only: the line of its `.reason` file.
        public var reason: String?

        /// Whether a task id asked for names it: its file name, or that without the extension.
        public func isNamed(by ids: Set<String>) -> Bool {
            ids.contains(name) || ids.contains(PromptName.stem(of: name))
        }

        public var shown: DisplayState { queue == .rejected ? .rejected : .queued }
    }

    public let layout: Layout
    public let selection: Selection
    /// Tasks per state, of the whole spool, in the order they are shown. `pending` (handed to
    /// Slurm, its job not started) is not in `running`.
    public let counts: [(String, Int)]
    /// The counts a person is shown: the rarer states (dependencies, Slurm, cancel) only when
    /// some task is in them.
    public var shownCounts: [(String, Int)] {
        counts.filter { !(["waiting", "blocked", "pending", "cancelled"].contains($0.0) && $0.1 == 0) }
    }
    public let coordinator: JSON
    public let tasks: [Row]
    /// Prompts in `incoming/` the selection admits, oldest first.
    public let queued: [Prompt]
    /// Rejected prompts the selection admits (`--all`, `--state rejected`, or named), by name.
    public let rejected: [Prompt]
    /// Worktrees in `.gadugi/worktrees/` (kept after failures, or in use by running tasks).
    public let worktrees: Int
    /// The disk they take (each walked up to a limit, so status never hangs on a huge tree).
    public let worktreeUsage: DiskUsage
    /// `.gadugi/control/hold` exists: no new task starts.
    public let held: Bool

    public init(layout: Layout, includeFinished: Bool) {
        self.init(layout: layout, selection: Selection(includeFinished: includeFinished))
    }

    public init(layout: Layout, selection: Selection) {
        self.layout = layout
        self.selection = selection
        let now = Timestamp.now().asDouble
        held = ControlRequest.isHeld(layout)
        let inRunning = StatusReport.rows(in: .running, layout, now: now)
        let uncommitted = inRunning.filter { $0.record.state != .running }
        let inClaimed = StatusReport.rows(in: .claimed, layout, now: now, queueHeld: held)
        let claimedIn = { (state: TaskState) in inClaimed.count { $0.record.state == state } }
        let notReason: (String) -> Bool = { !$0.hasPrefix(".") && !$0.hasSuffix(".reason") }
        let incoming = ((try? Files.list(layout.queue(.incoming))) ?? []).filter(PromptName.isCandidate)
        // Handed to Slurm, its job not started: counted apart from running, as its row shows it.
        let pendingInSlurm = inRunning.count { $0.shown == .pending }
        counts = [
            ("queued", incoming.count),
            ("claimed", claimedIn(.claimed)),
            ("waiting", claimedIn(.waiting)),
            ("blocked", claimedIn(.blocked)),
            ("pending", pendingInSlurm),
            ("running", inRunning.count - uncommitted.count - pendingInSlurm),
            ("done", Files.count(layout.queue(.done)) + uncommitted.filter { $0.record.state == .done }.count),
            ("failed", Files.count(layout.queue(.failed)) + uncommitted.filter { $0.record.state == .failed || $0.record.state == .timeout }.count),
            ("rejected", Files.count(layout.queue(.rejected), where: notReason)),
            ("cancelled", Files.count(layout.queue(.cancelled)) + uncommitted.filter { $0.record.state == .cancelled }.count),
        ]
        coordinator = CoordinatorLock.isHeld(layout) ? Registry.coordinator(in: layout)?.json ?? .null : .null
        var rows = inRunning.filter { $0.record.state == .running } + inClaimed
        if selection.wantsFinished {
            let named = selection.ids.map { ids in { (name: String) in ids.contains(PromptName.stem(of: name)) } }
            rows += uncommitted
            let finished: [(Layout.Queue, [DisplayState])] = [(.failed, [.failed, .timeout]), (.cancelled, [.cancelled]), (.done, [.done])]
            for (queue, states) in finished where selection.wantsAny(states) {
                rows += StatusReport.rows(in: queue, layout, now: now, only: named)
            }
        }
        tasks = rows.filter { selection.admits($0.shown, id: $0.record.id) }
        queued = StatusReport.prompts(incoming, in: .incoming, layout).filter { selection.admits($0) }
            .sorted { ($0.at ?? Timestamp(seconds: 0, nanoseconds: 0), $0.name) < ($1.at ?? Timestamp(seconds: 0, nanoseconds: 0), $1.name) }
        if selection.wantsAny([.rejected]) {
            let names = ((try? Files.list(layout.queue(.rejected))) ?? []).filter(notReason).sorted()
            rejected = StatusReport.prompts(names, in: .rejected, layout).filter { selection.admits($0) }
        } else {
            rejected = []
        }
        worktrees = Files.count(layout.base + "/worktrees")
        worktreeUsage = worktrees > 0 ? DiskUsage.of(layout.base + "/worktrees") : DiskUsage()
    }

    /// The rows of one queue directory, in name order, with their state; for `running/`, the
    /// state the task's lock and outcome say. `only` picks names before their records are read.
    static func rows(in queue: Layout.Queue, _ layout: Layout, now: Double, queueHeld: Bool = false,
                     only: ((String) -> Bool)? = nil) -> [Row] {
        let names = ((try? Files.list(layout.queue(queue))) ?? []).filter { !$0.hasPrefix(".") && only?($0) != false }.sorted()
        return names.map { row(named: $0, in: queue, layout, now: now, queueHeld: queueHeld) }
    }

    /// The row of the prompt `name` in `queue`.
    static func row(named name: String, in queue: Layout.Queue, _ layout: Layout, now: Double, queueHeld: Bool = false) -> Row {
        let id = PromptName.stem(of: name)
        var record = TaskRecord.load(layout, id: id)
            ?? TaskRecord(id: id, ext: PromptName.extension(of: name) ?? "md", name: name, state: .claimed)
        // A claimed task's record says whether it may start, waits or is blocked.
        let recorded = record.state
        record.state = StatusReport.state(of: queue)
        if queue == .claimed, recorded == .waiting || recorded == .blocked { record.state = recorded }
        if queue == .failed, recorded == .timeout { record.state = recorded }
        // Handed to Slurm: the step writes its job id once Slurm starts it, which may be
        // before the coordinator's next look (one read, only while it is not known).
        if record.isPendingInSlurm { record.slurmJobID = SlurmStep.jobID(layout, id: id) }
        if queue == .running, let outcome = StatusReport.uncommittedOutcome(layout, id: id) {
            record.state = outcome.succeeded ? .done : .failed
            record.exitCode = outcome.exitCode
            record.signal = outcome.signal
            record.finishedAt = max(outcome.finishedAt, record.startedAt ?? outcome.finishedAt)
        }
        let start = record.startedAt ?? record.claimedAt
        let end = record.finishedAt?.asDouble ?? now
        let beat = record.state == .running ? (try? Files.linkStatus(layout.heartbeat(id)))??.modified : nil
        let idle = record.state == .running ? StatusReport.lastActivity(layout, id: id, record: record, beat: beat) : nil
        var row = Row(record: record, elapsed: start.map { end - $0.asDouble },
                      heartbeatAge: beat.map { now - $0.asDouble }, idle: idle.map { now - $0.asDouble }, queue: queue)
        if queue == .claimed, record.state != .blocked {
            row.held = Files.exists(layout.control(ControlRequest.holdFile(id))) || (queueHeld && record.state == .claimed)
        }
        return row
    }

    /// Prompts by name in `incoming/` or `rejected/`, with their times and reasons.
    static func prompts(_ names: [String], in queue: Layout.Queue, _ layout: Layout) -> [Prompt] {
        names.map { name in
            let st = (try? Files.linkStatus(layout.queue(queue, name))) ?? nil
            var reason: String?
            if queue == .rejected {
                reason = (try? Files.readText(layout.queue(queue, name + ".reason"), limit: 64 << 10))??
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            }
            return Prompt(name: name, queue: queue, at: queue == .rejected ? st?.changed : st?.modified, reason: reason)
        }
    }

    /// The outcome of a task in `running/` that has ended but is not committed yet: its folder is
    /// not locked and `outcome` holds a status (spool-layout.md, "finished, not yet committed").
    /// Nil while the lock is held or cannot be read, and when the process died without an outcome
    /// (the coordinator is about to finish it as failed; until then it is running).
    static func uncommittedOutcome(_ layout: Layout, id: String) -> Supervisor.Outcome? {
        guard TaskLock.state(of: layout.taskDirectory(id)) == .free else { return nil }
        let outcome = Supervisor.outcome(layout, id: id)
        return outcome.recorded ? outcome : nil
    }

    /// The latest of its start and the mtimes of its heartbeat, log and report.
    static func lastActivity(_ layout: Layout, id: String, record: TaskRecord, beat: Timestamp?) -> Timestamp? {
        let times = [record.startedAt, beat, (try? Files.linkStatus(layout.log(id)))??.modified,
                     (try? Files.linkStatus(layout.report(id)))??.modified]
        return times.compactMap { $0 }.max()
    }

    static func state(of queue: Layout.Queue) -> TaskState {
        switch queue {
        case .running: return .running
        case .done: return .done
        case .failed: return .failed
        case .cancelled: return .cancelled
        default: return .claimed
        }
    }

    static func duration(_ seconds: Double?) -> String {
        guard let s = seconds else { return "-" }
        if s < 60 { return String(format: "%.1fs", s) }
        if s < 3600 { return "\(Int(s) / 60)m\(Int(s) % 60)s" }
        return "\(Int(s) / 3600)h\(Int(s) % 3600 / 60)m"
    }
}
