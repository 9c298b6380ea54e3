/// `registry.json` (docs/schemas/registry.schema.json): the coordinator, counts per state and the
/// claimed and running tasks. Defined here once: the coordinator writes it, `gadugi status`
/// reads its coordinator back.
public struct Registry: Sendable, Equatable {
    /// The coordinator that runs (nil once it has stopped).
    public struct Coordinator: Sendable, Equatable {
        public var pid: Int32
        public var host: String
        public var startedAt: Timestamp

        public init(pid: Int32, host: String, startedAt: Timestamp) {
            self.pid = pid
            self.host = host
            self.startedAt = startedAt
        }

        public var json: JSON {
            .object([("pid", .int(Int64(pid))), ("host", .string(host)), ("started_at", .string(startedAt.iso8601))])
        }

        public init?(json: JSON) {
            guard let pid = json["pid"]?.int, let host = json["host"]?.string,
                  let started = json["started_at"]?.string.flatMap(Timestamp.init(iso8601:)) else { return nil }
            self.init(pid: Int32(truncatingIfNeeded: pid), host: host, startedAt: started)
        }
    }

    /// Tasks per state, in the order the files list them. `running` is the tasks holding a slot;
    /// `failed` includes timeouts.
    public struct Counts: Sendable, Equatable {
        public static let names = ["queued", "claimed", "waiting", "blocked", "running", "done", "failed", "rejected", "cancelled"]
        public var values: [String: Int]

        public init(_ values: [String: Int]) { self.values = values }

        public subscript(name: String) -> Int { values[name] ?? 0 }

        /// Every count, in order, as `gadugi status` shows them.
        public var pairs: [(String, Int)] { Counts.names.map { ($0, self[$0]) } }

        public var json: JSON { .object(pairs.map { ($0.0, .int(Int64($0.1))) }) }
    }

    /// One claimed or running task.
    public struct Row: Sendable, Equatable {
        public var id: String
        public var state: TaskState
        public var pid: Int32?
        public var startedAt: Timestamp?
        public var stalled: Bool

        public init(_ record: TaskRecord) {
            id = record.id
            state = record.state
            pid = record.pid
            startedAt = record.startedAt
            stalled = record.stalled
        }

        public var json: JSON {
            .object([
                ("id", .string(id)), ("state", .string(state.rawValue)),
                ("pid", .optional(pid.map(Int64.init))), ("started_at", .optional(startedAt)),
                ("stalled", .bool(stalled)),
            ])
        }
    }

    public var updatedAt: Timestamp
    public var coordinator: Coordinator?
    public var counts: Counts
    public var tasks: [Row]

    public init(updatedAt: Timestamp, coordinator: Coordinator?, counts: Counts, tasks: [Row]) {
        self.updatedAt = updatedAt
        self.coordinator = coordinator
        self.counts = counts
        self.tasks = tasks
    }

    public var json: JSON {
        .object([
            ("schema_version", .int(1)),
            ("updated_at", .string(updatedAt.iso8601)),
            ("coordinator", coordinator?.json ?? .null),
            ("counts", counts.json),
            ("tasks", .array(tasks.map(\.json))),
        ])
    }

    /// The coordinator named in a spool's `registry.json`; nil when none is, or the file is
    /// missing or unreadable.
    public static func coordinator(in layout: Layout) -> Coordinator? {
        guard let bytes = try? Files.read(layout.registry, limit: 16 << 20), let json = JSON.parse(bytes),
              let c = json["coordinator"] else { return nil }
        return Coordinator(json: c)
    }
}
