extension TaskGraph {
    /// The waves of `plan()`.
    public func waves() -> [[String]] { plan().waves }

    /// A one-shot analysis of the waiting tasks for `gadugi plan`, as if each wave ran and
    /// succeeded before the next. Running tasks count as finishing before wave 1 (their
    /// dependants may be in wave 1, and their files are free by then); done tasks are satisfied.
    /// Tasks sharing files that could be in the same wave go in arrival order: the earliest
    /// stays, the others move to the next wave. Cost: O(tasks + edges) plus the file overlap
    /// tests among the tasks of a wave that declare files.
    public func plan() -> TaskPlan {
        let waiting = nodes.values.filter { $0.task.state == .waiting }.sorted { $0.task.arrival < $1.task.arrival }
        let stuck = stuckTasks(waiting)
        let placed = placeInWaves(waiting.filter { stuck[$0.task.id] == nil })
        let stuckList = waiting.compactMap { node -> TaskPlan.Stuck? in
            let id = node.task.id
            if let reason = stuck[id] { return .init(id: id, reason: reason) }
            return placed.ids.contains(id) ? nil : .init(id: id, reason: "in or behind a dependency cycle")
        }
        return TaskPlan(waves: placed.waves, stuck: stuckList)
    }

    /// Kahn's algorithm over the waiting tasks that can run (by arrival): a task joins the
    /// candidates once its waiting dependencies are placed; `fillWave` defers those that share
    /// files. Tasks on or behind a cycle are never placed.
    func placeInWaves(_ runnable: [GraphNode]) -> (waves: [[String]], ids: Set<String>) {
        var remaining: [String: Int] = [:]
        for node in runnable {
            remaining[node.task.id] = node.edges.filter { $0.target.map { state(of: $0) == .waiting } ?? false }.count
        }
        var candidates = runnable.map(\.task.id).filter { remaining[$0] == 0 }
        var waves: [[String]] = []
        var placed = Set<String>()
        while !candidates.isEmpty {
            let (wave, deferred) = fillWave(from: candidates)
            waves.append(wave)
            placed.formUnion(wave)
            var next = deferred
            for id in wave {
                for dependant in nodes[id]?.dependants ?? [] {
                    guard let left = remaining[dependant] else { continue }
                    remaining[dependant] = left - 1
                    if left == 1 { next.append(dependant) }
                }
            }
            candidates = next.sorted { arrival(of: $0) < arrival(of: $1) }
        }
        return (waves, placed)
    }

    func arrival(of id: String) -> Int { nodes[id]?.task.arrival ?? .max }

    /// Splits candidates (by arrival) into a wave without shared files and the ones deferred.
    /// Only tasks that declare files are compared, so a wide wave of tasks without files is linear.
    func fillWave(from candidates: [String]) -> (wave: [String], deferred: [String]) {
        var wave: [String] = []
        var withFiles: [GraphTask] = []
        var deferred: [String] = []
        for id in candidates {
            guard let task = nodes[id]?.task else { continue }
            if withFiles.contains(where: { filesOverlap($0, task) }) {
                deferred.append(id)
                continue
            }
            wave.append(id)
            if !task.files.isEmpty { withFiles.append(task) }
        }
        return (wave, deferred)
    }

    /// Waiting tasks that can never run because of a missing or failed dependency, directly or
    /// through another such task, with the reason for each.
    func stuckTasks(_ waiting: [GraphNode]) -> [String: String] {
        var stuck: [String: String] = [:]
        var queue: [String] = []
        for node in waiting {
            guard let reason = directObstacle(node) else { continue }
            stuck[node.task.id] = reason
            queue.append(node.task.id)
        }
        while let id = queue.popLast() {
            for dependant in nodes[id]?.dependants ?? [] where state(of: dependant) == .waiting && stuck[dependant] == nil {
                stuck[dependant] = "depends on \(id), which cannot run"
                queue.append(dependant)
            }
        }
        return stuck
    }

    func directObstacle(_ node: GraphNode) -> String? {
        if let missing = node.edges.first(where: { $0.target == nil }) {
            return "depends on \(missing.name), which is not known"
        }
        for target in node.edges.compactMap(\.target) where DependencyStanding(state(of: target)) == .failed {
            return "depends on \(target), which \(state(of: target).rawValue)"
        }
        return nil
    }

    /// One line on where a task stands, such as "waiting for a-2 (running), b (not seen yet)".
    public func explain(_ id: String) -> String {
        guard let readiness = readiness(of: id) else { return "\(id): no such task" }
        switch readiness {
        case .ready:
            return "ready"
        case .notWaiting(let state):
            return state.rawValue
        case .blocked(_, let reason):
            return "blocked: \(reason)"
        case .waiting(let awaited):
            let names = Set(nodes[id]?.edges.filter { $0.target == nil }.map(\.name) ?? [])
            let parts = awaited.map { names.contains($0) ? "\($0) (not seen yet)" : "\($0) (\(state(of: $0).rawValue))" }
            return "waiting for " + parts.joined(separator: ", ")
        case .conflict(let holders):
            let parts = holders.map { state(of: $0) == .running ? "\($0) (running)" : "\($0) (arrived earlier)" }
            return "shares files with " + parts.joined(separator: ", ")
        }
    }
}
