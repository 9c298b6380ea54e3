import Foundation
import Glibc

/// Each task's own git worktree: made before its agent starts (`prepare`), its leftovers committed
/// and the directory removed or kept after it ends (`finish`), old ones cleared by `clean`. All of
/// it runs in the task's process or a CLI verb, never in the coordinator's loop (it spawns git and
/// waits for it). The main checkout is never modified: worktrees live under `.gadugi/worktrees/`,
/// which `info/exclude` hides from `git status`.
public struct Worktrees: Sendable {
    /// The exit status of `gadugi worktree-prepare` (and so of the task's process) when the work
    /// of a task's dependencies does not merge: EX_TEMPFAIL, read by the coordinator as blocked.
    public static let blockedStatus = 75

    public let layout: Layout
    /// The repository's top-level directory (the main checkout holding the root).
    public let topLevel: String
    /// Runs git in `topLevel`.
    let git: Git

    /// Worktrees for the spool at `layout`; fails when its root is not inside a git repository.
    public init(layout: Layout) throws(Failure) {
        guard let topLevel = Git.topLevel(of: layout.root) else { throw .notARepository(layout.root) }
        self.layout = layout
        self.topLevel = topLevel
        self.git = Git(directory: topLevel)
    }

    /// What a task's worktree should be.
    public struct Request: Sendable, Equatable {
        public var id: String
        /// Absolute, or relative to the root.
        public var worktree: String
        /// The branch wanted; a suffix is added when it is taken.
        public var branch: String
        /// A commit, branch or tag to start from.
        public var base: String
        /// Further branches merged in after the start (the other dependencies' branches).
        public var merge: [String]

        public init(id: String, worktree: String, branch: String, base: String, merge: [String] = []) {
            self.id = id
            self.worktree = worktree
            self.branch = branch
            self.base = base
            self.merge = merge
        }
    }

    /// A worktree ready for the agent.
    public struct Prepared: Sendable, Equatable {
        public var id: String
        /// Absolute path of the worktree: the agent's working directory.
        public var worktree: String
        /// What `worktree.json` now says.
        public var record: WorktreeRecord
        /// True when an earlier attempt's worktree was still there and valid, and is used again.
        public var reused: Bool
        /// The branches merged in by this call (empty when there was nothing to merge).
        public var merged: [String]

        public var branch: String { record.branch }
        public var baseCommit: String { record.baseCommit }
    }

    /// What `finish` did.
    public struct Finished: Sendable, Equatable {
        public var id: String
        public var record: WorktreeRecord
        /// The commit made of the agent's leftovers; nil when it left nothing uncommitted.
        public var leftovers: String?
        /// True when the worktree directory was removed (after a success).
        public var removed: Bool
    }

    // MARK: - prepare

    /// Makes (or, after a retry or a crash, reuses) the task's worktree on a new branch from
    /// `base`, merges `merge` into it, and records it in `worktree.json`. Throws
    /// `.mergeConflict(paths:)` with no merge left in progress when the branches conflict.
    public func prepare(_ request: Request) throws(Failure) -> Prepared {
        try validate(request)
        let path = absolute(request.worktree)
        var prepared = try locked { () throws(Failure) -> Prepared in
            try? Worktrees.exclude(gadugiIn: topLevel, root: layout.root)
            return try place(request, at: path)
        }
        if !request.merge.isEmpty {
            do { prepared.merged = try merge(request.merge, id: request.id, in: path) } catch {
                if case .mergeConflict = error { discard(prepared, at: path) }
                throw error
            }
        }
        try save(prepared.record, id: request.id)
        return prepared
    }

    /// Reuses a valid worktree of this task, or clears a half-made one and makes it anew.
    private func place(_ request: Request, at path: String) throws(Failure) -> Prepared {
        let listed = try worktreeList()
        let previous = WorktreeRecord.load(layout, id: request.id)
        let registered = listed.first { $0.path == Worktrees.canonical(path) }
        if let registered, !registered.prunable, Files.exists(path + "/.git") {
            return try reuse(registered, request: request, path: path, previous: previous)
        }
        if (try? Files.isDirectory(path)) == true || Files.exists(path) { try removeHalfMade(path) }
        if registered != nil { try git(["worktree", "prune"]) }
        return try create(request, at: path, previous: previous, checkedOut: Set(listed.filter { !$0.prunable }.compactMap(\.branch)))
    }

