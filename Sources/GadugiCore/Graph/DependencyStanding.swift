/// How a dependency's state counts for the tasks that depend on it.
enum DependencyStanding: Sendable {
    case pending, done, failed

    init(_ state: GraphTask.State) {
        switch state {
        case .waiting, .running: self = .pending
        case .done: self = .done
        case .failed, .cancelled, .rejected: self = .failed
        }
    }
}
