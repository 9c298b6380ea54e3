/// The order in which finished branches are merged back: every task after the tasks it depends on
/// (a dependant's branch starts from its dependency's, so merged first it would bring that work in
/// under the wrong name, and a conflict would be reported against the wrong task), and otherwise
/// in the order they finished, so the history reads as the work happened.
public enum MergePlan {
    /// What the order needs to know of a task.
    public struct Item: Sendable, Equatable {
        public var id: String
        /// Ids it depends on; those not among the items are ignored (not asked for, or merged).
        public var dependencies: [String]
        /// nil sorts after every known time.
        public var finishedAt: Timestamp?

        public init(id: String, dependencies: [String] = [], finishedAt: Timestamp? = nil) {
            self.id = id
            self.dependencies = dependencies
            self.finishedAt = finishedAt
        }

        public init(_ task: FinishedTask) {
            self.init(id: task.id, dependencies: task.dependencies, finishedAt: task.finishedAt)
        }
    }

    /// The ids in merge order: repeatedly the earliest-finished item (ties by id) whose
    /// dependencies among the items are all placed. A cycle (the spool rejects them, but records
    /// can be edited) cannot stop it: when nothing is free, the earliest remaining item goes next.
    public static func order(_ items: [Item]) -> [String] {
        let sorted = items.sorted(by: finishedFirst)
        let ids = Set(items.map(\.id))
        var placed: Set<String> = []
        var result: [String] = []
        var remaining = sorted
        while !remaining.isEmpty {
            let free = remaining.firstIndex { item in
                item.dependencies.allSatisfy { $0 == item.id || !ids.contains($0) || placed.contains($0) }
            } ?? remaining.startIndex
            let next = remaining.remove(at: free)
            if placed.insert(next.id).inserted { result.append(next.id) }
        }
        return result
    }

    /// Earlier finish first; an unknown time last; then by id.
    static func finishedFirst(_ a: Item, _ b: Item) -> Bool {
        switch (a.finishedAt, b.finishedAt) {
        case let (x?, y?) where x != y: return x < y
        case (.some, nil): return true
        case (nil, .some): return false
        default: return a.id < b.id
        }
    }
}
