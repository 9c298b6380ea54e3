import DequeModule

/// The order in which claimed tasks start. Today it is arrival order (a task whose start stalled
/// goes back to the front); rules such as dependencies and priority belong here, as data on the
/// tasks it orders, not as more collections in the coordinator.
struct Scheduler {
    private var line = Deque<String>()

    var count: Int { line.count }
    var isEmpty: Bool { line.isEmpty }

    mutating func add(_ id: String) { line.append(id) }

    /// Puts a task back at the front (its start was put off).
    mutating func putBack(_ id: String) { line.prepend(id) }

    /// The next task to start. The caller skips ids whose task has since left the waiting phase
    /// (withdrawn), so removal costs nothing here.
    mutating func next() -> String? { line.popFirst() }
}
