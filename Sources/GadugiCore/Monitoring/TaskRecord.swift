/// A task's state. The queue folder its prompt is in is the truth; `waiting` and `blocked` are
/// claimed tasks (their prompt is in `claimed/`) that may not start yet, which their record says.
public enum TaskState: String, Sendable, CaseIterable {
    /// Claimed and free to start when a slot frees.
    case claimed
    /// Claimed; waits for dependencies not done yet (or not seen yet), or for a task sharing its
    /// files that goes first.
    case waiting
    /// Claimed; a dependency failed, was rejected or cancelled: it runs only if that is retried.
    case blocked
    case running, done, failed
    /// Stopped because it ran longer than its `timeout` (or stalled with `on_stall: kill`): a
    /// kind of failure, kept apart so that people and scripts can tell the two. Its prompt is in
    /// `failed/`.
    case timeout
    /// Cancelled (`gadugi cancel`) before it started, or stopped while it ran: `cancelled/`.
    case cancelled

    public var queue: Layout.Queue {
        switch self {
        case .claimed, .waiting, .blocked: return .claimed
        case .running: return .running
        case .done: return .done
        case .failed, .timeout: return .failed
        case .cancelled: return .cancelled
        }
    }

    /// Whether the task has ended (its prompt is in `done/`, `failed/` or `cancelled/`, or about to be).
    public var isFinal: Bool { self == .done || self == .failed || self == .timeout || self == .cancelled }
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
    /// The name other tasks depend on: front matter `id:`, else the id made from the file name.
    public var taskName: String?
    /// Names in its `depends_on`, and the ids they resolved to (nil while not seen yet).
    public var dependsOn: [String] = []
    public var dependencies: [String: String] = [:]
    /// Front matter `files`, `priority`, `agent`, `base`, `isolation`, and the keys gadugi does not know.
    public var files: [String] = []
    public var priority = 0
    public var agent: String?
    public var base: String?
    /// Front matter `isolation: none`: no worktree for this task.
    public var isolation: Settings.Isolation?
    public var unknownKeys: [String] = []
    /// The `run FILE...` or `submit` call it came with: names resolve inside it first.
    public var batch: String?
    public var batchSize: Int?
    /// While waiting: what for ("a-2 (running)", "b (not seen yet)"); while blocked: why.
    public var waitingFor: [String] = []
    public var blockedReason: String?
    /// Its git branch, the commit it started from and its last commit; its worktree while kept.
    public var branch: String?
    public var baseCommit: String?
    public var head: String?
    public var worktree: String?
    /// Front matter `stall_after`, `on_stall`, `timeout`, `retries`: this task's own limits
    /// (nil: the configured ones).
    public var stallAfter: Double?
    public var onStall: Settings.OnStall?
    public var timeout: Double?
    public var retries: Int?
    /// While running: none of its heartbeat, log and report has changed for its `stall_after`.
    public var stalled = false
    /// The latest change of its heartbeat, log or report (or its start): what `stalled` is
    /// measured from.
    public var lastActivity: Timestamp?
    /// Waiting for an automatic retry (`retries`): not started before this time.
    public var notBefore: Timestamp?
    /// Front matter `slurm:`: this task's own Slurm resources (nil: the configured ones).
    public var slurm: SlurmStep.Resources?
    /// Where its current (or last) attempt's agent runs; nil before its first start.
    public var executor: Executor?
    /// With `executor: slurm`: the Slurm job id of its step, once Slurm started it (nil while
    /// the job is pending in Slurm's queue).
    public var slurmJobID: Int?

    /// Running, handed to Slurm, and not started there yet: shown as `pending`.
    public var isPendingInSlurm: Bool { state == .running && executor == .slurm && slurmJobID == nil }

    public init(id: String, ext: String, name: String, state: TaskState) {
        self.id = id
        self.ext = ext
        self.name = name
        self.state = state
    }

    public var fileName: String { "\(id).\(ext)" }

    /// `exit 3` or `killed by SIGKILL`: how its process ended, nil when that is not known. The
    /// one wording of it (`ProcessEnding`), in the log, the summary, status and review alike.
    public var ending: String? { ProcessEnding.phrase(exitCode: exitCode, signal: signal) }

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
            ("task_name", .optional(taskName)),
            ("depends_on", .array(dependsOn.map { name in
                .object([("name", .string(name)), ("resolved", .optional(dependencies[name]))])
            })),
            ("files", .array(files.map(JSON.string))),
            ("priority", .int(Int64(priority))),
            ("agent", .optional(agent)),
            ("base", .optional(base)),
            ("isolation", .optional(isolation?.rawValue)),
            ("unknown_keys", .array(unknownKeys.map(JSON.string))),
            ("batch", .optional(batch)),
            ("batch_size", .optional(batchSize.map(Int64.init))),
            ("waiting_for", .array(waitingFor.map(JSON.string))),
            ("blocked_reason", .optional(blockedReason)),
            ("branch", .optional(branch)),
            ("base_commit", .optional(baseCommit)),
            ("head", .optional(head)),
            ("worktree", .optional(worktree)),
            ("stall_after", stallAfter.map(JSON.number) ?? .null),
            ("on_stall", .optional(onStall?.rawValue)),
            ("timeout", timeout.map(JSON.number) ?? .null),
            ("retries", .optional(retries.map(Int64.init))),
            ("stalled", .bool(stalled)),
            ("last_activity", .optional(lastActivity)),
            ("not_before", .optional(notBefore)),
            ("slurm", slurm?.json ?? .null),
            ("executor", .optional(executor?.rawValue)),
            ("slurm_job_id", .optional(slurmJobID.map(Int64.init))),
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
        taskName = json["task_name"]?.string
        for item in json["depends_on"]?.array ?? [] {
            guard let name = item["name"]?.string else { continue }
            dependsOn.append(name)
            if let resolved = item["resolved"]?.string { dependencies[name] = resolved }
        }
        files = (json["files"]?.array ?? []).compactMap(\.string)
        priority = Int(json["priority"]?.int ?? 0)
        agent = json["agent"]?.string
        base = json["base"]?.string
        isolation = json["isolation"]?.string.flatMap(Settings.Isolation.init(rawValue:))
        unknownKeys = (json["unknown_keys"]?.array ?? []).compactMap(\.string)
        batch = json["batch"]?.string
        batchSize = json["batch_size"]?.int.map { Int($0) }
        waitingFor = (json["waiting_for"]?.array ?? []).compactMap(\.string)
        blockedReason = json["blocked_reason"]?.string
        branch = json["branch"]?.string
        baseCommit = json["base_commit"]?.string
        head = json["head"]?.string
        worktree = json["worktree"]?.string
        stallAfter = json["stall_after"]?.double
        onStall = json["on_stall"]?.string.flatMap(Settings.OnStall.init(rawValue:))
        timeout = json["timeout"]?.double
        retries = json["retries"]?.int.map { Int($0) }
        if case .bool(let b)? = json["stalled"] { stalled = b }
        lastActivity = json["last_activity"]?.string.flatMap(Timestamp.init(iso8601:))
        notBefore = json["not_before"]?.string.flatMap(Timestamp.init(iso8601:))
        slurm = SlurmStep.Resources(json: json["slurm"])
        executor = json["executor"]?.string.flatMap(Executor.init(rawValue:))
        slurmJobID = json["slurm_job_id"]?.int.map { Int($0) }
    }

    /// Writes `progress.json` (atomically).
    public func save(_ layout: Layout) throws(SystemError) {
        try Files.writeAtomically(layout.progress(id), json(layout).bytes(pretty: true) + [0x0A])
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
