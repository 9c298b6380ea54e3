import Foundation

/// A state change of a task or of a name in `incoming/`.
enum TaskChange {
    case claimed(TaskRecord, from: String)
    case started(TaskRecord)
    case finished(TaskRecord)
    case rejected(name: String, target: String, reason: String)
    /// Its producer removed the prompt (from `incoming/` before the claim: `id` is the batch's).
    case withdrawn(id: String, from: Layout.Queue)
    /// A claimed task's standing changed: free to start, waiting (for what), blocked (by what).
    case standing(TaskRecord)
    /// A running task became stalled (`record.stalled`), or active again; `idle`: seconds since
    /// its last sign of life.
    case liveness(TaskRecord, idle: Double)
}

/// The one place where state changes become events: `events.jsonl` and the registry (through the
/// monitor), the log, and the results of a `run FILE...` batch.
extension Coordinator {
    func publish(_ change: TaskChange) {
        switch change {
        case .claimed(let record, let name):
            var event = Event(record, at: clock.now())
            event.from = name
            monitor.record(event)
        case .started(let record):
            monitor.record(Event(record, at: clock.now()))
            logger.info("started \(record.id) (pid \(record.pid.map(String.init) ?? "?"))")
        case .finished(let record):
            finishedCounts[record.state.queue, default: 0] += 1
            monitor.record(Event(record, at: clock.now()))
            if isInBatch(record.id) { results[record.id] = .finished(record) }
            logFinish(record)
            runFinishHook(record)
        case .rejected(let name, let target, let reason):
            finishedCounts[.rejected, default: 0] += 1
            monitor.record(.rejection(name: name, rejected: layout.relative(layout.queue(.rejected, target)),
                                      reason: reason, at: clock.now()))
            logger.warning("rejected \(name): \(reason)")
            if let id = batch[name] { results[id] = .rejected(name: target, reason: reason) }
        case .standing(let record):
            var event = Event(record, at: clock.now())
            if record.state == .waiting { event.waitingFor = record.waitingFor }
            if record.state == .blocked { event.reason = record.blockedReason }
            monitor.record(event)
            if record.state == .blocked {
                logger.warning("blocked \(record.id): \(record.blockedReason ?? "a dependency did not succeed")")
                if isInBatch(record.id) { results[record.id] = .blocked(record) }
            } else if case .blocked? = results[record.id] {
                results.removeValue(forKey: record.id)
            }
            if record.state == .waiting { logger.debug("\(TaskLogLine.waiting(record.id, for: record.waitingFor))") }
            if record.state == .claimed { logger.debug("ready \(record.id): it starts when a slot is free") }
        case .liveness(let record, let idle):
            var event = Event(record, at: clock.now())
            event.stalled = record.stalled
            event.idleSeconds = Int(idle)
            monitor.record(event)
            if record.stalled {
                logger.warning("stalled \(record.id): no heartbeat, log output or report for \(Coordinator.describe(idle.rounded()))")
            } else {
                logger.info("\(record.id) is active again")
            }
        case .withdrawn(let id, let queue):
            if queue != .incoming { logger.warning("\(id) was withdrawn: its prompt is no longer in \(queue.rawValue)/") }
            if isInBatch(id) || queue == .incoming { results[id] = .withdrawn(id: id) }
            monitor.markRegistryDirty()
        }
    }

    /// Whether a task belongs to the batch being waited for (asked before its entry goes).
    func isInBatch(_ id: String) -> Bool { tasks[id]?.inBatch ?? false }

    func logFinish(_ record: TaskRecord) {
        let took = { record.startedAt.map { String(format: " in %.1fs", (record.finishedAt?.asDouble ?? 0) - $0.asDouble) } ?? "" }
        if record.state == .done {
            logger.info("done \(record.id)\(took())")
        } else if record.state == .cancelled {
            logger.warning("cancelled \(record.id)\(took())")
        } else if record.state == .timeout {
            logger.warning("timeout \(record.id)\(took()): \(record.message ?? "stopped"): see \(layout.relative(layout.log(record.id)))")
        } else {
            let how = record.ending ?? "no outcome"
            logger.warning("failed \(record.id) (\(how))\(took()): see \(layout.relative(layout.log(record.id)))")
        }
    }
}
