/// Where everything lives under a root: the one place that spells the paths of spool-layout.md.
public struct Layout: Sendable {
    public enum Queue: String, CaseIterable, Sendable {
        case tmp, incoming, claimed, running, done, failed, rejected, cancelled
    }

    public let root: String

    public init(root: String) {
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
    }

    public var base: String { root + "/.gadugi" }
    public var config: String { base + "/config.yaml" }
    public var coordinatorLock: String { base + "/coordinator.lock" }
    public var monitoring: String { base + "/monitoring" }
    /// Task folders made ahead of time (see `SparePool`).
    public var spare: String { base + "/spare" }
    public var registry: String { monitoring + "/registry.json" }
    public var events: String { monitoring + "/events.jsonl" }
    /// The previous `events.jsonl`, once it reached `events_max` (see `Monitor`).
    public var rotatedEvents: String { monitoring + "/events.1.jsonl" }
    /// One line per finished task, `<task name> <id> done|failed`: what a name in `depends_on`
    /// resolves to across coordinator restarts.
    public var names: String { monitoring + "/names.log" }
    public var heartbeats: String { monitoring + "/heartbeats" }
    public var tasks: String { monitoring + "/tasks" }
    /// Requests to the coordinator (`cancel.<id>`, `retry.<id>`) and the queue's hold (`hold`):
    /// files anyone may create, see spool-layout.md ("Control").
    public var control: String { base + "/control" }
    public func control(_ name: String) -> String { control + "/" + name }

    public func queue(_ q: Queue) -> String { base + "/queue/" + q.rawValue }
    public func queue(_ q: Queue, _ name: String) -> String { queue(q) + "/" + name }

    public func taskDirectory(_ id: String) -> String { tasks + "/" + id }
    public func progress(_ id: String) -> String { taskDirectory(id) + "/progress.json" }
    public func report(_ id: String) -> String { taskDirectory(id) + "/report.json" }
    public func log(_ id: String) -> String { taskDirectory(id) + "/output.log" }
    public func outcome(_ id: String) -> String { taskDirectory(id) + "/outcome" }
    public func submitted(_ id: String) -> String { taskDirectory(id) + "/submitted" }
    public func heartbeat(_ id: String) -> String { heartbeats + "/" + id }

    /// `path` relative to the root, for the JSON files (they stay valid if the tree moves).
    public func relative(_ path: String) -> String {
        path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path
    }

    /// Creates every directory of the layout; safe to repeat.
    public func create() throws(SystemError) {
        for q in Queue.allCases { try Files.makeDirectories(queue(q)) }
        try Files.makeDirectories(heartbeats)
        try Files.makeDirectories(tasks)
        try Files.makeDirectories(spare)
        try Files.makeDirectories(control)
    }

    public var exists: Bool { Files.exists(queue(.incoming)) }
}
