/// Where a task stands for a verb that waits for it to end (`gadugi logs -f`, `status --wait`).
public enum TaskStanding: Equatable, Sendable {
    /// No task, queued prompt or reservation has this id.
    case unknown
    /// A prompt in `incoming/` under this name, not claimed yet: its id comes with its claim.
    case queued(name: String)
    /// Claimed (free to start, waiting or held) or running.
    case active(TaskRecord)
    /// Done, failed, timed out or cancelled; or blocked, which nothing but a retry of what blocks
    /// it changes, so a waiter stops there too. The record is the task's last.
    case ended(TaskRecord)
    /// Its prompt was rejected at its claim: it never ran.
    case rejected(name: String, reason: String)
    /// Its prompt left `incoming/` without a claim, a rejection or a cancel: its producer took it back.
    case withdrawn(name: String)

    public var hasEnded: Bool {
        switch self {
        case .ended, .rejected, .withdrawn: return true
        case .unknown, .queued, .active: return false
        }
    }

    public var succeeded: Bool {
        if case .ended(let record) = self { return record.state == .done }
        return false
    }

    /// What follows the id in a closing line: `ended failed (exit 3)`, `ended done`,
    /// `is blocked: schema failed`. One line, control characters escaped.
    public var phrase: String {
        let text: String
        switch self {
        case .unknown: text = "is not known"
        case .queued: text = "is queued"
        case .active(let record): text = "is \(record.state.rawValue)"
        case .ended(let record): text = TaskStanding.ending(record)
        case .rejected(_, let reason): text = "was rejected: \(reason)"
        case .withdrawn(let name): text = "was removed from the queue (\(name)) before it was claimed"
        }
        return TerminalText.oneLine(text)
    }

    static func ending(_ record: TaskRecord) -> String {
        let how = ProcessEnding.phrase(exitCode: record.exitCode, signal: record.signal)
        switch record.state {
        case .blocked: return "is blocked: " + (record.blockedReason ?? "a dependency did not succeed")
            + " (it runs once what blocks it is retried)"
        case .done: return "ended done"
        case .failed: return "ended failed" + (how.map { " (\($0))" } ?? " (no outcome recorded)")
        case .timeout, .cancelled:
            return "ended \(record.state.rawValue)" + (how.map { " (\($0))" } ?? "") + (record.message.map { ": " + $0 } ?? "")
        default: return "is \(record.state.rawValue)"
        }
    }
}
