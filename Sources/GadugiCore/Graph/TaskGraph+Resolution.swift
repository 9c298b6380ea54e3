extension TaskGraph {
    /// The task a dependency name means for `dependant`. Ids are unique forever, so the same
    /// prompts run again next week arrive as `a-2`, `b-2`, and `b-2` must wait for `a-2`, not
    /// for last week's `a`. A name resolves, in this order, to:
    ///
    /// 1. the task of that name in the dependant's batch (its `run FILE...` or `submit` call),
    ///    if the dependant has a batch — the newest, should the batch hold two;
    /// 2. else the newest (highest arrival) task of that name not finished (waiting or running);
    /// 3. else the newest done one;
    /// 4. else the newest failed or cancelled one (rejected tasks never count);
    /// 5. else nothing: the name is unresolved ("waiting for X"). Producers drop prompts in any
    ///    order, so a task of that name arriving later resolves it then.
    ///
    /// A resolution is fixed once made: a later arrival of another task of that name does not
    /// re-point it. Cost: the tasks of that name (one per run of the prompt).
    mutating func resolve(_ name: String, for dependant: GraphTask) -> String? {
        let candidates = (byName[name] ?? []).compactMap { nodes[$0]?.task }
            .filter { $0.state != .rejected }
        work += candidates.count
        func newest(_ include: (GraphTask) -> Bool) -> String? {
            candidates.filter(include).max { $0.arrival < $1.arrival }?.id
        }
        if let batch = dependant.batch, let inBatch = newest({ $0.batch == batch }) { return inBatch }
        return newest { $0.state.isActive }
            ?? newest { $0.state == .done }
            ?? newest { $0.state == .failed || $0.state == .cancelled }
    }

    /// Resolves each dependency of a newly added task, or records it as awaited.
    mutating func resolveEdges(of id: String) {
        guard let node = nodes[id] else { return }
        for (index, edge) in node.edges.enumerated() {
            if let target = resolve(edge.name, for: node.task) {
                link(id, edge: index, to: target)
            } else {
                nodes[id]?.unresolved += 1
                awaitedNames[edge.name, default: []].append(id)
            }
        }
    }

    /// Resolves the edges that were waiting for a task called `name`, now that one arrived;
    /// returns the dependants changed. The rule of `resolve` picks among the arrivals (a
    /// rejected arrival never counts, and leaves the name awaited).
    mutating func resolveAwaited(_ name: String) -> [String] {
        guard let waiting = awaitedNames.removeValue(forKey: name) else { return [] }
        var changed: [String] = []
        var still: [String] = []
        for dependant in waiting {
            work += 1
            guard let task = nodes[dependant]?.task,
                  let index = nodes[dependant]?.edges.firstIndex(where: { $0.name == name && $0.target == nil })
            else { continue }
            guard let target = resolve(name, for: task) else {
                still.append(dependant)
                continue
            }
            nodes[dependant]?.unresolved -= 1
            link(dependant, edge: index, to: target)
            changed.append(dependant)
        }
        if !still.isEmpty { awaitedNames[name] = still }
        return changed
    }

    /// Records a resolved edge both ways and counts it by the target's standing.
    mutating func link(_ dependant: String, edge index: Int, to target: String) {
        nodes[dependant]?.edges[index].target = target
        nodes[target]?.dependants.append(dependant)
        count(DependencyStanding(state(of: target)), by: 1, in: dependant)
    }

    mutating func count(_ standing: DependencyStanding, by delta: Int, in id: String) {
        switch standing {
        case .pending: nodes[id]?.pending += delta
        case .failed: nodes[id]?.failed += delta
        case .done: break
        }
    }

    /// A dependency moved from one standing to another: recount it in each dependant.
    mutating func updateDependants(of id: String, from before: DependencyStanding, to after: DependencyStanding) {
        for dependant in nodes[id]?.dependants ?? [] {
            work += 1
            count(before, by: -1, in: dependant)
            count(after, by: 1, in: dependant)
            refresh(dependant)
        }
    }
}
