import Logging

/// A line of the coordinator's log about one task, rebuilt from what it left on disk: its
/// `events.jsonl` line and the task's `progress.json`. A process that follows a coordinator it
/// does not own (`gadugi run FILE...` joining one) prints these, so that its output reads like
/// the coordinator's own log for those tasks: the same level and the same words for a start, a
/// finish, a block, a rejection, a stall. (`RunJoinTests` compares the two.)
public struct TaskLogLine: Equatable, Sendable {
    public var level: Logger.Level
    public var message: String

    public init(_ level: Logger.Level, _ message: String) {
        self.level = level
        self.message = message
    }

    /// The line for one `events.jsonl` line about task `id` (nil for a line the coordinator logs
    /// nothing for). `record` is the task's `progress.json` as it is now, for what the event
    /// does not carry (the times and exit of a finish, the attempt of a retry). The coordinator
    /// logs its own changes through this too, so the two cannot word a change differently.
    public static func forEvent(_ event: Event, id: String, record: TaskRecord?, layout: Layout) -> TaskLogLine? {
        if event.retry { return TaskLogLine(.info, "retrying \(id) (attempt \((record?.attempts ?? 0) + 1))") }
        switch event.state {
        case "claimed" where event.from != nil:
            return TaskLogLine(.debug, "claimed \(id) from \(event.from ?? "?")")
        case "running":
            if let stalled = event.stalled {
                guard stalled else { return TaskLogLine(.info, "\(id) is active again") }
                let idle = Double(event.idleSeconds ?? 0)
                return TaskLogLine(.warning, "stalled \(id): no heartbeat, log output or report for \(Coordinator.describe(idle))")
            }
            return TaskLogLine(.info, "started \(id) (pid \(event.pid.map(String.init) ?? "?"))")
        case "done", "failed", "timeout", "cancelled":
            var final = record ?? TaskRecord(id: id, ext: "md", name: id, state: .failed)
            if final.state.rawValue != event.state, let s = TaskState(rawValue: event.state) { final.state = s }
            return finished(final, layout: layout)
        case "blocked":
            return blocked(id, reason: event.reason)
        case "waiting" where event.notBefore != nil:
            return TaskLogLine(.warning, "\(id): automatic retry, \(record?.waitingFor.first ?? "at \(event.notBefore?.iso8601 ?? "?")")")
        case "waiting":
            return TaskLogLine(.debug, waiting(id, for: event.waitingFor ?? []))
        case "claimed":
            return TaskLogLine(.debug, "ready \(id): it starts when a slot is free")
        case "rejected":
            return rejected(event.name ?? id, reason: event.reason ?? "see .gadugi/queue/rejected/")
        default:
            return nil
        }
    }

    /// How the coordinator logs a finished task: `done a in 1.2s`, `failed b (exit 3) in 0.4s: see …`.
    public static func finished(_ record: TaskRecord, layout: Layout) -> TaskLogLine {
        let took = record.startedAt.map { String(format: " in %.1fs", (record.finishedAt?.asDouble ?? 0) - $0.asDouble) } ?? ""
        let log = layout.relative(layout.log(record.id))
        switch record.state {
        case .done: return TaskLogLine(.info, "done \(record.id)\(took)")
        case .cancelled: return TaskLogLine(.warning, "cancelled \(record.id)\(took)")
        case .timeout: return TaskLogLine(.warning, "timeout \(record.id)\(took): \(record.message ?? "stopped"): see \(log)")
        default: return TaskLogLine(.warning, "failed \(record.id) (\(record.ending ?? "no outcome"))\(took): see \(log)")
        }
    }

    public static func blocked(_ id: String, reason: String?) -> TaskLogLine {
        TaskLogLine(.warning, "blocked \(id): \(reason ?? "a dependency did not succeed")")
    }

    public static func rejected(_ name: String, reason: String) -> TaskLogLine {
        TaskLogLine(.warning, "rejected \(name): \(reason)")
    }

    /// A claimed task's standing, at debug level (`gadugi run --verbose`).
    public static func waiting(_ id: String, for what: [String]) -> String {
        "waiting \(id) for " + (what.isEmpty ? "its turn" : what.joined(separator: ", "))
    }

    /// An agent's progress report, as the coordinator logs it when it changes.
    public static func progress(_ record: TaskRecord) -> TaskLogLine {
        let percent = record.percent.map { "\(Int($0))%" } ?? "-"
        return TaskLogLine(.info, "progress \(record.id) \(percent): \(record.message ?? "")")
    }

    /// Logs the line.
    public func log(to logger: Logger) {
        logger.log(level: level, "\(message)")
    }
}
