import Glibc

/// Why the coordinator stops a running task. Written to `tasks/<id>/stop` before the first
/// signal, so that the outcome is classed the same whoever commits it (this coordinator, or the
/// next one after a crash).
struct StopReason: Equatable {
    enum Kind: String {
        /// Its `timeout` passed, or it stalled under `on_stall: kill`: it ends as `timeout`.
        case timeout
        /// `gadugi cancel`: it ends as `cancelled`.
        case cancelled
    }

    var kind: Kind
    /// One line for people: what happened.
    var text: String

    var line: String { kind.rawValue + ": " + text }

    init(_ kind: Kind, _ text: String) {
        self.kind = kind
        self.text = text
    }

    init?(line: String) {
        let parts = line.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let kind = Kind(rawValue: String(parts[0])) else { return nil }
        self.init(kind, parts[1].trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Writes `tasks/<id>/stop` (before any signal, so the end is classed the same by whoever
    /// commits it).
    func save(_ layout: Layout, id: String) throws(SystemError) {
        try Files.writeAtomically(layout.stopReason(id), Array((line + "\n").utf8))
    }

    static func load(_ layout: Layout, id: String) -> StopReason? {
        (try? Files.readText(layout.stopReason(id), limit: 4096)).flatMap { $0.flatMap(StopReason.init(line:)) }
    }
}

/// A stop under way: SIGTERM was sent to the task's processes (all but its wrapper, which then
/// records the outcome and finishes the worktree), SIGKILL follows at `killAt`.
struct StopRequest {
    var reason: StopReason
    var killAt: Timestamp
    var killed = false
}

extension Layout {
    /// Why the coordinator stopped the task's current attempt (see `StopReason`).
    public func stopReason(_ id: String) -> String { taskDirectory(id) + "/stop" }

    /// What one attempt leaves in the task's folder and the next must not inherit: its outcome,
    /// why it was stopped, `worktree_setup`'s failure and its Slurm job id.
    public func attemptFiles(_ id: String) -> [String] { [outcome(id), stopReason(id), setupFailed(id), slurmJob(id)] }
}

/// Liveness and time limits of running tasks. Checked at each tick, from times on disk (the
/// recorded start, the mtimes of the heartbeat, log and report), so they hold across a restart of
/// the coordinator and cost nothing between ticks.
extension Coordinator {
    /// The task's own limit, else the configured one; nil or 0 is none.
    func timeLimit(_ record: TaskRecord) -> Double? {
        let limit = record.timeout ?? settings.timeout
        return (limit ?? 0) > 0 ? limit : nil
    }

    func stallLimit(_ record: TaskRecord) -> Double { record.stallAfter ?? settings.stallAfter }

    /// For a task whose process runs (ours or adopted): presses a stop under way, or starts one
    /// past the timeout, or marks the task stalled (or active again) when that changed.
    func checkLiveness(_ id: String, _ now: Timestamp) {
        guard let entry = tasks[id], entry.record.startedAt != nil, let sid = entry.record.pid else { return }
        if let stop = entry.stop { return press(id, stop, session: sid, now) }
        // Pending in Slurm: neither its timeout nor stall_after runs yet.
        guard let started = runningSince(entry.record, now) else { return }
        if let limit = timeLimit(entry.record), now.asDouble - started.asDouble >= limit {
            return stop(id, StopReason(.timeout, "it ran longer than its timeout (\(Coordinator.describe(limit)))"), now)
        }
        let activity = lastActivity(id, entry, started: started)
        let limit = stallLimit(entry.record)
        let stalled = now.asDouble - activity.asDouble >= limit
        guard stalled != entry.record.stalled else { return }
        var record = entry.record
        record.stalled = stalled
        record.lastActivity = activity
        tasks[id]?.record = record
        self.record(record)
        publish(.liveness(record, idle: now.asDouble - activity.asDouble))
        if stalled && (record.onStall ?? settings.onStall) == .kill {
            stop(id, StopReason(.timeout, "it stalled: nothing from it for \(Coordinator.describe(limit)) (on_stall: kill)"), now)
        }
    }

    /// The latest change of its heartbeat, report (both as last looked at) or log, or its start.
    func lastActivity(_ id: String, _ entry: TaskEntry, started: Timestamp) -> Timestamp {
        let log = (try? Files.linkStatus(layout.log(id)))??.modified
        return [started, entry.seen?.report, entry.seen?.heartbeat, log].compactMap { $0 }.max() ?? started
    }

    /// Records why, then sends SIGTERM to the task's processes except its wrapper, which records
    /// the agent's end and finishes its worktree as after any end.
    func stop(_ id: String, _ reason: StopReason, _ now: Timestamp) {
        guard let sid = tasks[id]?.record.pid else { return }
        do { try reason.save(layout, id: id) } catch {
            complaints.say("stop", "cannot write \(layout.relative(layout.stopReason(id))): \(error); \(id) is stopped anyway")
        }
        let count = Session.signalRunning(sid, SIGTERM)
        logger.warning("stopping \(id): \(reason.text); SIGTERM to \(count) process(es), SIGKILL after \(Coordinator.describe(settings.killGrace))")
        cancelSlurmJob(id)
        tasks[id]?.stop = StopRequest(reason: reason, killAt: now.adding(settings.killGrace))
    }

    /// Past the grace: SIGKILL to what is left but the wrapper; past a second grace, the wrapper
    /// too (it hangs itself, in git or `worktree_setup`).
    func press(_ id: String, _ stop: StopRequest, session sid: pid_t, _ now: Timestamp) {
        guard now >= stop.killAt else { return }
        let count = Session.signalRunning(sid, SIGKILL, leader: stop.killed)
        if count > 0 { logger.warning("\(id): \(count) process(es) outlived SIGTERM for \(Coordinator.describe(settings.killGrace)); sent SIGKILL") }
        tasks[id]?.stop?.killed = true
        tasks[id]?.stop?.killAt = now.adding(settings.killGrace)
    }

    /// `90s`, `10m`, `1h30m`, `1.5s`: a duration as config files write it.
    static func describe(_ seconds: Double) -> String {
        if seconds < 60 {
            return seconds == seconds.rounded() ? "\(Int(seconds))s" : String(format: "%.1fs", seconds)
        }
        let total = Int(seconds.rounded())
        let (h, m, s) = (total / 3600, total % 3600 / 60, total % 60)
        return (h > 0 ? "\(h)h" : "") + (m > 0 ? "\(m)m" : "") + (s > 0 ? "\(s)s" : "")
    }
}
