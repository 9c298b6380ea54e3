/// A task's state as the queue directories define it.
public enum TaskState: String, Sendable, CaseIterable {
    case claimed, running, done, failed

    public var queue: Layout.Queue {
        switch self {
        case .claimed: return .claimed
        case .running: return .running
        case .done: return .done
        case .failed: return .failed
        }
    }
}

/// Everything known about one task: the content of its `progress.json`.
public struct TaskRecord: Sendable, Equatable {
    public var id: String
    /// The extension of the prompt file in the queue (`<id>.<ext>`).
    public var ext: String
    public var name: String
    public var state: TaskState
    public var attempts: Int = 0
    public var pid: Int32?
    public var createdAt: Timestamp?
    public var claimedAt: Timestamp?
    public var startedAt: Timestamp?
    public var finishedAt: Timestamp?
    public var exitCode: Int?
    public var signal: Int?
    public var lastHeartbeat: Timestamp?
    public var percent: Double?
    public var message: String?

    public init(id: String, ext: String, name: String, state: TaskState) {
        self.id = id
        self.ext = ext
        self.name = name
        self.state = state
    }

    public var fileName: String { "\(id).\(ext)" }

    public func json(_ layout: Layout) -> JSON {
        .object([
            ("schema_version", .int(1)),
            ("id", .string(id)),
            ("name", .string(name)),
            ("state", .string(state.rawValue)),
            ("attempts", .int(Int64(attempts))),
            ("pid", .optional(pid.map(Int64.init))),
            ("created_at", .optional(createdAt)),
            ("claimed_at", .optional(claimedAt)),
            ("started_at", .optional(startedAt)),
            ("finished_at", .optional(finishedAt)),
            ("exit_code", .optional(exitCode.map(Int64.init))),
            ("signal", .optional(signal.map(Int64.init))),
            ("last_heartbeat", .optional(lastHeartbeat)),
            ("percent", percent.map(JSON.number) ?? .null),
            ("message", .optional(message)),
            ("log", .string(layout.relative(layout.log(id)))),
            ("prompt", .string(layout.relative(layout.queue(state.queue, fileName)))),
        ])
    }

    /// Reads a record back from its JSON; nil when the essentials are missing.
    public init?(json: JSON) {
        guard let id = json["id"]?.string, let stateName = json["state"]?.string,
              let state = TaskState(rawValue: stateName) else { return nil }
        let prompt = json["prompt"]?.string ?? ""
        self.init(id: id, ext: PromptName.extension(of: prompt) ?? "md", name: json["name"]?.string ?? id, state: state)
        attempts = Int(json["attempts"]?.int ?? 0)
        pid = json["pid"]?.int.map { Int32(truncatingIfNeeded: $0) }
        createdAt = json["created_at"]?.string.flatMap(Timestamp.init(iso8601:))
        claimedAt = json["claimed_at"]?.string.flatMap(Timestamp.init(iso8601:))
        startedAt = json["started_at"]?.string.flatMap(Timestamp.init(iso8601:))
        finishedAt = json["finished_at"]?.string.flatMap(Timestamp.init(iso8601:))
        exitCode = json["exit_code"]?.int.map { Int($0) }
        signal = json["signal"]?.int.map { Int($0) }
        lastHeartbeat = json["last_heartbeat"]?.string.flatMap(Timestamp.init(iso8601:))
        percent = json["percent"]?.double
        message = json["message"]?.string
    }

    /// Loads `progress.json` of a task; nil when it is missing or unreadable.
    public static func load(_ layout: Layout, id: String) -> TaskRecord? {
        guard let bytes = try? Files.read(layout.progress(id), limit: 1 << 20),
              let json = JSON.parse(bytes) else { return nil }
        return TaskRecord(json: json)
    }
}

/// What an agent reports about itself in `report.json`.
public struct AgentReport: Sendable, Equatable {
    public var percent: Double?
    public var message: String?

    public init(percent: Double? = nil, message: String? = nil) {
        self.percent = percent
        self.message = message
    }

    public static func load(_ path: String) -> AgentReport? {
        guard let bytes = try? Files.read(path, limit: 1 << 20), let json = JSON.parse(bytes) else { return nil }
        return AgentReport(percent: json["percent"]?.double, message: json["message"]?.string)
    }

    public var json: JSON {
        .object([
            ("schema_version", .int(1)),
            ("percent", percent.map(JSON.number) ?? .null),
            ("message", .optional(message)),
        ])
    }
}
