extension Worktrees {
    /// Why worktree work failed, worded for the person reading the task's log: what was tried,
    /// what git said, and what to do.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// The root is in no git repository (then tasks run in the root, without worktrees).
        case notARepository(String)
        case invalidRequest(String)
        /// A base (or `HEAD` of a worktree) that names no commit.
        case unknownRevision(String, directory: String)
        /// A git command failed; `advice` says what to do.
        case git(Git.Failure, advice: String)
        /// Merging the dependencies' branches conflicts in these paths; no merge is left going.
        case mergeConflict(paths: [String])
        /// Something that is not a worktree, outside `.gadugi/`, sits where the worktree goes.
        case inTheWay(String)
        case cannotRemove(String, String)
        /// `worktree-finish` for a task that has no `worktree.json`.
        case noRecord(String)
        case io(SystemError)

        public var description: String {
            switch self {
            case .notARepository(let root):
                return "\(root) is not inside a git repository: worktrees need one ('git init' there, or run without worktrees)"
            case .invalidRequest(let what):
                return what
            case .unknownRevision(let revision, let directory):
                return "'\(revision)' names no commit in \(directory): set 'base:' in the prompt's front matter to a branch, tag or commit that exists"
            case .git(let failure, let advice):
                return advice.isEmpty ? "\(failure)" : "\(failure); \(advice)"
            case .mergeConflict(let paths):
                return Worktrees.conflictReason(paths)
            case .inTheWay(let path):
                return "\(path) exists and is not a worktree of this task: move it away, then retry the task"
            case .cannotRemove(let path, let why):
                return "cannot remove the half-made worktree \(path) (\(why)): remove it by hand, then retry the task"
            case .noRecord(let id):
                return "task \(id) has no worktree.json: no worktree was prepared for it (run 'gadugi worktree-prepare' first)"
            case .io(let error):
                return "\(error)"
            }
        }
    }

    /// The one line of `blocked` for a conflict.
    public static func conflictReason(_ paths: [String]) -> String {
        let list = paths.isEmpty ? "(git named no paths)" : paths.map(\.escapedForTerminal).joined(separator: ", ")
        return "merging the work of its dependencies conflicts in: \(list)"
    }
}
