import DequeModule

/// Names waiting in `incoming/`, in arrival order, each once: O(1) to add, test and take, so a
/// backlog of n prompts costs O(n) in all (an ordered set's removeFirst would make it O(n²)).
/// Each name carries whether it must settle before its claim: true for a file written in place
/// or found by a listing, false for one renamed in (its producer finished it first). The latest
/// arrival of a name decides.
struct ArrivalQueue {
    private var order = Deque<String>()
    private var settles: [String: Bool] = [:]

    var isEmpty: Bool { order.isEmpty }
    var count: Int { order.count }

    func contains(_ name: String) -> Bool { settles[name] != nil }

    /// The next name to take.
    var first: String? { order.first }

    mutating func append(_ name: String, settles mustSettle: Bool = false) {
        if settles.updateValue(mustSettle, forKey: name) == nil { order.append(name) }
    }

    mutating func popFirst() -> String? { popArrival()?.name }

    mutating func popArrival() -> (name: String, settles: Bool)? {
        guard let name = order.popFirst() else { return nil }
        return (name, settles.removeValue(forKey: name) ?? true)
    }
}
