/// Decides which claimed task starts next, and says why the others wait. It owns the task graph
/// (dependencies, files, priority, arrival), gathers the files of one `submit` or `run FILE...`
/// call before adding them (so `b-2` finds `a-2` of its own call, not last week's `a`), and knows
/// the tasks of each name that finished before this coordinator started (from `names.log`).
/// Pure: no files, no clock (times are passed in), so its rules are unit-tested directly.
struct Scheduler {
    /// A task that entered the graph; `cycle` lists the members of a dependency cycle it closed.
    struct Admission: Equatable {
        var id: String
        var cycle: [String]?
    }

    /// Why a claimed task is not running, for its record.
    struct Standing: Equatable {
        var state: TaskState
        var waitingFor: [String] = []
        var blockedReason: String?
        var dependencies: [String: String] = [:]
    }

    private(set) var graph: TaskGraph
    private var arrivals = 0
    private var olderArrivals = 0
    /// Batches not complete yet: batch id → its size, how many of its tasks were claimed, those
    /// of them held back (they have dependencies to resolve), when it began.
    private var gathering: [String: (size: Int, seen: Int, tasks: [GraphTask], since: Double)] = [:]
    /// Per name, the newest done and the newest failed task from before this coordinator.
    private var finishedBefore: [String: (done: String?, failed: String?)] = [:]
    /// How long a batch waits for its missing members (rejected or withdrawn before the claim).
    let gatherLimit: Double

    init(gatherLimit: Double = 5) {
        graph = TaskGraph(overlap: Scheduler.filesOverlap)
        self.gatherLimit = gatherLimit
    }

    /// Whether two `files` patterns can name a common file (a pattern that does not parse, which
    /// the spool never admits, is taken to overlap everything).
    @Sendable static func filesOverlap(_ a: String, _ b: String) -> Bool {
        guard let ga = try? Glob(a), let gb = try? Glob(b) else { return true }
        return Glob.mayOverlap(ga, gb)
    }

    var readyCount: Int { graph.readyCount }
    /// Whether tasks are held back for their batch: the coordinator then claims ahead of its
    /// budget, so that the rest of the batch is seen.
    var isGathering: Bool { gathering.values.contains { !$0.tasks.isEmpty } }

    /// Tells what finished under a name before this coordinator started (from `names.log`).
    mutating func rememberFinished(name: String, id: String, succeeded: Bool) {
        var entry = finishedBefore[name] ?? (nil, nil)
        if succeeded { entry.done = id } else { entry.failed = id }
        finishedBefore[name] = entry
    }

    /// Takes a claimed task. A member of a batch that depends on others waits until the whole
    /// batch is here (or until `gatherLimit` has passed since its first member), so that its names
    /// resolve inside the batch; every other task enters the graph at once (a batch without
    /// dependencies costs nothing more than single files).
    mutating func add(_ record: TaskRecord, running: Bool = false, now: Double) -> [Admission] {
        arrivals += 1
        let task = GraphTask(id: record.id, name: record.taskName ?? record.id, dependsOn: record.dependsOn,
                             files: record.files, priority: record.priority, arrival: arrivals,
                             batch: record.batch, state: running ? .running : .waiting)
        guard let batch = record.batch, let size = record.batchSize, size > 1, !running else { return admit([task]) }
        var group = gathering[batch] ?? (size, 0, [], now)
        group.seen += 1
        let free = task.dependsOn.isEmpty ? admit([task]) : []
        if !task.dependsOn.isEmpty { group.tasks.append(task) }
        guard group.seen >= size else {
            gathering[batch] = group
            return free
        }
        gathering.removeValue(forKey: batch)
        return free + admit(group.tasks)
    }

    /// Adds several tasks at once (recovery after a restart: their batches are all here).
    mutating func addRecovered(_ records: [(TaskRecord, running: Bool)]) -> [Admission] {
        let tasks = records.map { record, running -> GraphTask in
            arrivals += 1
            return GraphTask(id: record.id, name: record.taskName ?? record.id, dependsOn: record.dependsOn,
                             files: record.files, priority: record.priority, arrival: arrivals,
                             batch: record.batch, state: running ? .running : .waiting)
        }
        return admit(tasks)
    }

