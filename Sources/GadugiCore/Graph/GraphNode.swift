/// A task inside the graph with its resolved edges and the counters its readiness is read from.
/// The counters are kept up to date by the graph as neighbours change, so readiness is O(1) to
/// read and a state change costs only the tasks it touches.
struct GraphNode: Sendable {
    /// One distinct name of `dependsOn`; `target` is the id it resolved to, nil while unresolved.
    /// Edges stay after their target fails, so a retry of the target unblocks the dependant.
    struct Edge: Sendable {
        let name: String
        var target: String?
    }

    /// How this task holds the files it shares with others. A running task holds them against
    /// every task; a waiting task that is ready by its dependencies holds them against tasks
    /// that arrived after it ("earlier arrival goes first"). A waiting task still waiting for
    /// dependencies holds nothing, so a later task it depends on (and shares files with) can run.
    enum Hold: Sendable, Equatable {
        case none, running, waitingReady
    }

    var task: GraphTask
    var edges: [Edge]
    /// Ids whose edges resolved to this task (reverse edges), in the order they resolved.
    var dependants: [String] = []
    /// Active tasks whose files overlap this one's; kept only while this task is active.
    var neighbours: Set<String> = []
    /// Edges with no target yet.
    var unresolved = 0
    /// Edges whose target is waiting or running.
    var pending = 0
    /// Edges whose target failed, was cancelled or rejected.
    var failed = 0
    /// Neighbours that hold the shared files against this task (see `Hold`).
    var holders = 0
    /// This task's current hold, cached so a change can be propagated as a difference.
    var hold = Hold.none
    /// Held by hand (`gadugi hold ID`): never ready, and holds no files against others.
    var held = false

    init(_ task: GraphTask) {
        self.task = task
        var seen = Set<String>()
        edges = task.dependsOn.filter { seen.insert($0).inserted }.map { Edge(name: $0, target: nil) }
    }

    /// Ready by dependencies: every edge resolved to a done task.
    var dependenciesDone: Bool { unresolved == 0 && pending == 0 && failed == 0 }

    var isReady: Bool { task.state == .waiting && dependenciesDone && holders == 0 && !held }

    var currentHold: Hold {
        switch task.state {
        case .running: return .running
        case .waiting where dependenciesDone && !held: return .waitingReady
        default: return .none
        }
    }

    /// Whether this task, holding as `hold`, keeps `other` from starting.
    func holds(_ hold: Hold, against other: GraphTask) -> Bool {
        switch hold {
        case .none: return false
        case .running: return true
        case .waitingReady: return task.arrival < other.arrival
        }
    }
}
