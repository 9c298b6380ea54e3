extension MergeBack.Outcome {
    /// `gadugi merge --json` (spool-layout.md, "Review and merge").
    public var json: JSON {
        .object([
            ("schema_version", .int(1)),
            ("root", .string(root)),
            ("dry_run", .bool(dryRun)),
            ("ok", .bool(ok)),
            ("into", .object([("branch", .optional(into.branch)), ("head_before", .string(into.head)),
                              ("head_after", .string(headAfter))])),
            ("order", .array(order.map(JSON.string))),
            ("steps", .array(steps.map { step in
                .object([
                    ("id", .string(step.task.id)), ("name", .string(step.task.name)),
                    ("state", .string(step.task.state.rawValue)), ("branch", .optional(step.task.branch)),
                    ("action", .string(step.action.rawValue)), ("commit", .optional(step.commit)),
                    ("conflicts", .array(step.paths.map(JSON.string))), ("reason", .optional(step.reason)),
                ])
            })),
            ("stopped_at", .optional(stop?.task.id)),
            ("next", .optional(advice)),
        ])
    }

    /// What to do after a stop; nil when nothing stopped.
    public var advice: String? {
        guard let stop, let branch = stop.task.branch else { return nil }
        let again = "then run '\(command)' again (what is merged is skipped)"
        guard stop.action == .conflict else { return "do what git says above, \(again)" }
        let files = stop.paths.isEmpty ? "the conflicts" : Review.list(stop.paths)
        var text = "to take \(stop.task.id) by hand: 'git merge \(branch)', resolve \(files), 'git commit'; \(again)"
        let rest = steps.filter { $0.action == .notReached }.map(\.task.id)
        if !rest.isEmpty { text += "; or leave it out: 'gadugi merge \(rest.joined(separator: " "))'" }
        return text
    }

    /// The command that asked for this run.
    var command: String {
        switch selection {
        case .done: return "gadugi merge --done"
        case .ids(let ids): return "gadugi merge " + ids.joined(separator: " ")
        }
    }

    /// `gadugi merge`: one line per task, and after a stop, where the checkout is and what next.
    public var text: String {
        var lines: [String] = []
        let verb = dryRun ? "would merge" : "merging"
        lines.append(order.isEmpty ? "nothing to merge into \(into.name)"
                     : "\(verb) into \(into.name) at \(Review.short(into.head)), in this order: \(order.joined(separator: ", "))")
        for step in steps { lines.append(line(step)) }
        if let stop {
            lines.append("the merge of \(stop.task.id) was aborted: the checkout is clean, HEAD is \(Review.short(headAfter))"
                         + (headAfter == into.head ? " as before" : " (the last good merge)"))
            let left = steps.filter { $0.action == .notReached }.map(\.task.id)
            if !left.isEmpty { lines.append("not merged yet: \(left.joined(separator: ", "))") }
            if let advice { lines.append(advice) }
        } else if !dryRun {
            let merged = steps.count { $0.action == .merged }
            lines.append("merged \(merged) \(Review.plural(merged, "task", "tasks")); HEAD is \(Review.short(headAfter))")
        }
        return lines.map(\.escapedForTerminal).joined(separator: "\n") + "\n"
    }

    /// `, merged first: b is built on it` for a dependency a named task carried along.
    func because(_ step: MergeBack.Step) -> String {
        step.reason.map { ", " + $0 } ?? ""
    }

    func line(_ step: MergeBack.Step) -> String {
        let task = step.task
        let branch = task.branch ?? "no branch"
        let note = task.state == .done ? "" : " [\(task.outcome)]"
        switch step.action {
        case .merged: return "merged \(task.id) (\(branch))\(note) as \(Review.short(step.commit ?? ""))" + because(step)
        case .wouldMerge: return "would merge \(task.id) (\(branch))\(note)" + because(step)
        case .skipped: return "skipped \(task.id): \(step.reason ?? "")"
        case .conflict: return "conflict: \(task.id) (\(branch)) conflicts with \(into.name) in \(Review.list(step.paths))"
        case .failed: return "failed: git would not merge \(task.id) (\(branch)): \(step.reason ?? "")"
        case .notReached: return "not reached: \(task.id) (\(branch))"
        }
    }
}

extension MergeBack {
    /// `gadugi merge --json` for a run that did not start: why, and the changed files when that
    /// was the reason (docs/schemas/merge.schema.json, the object with `error`).
    public static func refusal(_ error: ReviewFailure) -> JSON {
        var files: [String] = []
        if case .dirty(_, let dirty) = error { files = dirty }
        return .object([("schema_version", .int(1)), ("ok", .bool(false)), ("error", .string(error.description)),
                        ("dirty_files", .array(files.map(JSON.string)))])
    }
}
