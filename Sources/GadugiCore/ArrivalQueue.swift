import DequeModule

/// Names waiting in `incoming/`, in arrival order, each once: O(1) to add, test and take, so a
/// backlog of n prompts costs O(n) in all (an ordered set's removeFirst would make it O(n²)).
struct ArrivalQueue {
    private var order = Deque<String>()
    private var members = Set<String>()

    var isEmpty: Bool { order.isEmpty }
    var count: Int { order.count }

    func contains(_ name: String) -> Bool { members.contains(name) }

    mutating func append(_ name: String) {
        if members.insert(name).inserted { order.append(name) }
    }

    mutating func popFirst() -> String? {
        guard let name = order.popFirst() else { return nil }
        members.remove(name)
        return name
    }
}
