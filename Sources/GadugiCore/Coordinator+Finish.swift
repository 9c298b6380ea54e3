import Foundation

/// Committing tasks whose process has ended, and copying agents' reports.
extension Coordinator {
    /// Commits a task whose process has ended: `progress.json` first, then the rename that is the
    /// commit, so a crash between the two only repeats the work on the next start.
    func finish(_ id: String, waitStatus: Int32?, message: String? = nil) {
        guard let record = tasks[id] else { return }
        commit(finalRecord(record, waitStatus: waitStatus, message: message))
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
    func commit(_ record: TaskRecord) {
        let id = record.id
        pendingCommits.removeValue(forKey: id)
        monitor.writeProgress(record)
        do { try spool.finish(record, succeeded: record.state == .done) } catch {
            if error.errno == .noSuchFileOrDirectory && !Files.exists(layout.queue(.running, record.fileName)) {
                return withdraw(id, from: .running)
            }
            logger.error("cannot move \(id) out of running/: \(error); tried again in a moment")
            pendingCommits[id] = record
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
        if write { monitor.writeProgress(record) }
        return true
    }
}
