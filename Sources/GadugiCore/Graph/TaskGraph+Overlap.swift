extension TaskGraph {
    /// Whether two tasks may touch a common file: some pair of their patterns overlaps.
    func filesOverlap(_ a: GraphTask, _ b: GraphTask) -> Bool {
        a.files.contains { p in b.files.contains { q in overlap(p, q) } }
    }

    /// Links a task that became active with the active tasks sharing its files, and counts
    /// those that hold the files against it. Its own hold is still `.none` here; `refresh`
    /// then adds it to the neighbours as a difference.
    mutating func connectOverlaps(_ id: String) {
        guard let task = nodes[id]?.task, !task.files.isEmpty else { return }
        for other in activeWithFiles {
            work += 1
            guard let neighbour = nodes[other], filesOverlap(task, neighbour.task) else { continue }
            nodes[other]?.neighbours.insert(id)
            nodes[id]?.neighbours.insert(other)
            if neighbour.holds(neighbour.hold, against: task) { nodes[id]?.holders += 1 }
        }
        activeWithFiles.insert(id)
    }

    /// Unlinks a task that finished; its hold has already been withdrawn by `refresh`.
    mutating func disconnectOverlaps(_ id: String) {
        guard let node = nodes[id] else { return }
        for other in node.neighbours {
            work += 1
            nodes[other]?.neighbours.remove(id)
        }
        nodes[id]?.neighbours = []
        nodes[id]?.holders = 0
        activeWithFiles.remove(id)
    }

    /// Brings a task's cached hold and ready-queue membership up to date, and passes a change
    /// of hold on to the tasks sharing its files (one level: a hold never depends on holders).
    mutating func refresh(_ id: String) {
        guard let node = nodes[id] else { return }
        let hold = node.currentHold
        if hold != node.hold {
            nodes[id]?.hold = hold
            propagate(from: node, oldHold: node.hold, newHold: hold)
        }
        updateReadiness(id)
    }

    mutating func propagate(from node: GraphNode, oldHold: GraphNode.Hold, newHold: GraphNode.Hold) {
        for other in node.neighbours {
            work += 1
            guard let task = nodes[other]?.task else { continue }
            let delta = (node.holds(newHold, against: task) ? 1 : 0) - (node.holds(oldHold, against: task) ? 1 : 0)
            guard delta != 0 else { continue }
            nodes[other]?.holders += delta
            updateReadiness(other)
        }
    }

    mutating func updateReadiness(_ id: String) {
        guard let node = nodes[id] else { return }
        touched.insert(id)
        if node.isReady {
            let task = node.task
            readyQueue.insert(.init(priority: task.priority, arrival: task.arrival, id: task.id))
        } else {
            readyQueue.remove(id)
        }
    }
}
