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
    }

    public let layout: Layout
    public let counts: [(String, Int)]
    public let coordinator: JSON
    public let tasks: [Row]
    /// Worktrees in `.gadugi/worktrees/` (kept after failures, or in use by running tasks).
    public let worktrees: Int
    /// The disk they take (each walked up to a limit, so status never hangs on a huge tree).
    public let worktreeUsage: DiskUsage
    /// `.gadugi/control/hold` exists: no new task starts.
    public let held: Bool

    public init(layout: Layout, includeFinished: Bool) {
        self.layout = layout
        let now = Timestamp.now().asDouble
        let inRunning = StatusReport.rows(in: .running, layout, now: now)
        let uncommitted = inRunning.filter { $0.record.state != .running }
        let inClaimed = StatusReport.rows(in: .claimed, layout, now: now)
        let claimedIn = { (state: TaskState) in inClaimed.count { $0.record.state == state } }
        let notReason: (String) -> Bool = { !$0.hasPrefix(".") && !$0.hasSuffix(".reason") }
        counts = [
            ("queued", Files.count(layout.queue(.incoming)) { PromptName.isCandidate($0) }),
            ("claimed", claimedIn(.claimed)),
            ("waiting", claimedIn(.waiting)),
            ("blocked", claimedIn(.blocked)),
            ("running", inRunning.count - uncommitted.count),
            ("done", Files.count(layout.queue(.done)) + uncommitted.filter { $0.record.state == .done }.count),
            ("failed", Files.count(layout.queue(.failed)) + uncommitted.filter { $0.record.state == .failed || $0.record.state == .timeout }.count),
            ("rejected", Files.count(layout.queue(.rejected), where: notReason)),
            ("cancelled", Files.count(layout.queue(.cancelled)) + uncommitted.filter { $0.record.state == .cancelled }.count),
        ]
        if CoordinatorLock.isHeld(layout), let bytes = try? Files.read(layout.registry),
           let registry = JSON.parse(bytes), let c = registry["coordinator"] {
            coordinator = c
        } else {
            coordinator = .null
        }
        var rows = inRunning.filter { $0.record.state == .running } + inClaimed
        if includeFinished {
            rows += uncommitted + StatusReport.rows(in: .failed, layout, now: now) + StatusReport.rows(in: .cancelled, layout, now: now)
                + StatusReport.rows(in: .done, layout, now: now)
        }
        tasks = rows
        worktrees = Files.count(layout.base + "/worktrees")
        worktreeUsage = worktrees > 0 ? DiskUsage.of(layout.base + "/worktrees") : DiskUsage()
        held = ControlRequest.isHeld(layout)
    }

    /// The rows of one queue directory, in name order, with their state; for `running/`, the
    /// state the task's lock and outcome say.
    static func rows(in queue: Layout.Queue, _ layout: Layout, now: Double) -> [Row] {
        let names = ((try? Files.list(layout.queue(queue))) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        return names.map { name in
            let id = PromptName.stem(of: name)
            var record = TaskRecord.load(layout, id: id)
                ?? TaskRecord(id: id, ext: PromptName.extension(of: name) ?? "md", name: name, state: .claimed)
            // A claimed task's record says whether it may start, waits or is blocked.
            let recorded = record.state
            record.state = StatusReport.state(of: queue)
            if queue == .claimed, recorded == .waiting || recorded == .blocked { record.state = recorded }
            if queue == .failed, recorded == .timeout { record.state = recorded }
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
            return Row(record: record, elapsed: start.map { end - $0.asDouble },
                       heartbeatAge: beat.map { now - $0.asDouble }, idle: idle.map { now - $0.asDouble }, queue: queue)
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

    public var json: JSON {
        .object([
            ("schema_version", .int(1)),
            ("root", .string(layout.root)),
            ("coordinator", coordinator),
            ("counts", .object(counts.map { ($0.0, .int(Int64($0.1))) })),
            ("held", .bool(held)),
            ("worktrees", .int(Int64(worktrees))),
            ("worktree_bytes", .int(worktreeUsage.bytes)),
            ("worktree_bytes_complete", .bool(worktreeUsage.complete)),
            ("tasks", .array(tasks.map { row in
                guard case .object(var pairs) = row.record.json(layout) else { return .null }
                let prompt = JSON.string(layout.relative(layout.queue(row.queue, row.record.fileName)))
                pairs = pairs.map { $0.0 == "prompt" ? ("prompt", prompt) : $0 }
                pairs.append(("elapsed_seconds", row.elapsed.map { .double(($0 * 1000).rounded() / 1000) } ?? .null))
                pairs.append(("heartbeat_age_seconds", row.heartbeatAge.map { .double(($0 * 1000).rounded() / 1000) } ?? .null))
                pairs.append(("idle_seconds", row.idle.map { .double(($0 * 1000).rounded() / 1000) } ?? .null))
                return .object(pairs)
            })),
        ])
    }

    /// The human view: a line of counts, then one row per task.
    public var table: String {
        // Waiting and blocked only when there are some: most queues have no dependencies.
        let shown = counts.filter { !(["waiting", "blocked", "cancelled"].contains($0.0) && $0.1 == 0) }
        var out = shown.map { "\($0.0) \($0.1)" }.joined(separator: "  ") + "\n"
        if held { out += "held: no new task starts ('gadugi release' resumes)\n" }
        if worktrees > 0 {
            out += "worktrees kept: \(worktrees) in .gadugi/worktrees, \(worktreeUsage.description) (inspect them, or remove with 'gadugi clean --failed')\n"
        }
        if let pid = coordinator["pid"]?.int {
            out += "coordinator: pid \(pid)\n"
        } else {
            out += "coordinator: not running (start one with 'gadugi run')\n"
        }
        guard !tasks.isEmpty else { return out }
        let header = ["ID", "STATE", "ELAPSED", "HEARTBEAT", "PERCENT", "MESSAGE"]
        let rows = tasks.map { row -> [String] in
            let r = row.record
            var message = r.message ?? ""
            if r.state == .waiting { message = "waiting for " + r.waitingFor.joined(separator: ", ") }
            if r.state == .blocked { message = "blocked: " + (r.blockedReason ?? "a dependency did not succeed") }
            if (r.state == .failed || r.state == .timeout) && message.isEmpty {
                message = r.ending ?? ""
            }
            // Ids and messages come from file names and agents: escaped, each row stays one line.
            if r.state == .running && r.stalled {
                message = "stalled: nothing from it for \(StatusReport.duration(row.idle))" + (message.isEmpty ? "" : "; " + message)
            }
            let state = r.state == .running && r.stalled ? "stalled" : r.state.rawValue
            return [r.id.escapedForTerminal, state, StatusReport.duration(row.elapsed),
                    StatusReport.duration(row.heartbeatAge), r.percent.map { "\(Int($0))%" } ?? "-",
                    message.escapedForTerminal]
        }
        let widths = (0..<5).map { col in ([header] + rows).map { $0[col].count }.max() ?? 0 }
        for row in [header] + rows {
            let cells = (0..<5).map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
            out += (cells + [row[5]]).joined(separator: "  ").trimmingSuffixSpaces() + "\n"
        }
        return out
    }

    static func duration(_ seconds: Double?) -> String {
        guard let s = seconds else { return "-" }
        if s < 60 { return String(format: "%.1fs", s) }
        if s < 3600 { return "\(Int(s) / 60)m\(Int(s) % 60)s" }
        return "\(Int(s) / 3600)h\(Int(s) % 3600 / 60)m"
    }
}

extension String {
    func trimmingSuffixSpaces() -> String {
        var s = self
        while s.hasSuffix(" ") { s.removeLast() }
        return s
    }
}
