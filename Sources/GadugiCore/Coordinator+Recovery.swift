import Foundation

/// Rebuilding memory from the queue directories when a coordinator starts.
extension Coordinator {
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
}
