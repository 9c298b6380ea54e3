/// What `gadugi plan` shows: the waiting tasks in the waves they could run in, and the ones that
/// never can, with why.
public struct TaskPlan: Sendable, Equatable {
    /// A waiting task that can never run as things stand, and why.
    public struct Stuck: Sendable, Equatable {
        public var id: String
        public var reason: String

        public init(id: String, reason: String) {
            self.id = id
            self.reason = reason
        }
    }

    /// Wave 1 needs nothing that is still waiting; wave n+1 needs only tasks in waves ≤ n.
    /// Within a wave no two tasks share files. Each wave lists ids by arrival.
    public var waves: [[String]]
    /// Tasks with a missing, failed, cancelled or rejected dependency, in or behind a cycle,
    /// or depending on such a task; by arrival.
    public var stuck: [Stuck]
}
