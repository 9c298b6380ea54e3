import Foundation
import Glibc

/// Committing tasks whose process has ended, and copying agents' reports.
extension Coordinator {
    /// Commits a task whose process has ended: `progress.json` first, then the rename that is the
    /// commit, so a crash between the two only repeats the work on the next start.
    ///
    /// What the task left running in its session is stopped first, and the task keeps its slot
    /// until that is gone: always when its process died without an outcome (its agent may live
    /// on), and after a normal end unless `keep_processes` is set.
    func finish(_ id: String, waitStatus: Int32?, message: String? = nil) {
        guard let record = tasks[id]?.record else { return }
        let outcome = Supervisor.outcome(layout, id: id, waitStatus: waitStatus)
        var final = finalRecord(record, outcome, reaped: waitStatus != nil, message: message)
        // Stopped by us (timeout, on_stall: kill), unless it finished well meanwhile.
        if !outcome.succeeded, let reason = tasks[id]?.stop?.reason ?? StopReason.load(layout, id: id) {
            final.state = reason.kind == .cancelled ? .cancelled : .timeout
            final.message = reason.text
        }
        final.stalled = false
        if repository != nil, final.exitCode == Worktrees.blockedStatus, let reason = try? Files.readText(layout.blocked(id)) {
            return block(id, final, reason: reason.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let died = !outcome.recorded
        // Its process is gone without an outcome: a Slurm job it started may live on.
        if died { cancelSlurmJob(id) }
        if let sid = record.pid, died || !settings.keepProcesses, Session.mayHaveMembers(sid) || died {
            let count = Session.signal(sid, SIGTERM)
            if count > 0 {
                if died { final.message = (final.message ?? "") + "; its \(count) remaining process(es) were stopped" }
                logger.info("\(id) ended; stopping \(count) process(es) it left in its session (SIGTERM, then SIGKILL after \(settings.killGrace)s)")
                setPhase(id, .stopping(Stopping(session: sid, record: final, killAt: clock.now().adding(settings.killGrace))))
                return
            }
        }
        commit(final)
    }

    /// Commits a stopping task once its leftovers are gone; SIGKILLs them past their grace.
    func checkStopping(_ id: String, _ stop: Stopping, _ now: Timestamp) {
        let left = Session.members(stop.session)
        if left.isEmpty || (stop.killed && now >= stop.killAt) {
            if !left.isEmpty { logger.warning("\(id): \(left.count) process(es) did not end after SIGKILL (uninterruptible?); its slot is freed") }
            commit(stop.record)
        } else if now >= stop.killAt && !stop.killed {
            for pid in left { Session.send(SIGKILL, to: pid, inSession: stop.session) }
            logger.warning("\(id): \(left.count) leftover process(es) ignored SIGTERM for \(settings.killGrace)s; sent SIGKILL")
            setPhase(id, .stopping(Stopping(session: stop.session, record: stop.record, killAt: now.adding(2), killed: true)))
        }
    }

    /// The task's last record, from how its process ended (`reaped`: our own child, just reaped).
    func finalRecord(_ running: TaskRecord, _ outcome: Supervisor.Outcome, reaped: Bool, message: String?) -> TaskRecord {
        var record = running
        refreshReport(record.id, write: false, into: &record)
        refreshSlurmJob(into: &record)
        // What its start expected is replaced by what was made (or by nothing, if nothing was).
        record.branch = nil
        record.worktree = nil
        if let repository = repository(for: record), let request = worktreeRequest(for: record),
           let worktree = WorktreeRecord.settled(layout, id: record.id, topLevel: repository, plain: {
               request.startCommit(topLevel: repository).map { request.plainRecord(layout: layout, startCommit: $0) }
           }) {
            record.branch = worktree.branch
            record.baseCommit = worktree.baseCommit
            record.head = worktree.head
            record.worktree = worktree.kept ? worktree.path : nil
        }
        record.exitCode = outcome.exitCode
        record.signal = outcome.signal
        // Our own child: its exit was just reaped, and the clock is finer than the outcome's mtime
        // (which moves in 4 ms steps). An adopted task has only the mtime; never before its start.
        record.finishedAt = reaped ? clock.now() : max(outcome.finishedAt, record.startedAt ?? outcome.finishedAt)
        record.state = outcome.succeeded ? .done : .failed
        if let message {
            record.message = message
        } else if settings.worktreeSetup != nil, let status = try? Files.readText(layout.setupFailed(record.id)) {
            record.message = "worktree_setup (\(settings.worktreeSetup ?? "?")) exited \(status.trimmingCharacters(in: .whitespacesAndNewlines)) in the new worktree; the agent was not started: see the task's log"
        } else if !outcome.recorded {
            record.message = "the task's process ended without recording an outcome"
                + (outcome.signal.map { " (killed by signal \($0))" } ?? "")
        } else if outcome.exitCode == 127 {
            record.message = "the agent exited 127 (command not found?): " + Settings.advice(settings.agent, settings.agentSource)
        }
        return record
    }

    /// Writes the final record and renames the prompt into done/ or failed/. If the rename fails
    /// for a reason that may pass, the record is kept and the commit tried again at the next tick
    /// (the task stays `running` in memory, as its prompt stays in running/).
    ///
    /// The rename waits until the record is written: a prompt in done/ or failed/ never has a
    /// record that still says `running` (the disk may be full; it is tried again at each tick).
    func commit(_ record: TaskRecord) {
        let id = record.id
        if retriesLeft(record) { return backOff(record) }
        // From here the entry holds the final record: the registry shows it, and no deferred
        // `running` record may overwrite it.
        tasks[id]?.record = record
        tasks[id]?.recordDue = nil
        guard monitor.writeProgress(record),
              names.append(name: record.taskName ?? id, id: id, succeeded: record.state == .done) else {
            return setPhase(id, .committing(record))
        }
        do { try spool.finish(record) } catch {
            if error.errno == .noSuchFileOrDirectory && !Files.exists(layout.queue(.running, record.fileName)) {
                return withdraw(id, from: .running)
            }
            complaints.say("commit", "cannot move \(id) out of running/: \(error); tried again in a moment")
            return setPhase(id, .committing(record))
        }
        try? Files.remove(layout.heartbeat(id))
        scheduler.finished(id, name: record.taskName ?? id, state: record.state)
        publish(.finished(record))
        forget(id)
    }

    /// Copies the agent's report and heartbeat into `progress.json` when they changed.
    func refreshReport(_ id: String) {
        guard var record = tasks[id]?.record else { return }
        if refreshSlurmJob(into: &record) {
            tasks[id]?.record = record
            self.record(record)
            logger.info("\(id) started in Slurm: job \(record.slurmJobID ?? 0) (\(SlurmStep.jobName(id)))")
        }
        let before = (record.percent, record.message)
        guard refreshReport(id, write: true, into: &record) else { return }
        tasks[id]?.record = record
        if before != (record.percent, record.message) { TaskLogLine.progress(record).log(to: logger) }
    }

    /// Reads the job id of a task handed to Slurm until it is known (one small read per tick
    /// while its job is pending: never more than `max_parallel` of them, and never `squeue`).
    /// True when it was learnt just now.
    @discardableResult
    func refreshSlurmJob(into record: inout TaskRecord) -> Bool {
        guard record.executor == .slurm, record.slurmJobID == nil, let job = SlurmStep.jobID(layout, id: record.id) else { return false }
        record.slurmJobID = job
        return true
    }

    @discardableResult
    func refreshReport(_ id: String, write: Bool, into record: inout TaskRecord) -> Bool {
        let reportTime = (try? Files.linkStatus(layout.report(id)))??.modified
        let beat = monitor.heartbeatTime(id)
        if let last = tasks[id]?.seen, last.report == reportTime, last.heartbeat == beat { return false }
        tasks[id]?.seen = (reportTime, beat)
        if reportTime != nil, let report = AgentReport.load(layout.report(id)) {
            record.percent = report.percent ?? record.percent
            record.message = report.message ?? record.message
        }
        if let beat { record.lastHeartbeat = beat }
        if write { self.record(record) }
        return true
    }
}

extension Coordinator {
    /// A task whose process found it cannot start (its dependencies' work does not merge): its
    /// prompt goes back to claimed/, blocked with the reason, and its dependants are blocked too.
    /// It runs again only if retried.
    func block(_ id: String, _ final: TaskRecord, reason: String) {
        var record = final
        record.state = .blocked
        record.blockedReason = reason
        record.exitCode = nil
        record.finishedAt = nil
        do { try spool.requeue(record) } catch {
            complaints.say("commit", "cannot move \(id) back to claimed/: \(error); tried again in a moment")
            return setPhase(id, .committing(final))
        }
        try? Files.remove(layout.heartbeat(id))
        tasks[id]?.record = record
        setPhase(id, .claimed)
        tasks[id]?.blockedBy = reason
        scheduler.setState(id, .cancelled)
        self.record(record)
        publish(.standing(record))
    }

    /// Says once at start where agents work.
    func announceIsolation() {
        if let repository {
            do { try Worktrees.exclude(gadugiIn: repository, root: layout.root) } catch {
                logger.warning("cannot add .gadugi/ to \(repository)/.git/info/exclude: \(error)")
            }
            logger.info("each task works in its own git worktree under .gadugi/worktrees/, on a branch gadugi/<id>")
            reportWorktrees()
        } else if settings.isolation != Settings.Isolation.none {
            if let top = Git.topLevel(of: layout.root) {
                logger.info("\(top) has no commit yet: agents work in \(layout.root) directly; make a first commit to give each task its own worktree")
            } else {
                logger.info("\(layout.root) is not in a git repository: agents work in it directly (no worktrees)")
            }
        }
    }
}

extension Coordinator {
    /// Says (never deletes) what does not match: a worktree whose task is neither active nor kept
    /// after a failure, and a running task whose worktree is gone. `gadugi clean` removes leftovers.
    func reportWorktrees() {
        let folder = layout.base + "/worktrees"
        for id in (try? Files.list(folder)) ?? [] where !id.hasPrefix(".") && tasks[id] == nil {
            if let record = WorktreeRecord.load(layout, id: id), record.kept { continue }
            logger.warning("worktree .gadugi/worktrees/\(id) belongs to no active task and was not kept after a failure: inspect it, or remove it with 'gadugi clean'")
        }
        for (id, entry) in tasks {
            guard case .adopted = entry.phase, let record = WorktreeRecord.load(layout, id: id),
                  !Files.exists(root(record.path)) else { continue }
            logger.warning("running task \(id) has lost its worktree \(record.path): its agent works in a removed folder")
        }
    }

    private func root(_ relative: String) -> String {
        relative.hasPrefix("/") ? relative : layout.root + "/" + relative
    }
}
