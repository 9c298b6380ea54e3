import HeapModule

/// The ready tasks, best first (higher priority, then earlier arrival), kept incrementally so
/// the scheduler takes the next one in O(log n) instead of sorting every ready task each time.
///
/// Removal is lazy: a removed id stays in the heap until it reaches the top, where it is dropped
/// because it is no longer a member. The heap is rebuilt when stale entries outnumber live ones,
/// so its size stays O(members) and each operation O(log n) amortized.
struct ReadyQueue: Sendable {
    /// A heap entry; the maximum is the task to run next.
    struct Entry: Comparable, Sendable {
        let priority: Int
        let arrival: Int
        let id: String

        static func < (lhs: Entry, rhs: Entry) -> Bool {
            if lhs.priority != rhs.priority { return lhs.priority < rhs.priority }
            return lhs.arrival > rhs.arrival
        }
    }

    private var members: [String: Entry] = [:]
    private var heap = Heap<Entry>()

    var count: Int { members.count }

    func contains(_ id: String) -> Bool { members[id] != nil }

    mutating func insert(_ entry: Entry) {
        guard members.updateValue(entry, forKey: entry.id) == nil else { return }
        heap.insert(entry)
    }

    mutating func remove(_ id: String) {
        guard members.removeValue(forKey: id) != nil else { return }
        if heap.count > 2 * members.count + 32 { heap = Heap(members.values) }
    }

    /// The best ready id, dropping stale entries on the way: O(log n) amortized.
    mutating func first() -> String? {
        while let top = heap.max {
            if members[top.id] != nil { return top.id }
            heap.removeMax()
        }
        return nil
    }

    /// Every ready id, best first: O(k log k) for k ready tasks.
    func sorted() -> [String] {
        members.values.sorted(by: >).map(\.id)
    }
}
