import Foundation

/// Cancelling and retrying a task by moving its files: the same steps whether the coordinator
/// takes them (for a task not in its memory) or a verb does (holding the coordinator's lock, when
/// none runs). Each is one `Spool` transition plus the record that goes with it.
public struct TaskControl: Sendable {
    public let layout: Layout
    let spool: Spool

    public init(layout: Layout) {
        self.layout = layout
        self.spool = Spool(layout: layout)
    }

    /// Where a task is, by id: its prompt's folder and its record.
    public enum Place: Sendable {
        /// In `incoming/` under this name, not claimed yet (no id of its own yet).
        case queued(name: String)
        case claimed(TaskRecord)
        case running(TaskRecord)
        /// In `done/`, `failed/` or `cancelled/`.
        case finished(TaskRecord, Layout.Queue)
        case unknown
    }

    public func locate(_ id: String) -> Place {
        for queue in [Layout.Queue.claimed, .running, .failed, .cancelled, .done] {
            guard let name = promptName(id, in: queue) else { continue }
            var record = TaskRecord.load(layout, id: id)
                ?? TaskRecord(id: id, ext: PromptName.extension(of: name) ?? "md", name: name, state: .claimed)
            record.ext = PromptName.extension(of: name) ?? record.ext
            switch queue {
            case .claimed: return .claimed(record)
            case .running: return .running(record)
            default: return .finished(record, queue)
            }
        }
        if let name = promptName(id, in: .incoming) { return .queued(name: name) }
        return .unknown
    }

    /// The ids (for `incoming/`, the file names' stems) of the tasks in `queue`, optionally only
    /// those whose record is in one of `states`: what `--all`, `--state` and `--failed` select.
    public func ids(in queue: Layout.Queue, states: Set<TaskState>? = nil) -> [String] {
        let names = ((try? Files.list(layout.queue(queue))) ?? []).filter { PromptName.isCandidate($0) }.sorted()
        let ids = names.map(PromptName.stem(of:))
        guard let states else { return ids }
        return ids.filter { id in states.contains(TaskRecord.load(layout, id: id)?.state ?? .claimed) }
    }

    /// The line that separates two attempts in the task's log.
    public func noteRetry(_ record: TaskRecord, now: Timestamp, next: Int, automatic: Bool = false) {
        let ended = record.ending ?? record.state.rawValue
        let line = "\n---- gadugi: \(automatic ? "automatic retry" : "retry") at \(now.iso8601): attempt \(next) follows attempt \(record.attempts), which ended \(record.state.rawValue) (\(ended)) ----\n"
        try? Files.append(layout.log(record.id), Array(line.utf8))
    }

    /// `<id>.<ext>` in `queue`, for any prompt extension.
    func promptName(_ id: String, in queue: Layout.Queue) -> String? {
        PromptName.extensions.lazy.map { id + "." + $0 }.first { Files.exists(layout.queue(queue, $0)) }
    }

    /// A claimed task → `cancelled/`: its final record first, then the rename.
    public func cancelClaimed(_ record: TaskRecord, now: Timestamp, why: String) throws(SystemError) -> TaskRecord {
        var cancelled = record
        cancelled.state = .cancelled
        cancelled.finishedAt = now
        cancelled.message = why
        cancelled.waitingFor = []
        try cancelled.save(layout)
        // Its name now resolves to a task that did not succeed: its dependants are blocked.
        _ = NamesJournal(path: layout.names).append(name: record.taskName ?? record.id, id: record.id, succeeded: false)
        try spool.cancel(cancelled)
        return cancelled
    }

    /// A prompt still in `incoming/` → claimed (its id, its record) → `cancelled/`: so that its
    /// name resolves to a task that did not succeed, and the dependants that wait for it are
    /// blocked instead of waiting for ever. nil when the file is not there to claim; rejected
    /// files go to `rejected/` as any claim would send them.
    public func cancelQueued(_ name: String, suffixes: inout [String: Int], now: Timestamp) throws(SystemError) -> Spool.Intake {
        let intake = try spool.claim(name, suffixes: &suffixes, now: now)
        guard case .claimed(let record) = intake else { return intake }
        return .claimed(try cancelClaimed(record, now: now, why: "cancelled before it started (gadugi cancel)"))
    }

    /// A failed, timed-out or cancelled task → `claimed/`, to run again under its id: the
    /// previous outcome goes (its line stays in the log, which the next attempt continues), the
    /// attempt count stays unless `reset`.
    public func retry(_ record: TaskRecord, from queue: Layout.Queue, reset: Bool, now: Timestamp) throws(SystemError) -> TaskRecord {
        try spool.retry(record, from: queue)
        var again = record
        noteRetry(record, now: now, next: reset ? 1 : record.attempts + 1)
        again.state = .claimed
        if reset { again.attempts = 0 }
        again.exitCode = nil
        again.signal = nil
        again.finishedAt = nil
        again.startedAt = nil
        again.pid = nil
        again.message = nil
        again.percent = nil
        again.stalled = false
        again.claimedAt = now
        for file in layout.attemptFiles(record.id) { try? Files.remove(file) }
        try? again.save(layout)
        return again
    }
}