    private func reuse(_ entry: ListedWorktree, request: Request, path: String,
                       previous: WorktreeRecord?) throws(Failure) -> Prepared {
        try abandonMerge(in: path)
        let branch = entry.branch ?? previous?.branch ?? request.branch
        var record: WorktreeRecord
        if let previous {
            record = previous
        } else {
            record = WorktreeRecord(path: layout.relative(path), branch: branch, base: request.base,
                                    baseCommit: try commit(request.base), kept: true)
        }
        record.branch = branch
        record.head = nil
        record.kept = true
        return Prepared(id: request.id, worktree: path, record: record, reused: true, merged: [])
    }

    /// `git worktree add`: on the branch an earlier attempt recorded if it still exists and is
    /// free, else on a new branch with a free name from the base commit. The record is written
    /// before the add, so a crash after it still names the branch.
    private func create(_ request: Request, at path: String, previous: WorktreeRecord?,
                        checkedOut: Set<String>) throws(Failure) -> Prepared {
        let branches = try branchNames()
        var record: WorktreeRecord
        if let previous, branches.contains(previous.branch), !checkedOut.contains(previous.branch) {
            record = previous
        } else {
            let branch = try freeBranch(request.branch, among: branches)
            record = WorktreeRecord(path: layout.relative(path), branch: branch, base: request.base,
                                    baseCommit: try commit(request.base), kept: false)
        }
        record.head = nil
        try save(record, id: request.id)
        try add(path, branch: record.branch, from: record.baseCommit)
        record.kept = true
        try save(record, id: request.id)
        return Prepared(id: request.id, worktree: path, record: record, reused: false, merged: [])
    }

    /// `worktree add` (with `-b` unless the branch exists), tried a second time after clearing
    /// what the first left (a directory, a stale admin entry, the branch it made).
    private func add(_ path: String, branch: String, from commit: String) throws(Failure) {
        func attempt() -> Git.Output {
            let exists = git.run(["show-ref", "--verify", "--quiet", "refs/heads/" + branch]).succeeded
            return git.run(exists ? ["worktree", "add", path, branch] : ["worktree", "add", "-b", branch, path, commit])
        }
        if attempt().succeeded { return }
        if Files.exists(path) { try removeHalfMade(path) }
        _ = git.run(["worktree", "prune"])
        let second = attempt()
        guard second.succeeded else {
            throw .git(Git.Failure(output: second, directory: topLevel),
                       advice: "check that \(layout.relative(path)) can be made and branch \(branch) is free, then retry the task")
        }
    }

    /// The wanted name, else `<name>-2`, `-3`...: the first that neither exists nor collides with
    /// a branch "below" it (`<name>/x`) or "above" it (`gadugi` when `gadugi/x` is wanted).
    func freeBranch(_ wanted: String, among branches: Set<String>) throws(Failure) -> String {
        let parents = Worktrees.parentNames(of: wanted)
        if let clash = parents.first(where: branches.contains) {
            throw .invalidRequest("branch '\(clash)' exists, so no branch '\(wanted)' can be made: rename '\(clash)'")
        }
        for n in 1...10_000 {
            let name = TaskID.candidate(wanted, n)
            if !branches.contains(name) && !branches.contains(where: { $0.hasPrefix(name + "/") }) { return name }
        }
        throw .invalidRequest("no free branch name like '\(wanted)-N': delete old ones with 'gadugi clean --branches'")
    }

    static func parentNames(of branch: String) -> [String] {
        let parts = branch.split(separator: "/")
        return parts.indices.dropLast().map { parts[...$0].joined(separator: "/") }
    }

    // MARK: - merge

    /// Merges the other dependencies' branches in one merge commit. On a conflict, names the
    /// conflicting paths and aborts, so the worktree is left at its base with no merge going on.
    private func merge(_ branches: [String], id: String, in path: String) throws(Failure) -> [String] {
        let worktree = git.at(path)
        let message = "gadugi: merge dependencies of \(id)"
        let result = worktree.run(["merge", "--no-ff", "--no-edit", "--no-verify", "-m", message] + branches)
        if result.succeeded { return branches }
        let conflicted = worktree.run(["diff", "--name-only", "-z", "--diff-filter=U"]).stdout
            .split(separator: "\0").map(String.init)
        let merging = Files.exists(Worktrees.gitPath("MERGE_HEAD", worktree: path))
        try abandonMerge(in: path)
        if !conflicted.isEmpty || merging { throw .mergeConflict(paths: conflicted) }
        throw .git(Git.Failure(output: result, directory: path),
                   advice: "check that the dependency branches \(branches.joined(separator: ", ")) exist")
    }

