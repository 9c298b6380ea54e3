import DequeModule

extension TaskGraph {
    /// The cycles closed by newly added tasks, each listed from its member earliest in `added`
    /// (each member depends on the next, the last on the first), by that member's id.
    ///
    /// The waiting tasks formed no cycle before (cycles are rejected as they close), so every
    /// new cycle runs through a new task: out along dependencies and back in along dependants.
    /// All its members are therefore both reachable from the new tasks and able to reach them.
    /// Both regions are explored in lockstep over waiting tasks only (a running or finished task
    /// is not waiting for anything); the first to run out bounds the depth-first search that
    /// lists the cycles. A task arriving with no dependants yet — the common case — costs O(its
    /// edges), and a chain costs O(n) in all whichever order its tasks arrive in.
    mutating func cycles(closedBy added: [String]) -> [String: [String]] {
        let starts = added.filter { nodes[$0]?.task.state == .waiting }
        guard !starts.isEmpty else { return [:] }
        let region = smallerRegion(around: starts)
        let position = Dictionary(added.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        var found: [String: [String]] = [:]
        for cycle in depthFirstCycles(from: starts, within: region) {
            guard let first = cycle.indices.min(by: { position[cycle[$0], default: .max] < position[cycle[$1], default: .max] }),
                  position[cycle[first]] != nil, found[cycle[first]] == nil
            else { continue }
            found[cycle[first]] = Array(cycle[first...] + cycle[..<first])
        }
        return found
    }

    func dependencies(of id: String) -> [String] { nodes[id]?.edges.compactMap(\.target) ?? [] }

    func isWaiting(_ id: String) -> Bool { nodes[id]?.task.state == .waiting }

    /// The waiting tasks reachable from `starts` along dependencies, or those reaching them along
    /// dependants, whichever set is found complete first.
    mutating func smallerRegion(around starts: [String]) -> Set<String> {
        var forward = RegionSearch(starts) { graph, id in graph.dependencies(of: id) }
        var backward = RegionSearch(starts) { graph, id in graph.nodes[id]?.dependants ?? [] }
        while true {
            work += 2
            if forward.step(in: self) { return forward.seen }
            if backward.step(in: self) { return backward.seen }
        }
    }

    /// Cycles among the waiting tasks of `region`, found as back edges of a depth-first search
    /// along dependencies; each is the stretch of the search path that the back edge closes.
    mutating func depthFirstCycles(from starts: [String], within region: Set<String>) -> [[String]] {
        var finished = Set<String>()
        var cycles: [[String]] = []
        for start in starts where !finished.contains(start) {
            var path: [(id: String, next: [String])] = [(start, dependencies(of: start))]
            var onPath: [String: Int] = [start: 0]
            while let top = path.last {
                work += 1
                guard let next = top.next.last else {
                    path.removeLast()
                    onPath[top.id] = nil
                    finished.insert(top.id)
                    continue
                }
                path[path.count - 1].next.removeLast()
                if let at = onPath[next] {
                    cycles.append(path[at...].map(\.id))
                } else if region.contains(next), !finished.contains(next), isWaiting(next) {
                    onPath[next] = path.count
                    path.append((next, dependencies(of: next)))
                }
            }
        }
        return cycles
    }
}

/// A breadth-first exploration of waiting tasks, advanced one task per step so that two can
/// run in lockstep and the smaller decide the cost.
struct RegionSearch {
    private(set) var seen: Set<String>
    private var queue: Deque<String>
    private let successors: (TaskGraph, String) -> [String]

    init(_ starts: [String], successors: @escaping (TaskGraph, String) -> [String]) {
        seen = Set(starts)
        queue = Deque(starts)
        self.successors = successors
    }

    /// Visits one more task; true once there is nothing left to visit.
    mutating func step(in graph: TaskGraph) -> Bool {
        guard let id = queue.popFirst() else { return true }
        for next in successors(graph, id) where graph.isWaiting(next) && seen.insert(next).inserted {
            queue.append(next)
        }
        return queue.isEmpty
    }
}
