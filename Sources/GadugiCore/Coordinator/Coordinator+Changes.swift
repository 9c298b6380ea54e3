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
            journal(event, record)
        case .started(let record):
            journal(Event(record, at: clock.now()), record)
        case .finished(let record):
            finishedCounts[record.state.queue, default: 0] += 1
            journal(Event(record, at: clock.now()), record)
            if isInBatch(record.id) { results[record.id] = .finished(record) }
            runFinishHook(record)
        case .rejected(let name, let target, let reason):
            finishedCounts[.rejected, default: 0] += 1
            journal(.rejection(name: name, rejected: layout.relative(layout.queue(.rejected, target)),
                                   reason: reason, at: clock.now()), nil)
            if let id = batch[name] { results[id] = .rejected(name: target, reason: reason) }
        case .standing(let record):
            var event = Event(record, at: clock.now())
            if record.state == .waiting { event.waitingFor = record.waitingFor }
            if record.state == .blocked { event.reason = record.blockedReason }
            journal(event, record)
            if record.state == .blocked {
                if isInBatch(record.id) { results[record.id] = .blocked(record) }
            } else if case .blocked? = results[record.id] {
                results.removeValue(forKey: record.id)
            }
        case .liveness(let record, let idle):
            var event = Event(record, at: clock.now())
            event.stalled = record.stalled
            event.idleSeconds = Int(idle.rounded())
            journal(event, record)
        case .withdrawn(let id, let queue):
            if queue != .incoming { logger.warning("\(id) was withdrawn: its prompt is no longer in \(queue.rawValue)/") }
            if isInBatch(id) || queue == .incoming { results[id] = .withdrawn(id: id) }
            monitor.markRegistryDirty()
        }
    }

    /// Whether a task belongs to the batch being waited for (asked before its entry goes).
    func isInBatch(_ id: String) -> Bool { tasks[id]?.inBatch ?? false }

    /// Appends the event and logs its line (`TaskLogLine`: the words a joining `run` uses too).
    func journal(_ event: Event, _ record: TaskRecord?) {
        monitor.record(event)
        let id = event.id ?? event.name ?? "?"
        TaskLogLine.forEvent(event, id: id, record: record, layout: layout)?.log(to: logger)
    }
}
