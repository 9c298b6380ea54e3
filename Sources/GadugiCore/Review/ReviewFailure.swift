/// Why `gadugi review` or `gadugi merge` could not do its work, worded for the person at the
/// terminal: what is wrong and what to do. Nothing has been merged when one of these is thrown.
public enum ReviewFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// A task named on the command line that cannot be reviewed, and why.
    public struct Problem: Sendable, Equatable {
        public var id: String
        public var reason: String

        public init(id: String, reason: String) {
            self.id = id
            self.reason = reason
        }
    }

    /// The root is in no git repository: there are no branches to review.
    case notARepository(String)
    /// The repository has no commit yet: nothing to merge into.
    case noCommit(String)
    case notFinished([Problem])
    /// A merge (or another git operation that `git merge --abort` ends) is going on in the checkout.
    case mergeInProgress(String)
    /// The checkout has changes to tracked files: these.
    case dirty(root: String, files: [String])
    /// A git command failed; `advice` says what to do.
    case git(Git.Failure, advice: String)

    public var description: String {
        switch self {
        case .notARepository(let root):
            return "\(root) is not inside a git repository: review and merge work on the branches tasks leave when they run with worktrees; pass --root DIR for the repository they ran in ('gadugi status --all' shows what ran here)"
        case .noCommit(let root):
            return "the git repository at \(root) has no commit yet (HEAD names none): there is nothing to merge into"
        case .notFinished(let problems):
            let list = problems.map { "\($0.id.escapedForTerminal): \($0.reason)" }.joined(separator: "; ")
            return "cannot review \(list) (see 'gadugi status --all'; only finished tasks have work to merge)"
        case .mergeInProgress(let root):
            return "a merge is in progress in \(root): finish it ('git commit') or abort it ('git merge --abort'), then run this again"
        case .dirty(let root, let files):
            let shown = files.prefix(10).map(\.escapedForTerminal).joined(separator: ", ")
            let more = files.count > 10 ? " and \(files.count - 10) more" : ""
            return "the checkout at \(root) has uncommitted changes to tracked files: \(shown)\(more). "
                + "Commit them ('git commit -a') or put them aside ('git stash'), then run this again; nothing was merged"
        case .git(let failure, let advice):
            return advice.isEmpty ? "\(failure)" : "\(failure); \(advice)"
        }
    }
}
