/// `gadugi merge`: finished tasks' branches merged into the root's current branch, one real
/// `git merge --no-ff` each (a merge commit naming the task), in `MergePlan` order. It refuses to
/// start on a checkout with changes to tracked files or a merge going on, skips what `HEAD`
/// already contains, and stops at the first conflict with the merge aborted, so the checkout is
/// always left clean at the last good merge.
public enum MergeBack {
    /// Which tasks to merge.
    public enum Selection: Sendable, Equatable {
        /// Every task that succeeded.
        case done
        /// These finished tasks (a failed one too, when named).
        case ids([String])
    }

    /// What happened to one task.
    public struct Step: Sendable, Equatable {
        public enum Action: String, Sendable {
            case merged, skipped, conflict, failed
            /// `--dry-run`: it would be merged.
            case wouldMerge = "would_merge"
            /// After a conflict or failure: not tried.
            case notReached = "not_reached"
        }

        public var task: FinishedTask
        public var action: Action
        /// The merge commit made (`merged`).
        public var commit: String?
        /// Where it conflicts (`conflict`).
        public var paths: [String] = []
        /// Why it was skipped or failed.
        public var reason: String?
    }

    /// What a run did.
    public struct Outcome: Sendable, Equatable {
        public var root: String
        /// The branch merged into, and `HEAD` before the first merge.
        public var into: Review.Into
        /// `HEAD` at the end: the last good merge.
        public var headAfter: String
        public var dryRun: Bool
        /// What was asked for: the advice after a stop repeats it.
        public var selection: Selection
        /// The ids with a branch, in merge order.
        public var order: [String]
        public var steps: [Step]

        /// The step that stopped the run (a conflict, or a merge git refused).
        public var stop: Step? { steps.first { $0.action == .conflict || $0.action == .failed } }
        public var ok: Bool { stop == nil }
    }

    /// Merges (or with `dryRun` only orders) the selected tasks. Throws, with nothing merged, when
    /// the root is no repository, a named task is not finished, a merge is going on or tracked
    /// files have changes (a dry run does not look at the working tree).
    public static func run(_ layout: Layout, _ selection: Selection, dryRun: Bool) throws(ReviewFailure) -> Outcome {
        let checkout = try RootCheckout(root: layout.root)
        let start = try checkout.head()
        var tasks: [FinishedTask]
        switch selection {
        case .done: tasks = FinishedTask.all(in: layout).filter { $0.state == .done }
        case .ids(let ids): tasks = try FinishedTask.named(ids, in: layout)
        }
        if !dryRun { try ready(checkout) }
        let tips = try checkout.branchTips()
        var reasons: [String: String] = [:]
        if case .ids = selection {
            let carried = carriedAlong(tasks, all: FinishedTask.all(in: layout), tips: tips, head: start, checkout)
            tasks += carried.map(\.task)
            reasons = Dictionary(carried.map { ($0.task.id, $0.reason) }, uniquingKeysWith: { a, _ in a })
        }
        let (ordered, unmergeable) = plan(tasks, tips: tips)
        var outcome = Outcome(root: layout.root, into: Review.Into(branch: checkout.currentBranch(), head: start),
                              headAfter: start, dryRun: dryRun, selection: selection, order: ordered.map(\.id), steps: [])
        for task in ordered {
            guard outcome.ok, let tip = task.branch.flatMap({ tips[$0] }) else {
                outcome.steps.append(Step(task: task, action: .notReached))
                continue
            }
            var step = try attempt(task, tip: tip, checkout, &outcome)
            if step.reason == nil { step.reason = reasons[task.id] }
            outcome.steps.append(step)
        }
        outcome.steps += unmergeable
        return outcome
    }

    /// Refuses a checkout where a merge is going on or tracked files have changes.
    static func ready(_ checkout: RootCheckout) throws(ReviewFailure) {
        if checkout.mergeInProgress() { throw .mergeInProgress(checkout.root) }
        let dirty = try checkout.dirtyFiles()
        if !dirty.isEmpty { throw .dirty(root: checkout.root, files: dirty) }
    }

    /// The tasks with a branch in merge order, and a skipped step for each of the others.
    static func plan(_ tasks: [FinishedTask], tips: [String: String]) -> ([FinishedTask], [Step]) {
        var mergeable: [String: FinishedTask] = [:]
        var skipped: [Step] = []
        for task in tasks {
            if let branch = task.branch, tips[branch] != nil {
                mergeable[task.id] = task
            } else {
                let reason = task.branch.map { "its branch \($0) no longer exists" } ?? "it ran without a worktree (isolation: none): no branch"
                skipped.append(Step(task: task, action: .skipped, reason: reason))
            }
        }
        let order = MergePlan.order(mergeable.values.map(MergePlan.Item.init))
        return (order.compactMap { mergeable[$0] }, skipped)
    }

    /// The dependencies of the named tasks (at any depth) that they carry along: finished tasks
    /// whose branch a named one was built on, so that merging it would bring their commits in under
    /// its merge commit. They are merged first, each as its own merge, with the reason given; those
    /// `head` already holds are left out.
    static func carriedAlong(_ named: [FinishedTask], all: [FinishedTask], tips: [String: String], head: String,
                             _ checkout: RootCheckout) -> [(task: FinishedTask, reason: String)] {
        let byID = Dictionary(all.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let tip = { (task: FinishedTask) in task.branch.flatMap { tips[$0] } }
        var chosen = Set(named.map(\.id))
        var carried: [(task: FinishedTask, reason: String)] = []
        var queue = named
        while !queue.isEmpty {
            let task = queue.removeFirst()
            guard let top = tip(task) else { continue }
            for id in task.dependencies where !chosen.contains(id) {
                guard let dependency = byID[id], let under = tip(dependency), checkout.isAncestor(under, of: top),
                      !checkout.isAncestor(under, of: head) else { continue }
                chosen.insert(id)
                carried.append((dependency, "merged first: \(task.id) is built on it"))
                queue.append(dependency)
            }
        }
        return carried
    }

    /// One task: skipped when `HEAD` already holds its tip, else merged (or, dry, would be).
    static func attempt(_ task: FinishedTask, tip: String, _ checkout: RootCheckout,
                        _ outcome: inout Outcome) throws(ReviewFailure) -> Step {
        if checkout.isAncestor(tip, of: outcome.headAfter) {
            return Step(task: task, action: .skipped, reason: "already merged into \(outcome.into.name)")
        }
        if outcome.dryRun { return Step(task: task, action: .wouldMerge) }
        switch try checkout.merge(tip, message: message(task)) {
        case .merged(let commit):
            outcome.headAfter = commit
            return Step(task: task, action: .merged, commit: commit)
        case .conflicts(let paths):
            return Step(task: task, action: .conflict, paths: paths)
        case .refused(let why):
            return Step(task: task, action: .failed, reason: why)
        }
    }

    /// `gadugi: merge task <id> from <branch>`, and the task's name below when it says more.
    static func message(_ task: FinishedTask) -> String {
        let subject = "gadugi: merge task \(task.id) from \(task.branch ?? "gadugi/" + task.id)"
        let name = task.name.escapedForTerminal
        return name == task.id ? subject : subject + "\n\n" + name
    }
}
