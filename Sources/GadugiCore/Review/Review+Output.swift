extension Review {
    /// `gadugi review --json` (spool-layout.md, "Review and merge").
    public var json: JSON {
        .object([
            ("schema_version", .int(1)),
            ("root", .string(root)),
            ("into", .object([("branch", .optional(into.branch)), ("head", .string(into.head))])),
            ("merge_order", .array(order.map(JSON.string))),
            ("pairwise", .object([("checked", .bool(pairwise.checked)), ("branches", .int(Int64(pairwise.branches))),
                                  ("pairs", .int(Int64(pairwise.pairs))), ("limit", .int(Int64(pairwise.limit)))])),
            ("tasks", .array(entries.map(Review.json))),
            ("not_reviewed", .array(skipped.map { .object([("id", .string($0.id)), ("reason", .string($0.reason))]) })),
            ("summary", .object(summary.map { ($0, .int(Int64($1))) })),
        ])
    }

    static func json(_ entry: Entry) -> JSON {
        let task = entry.task
        return .object([
            ("id", .string(task.id)), ("name", .string(task.name)), ("state", .string(task.state.rawValue)),
            ("ending", .optional(task.ending)), ("finished_at", .optional(task.finishedAt)),
            ("depends_on", .array(task.dependencies.map(JSON.string))),
            ("branch", .string(entry.branch)), ("base_commit", .optional(entry.base)), ("head", .string(entry.tip)),
            ("commits_ahead", .optional(entry.commitsAhead.map(Int64.init))),
            ("files_changed", .array(entry.files.map(JSON.string))),
            ("merged", .bool(entry.merged)),
            ("merges_cleanly", entry.merged ? .bool(true) : entry.intoHead?.failure == nil ? .bool(entry.intoHead?.isClean ?? true) : .null),
            ("conflicts", .array((entry.intoHead?.paths ?? []).map(JSON.string))),
            ("error", .optional(entry.intoHead?.failure)),
            ("conflicts_with", .array(entry.conflictsWith.map { conflict in
                .object([("id", .string(conflict.id)), ("branch", .string(conflict.branch)),
                         ("paths", .array(conflict.paths.map(JSON.string)))])
            })),
        ])
    }

    /// Counts: reviewed, merging cleanly into HEAD, conflicting with it, already merged, that git
    /// could not judge, pairs of branches in conflict, tasks not reviewed.
    public var summary: [(String, Int)] {
        [("reviewed", entries.count),
         ("clean", entries.count { !$0.merged && $0.intoHead?.isClean == true }),
         ("conflicting", entries.count { !($0.intoHead?.paths.isEmpty ?? true) }),
         ("merged", entries.count(where: \.merged)),
         ("unknown", entries.count { $0.intoHead?.failure != nil }),
         ("conflicting_pairs", conflictingPairs.count),
         ("not_reviewed", skipped.count)]
    }

    /// `gadugi review`: a block per branch, what was not reviewed, the merge order and a summary.
    public var text: String {
        var lines = ["review of \(entries.count) finished \(Review.plural(entries.count, "branch", "branches")) against \(into.name) at \(Review.short(into.head))"]
        for entry in entries { lines += [""] + block(entry) }
        if entries.isEmpty { lines += ["", "no finished task has a branch to review"] }
        if !skipped.isEmpty {
            lines += ["", "not reviewed: " + skipped.map { "\($0.id) (\($0.reason))" }.joined(separator: "; ")]
        }
        if !pairwise.checked {
            lines += ["", "the \(pairwise.branches) branches were not checked against each other (\(pairwise.pairs) trial merges; "
                      + "more than --pairwise-limit \(pairwise.limit)): pass --pairwise-limit \(pairwise.branches) to check them"]
        }
        lines += ["", orderLine, summaryLine]
        return lines.map(\.escapedForTerminal).joined(separator: "\n") + "\n"
    }

    func block(_ entry: Entry) -> [String] {
        let task = entry.task
        var lines = ["\(task.id)  \(task.outcome)  \(entry.branch)"]
        if task.state != .done { lines.append("  did not succeed: its branch holds what it left; 'gadugi merge --done' leaves it out, 'gadugi merge \(task.id)' takes it") }
        let commits = entry.commitsAhead.map { "\($0) \(Review.plural($0, "commit", "commits"))" } ?? "commits unknown"
        lines.append("  \(commits) since \(entry.base.map(Review.short) ?? "its base"); \(Review.files(entry.files))")
        if !task.dependencies.isEmpty { lines.append("  depends on \(task.dependencies.joined(separator: ", "))") }
        lines.append("  " + intoHeadLine(entry))
        if entry.mergeable && pairwise.checked {
            lines.append(entry.conflictsWith.isEmpty ? "  no conflict with the other finished branches"
                         : "  conflicts with " + entry.conflictsWith.map { "\($0.id) in \(Review.list($0.paths))" }.joined(separator: "; "))
        }
        return lines
    }

    func intoHeadLine(_ entry: Entry) -> String {
        if entry.merged { return "already merged into \(into.name)" }
        switch entry.intoHead {
        case .clean?, nil: return "merges cleanly into \(into.name)"
        case .conflicts(_, let paths)?: return "conflicts with \(into.name) in \(Review.list(paths))"
        case .failed(let why)?: return "git cannot merge it into \(into.name): \(why)"
        }
    }

    var orderLine: String {
        if order.isEmpty { return "nothing left to merge" }
        let states = Dictionary(entries.map { ($0.task.id, $0.task) }, uniquingKeysWith: { a, _ in a })
        let named = order.map { id in states[id].map { $0.state == .done ? id : "\(id) [\($0.state.rawValue)]" } ?? id }
        return "merge order: \(named.joined(separator: ", ")) ('gadugi merge --done' takes the done ones in this order)"
    }

    var summaryLine: String {
        let counts = Dictionary(uniqueKeysWithValues: summary)
        var parts = ["\(counts["clean"] ?? 0) merge cleanly into \(into.name)", "\(counts["conflicting"] ?? 0) conflict with it"]
        if let merged = counts["merged"], merged > 0 { parts.append("\(merged) already merged") }
        if let unknown = counts["unknown"], unknown > 0 { parts.append("\(unknown) cannot be judged") }
        let pairs = conflictingPairs
        let pairText = pairs.isEmpty ? (pairwise.checked ? "no two branches conflict" : "branches not checked against each other")
            : "\(pairs.count) \(Review.plural(pairs.count, "pair of branches conflicts", "pairs of branches conflict")): "
                + pairs.map { "\($0.0) and \($0.1)" }.joined(separator: ", ") + " (merge one, then review again)"
        return parts.joined(separator: ", ") + "; " + pairText
    }

    // MARK: - words

    static func short(_ commit: String) -> String { String(commit.prefix(7)) }

    static func plural(_ n: Int, _ one: String, _ many: String) -> String { n == 1 ? one : many }

    /// `1 file changed: a.txt`, or the first five of many.
    static func files(_ files: [String]) -> String {
        if files.isEmpty { return "no file changed" }
        return "\(files.count) \(plural(files.count, "file", "files")) changed: \(list(files))"
    }

    /// Up to five names, then how many more.
    static func list(_ names: [String]) -> String {
        if names.isEmpty { return "(git named no paths)" }
        let shown = names.prefix(5).joined(separator: ", ")
        return names.count > 5 ? "\(shown) and \(names.count - 5) more" : shown
    }
}
