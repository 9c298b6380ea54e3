/// `monitoring/tasks/<id>/worktree.json`: where a task's worktree is and what it started from and
/// ended at, for people, scripts and the coordinator (a dependant starts from `branch`). Written
/// by the task's own process, atomically, before and after each git step, so after a crash it
/// still names the branch that step made.
public struct WorktreeRecord: Sendable, Equatable {
    /// The worktree, relative to the root.
    public var path: String
    /// The branch actually made (`gadugi/<id>`, or with a suffix when that name was taken).
    public var branch: String
    /// The base as given (a commit, branch or tag).
    public var base: String
    /// The commit `base` named when the worktree was made.
    public var baseCommit: String
    /// The branch's commit after the task's leftovers were committed; nil until then.
    public var head: String?
    /// True while the worktree directory is on disk: from its creation until it is removed (after
    /// a success, or by `gadugi clean`).
    public var kept: Bool

    public init(path: String, branch: String, base: String, baseCommit: String, head: String? = nil, kept: Bool) {
        self.path = path
        self.branch = branch
        self.base = base
        self.baseCommit = baseCommit
        self.head = head
        self.kept = kept
    }

    public var json: JSON {
        .object([
            ("schema_version", .int(1)), ("path", .string(path)), ("branch", .string(branch)),
            ("base", .string(base)), ("base_commit", .string(baseCommit)), ("head", .optional(head)),
            ("kept", .bool(kept)),
        ])
    }

    public init?(json: JSON) {
        guard let path = json["path"]?.string, let branch = json["branch"]?.string,
              let base = json["base"]?.string, let baseCommit = json["base_commit"]?.string,
              case .bool(let kept)? = json["kept"] else { return nil }
        self.init(path: path, branch: branch, base: base, baseCommit: baseCommit, head: json["head"]?.string, kept: kept)
    }

    /// The task's record; nil when it has none (no worktree was prepared) or it is unreadable.
    public static func load(_ layout: Layout, id: String) -> WorktreeRecord? {
        guard let bytes = try? Files.read(layout.worktreeRecord(id), limit: 1 << 20),
              let json = JSON.parse(bytes) else { return nil }
        return WorktreeRecord(json: json)
    }

    public func save(_ layout: Layout, id: String) throws(SystemError) {
        try Files.writeAtomically(layout.worktreeRecord(id), json.bytes(pretty: true) + [0x0A])
    }
}

extension WorktreeRecord {
    /// The task's record brought up to date with the disk after its process ended, without
    /// running git (the coordinator calls it), and saved when that changed it. The wrapper's
    /// fast path makes a plain worktree with one `git worktree add` and removes a clean one with
    /// one `git worktree remove`, writing no record: `plain` stands for it when there is none and
    /// its branch exists; `kept` follows the directory, and `head` is read from the branch.
    public static func settled(_ layout: Layout, id: String, topLevel: String,
                               plain: () -> WorktreeRecord?) -> WorktreeRecord? {
        let saved = load(layout, id: id)
        guard var record = saved ?? plain() else { return nil }
        let tip = Git.commit(ofBranch: record.branch, topLevel: topLevel)
        if saved == nil && tip == nil { return nil }
        let path = record.path.hasPrefix("/") ? record.path : layout.root + "/" + record.path
        record.kept = Files.exists(path + "/.git")
        if !record.kept || record.head == nil { record.head = tip ?? record.head }
        if record != saved { try? record.save(layout, id: id) }
        return record
    }
}

extension Layout {
    /// Where task `<id>`'s worktree goes: `.gadugi/worktrees/<id>`.
    public func worktree(_ id: String) -> String { base + "/worktrees/" + id }
    /// The task's `worktree.json`.
    public func worktreeRecord(_ id: String) -> String { taskDirectory(id) + "/worktree.json" }
    /// Written by `worktree-prepare` when merging the dependencies' work conflicts: one line, why.
    public func blocked(_ id: String) -> String { taskDirectory(id) + "/blocked" }
    /// Written by the task's process when `worktree_setup` failed: its exit status.
    public func setupFailed(_ id: String) -> String { taskDirectory(id) + "/setup-failed" }
    /// Serialises git's administrative commands (`worktree add/remove/prune`) across processes.
    public var gitLock: String { base + "/git.lock" }
}
