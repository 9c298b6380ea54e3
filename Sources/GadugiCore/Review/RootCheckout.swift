/// The checkout task branches are reviewed against and merged into: the root's repository, its
/// `HEAD` and working tree. Every command is `git -C <root> ...` through the project's `Git`
/// runner (an argument vector, never a shell string; commits and branch names are passed as
/// arguments git cannot read as options). It spawns git and waits, so it serves the CLI verbs,
/// never the coordinator.
public struct RootCheckout: Sendable {
    public let root: String
    let git: Git

    /// The checkout holding `root`; fails when `root` is in no git repository.
    public init(root: String) throws(ReviewFailure) {
        guard Git.topLevel(of: root) != nil else { throw .notARepository(root) }
        self.root = root
        self.git = Git(directory: root)
    }

    func run(_ arguments: [String]) -> Git.Output {
        git.run(["-C", root] + arguments)
    }

    @discardableResult
    func check(_ arguments: [String], advice: String) throws(ReviewFailure) -> Git.Output {
        let output = run(arguments)
        guard output.succeeded else { throw .git(Git.Failure(output: output, directory: root), advice: advice) }
        return output
    }

    // MARK: - reading

    /// The commit `HEAD` names.
    public func head() throws(ReviewFailure) -> String {
        guard let id = run(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"]).lines.first, Git.isObjectID(id) else {
            throw .noCommit(root)
        }
        return id
    }

    /// The branch checked out (`main`); nil for a detached `HEAD`.
    public func currentBranch() -> String? {
        let output = run(["symbolic-ref", "--quiet", "--short", "HEAD"])
        return output.succeeded ? output.lines.first : nil
    }

    /// Every local branch and the commit it points at, from one `git for-each-ref`.
    public func branchTips() throws(ReviewFailure) -> [String: String] {
        let output = try check(["for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/"],
                               advice: "check that the repository can be read")
        var tips: [String: String] = [:]
        for line in output.lines {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[1].hasPrefix("refs/heads/") else { continue }
            tips[String(parts[1].dropFirst("refs/heads/".count))] = String(parts[0])
        }
        return tips
    }

    /// Whether `commit` is already contained in `other` (merged, or the same).
    public func isAncestor(_ commit: String, of other: String) -> Bool {
        run(["merge-base", "--is-ancestor", commit, other]).succeeded
    }

    /// The best common ancestor of two commits; nil for unrelated histories.
    public func mergeBase(_ a: String, _ b: String) -> String? {
        run(["merge-base", a, b]).lines.first.flatMap { Git.isObjectID($0) ? $0 : nil }
    }

    /// How many commits `tip` has that `base` has not.
    public func commitCount(from base: String, to tip: String) -> Int? {
        let output = run(["rev-list", "--count", base + ".." + tip])
        return output.succeeded ? output.lines.first.flatMap { Int($0) } : nil
    }

    /// The paths that differ between `base` and `tip`.
    public func changedFiles(from base: String, to tip: String) -> [String]? {
        let output = run(["diff", "--name-only", "-z", "--no-renames", base, tip])
        return output.succeeded ? RootCheckout.fields(output.stdout) : nil
    }

    /// Merges `ours` and `theirs` in memory (see `TrialMerge`).
    public func trialMerge(_ ours: String, _ theirs: String) -> TrialMerge {
        let output = run(TrialMerge.arguments(ours, theirs))
        return TrialMerge.parse(status: output.status, stdout: output.stdout, stderr: output.stderr)
    }

    /// Tracked files with changes, staged or not (untracked files are not counted: a merge that
    /// would overwrite one is refused by git itself, before it changes anything).
    public func dirtyFiles() throws(ReviewFailure) -> [String] {
        let output = try check(["status", "--porcelain=v1", "-z", "--untracked-files=no"],
                               advice: "check that \(root) is a working checkout")
        return RootCheckout.statusPaths(output.stdout)
    }

    /// Whether a merge is half done (`MERGE_HEAD` exists).
    public func mergeInProgress() -> Bool {
        run(["rev-parse", "--quiet", "--verify", "MERGE_HEAD"]).succeeded
    }

    // MARK: - merging

    /// What one real merge did.
    public enum MergeResult: Sendable, Equatable {
        /// Merged; `HEAD` is now this merge commit.
        case merged(commit: String)
        /// Conflicts in these paths; the merge was aborted and the checkout is as before.
        case conflicts(paths: [String])
        /// Git refused before changing anything (an untracked file in the way, a hook): its words.
        case refused(String)
    }

    /// `git merge --no-ff --no-edit -m MESSAGE COMMIT`. On a conflict the paths are read and the
    /// merge is aborted (`git merge --abort`, else `git reset --merge`), so the checkout is left
    /// clean at the `HEAD` it had; throws only when even that fails.
    public func merge(_ commit: String, message: String) throws(ReviewFailure) -> MergeResult {
        let result = run(["merge", "--no-ff", "--no-edit", "-m", message, commit])
        if result.succeeded { return .merged(commit: try head()) }
        let conflicted = RootCheckout.fields(run(["diff", "--name-only", "-z", "--diff-filter=U"]).stdout)
        let merging = mergeInProgress()
        if merging || !conflicted.isEmpty { try abandonMerge() }
        if !conflicted.isEmpty || merging { return .conflicts(paths: conflicted) }
        let said = result.stderr.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("hint:") }.prefix(6).joined(separator: " ")
        return .refused(said.isEmpty ? "git merge exited \(result.status)" : said)
    }

    /// Ends a half-done merge, leaving the checkout as it was before it.
    func abandonMerge() throws(ReviewFailure) {
        if run(["merge", "--abort"]).succeeded { return }
        try check(["reset", "--merge"],
                  advice: "a merge is half done in \(root): run 'git merge --abort' there before anything else")
    }

    // MARK: - parsing

    /// NUL-separated fields, empty ones dropped.
    static func fields(_ text: String) -> [String] {
        text.split(separator: "\0").map(String.init)
    }

    /// The paths of `git status --porcelain=v1 -z`: `XY path` entries, where a rename or copy
    /// (`R`/`C` in either column) is followed by a field holding its original path.
    static func statusPaths(_ text: String) -> [String] {
        var paths: [String] = []
        var fields = text.split(separator: "\0", omittingEmptySubsequences: true)[...]
        while let entry = fields.popFirst() {
            guard entry.count > 3 else { continue }
            let xy = entry.prefix(2)
            paths.append(String(entry.dropFirst(3)))
            if xy.contains("R") || xy.contains("C") { _ = fields.popFirst() }
        }
        return paths
    }
}
