/// What `gadugi review` reports: for each finished task's branch, how far it is from where it
/// started, what it changed, whether it merges cleanly into the root's current `HEAD`, and which
/// other finished branches it conflicts with, plus the order `gadugi merge` would take them in.
/// Every merge here is a trial (`TrialMerge`): no checkout, index or ref is touched.
public struct Review: Sendable {
    /// The checkout the branches are compared with.
    public struct Into: Sendable, Equatable {
        /// The branch checked out; nil for a detached `HEAD`.
        public var branch: String?
        public var head: String

        /// `main`, or `detached HEAD`, for people.
        public var name: String { branch ?? "detached HEAD" }
    }

    /// Another finished branch this one conflicts with, and where.
    public struct Conflict: Sendable, Equatable {
        public var id: String
        public var branch: String
        public var paths: [String]
    }

    /// One reviewed branch.
    public struct Entry: Sendable, Equatable {
        public var task: FinishedTask
        public var branch: String
        /// The branch's commit now.
        public var tip: String
        /// The commit it started from (`worktree.json`), else its merge base with `HEAD`.
        public var base: String?
        /// Commits on the branch since `base`; nil when git could not count them.
        public var commitsAhead: Int?
        /// Paths changed since `base`.
        public var files: [String]
        /// Already contained in `HEAD`: merging it would do nothing.
        public var merged: Bool
        /// Merging it into `HEAD`; nil when already merged.
        public var intoHead: TrialMerge?
        public var conflictsWith: [Conflict] = []

        /// Not merged yet, and git could tell how it merges: a candidate for `gadugi merge`.
        public var mergeable: Bool { !merged && intoHead?.failure == nil }
    }

    /// A task asked for (or finished) that is not reviewed, and why.
    public struct Skipped: Sendable, Equatable {
        public var id: String
        public var reason: String
    }

    /// Whether the branches were checked against each other (n·(n−1)/2 trial merges).
    public struct Pairwise: Sendable, Equatable {
        public var checked: Bool
        /// Branches that took part (or would have).
        public var branches: Int
        public var limit: Int

        public var pairs: Int { branches * max(branches - 1, 0) / 2 }
    }

    /// The most branches checked against each other by default: 100 branches are 4,950 trial
    /// merges, a few tens of seconds; beyond that the report says they were not checked.
    public static let defaultPairwiseLimit = 100

    public var root: String
    public var into: Into
    /// Entries in merge order, then those already merged or that git could not judge.
    public var entries: [Entry]
    public var skipped: [Skipped]
    public var pairwise: Pairwise
    /// The ids `gadugi merge` would merge, in its order: the mergeable entries.
    public var order: [String]

    /// Reviews the finished tasks of the spool at `layout` (only `ids` when given; naming a task
    /// includes it even when it failed without commits).
    public init(layout: Layout, ids: [String]? = nil, pairwiseLimit: Int = Review.defaultPairwiseLimit) throws(ReviewFailure) {
        let checkout = try RootCheckout(root: layout.root)
        let head = try checkout.head()
        let tips = try checkout.branchTips()
        let tasks = try ids.map { ids throws(ReviewFailure) in try FinishedTask.named(ids, in: layout) } ?? FinishedTask.all(in: layout)
        var entries: [Entry] = []
        var skipped: [Skipped] = []
        for task in tasks {
            switch Review.judge(task, tips: tips, head: head, checkout, named: ids != nil) {
            case .reviewed(let entry): entries.append(entry)
            case .skipped(let reason): skipped.append(reason)
            }
        }
        let candidates = entries.indices.filter { entries[$0].mergeable }
        pairwise = Pairwise(checked: candidates.count <= pairwiseLimit, branches: candidates.count, limit: pairwiseLimit)
        if pairwise.checked { Review.checkPairs(candidates, &entries, checkout) }
        order = MergePlan.order(candidates.map { MergePlan.Item(entries[$0].task) })
        let rank = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
        self.entries = entries.sorted { (rank[$0.task.id] ?? Int.max, $0.task.id) < (rank[$1.task.id] ?? Int.max, $1.task.id) }
        self.skipped = skipped
        self.root = layout.root
        self.into = Into(branch: checkout.currentBranch(), head: head)
    }

    /// A task reviewed, or why not.
    enum Judgement {
        case reviewed(Entry)
        case skipped(Skipped)
    }

    /// The entry for a task, or why it is not reviewed. A task that did not succeed is reviewed
    /// only when its branch holds commits, or when it was named.
    static func judge(_ task: FinishedTask, tips: [String: String], head: String, _ checkout: RootCheckout,
                      named: Bool) -> Judgement {
        guard let branch = task.branch else {
            return .skipped(Skipped(id: task.id, reason: "it ran without a worktree (isolation: none): no branch"))
        }
        guard let tip = tips[branch] else {
            return .skipped(Skipped(id: task.id, reason: "its branch \(branch) no longer exists"))
        }
        let base = task.baseCommit.flatMap { Git.isObjectID($0) ? $0 : nil } ?? checkout.mergeBase(head, tip)
        let ahead = base.flatMap { checkout.commitCount(from: $0, to: tip) }
        if task.state != .done, !named, ahead == 0 {
            return .skipped(Skipped(id: task.id, reason: "\(task.outcome), and its branch \(branch) holds no commits"))
        }
        let merged = checkout.isAncestor(tip, of: head)
        return .reviewed(Entry(task: task, branch: branch, tip: tip, base: base, commitsAhead: ahead,
                              files: base.flatMap { checkout.changedFiles(from: $0, to: tip) } ?? [],
                              merged: merged, intoHead: merged ? nil : checkout.trialMerge(head, tip)))
    }

    /// A trial merge of every pair of the candidate entries; a conflict is noted on both.
    static func checkPairs(_ candidates: [Int], _ entries: inout [Entry], _ checkout: RootCheckout) {
        for (n, i) in candidates.enumerated() {
            for j in candidates[(n + 1)...] {
                let paths = checkout.trialMerge(entries[i].tip, entries[j].tip).paths
                guard !paths.isEmpty else { continue }
                entries[i].conflictsWith.append(Conflict(id: entries[j].task.id, branch: entries[j].branch, paths: paths))
                entries[j].conflictsWith.append(Conflict(id: entries[i].task.id, branch: entries[i].branch, paths: paths))
            }
        }
    }

    /// Pairs of branches that conflict, each once, as (id, id).
    public var conflictingPairs: [(String, String)] {
        entries.flatMap { entry in
            entry.conflictsWith.filter { entry.task.id < $0.id }.map { (entry.task.id, $0.id) }
        }
    }
}
