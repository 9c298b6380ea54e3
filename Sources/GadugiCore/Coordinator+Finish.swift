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
        guard let record = tasks[id] else { return }
        var final = finalRecord(record, waitStatus: waitStatus, message: message)
        let died = !Supervisor.outcome(layout, id: id, waitStatus: waitStatus).recorded
        if let sid = record.pid, died || !settings.keepProcesses, Session.mayHaveMembers(sid) || died {
            let count = Session.signal(sid, SIGTERM)
            if count > 0 {
                if died { final.message = (final.message ?? "") + "; its \(count) remaining process(es) were stopped" }
                logger.info("\(id) ended; stopping \(count) process(es) it left in its session (SIGTERM, then SIGKILL after \(settings.killGrace)s)")
                stopping[id] = Stopping(session: sid, record: final, killAt: Timestamp.now().adding(settings.killGrace))
                children = children.filter { $0.value != id }
                adopted.remove(id)
                return
            }
        }
        commit(final)
    }

    /// Commits the stopping tasks whose leftovers are gone; SIGKILLs those past their grace.
    func checkStopping(_ now: Timestamp) {
        for (id, stop) in stopping {
            let left = Session.members(stop.session)
            if left.isEmpty || (stop.killed && now >= stop.killAt) {
                if !left.isEmpty { logger.warning("\(id): \(left.count) process(es) did not end after SIGKILL (uninterruptible?); its slot is freed") }
                stopping.removeValue(forKey: id)
                commit(stop.record)
            } else if now >= stop.killAt && !stop.killed {
                for pid in left { kill(pid, SIGKILL) }
                logger.warning("\(id): \(left.count) leftover process(es) ignored SIGTERM for \(settings.killGrace)s; sent SIGKILL")
                stopping[id] = Stopping(session: stop.session, record: stop.record, killAt: now.adding(2), killed: true)
            }
        }
    }

    /// The task's last record, from how its process ended.
    func finalRecord(_ running: TaskRecord, waitStatus: Int32?, message: String?) -> TaskRecord {
        var record = running
        let outcome = Supervisor.outcome(layout, id: record.id, waitStatus: waitStatus)
        refreshReport(record.id, write: false, into: &record)
        record.exitCode = outcome.exitCode
        record.signal = outcome.signal
        // Our own child: its exit was just reaped, and the clock is finer than the outcome's mtime
        // (which moves in 4 ms steps). An adopted task has only the mtime; never before its start.
        record.finishedAt = waitStatus != nil ? .now() : max(outcome.finishedAt, record.startedAt ?? outcome.finishedAt)
        record.state = outcome.succeeded ? .done : .failed
        if let message {
            record.message = message
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
        pendingCommits.removeValue(forKey: id)
        guard monitor.writeProgress(record) else {
            pendingCommits[id] = record
            return
        }
        do { try spool.finish(record, succeeded: record.state == .done) } catch {
            if error.errno == .noSuchFileOrDirectory && !Files.exists(layout.queue(.running, record.fileName)) {
                return withdraw(id, from: .running)
            }
            complaints.say("commit", "cannot move \(id) out of running/: \(error); tried again in a moment")
            pendingCommits[id] = record
            return
        }
        try? Files.remove(layout.heartbeat(id))
        unwritten.remove(id)
        tasks.removeValue(forKey: id)
        seen.removeValue(forKey: id)
        adopted.remove(id)
        finishedCounts[record.state.queue, default: 0] += 1
        monitor.event(record)
        if batchIDs.contains(id) { results[id] = .finished(record) }
        logFinish(record)
    }

    /// Tries again what failed for a reason that may pass: starts (the task goes back to the front
    /// of the line) and commits (with the record made when the process ended).
    func retryStalled() {
        for id in stalledStarts where tasks[id] != nil { waiting.prepend(id) }
        stalledStarts.removeAll()
        for record in pendingCommits.values { commit(record) }
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
        let before = (record.percent, record.message)
        guard refreshReport(id, write: true, into: &record) else { return }
        tasks[id] = record
        if before != (record.percent, record.message) {
            let percent = record.percent.map { "\(Int($0))%" } ?? "-"
            logger.info("progress \(id) \(percent): \(record.message ?? "")")
        }
    }

    @discardableResult
    func refreshReport(_ id: String, write: Bool, into record: inout TaskRecord) -> Bool {
        let reportTime = (try? Files.linkStatus(layout.report(id)))??.modified
        let beat = monitor.heartbeatTime(id)
        let last = seen[id]
        if let last, last.report == reportTime, last.heartbeat == beat { return false }
        seen[id] = (reportTime, beat)
        if reportTime != nil, let report = AgentReport.load(layout.report(id)) {
            record.percent = report.percent ?? record.percent
            record.message = report.message ?? record.message
        }
        if let beat { record.lastHeartbeat = beat }
        if write { self.record(record) }
        return true
    }
}

/// A task whose process has ended while processes of its session live on.
struct Stopping {
    var session: pid_t
    /// The final record, committed once they are gone.
    var record: TaskRecord
    /// When SIGKILL is sent (or, once `killed`, when the slot is freed regardless).
    var killAt: Timestamp
    var killed = false
}
