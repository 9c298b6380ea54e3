/// What merging two commits would give, found by `git merge-tree --write-tree`: git merges them in
/// memory and writes only objects, so no checkout, index or ref is touched and the user's work can
/// go on while a review runs.
public enum TrialMerge: Sendable, Equatable {
    /// They merge without a conflict into this tree.
    case clean(tree: String)
    /// They conflict in these paths (git still writes a tree, with conflict markers).
    case conflicts(tree: String, paths: [String])
    /// Git could not tell (unrelated histories, an unknown commit): its first line of error.
    case failed(String)

    /// The command for commits `ours` and `theirs`: names only (`-z`, so any path survives),
    /// without git's informational messages.
    public static func arguments(_ ours: String, _ theirs: String) -> [String] {
        ["merge-tree", "--write-tree", "--name-only", "--no-messages", "-z", ours, theirs]
    }

    /// Reads the command's result. With `-z` its stdout is `<tree oid>NUL`, then for a conflict
    /// each conflicted path once followed by NUL. Exit status 0 is clean; 1 with a tree is a
    /// conflict; anything else, or 1 with no tree (git says 1 for "not something we can merge"
    /// too), is a failure.
    public static func parse(status: Int32, stdout: String, stderr: String) -> TrialMerge {
        var fields = stdout.split(separator: "\0", omittingEmptySubsequences: false).map(String.init)
        let tree = fields.isEmpty ? "" : fields.removeFirst()
        guard status == 0 || status == 1, Git.isObjectID(tree) else {
            let line = stderr.split(separator: "\n").first { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            return .failed(line.map(String.init) ?? "git merge-tree exited \(status)")
        }
        if status == 0 { return .clean(tree: tree) }
        var paths: [String] = []
        var seen: Set<String> = []
        for field in fields {
            if field.isEmpty { break }  // the end of the list (messages would follow)
            if seen.insert(field).inserted { paths.append(field) }
        }
        return .conflicts(tree: tree, paths: paths)
    }

    public var isClean: Bool { if case .clean = self { return true }; return false }

    /// The conflicted paths; empty when clean or unknown.
    public var paths: [String] { if case .conflicts(_, let paths) = self { return paths }; return [] }

    /// Git's reason when it could not tell.
    public var failure: String? { if case .failed(let why) = self { return why }; return nil }
}
