import Foundation

/// Rebuilding memory from the queue directories when a coordinator starts.
extension Coordinator {
    /// Rebuilds memory from the queue after a start or a crash: claimed files wait again in their
    /// old order; running files are adopted (lock held, or its state unknowable), committed (an
    /// outcome is recorded), failed (the process was started but is gone without an outcome) or
    /// requeued (it was never spawned). Throws when the queue cannot be read at all.
    func recover() throws(SystemError) {
        for q in [Layout.Queue.done, .failed, .rejected, .cancelled] {
            finishedCounts[q] = Files.count(layout.queue(q)) { !$0.hasPrefix(".") && !$0.hasSuffix(".reason") }
        }
        for line in NamesJournal.read(layout.names) {
            scheduler.rememberFinished(name: line.name, id: line.id, succeeded: line.succeeded)
        }
        var requeued: [TaskRecord] = []
        var adoptedRecords: [TaskRecord] = []
        var adopted = 0
        for name in try Files.list(layout.queue(.running)) where !name.hasPrefix(".") {
            var record = loadRecord(name, state: .running)
            let id = record.id
            if (try? Files.isDirectory(layout.taskDirectory(id))) != true {
                // Its folder, which held the lock and the outcome, was removed by hand: whether its
                // agent ran (or runs) cannot be told. Failed, never run twice; the prompt is kept.
                _ = try? Files.makeDirectory(layout.taskDirectory(id))
                record.state = .running
                admit(TaskEntry(record: record, phase: .adopted))
                finish(id, waitStatus: nil, message: "its task folder (.gadugi/monitoring/tasks/\(id)) was removed while it was "
                    + "in running/, so whether its agent ran cannot be told; failed rather than run twice")
                continue
            }
            let lock = TaskLock.state(of: layout.taskDirectory(id))
            if lock != .free {
                record.state = .running
                let filled = fillStart(record)
                admit(TaskEntry(record: filled, phase: .adopted))
                adoptedRecords.append(filled)
                self.record(filled)
                adopted += 1
                logger.info("adopted \(id), still running (pid \(record.pid.map(String.init) ?? "?"))")
            } else if Supervisor.outcome(layout, id: id).recorded || wasSpawned(record) {
                // Ended while no coordinator ran: committed now (its leftovers stopped first).
                admit(TaskEntry(record: fillStart(record), phase: .adopted))
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
        for name in try Files.list(layout.queue(.claimed)) where !name.hasPrefix(".") {
            let record = loadRecord(name, state: .claimed)
            if !requeued.contains(where: { $0.id == record.id }) { claimed.append(record) }
        }
        claimed.sort { ($0.claimedAt ?? startedAt, $0.id) < ($1.claimedAt ?? startedAt, $1.id) }
        var backingOff: Set<String> = []
        for var record in claimed {
            // Waiting for an automatic retry: the wait goes on (held like a running task).
            if let until = record.notBefore, until > clock.now() {
                record.state = .waiting
                admit(TaskEntry(record: record, phase: .backoff(until)))
                backingOff.insert(record.id)
                continue
            }
            record.state = .claimed
            record.notBefore = nil
            admit(TaskEntry(record: record, phase: .claimed))
            self.record(record)
        }
        // Into the graph at once (their batches are all here), running ones as running.
        admitted(scheduler.addRecovered(adoptedRecords.map { ($0, running: true) }
            + claimed.map { ($0, running: backingOff.contains($0.id)) }))
        // A crash between a finish and its heartbeat's removal leaves the heartbeat behind.
        for id in (try? Files.list(layout.heartbeats)) ?? [] where !id.hasPrefix(".") && tasks[id]?.record.state != .running {
            try? Files.remove(layout.heartbeat(id))
        }
        if !tasks.isEmpty {
            logger.info("recovered \(claimed.count) claimed and \(adopted) running task(s)")
        }
    }

    /// Whether a task in running/ had its process started: its heartbeat file (made right after
    /// the spawn) or its record says so. Only a task that was never spawned may be requeued.
    func wasSpawned(_ record: TaskRecord) -> Bool {
        record.pid != nil || record.startedAt != nil || record.state.isFinal
            || Files.exists(layout.heartbeat(record.id))
    }

    /// The record of a prompt in `state`'s folder: its `progress.json`, else what the queue tells.
    /// A missing claim time is the prompt's last status change (the claim or start rename moved
    /// it), never the present, so that claimed ≤ started ≤ finished holds after any crash.
    func loadRecord(_ fileName: String, state: TaskState) -> TaskRecord {
        let id = PromptName.stem(of: fileName)
        let ext = PromptName.extension(of: fileName) ?? "md"
        var record = TaskRecord.load(layout, id: id) ?? TaskRecord(id: id, ext: ext, name: fileName, state: state)
        record.ext = ext
        if record.claimedAt == nil {
            let st = try? Files.linkStatus(layout.queue(state.queue, fileName))
            record.claimedAt = st?.changed ?? clock.now()
        }
        return record
    }

    /// Fills in what a crash kept from a started task's record (the coordinator died before its
    /// `running` record was written): it was started at least once, at the start rename (the
    /// prompt's status change time in running/) if nothing better is known.
    func fillStart(_ record: TaskRecord) -> TaskRecord {
        var r = record
        r.attempts = max(r.attempts, 1)
        if r.startedAt == nil {
            let changed = (try? Files.linkStatus(layout.queue(.running, r.fileName)))?.changed
            r.startedAt = changed ?? r.claimedAt
        }
        if let started = r.startedAt, let claimed = r.claimedAt, claimed > started { r.claimedAt = started }
        // Its `running` record was not written before the crash: its process is found by what
        // its environment says (needed to stop it: a timeout, a cancel).
        if r.pid == nil { r.pid = Session.findTaskProcess(root: layout.root, id: r.id) }
        return r
    }
}