    /// After a conflict the task is blocked until a dependency is retried: its worktree, branch
    /// and record hold nothing but their start, so they go, and the next attempt makes them anew
    /// from the dependencies' new work. The branch (and the record naming it) goes only while it
    /// is still at its start; one holding an earlier attempt's work stays for the next attempt.
    private func discard(_ prepared: Prepared, at path: String) {
        _ = try? locked { () throws(Failure) in try remove(path) }
        let tip = git.run(["rev-parse", "--verify", "--quiet", "refs/heads/" + prepared.branch]).lines.first
        if tip == prepared.baseCommit, git.run(["branch", "-D", "--", prepared.branch]).succeeded {
            try? Files.remove(layout.worktreeRecord(prepared.id))
        } else {
            var record = prepared.record
            record.kept = false
            try? save(record, id: prepared.id)
        }
    }

    /// Leaves no merge in progress in the worktree (`git merge --abort`, or `reset --merge` when
    /// git wrote no MERGE_HEAD).
    private func abandonMerge(in path: String) throws(Failure) {
        let worktree = git.at(path)
        guard Files.exists(Worktrees.gitPath("MERGE_HEAD", worktree: path)) else { return }
        if worktree.run(["merge", "--abort"]).succeeded { return }
        do { try worktree.check(["reset", "--merge"]) } catch {
            throw .git(error, advice: "a merge is half done in \(layout.relative(path)): run 'git merge --abort' there")
        }
    }

    /// A file in the worktree's own git directory (`.git` is a `gitdir:` file there).
    static func gitPath(_ name: String, worktree: String) -> String {
        (Git.gitDirectory(topLevel: worktree) ?? worktree + "/.git") + "/" + name
    }

    // MARK: - finish

    /// Commits whatever the agent left uncommitted as one commit "gadugi: <name>", records the
    /// branch's head, then removes the worktree after a success (`status` 0; the branch stays) or
    /// keeps it for inspection after a failure. A commit that fails keeps the worktree whatever
    /// the status, so nothing is lost.
    ///
    /// `plain` stands for the record when there is none: the wrapper made a plain worktree itself.
    public func finish(id: String, name: String, status: Int32, plain: WorktreeRecord? = nil) throws(Failure) -> Finished {
        guard var record = WorktreeRecord.load(layout, id: id) ?? plain else { throw .noRecord(id) }
        let path = absolute(record.path)
        guard Files.exists(path + "/.git") else {
            record.head = git.run(["rev-parse", "--verify", "--quiet", "refs/heads/" + record.branch]).lines.first
            record.kept = false
            try save(record, id: id)
            return Finished(id: id, record: record, leftovers: nil, removed: false)
        }
        let leftovers = try commitLeftovers(in: path, name: name.isEmpty ? id : name)
        record.head = try commit("HEAD", in: path)
        record.kept = true
        try save(record, id: id)
        guard status == 0 else { return Finished(id: id, record: record, leftovers: leftovers, removed: false) }
        try locked { () throws(Failure) in try remove(path) }
        record.kept = false
        try save(record, id: id)
        return Finished(id: id, record: record, leftovers: leftovers, removed: true)
    }

    /// `git add -A`, and a commit when anything is staged; returns its id.
    private func commitLeftovers(in path: String, name: String) throws(Failure) -> String? {
        let worktree = git.at(path)
        let keep = "the worktree \(layout.relative(path)) is kept: commit its changes there by hand"
        do throws(Git.Failure) {
            try worktree.check(["add", "-A"])
            let staged = worktree.run(["diff", "--cached", "--quiet"])
            if staged.status == 0 { return nil }
            if staged.status != 1 { throw Git.Failure(output: staged, directory: path) }
            try worktree.check(["commit", "--quiet", "--no-verify", "--no-gpg-sign", "-m", "gadugi: " + name])
        } catch {
            throw .git(error, advice: keep)
        }
        return try commit("HEAD", in: path)
    }

