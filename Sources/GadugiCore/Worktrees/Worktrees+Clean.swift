import Glibc

extension Worktrees {
    /// What `gadugi clean` should clear.
    public struct CleanOptions: Sendable, Equatable {
        /// Also remove the worktrees of failed tasks (kept for inspection otherwise).
        public var failed: Bool
        /// Only tasks that finished at least this many seconds ago.
        public var olderThan: Double?
        /// Delete `gadugi/*` branches already merged into this revision (`git branch -d`).
        public var branchesMergedInto: String?
        /// Say what would be done, do nothing.
        public var dryRun: Bool
        public var now: Timestamp

        public init(failed: Bool = false, olderThan: Double? = nil, branchesMergedInto: String? = nil,
                    dryRun: Bool = false, now: Timestamp = .now()) {
            self.failed = failed
            self.olderThan = olderThan
            self.branchesMergedInto = branchesMergedInto
            self.dryRun = dryRun
            self.now = now
        }
    }

    /// What `clean` did (or, dry, would do).
    public struct CleanReport: Sendable, Equatable {
        public struct Item: Sendable, Equatable {
            /// A task id, or a branch name.
            public var name: String
            /// Why it was left alone; nil for what was cleared.
            public var reason: String?
        }

        /// Worktrees removed, by task id.
        public var removed: [Item] = []
        /// Worktrees left, by task id, with the reason.
        public var kept: [Item] = []
        public var deletedBranches: [Item] = []
        public var keptBranches: [Item] = []
        public var dryRun = false

        public var json: JSON {
            func list(_ items: [Item]) -> JSON {
                .array(items.map { .object([("name", .string($0.name)), ("reason", .optional($0.reason))]) })
            }
            return .object([
                ("schema_version", .int(1)), ("dry_run", .bool(dryRun)),
                ("removed", list(removed)), ("kept", list(kept)),
                ("deleted_branches", list(deletedBranches)), ("kept_branches", list(keptBranches)),
            ])
        }
    }

    /// Removes the kept worktrees of finished tasks (failed ones only with `failed`), prunes
    /// git's records of worktrees whose directories are gone, and optionally deletes `gadugi/*`
    /// branches merged into a base. A task whose folder is locked is running: its worktree is
    /// never touched, and nor is one whose lock cannot be read.
    public func clean(_ options: CleanOptions) throws(Failure) -> CleanReport {
        var report = CleanReport(dryRun: options.dryRun)
        let finished = finishedTasks()
        for id in tasksWithWorktrees() {
            guard var record = WorktreeRecord.load(layout, id: id), record.kept else { continue }
            if let reason = reasonToKeep(id, finished[id], options) {
                report.kept.append(.init(name: id, reason: reason))
                continue
            }
            if !options.dryRun {
                let path = absolute(record.path)
                try locked { () throws(Failure) in try removeForClean(path) }
                record.kept = false
                try save(record, id: id)
            }
            report.removed.append(.init(name: id, reason: nil))
        }
        if !options.dryRun { _ = try locked { () throws(Failure) in try git(["worktree", "prune"]) } }
        if let base = options.branchesMergedInto { try deleteMergedBranches(into: base, options, &report) }
        return report
    }

    /// Why a finished-or-not task's worktree stays; nil when it may go.
    private func reasonToKeep(_ id: String, _ finished: (failed: Bool, at: Timestamp)?, _ options: CleanOptions) -> String? {
        switch TaskLock.state(of: layout.taskDirectory(id)) {
        case .held: return "running (its task folder is locked)"
        case .unknown: return "its task folder's lock cannot be read"
        case .free: break
        }
        guard let finished else { return "not finished (claimed or running)" }
        if finished.failed && !options.failed { return "failed; kept for inspection (pass --failed to remove)" }
        if let age = options.olderThan, options.now.asDouble - finished.at.asDouble < age {
            return "finished less than \(Int(age)) s ago"
        }
        return nil
    }

    private func removeForClean(_ path: String) throws(Failure) {
        guard Files.exists(path) else { return }
        if git.run(["worktree", "remove", "--force", path]).succeeded { return }
        _ = git.run(["worktree", "prune"])
        let second = git.run(["worktree", "remove", "--force", path])
        if second.succeeded || !Files.exists(path) { return }
        throw .git(Git.Failure(output: second, directory: topLevel),
                   advice: "remove \(layout.relative(path)) by hand, then run 'git worktree prune'")
    }

    /// `gadugi/*` branches merged into `base`, except those checked out in a worktree, deleted
    /// with `git branch -d` (which refuses what is not merged into HEAD: such a branch is kept
    /// with git's reason).
    private func deleteMergedBranches(into base: String, _ options: CleanOptions,
                                      _ report: inout CleanReport) throws(Failure) {
        _ = try commit(base)
        let merged = try git(["for-each-ref", "--merged", base, "--format=%(refname)", "refs/heads/gadugi/"]).lines
            .map { String($0.dropFirst("refs/heads/".count)) }
        let checkedOut = Set(try worktreeList().compactMap(\.branch))
        for branch in merged {
            if checkedOut.contains(branch) {
                report.keptBranches.append(.init(name: branch, reason: "checked out in a worktree"))
                continue
            }
            if options.dryRun {
                report.deletedBranches.append(.init(name: branch, reason: nil))
                continue
            }
            let result = try locked { () throws(Failure) in git.run(["branch", "-d", branch]) }
            if result.succeeded {
                report.deletedBranches.append(.init(name: branch, reason: nil))
            } else {
                report.keptBranches.append(.init(name: branch, reason: result.firstErrorLine))
            }
        }
    }

    /// Task ids with a `worktree.json`.
    private func tasksWithWorktrees() -> [String] {
        Worktrees.names(in: layout.tasks).filter { Files.exists(layout.worktreeRecord($0)) }
    }

    /// Finished tasks by id: failed or not, and when (the status-change time of the prompt in
    /// `done/` or `failed/`: the finishing rename).
    private func finishedTasks() -> [String: (failed: Bool, at: Timestamp)] {
        var result: [String: (failed: Bool, at: Timestamp)] = [:]
        for queue in [Layout.Queue.done, .failed] {
            for name in Worktrees.names(in: layout.queue(queue)) where !name.hasPrefix(".") {
                guard let st = try? Files.linkStatus(layout.queue(queue, name)) else { continue }
                result[PromptName.stem(of: name)] = (queue == .failed, st.changed)
            }
        }
        return result
    }

    static func names(in directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}
