/// The tasks and their dependencies, kept incrementally for the scheduler and analysed whole
/// for `gadugi plan`. Pure: no file system, no clock; file overlap comes from an injected function.
///
/// A struct rather than a class: it is one actor's state (the coordinator's), so value semantics
/// cost nothing there, make it `Sendable` without locks or `@unchecked`, let `gadugi plan` or a
/// test work on a copy, and `mutating` makes the compiler check that nobody changes it while
/// it is being read.
///
/// Every change costs the tasks it touches — the task's dependants (reverse edges) and the
/// tasks sharing its files — never a pass over all waiting tasks. The one exception is finding
/// which tasks share files with a task that becomes active: the patterns are opaque, so it is
/// tested against every active task that declares files (tasks without files cost nothing).
public struct TaskGraph: Sendable {
    /// What `add` found.
    public enum AddResult: Sendable, Hashable {
        case added
        /// The task closed a dependency cycle. Members in order, starting with the task added:
        /// each depends on the next, the last on the first. The caller rejects every member.
        case cycle([String])
        /// A task with this id is already in the graph; nothing changed.
        case duplicate
    }

    let overlap: @Sendable (String, String) -> Bool
    var nodes: [String: GraphNode] = [:]
    /// Ids per name, in the order they were added: the candidates of name resolution.
    var byName: [String: [String]] = [:]
    /// Unresolved names → ids of the tasks waiting for a task of that name to arrive.
    var awaitedNames: [String: [String]] = [:]
    /// Active tasks that declare files: the candidates when looking for file overlaps.
    var activeWithFiles: Set<String> = []
    var readyQueue = ReadyQueue()
    /// Nodes visited by incremental updates and cycle searches; tests use it to prove the
    /// work is proportional to the tasks touched.
    var work = 0
    /// Tasks whose readiness may have changed since `takeTouched`: the coordinator rewrites their
    /// records (waiting for what, blocked by what) without looking at the others.
    var touched: Set<String> = []

    /// - Parameter overlap: whether two file patterns can name a common file.
    public init(overlap: @escaping @Sendable (String, String) -> Bool) {
        self.overlap = overlap
    }

    public var count: Int { nodes.count }

    public func task(_ id: String) -> GraphTask? { nodes[id]?.task }

    /// Adds a task, resolves its dependencies and the names other tasks were waiting for, and
    /// says whether it closed a cycle.
    @discardableResult
    public mutating func add(_ task: GraphTask) -> AddResult {
        add(contentsOf: [task]).first ?? .duplicate
    }

    /// Adds the tasks of one batch (a `run FILE...` or `submit` call) as one step: all of them
    /// are known before any name is resolved, so `b-2` finds `a-2` of its batch even when its
    /// file comes first (added one by one, it would have resolved to last week's done `a`).
    /// Returns one result per task, in order; a cycle is reported once, by its first member in
    /// the list, and listed from that member. A task closing two cycles reports the first found:
    /// once its members are rejected, the other cycle's tasks are blocked by the rejection.
    @discardableResult
    public mutating func add(contentsOf tasks: [GraphTask]) -> [AddResult] {
        var added: [String] = []
        let results = tasks.map { task -> AddResult in
            guard nodes[task.id] == nil else { return .duplicate }
            nodes[task.id] = GraphNode(task)
            byName[task.name, default: []].append(task.id)
            added.append(task.id)
            return .added
        }
        for id in added { resolveEdges(of: id) }
        var touched = added
        for name in Set(tasks.map(\.name)) { touched += resolveAwaited(name) }
        for id in added where nodes[id]?.task.state.isActive == true { connectOverlaps(id) }
        for id in touched { refresh(id) }
        let cycles = cycles(closedBy: added)
        return zip(tasks, results).map { task, result in
            guard result == .added, let members = cycles[task.id] else { return result }
            return .cycle(members)
        }
    }

    /// Moves a task to a new state and updates its dependants and the tasks sharing its files.
    /// Any transition is allowed: a failed task set back to `waiting` and then `done` (a retry)
    /// unblocks its dependants, because edges survive failure.
    public mutating func setState(_ id: String, _ state: GraphTask.State) {
        guard let old = nodes[id]?.task.state, old != state else { return }
        nodes[id]?.task.state = state
        if !old.isActive && state.isActive { connectOverlaps(id) }
        refresh(id)
        if old.isActive && !state.isActive { disconnectOverlaps(id) }
        let (before, after) = (DependencyStanding(old), DependencyStanding(state))
        if before != after { updateDependants(of: id, from: before, to: after) }
    }

    /// Holds a waiting task back (`gadugi hold ID`), or lets it go: it is not ready while held,
    /// and holds no files against others meanwhile.
    public mutating func setHeld(_ id: String, _ held: Bool) {
        guard nodes[id] != nil, nodes[id]?.held != held else { return }
        nodes[id]?.held = held
        refresh(id)
    }

    public func isHeld(_ id: String) -> Bool { nodes[id]?.held ?? false }

    /// Marks a task's dependants as touched, so their standing is described again (a dependency
    /// that became blocked, or unblocked, changes how a waiting dependant reads, not whether it
    /// waits).
    public mutating func touchDependants(of id: String) {
        for dependant in nodes[id]?.dependants ?? [] { touched.insert(dependant) }
    }

    /// Whether a task of this name was ever added (else a dependency on it waits for its arrival).
    public func knows(name: String) -> Bool { byName[name] != nil }

    /// How many tasks are ready (counted against the claim budget).
    public var readyCount: Int { readyQueue.count }

    /// What each of a task's dependency names resolved to (missing: not seen yet).
    public func resolved(_ id: String) -> [String: String] {
        var out: [String: String] = [:]
        for edge in nodes[id]?.edges ?? [] { if let target = edge.target { out[edge.name] = target } }
        return out
    }

    /// The tasks whose readiness may have changed since the last call.
    public mutating func takeTouched() -> Set<String> {
        defer { touched.removeAll(keepingCapacity: true) }
        return touched
    }

    /// The ready tasks, best first: higher priority, then earlier arrival.
    public func runnable() -> [String] { readyQueue.sorted() }

    /// The ready task to start next, O(log n) amortized; it stays ready until its state changes.
    public mutating func nextRunnable() -> String? { readyQueue.first() }

    /// Whether a task may start now, or what keeps it; nil for an unknown id.
    public func readiness(of id: String) -> Readiness? {
        guard let node = nodes[id] else { return nil }
        guard node.task.state == .waiting else { return .notWaiting(node.task.state) }
        let targets = node.edges.compactMap(\.target)
        let failed = targets.filter { DependencyStanding(state(of: $0)) == .failed }
        if !failed.isEmpty {
            let reason = failed.map { "\($0) \(state(of: $0).rawValue)" }.joined(separator: ", ")
            return .blocked(by: failed, reason: reason)
        }
        let pending = node.edges.compactMap { edge -> String? in
            guard let target = edge.target else { return edge.name }
            return DependencyStanding(state(of: target)) == .pending ? target : nil
        }
        if !pending.isEmpty { return .waiting(for: pending) }
        let holders = holders(of: node)
        return holders.isEmpty ? .ready : .conflict(with: holders)
    }

    func state(of id: String) -> GraphTask.State { nodes[id]?.task.state ?? .rejected }

    /// The neighbours that keep `node` from starting, earliest arrival first.
    func holders(of node: GraphNode) -> [String] {
        node.neighbours.compactMap { nodes[$0] }
            .filter { $0.holds($0.hold, against: node.task) }
            .sorted { $0.task.arrival < $1.task.arrival }
            .map(\.task.id)
    }
}
