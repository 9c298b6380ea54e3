/// A task that has ended, as `gadugi review` and `gadugi merge` see it: where its work is (the
/// branch and the commit it started from, from `worktree.json`, else `progress.json`) and what
/// orders it (its dependencies, its finish time). Read from the files alone; git is asked later.
public struct FinishedTask: Sendable, Equatable {
    public var id: String
    /// The display name (front matter `name:`, else the prompt's file name).
    public var name: String
    /// `done`, `failed`, `timeout` or `cancelled`: taken from the queue folder holding its prompt
    /// (the truth), refined by its record (a timeout is a kind of failure in `failed/`).
    public var state: TaskState
    /// `exit 2` or `signal 9` for a task that did not succeed; nil when not known.
    public var ending: String?
    public var finishedAt: Timestamp?
    /// The ids its `depends_on` resolved to (a name never resolved stays as written).
    public var dependencies: [String]
    /// The branch it worked on; nil when it ran without a worktree (`isolation: none`).
    public var branch: String?
    /// The commit its worktree started from; nil when not recorded.
    public var baseCommit: String?

    public init(id: String, name: String, state: TaskState, ending: String? = nil, finishedAt: Timestamp? = nil,
                dependencies: [String] = [], branch: String? = nil, baseCommit: String? = nil) {
        self.id = id
        self.name = name
        self.state = state
        self.ending = ending
        self.finishedAt = finishedAt
        self.dependencies = dependencies
        self.branch = branch
        self.baseCommit = baseCommit
    }

    /// `done`, or `failed (exit 2)`: how it ended, for people.
    public var outcome: String {
        guard state != .done, let ending else { return state.rawValue }
        return "\(state.rawValue) (\(ending))"
    }

    /// The queue folders of finished tasks.
    static let queues: [Layout.Queue] = [.done, .failed, .cancelled]

    /// Every finished task of the spool, sorted by id.
    public static func all(in layout: Layout) -> [FinishedTask] {
        queues.flatMap { queue in
            ((try? Files.list(layout.queue(queue))) ?? [])
                .filter { !$0.hasPrefix(".") && PromptName.extension(of: $0) != nil }
                .map { load(layout, id: PromptName.stem(of: $0), queue: queue, prompt: $0) }
        }.sorted { $0.id < $1.id }
    }

    /// The task from its prompt in `queue` and its records.
    static func load(_ layout: Layout, id: String, queue: Layout.Queue, prompt: String) -> FinishedTask {
        let record = TaskRecord.load(layout, id: id)
        var state: TaskState = queue == .done ? .done : queue == .cancelled ? .cancelled : .failed
        if queue == .failed, record?.state == .timeout { state = .timeout }
        let worktree = WorktreeRecord.load(layout, id: id)
        let finished = record?.finishedAt ?? (try? Files.linkStatus(layout.queue(queue, prompt)))??.changed
        let dependencies = (record?.dependsOn ?? []).map { record?.dependencies[$0] ?? $0 }
        return FinishedTask(id: id, name: record?.name ?? id, state: state, ending: record?.ending, finishedAt: finished,
                            dependencies: dependencies, branch: worktree?.branch ?? record?.branch,
                            baseCommit: worktree?.baseCommit ?? record?.baseCommit)
    }

    /// The finished tasks named by `ids`, in that order (duplicates once). Throws, before anything
    /// is done, when one is unknown or has not finished, saying which and why.
    public static func named(_ ids: [String], in layout: Layout) throws(ReviewFailure) -> [FinishedTask] {
        let finished = Dictionary(all(in: layout).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var result: [FinishedTask] = []
        var problems: [ReviewFailure.Problem] = []
        for id in ids where !result.contains(where: { $0.id == id }) {
            if let task = finished[id] {
                result.append(task)
            } else if let record = TaskRecord.load(layout, id: id) {
                problems.append(.init(id: id, reason: "not finished yet (\(record.state.rawValue))"))
            } else {
                problems.append(.init(id: id, reason: "no such task"))
            }
        }
        if !problems.isEmpty { throw .notFinished(problems) }
        return result
    }
}
