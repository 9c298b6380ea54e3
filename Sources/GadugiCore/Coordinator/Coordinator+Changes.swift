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
            monitor.event(record, extra: [("from", .string(name))])
        case .started(let record):
            monitor.event(record)
            logger.info("started \(record.id) (pid \(record.pid.map(String.init) ?? "?"))")
        case .finished(let record):
            finishedCounts[record.state.queue, default: 0] += 1
            monitor.event(record)
            if isInBatch(record.id) { results[record.id] = .finished(record) }
            logFinish(record)
            runFinishHook(record)
        case .rejected(let name, let target, let reason):
            finishedCounts[.rejected, default: 0] += 1
            monitor.appendEvent(.object([
                ("schema_version", .int(1)), ("at", .string(clock.now().iso8601)),
                ("name", .string(name)), ("state", .string("rejected")),
                ("rejected", .string(layout.relative(layout.queue(.rejected, target)))),
                ("reason", .string(reason)),
            ]))
            monitor.markRegistryDirty()
            logger.warning("rejected \(name): \(reason)")
            if let id = batch[name] { results[id] = .rejected(name: target, reason: reason) }
        case .standing(let record):
            var extra: [(String, JSON)] = []
            if record.state == .waiting { extra.append(("waiting_for", .array(record.waitingFor.map(JSON.string)))) }
            if let reason = record.blockedReason, record.state == .blocked { extra.append(("reason", .string(reason))) }
            monitor.event(record, extra: extra)
            if record.state == .blocked {
                logger.warning("blocked \(record.id): \(record.blockedReason ?? "a dependency did not succeed")")
                if isInBatch(record.id) { results[record.id] = .blocked(record) }
            } else if case .blocked? = results[record.id] {
                results.removeValue(forKey: record.id)
            }
            if record.state == .waiting { logger.debug("\(TaskLogLine.waiting(record.id, for: record.waitingFor))") }
            if record.state == .claimed { logger.debug("ready \(record.id): it starts when a slot is free") }
        case .liveness(let record, let idle):
            monitor.event(record, extra: [("stalled", .bool(record.stalled)), ("idle_seconds", .int(Int64(idle)))])
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
        } else if record.state == .timeout {
            logger.warning("timeout \(record.id)\(took()): \(record.message ?? "stopped"): see \(layout.relative(layout.log(record.id)))")
        } else {
            let how = record.ending ?? "no outcome"
            logger.warning("failed \(record.id) (\(how))\(took()): see \(layout.relative(layout.log(record.id)))")
        }
    }
}
