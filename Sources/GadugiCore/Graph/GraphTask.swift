/// One task as the dependency graph sees it: what it is called, what it needs, which files it
/// touches, and where it stands. Everything else about a task (its prompt, its process) lives
/// elsewhere, so the graph stays a pure value that `gadugi plan` and the scheduler can share.
public struct GraphTask: Sendable, Equatable {
    /// Where a task stands, from the graph's point of view. Only `waiting` tasks are scheduled;
    /// the others matter as dependencies (and `running` ones as holders of their files).
    public enum State: String, Sendable, Equatable, CaseIterable {
        case waiting, running, done, failed, cancelled, rejected

        /// Waiting or running: the task may still produce something and may still hold files.
        var isActive: Bool { self == .waiting || self == .running }
    }

    /// The spool's task id (`b-2`): unique forever.
    public var id: String
    /// The name other tasks depend on (`b`): front matter `id:`, else the id made from the file name.
    public var name: String
    /// Names of the tasks this one needs done first.
    public var dependsOn: [String]
    /// File patterns the task may change; opaque here, compared by the graph's `overlap` function.
    public var files: [String]
    /// Higher runs first among ready tasks that do not share files.
    public var priority: Int
    /// Order of arrival, unique; decides who goes first among tasks sharing files.
    public var arrival: Int
    /// The `run FILE...` or `submit` call the task came with, if any: names resolve inside it first.
    public var batch: String?
    public var state: State

    public init(id: String, name: String? = nil, dependsOn: [String] = [], files: [String] = [],
                priority: Int = 0, arrival: Int, batch: String? = nil, state: State = .waiting) {
        self.id = id
        self.name = name ?? id
        self.dependsOn = dependsOn
        self.files = files
        self.priority = priority
        self.arrival = arrival
        self.batch = batch
        self.state = state
    }
}
