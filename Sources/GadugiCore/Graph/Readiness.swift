/// Whether a waiting task may start now, and if not, what it waits for — the answer the
/// scheduler acts on and `gadugi status` / `gadugi plan` explain. The first that applies wins:
/// blocked (nothing will change without a retry), then waiting, then conflict.
public enum Readiness: Sendable, Equatable {
    /// Every dependency is done and no task that goes first holds its files.
    case ready
    /// Names not seen yet, or ids of resolved dependencies that are waiting or running.
    case waiting(for: [String])
    /// A resolved dependency failed, was cancelled or was rejected: the task cannot run unless
    /// that dependency is retried. `reason` names them ("a-2 failed").
    case blocked(by: [String], reason: String)
    /// Ready by its dependencies, but these tasks sharing its files go first: they are running,
    /// or waiting, ready by their dependencies, and arrived earlier.
    case conflict(with: [String])
    /// The task is not waiting (running, finished or rejected): readiness does not apply.
    case notWaiting(GraphTask.State)
}