    /// `git worktree remove --force` (the leftovers are committed by now), tried again once after
    /// a prune.
    private func remove(_ path: String) throws(Failure) {
        if git.run(["worktree", "remove", "--force", path]).succeeded { return }
        _ = git.run(["worktree", "prune"])
        let second = git.run(["worktree", "remove", "--force", path])
        guard second.succeeded || !Files.exists(path) else {
            throw .git(Git.Failure(output: second, directory: topLevel),
                       advice: "its work is committed on its branch; remove \(layout.relative(path)) with 'gadugi clean' later")
        }
    }

    // MARK: - exclude

    /// Adds `/.gadugi/` (or `/<root>/.gadugi/` when the root is below the top level) to the
    /// repository's `info/exclude` once, so `git status` in the main checkout stays clean. Only
    /// that untracked, local file is touched, never a tracked `.gitignore`.
    public static func exclude(gadugiIn topLevel: String, root: String? = nil) throws(SystemError) {
        guard let common = Git.commonDirectory(topLevel: topLevel) else { return }
        var below = ""
        if let root, root.hasPrefix(topLevel + "/") { below = String(root.dropFirst(topLevel.count)) }
        let pattern = below + "/.gadugi/"
        let file = common + "/info/exclude"
        let existing = try Files.readText(file) ?? ""
        if existing.split(whereSeparator: \.isNewline).contains(where: { $0.trimmingCharacters(in: .whitespaces) == pattern }) {
            return
        }
        try Files.makeDirectories(common + "/info")
        let separator = existing.isEmpty || existing.hasSuffix("\n") ? "" : "\n"
        try Files.append(file, Array((separator + "# gadugi's spool and task worktrees\n" + pattern + "\n").utf8))
    }

    // MARK: - helpers

    /// Runs `body` holding `.gadugi/git.lock`.
    func locked<T>(_ body: () throws(Failure) -> T) throws(Failure) -> T {
        let result: Result<T, Failure>
        do { result = try GitLock.holding(layout.gitLock, body) } catch { throw .io(error) }
        return try result.get()
    }

    /// A git command in the top level that must succeed.
    @discardableResult
    func git(_ arguments: [String], advice: String = "") throws(Failure) -> Git.Output {
        do { return try git.check(arguments) } catch { throw .git(error, advice: advice) }
    }

    /// The commit `revision` names (a commit id, branch, tag or `HEAD`).
    func commit(_ revision: String, in directory: String? = nil) throws(Failure) -> String {
        let runner = directory.map(git.at) ?? git
        let output = runner.run(["rev-parse", "--verify", "--quiet", revision + "^{commit}"])
        guard output.succeeded, let id = output.lines.first else {
            throw .unknownRevision(revision, directory: directory ?? topLevel)
        }
        return id
    }

    /// Every local branch name.
    func branchNames() throws(Failure) -> Set<String> {
        Set(try git(["for-each-ref", "--format=%(refname)", "refs/heads/"]).lines.map { String($0.dropFirst("refs/heads/".count)) })
    }

    struct ListedWorktree {
        var path: String
        var branch: String?
        var prunable: Bool
    }