    /// Admits the batches that waited too long for missing members.
    mutating func expire(now: Double) -> [Admission] {
        var admitted: [Admission] = []
        for (batch, group) in gathering where now - group.since >= gatherLimit {
            gathering.removeValue(forKey: batch)
            admitted += admit(group.tasks)
        }
        return admitted
    }

    /// Whether a task is still gathering with its batch (not in the graph yet).
    func isGathering(_ id: String) -> Bool {
        gathering.values.contains { $0.tasks.contains { $0.id == id } }
    }

    private mutating func admit(_ tasks: [GraphTask]) -> [Admission] {
        addFinishedBefore(tasks.flatMap(\.dependsOn), except: Set(tasks.map(\.id)))
        return zip(tasks, graph.add(contentsOf: tasks)).compactMap { task, result in
            switch result {
            case .added: return Admission(id: task.id, cycle: nil)
            case .cycle(let members): return Admission(id: task.id, cycle: members)
            case .duplicate: return nil
            }
        }
    }

    /// Adds, for names the graph has not seen, the tasks of that name that finished before this
    /// coordinator started, so that a dependency on them resolves (older than any new task). A
    /// task among `admitted` is itself again (retried since), not a finished one.
    private mutating func addFinishedBefore(_ names: [String], except admitted: Set<String>) {
        for name in Set(names) where !graph.knows(name: name) {
            guard let finished = finishedBefore.removeValue(forKey: name) else { continue }
            for (id, state) in [(finished.failed, GraphTask.State.failed), (finished.done, .done)] {
                guard let id, graph.task(id) == nil, !admitted.contains(id) else { continue }
                olderArrivals -= 1
                graph.add(GraphTask(id: id, name: name, arrival: olderArrivals, state: state))
            }
        }
    }

    /// The best ready task (it stays ready until `setState` moves it).
    mutating func next() -> String? { graph.nextRunnable() }

    mutating func setState(_ id: String, _ state: GraphTask.State) { graph.setState(id, state) }

    mutating func setHeld(_ id: String, _ held: Bool) { graph.setHeld(id, held) }

    mutating func touchDependants(of id: String) { graph.touchDependants(of: id) }

    /// A task finished: its dependants learn it; one the graph never held (it ended while no
    /// coordinator ran) is remembered by name like those in `names.log`.
    mutating func finished(_ id: String, name: String, state: TaskState) {
        if graph.task(id) != nil {
            graph.setState(id, state == .done ? .done : state == .cancelled ? .cancelled : .failed)
        } else {
            rememberFinished(name: name, id: id, succeeded: state == .done)
        }
    }

    mutating func takeTouched() -> Set<String> { graph.takeTouched() }

    /// Where a claimed task stands: free to start (`claimed`), `waiting` (and for what), or
    /// `blocked` (and why).
    func standing(_ id: String) -> Standing {
        if isGathering(id) { return Standing(state: .waiting, waitingFor: ["the rest of its batch"]) }
        if graph.isHeld(id) {
            return Standing(state: .waiting, waitingFor: ["held ('gadugi release \(id)' lets it start)"], dependencies: graph.resolved(id))
        }
        let dependencies = graph.resolved(id)
        switch graph.readiness(of: id) {
        case .waiting(let what)?:
            let described = what.map { name -> String in
                guard let task = graph.task(name) else { return "\(name) (not seen yet)" }
                // A dependency that is itself blocked will not run unless what blocks it is retried.
                if case .blocked? = graph.readiness(of: task.id) { return "\(name) (blocked)" }
                return "\(name) (\(task.state.rawValue))"
            }
            return Standing(state: .waiting, waitingFor: described, dependencies: dependencies)
        case .conflict(let holders)?:
            return Standing(state: .waiting, waitingFor: holders.map { "\($0) (shares files)" }, dependencies: dependencies)
        case .blocked(_, let reason)?:
            return Standing(state: .blocked, blockedReason: "dependency " + reason, dependencies: dependencies)
        case .ready?, .notWaiting?, nil:
            return Standing(state: .claimed, dependencies: dependencies)
        }
    }
}
