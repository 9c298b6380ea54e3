extension TaskGraph {
    /// The cycle a newly added task closed, if any: members in order, starting with it, each
    /// depending on the next.
    ///
    /// Before the arrival the waiting tasks formed no cycle (cycles are rejected as they
    /// close), so any new cycle runs through the new task: out along its dependencies and back
    /// in through one of its dependants. Two searches run in lockstep, one forward along
    /// dependencies and one backward along dependants, over waiting tasks only (a running or
    /// finished task cannot be waiting for itself); whichever runs out first decides. So the
    /// cost is bounded by the smaller side: a task arriving with no dependants yet — the common
    /// case — costs O(1), and a chain built in either order costs O(n) in all.
    mutating func cycle(closedBy id: String) -> [String]? {
        guard nodes[id]?.task.state == .waiting else { return nil }
        var forward = CycleSearch(start: id) { graph, node in graph.nodes[node]?.edges.compactMap(\.target) ?? [] }
        var backward = CycleSearch(start: id) { graph, node in graph.nodes[node]?.dependants ?? [] }
        while true {
            work += 2
            switch forward.step(in: self) {
            case .found(let path): return path
            case .exhausted: return nil
            case .searching: break
            }
            switch backward.step(in: self) {
            case .found(let path): return [id] + path.dropFirst().reversed()
            case .exhausted: return nil
            case .searching: break
            }
        }
    }
}

/// A depth-first search from a task back to itself over waiting tasks, advanced one node per
/// step so that two searches can run in lockstep.
struct CycleSearch {
    enum Step { case searching, exhausted, found([String]) }

    let start: String
    let successors: (TaskGraph, String) -> [String]
    /// The path from `start`, with each node's successors not yet tried.
    private var stack: [(id: String, next: [String])] = []
    private var seen: Set<String> = []

    init(start: String, successors: @escaping (TaskGraph, String) -> [String]) {
        self.start = start
        self.successors = successors
    }

    /// Tries one more edge. `found` carries the path from `start` to the node that leads back.
    mutating func step(in graph: TaskGraph) -> Step {
        if stack.isEmpty {
            guard seen.isEmpty else { return .exhausted }
            seen.insert(start)
            stack.append((start, successors(graph, start)))
        }
        guard let top = stack.last else { return .exhausted }
        guard let next = top.next.last else {
            stack.removeLast()
            return stack.isEmpty ? .exhausted : .searching
        }
        stack[stack.count - 1].next.removeLast()
        if next == start { return .found(stack.map(\.id)) }
        guard graph.nodes[next]?.task.state == .waiting, seen.insert(next).inserted else { return .searching }
        stack.append((next, successors(graph, next)))
        return .searching
    }
}