    /// `git worktree list --porcelain`, parsed.
    func worktreeList() throws(Failure) -> [ListedWorktree] {
        var result: [ListedWorktree] = []
        for line in try git(["worktree", "list", "--porcelain"]).stdout.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("worktree ") {
                result.append(ListedWorktree(path: String(line.dropFirst("worktree ".count)), branch: nil, prunable: false))
            } else if line.hasPrefix("branch refs/heads/"), !result.isEmpty {
                result[result.count - 1].branch = String(line.dropFirst("branch refs/heads/".count))
            } else if line.hasPrefix("prunable"), !result.isEmpty {
                result[result.count - 1].prunable = true
            }
        }
        return result
    }

    /// Removes a directory at a worktree's place that git does not know as one (a crash between
    /// `mkdir` and registration, or an entry pruned meanwhile). Only under `.gadugi/`: anything
    /// else in the way is the user's, and the message says so.
    private func removeHalfMade(_ path: String) throws(Failure) {
        let inside = Worktrees.canonical(layout.base) + "/"
        guard Worktrees.canonical(path).hasPrefix(inside) else { throw .inTheWay(path) }
        do { try FileManager.default.removeItem(atPath: path) } catch {
            throw .cannotRemove(path, error.localizedDescription)
        }
    }

    func save(_ record: WorktreeRecord, id: String) throws(Failure) {
        do { try record.save(layout, id: id) } catch { throw .io(error) }
    }

    func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : layout.root + "/" + path
    }

    /// The path with symbolic links resolved (as git prints worktree paths); for a path that does
    /// not exist, its parent's resolved path and its name.
    static func canonical(_ path: String) -> String {
        if let real = realpath(path, nil) {
            defer { free(real) }
            return String(cString: real)
        }
        let (dir, name) = Files.split(path)
        guard dir != path, let real = realpath(dir, nil) else { return path }
        defer { free(real) }
        return String(cString: real) + "/" + name
    }

    /// Branch names, bases and ids come from prompts and the environment: refuse anything git
    /// could read as an option, and ids that are not task ids.
    private func validate(_ request: Request) throws(Failure) {
        guard TaskID.isValid(request.id) else { throw .invalidRequest("'\(request.id)' is not a task id") }
        for (what, value) in [("branch", request.branch), ("base", request.base)] + request.merge.map({ ("merge branch", $0) })
        where value.isEmpty || value.hasPrefix("-") || value.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 } == true }) {
            throw .invalidRequest("\(what) '\(value)' is not a usable git name (empty, starting with '-', or with spaces)")
        }
        guard !request.worktree.isEmpty else { throw .invalidRequest("no worktree path given") }
    }
}

extension Worktrees.Request {
    /// The request for task `id`: `.gadugi/worktrees/<id>` on `gadugi/<id>`. Without dependencies
    /// it starts from `base` (the coordinator passes `Git.head` read at claim, or `HEAD`); with one,
    /// from that task's branch; with several, from the first's branch with the others merged in.
    /// A dependency's branch is read from its `worktree.json` (it may carry a suffix), else
    /// `gadugi/<dep>`. Pure file reads: the coordinator may call it in its loop.
    public static func forTask(_ id: String, layout: Layout, base: String, dependencies: [String]) -> Self {
        let branches = dependencies.compactMap { dependency -> String? in
            if let record = WorktreeRecord.load(layout, id: dependency) { return record.branch }
            // One that ran in the root (`isolation: none`) made no branch to start from.
            if TaskRecord.load(layout, id: dependency)?.isolation == Settings.Isolation.none { return nil }
            return "gadugi/" + dependency
        }
        return Self(id: id, worktree: layout.worktree(id), branch: "gadugi/" + id,
                    base: branches.first ?? base, merge: Array(branches.dropFirst()))
    }

    /// `GADUGI_WORKTREE`, `GADUGI_BRANCH`, `GADUGI_BASE` and `GADUGI_MERGE` (newline-separated) as
    /// `KEY=value` entries for the task's environment, read by `gadugi worktree-prepare`; and
    /// `GADUGI_WORKTREE_FROM`, the commit to start from when the wrapper may make the worktree
    /// itself with one `git worktree add` (see `startCommit`).
    public func environment(startCommit: String?) -> [String] {
        ["GADUGI_WORKTREE=" + worktree, "GADUGI_BRANCH=" + branch, "GADUGI_BASE=" + base,
         "GADUGI_MERGE=" + merge.joined(separator: "\n"), "GADUGI_WORKTREE_FROM=" + (startCommit ?? "")]
    }

    /// The commit a plain worktree (nothing to merge) starts from, read from the repository's
    /// files: `base` itself when it is a commit id, the commit of `HEAD` or of a local branch.
    /// nil when there is something to merge or `base` is something else (a tag, a remote branch):
    /// then `gadugi worktree-prepare` does the whole work. Spawns nothing.
    public func startCommit(topLevel: String) -> String? {
        guard merge.isEmpty else { return nil }
        if Git.isObjectID(base) { return base }
        if base == "HEAD" { return Git.head(topLevel: topLevel) }
        return Git.commit(ofBranch: base, topLevel: topLevel)
    }

    /// The record of a worktree the wrapper made with one `git worktree add` from `startCommit`
    /// (which writes no `worktree.json`): what `finish` and the coordinator fill in afterwards.
    public func plainRecord(layout: Layout, startCommit: String) -> WorktreeRecord {
        WorktreeRecord(path: layout.relative(worktree), branch: branch, base: base, baseCommit: startCommit, kept: true)
    }
}
