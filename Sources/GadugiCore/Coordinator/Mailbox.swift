import Dispatch
import Synchronization

/// What wakes the coordinator. Threads post these; the coordinator's one thread handles them, so
/// all spool state stays single-threaded.
public enum CoordinatorEvent: Sendable, Equatable {
    /// A name was moved into `incoming/`: its producer finished it before the rename.
    case arrived(String)
    /// A name in `incoming/` was closed after writing: it is claimed once it has settled.
    case written(String)
    /// `incoming/` itself was removed or moved away; the watcher made it again and watches the new
    /// one (the message says what happened, for the log).
    case incomingReplaced(String)
    /// The watcher lost events (queue overflow) or restarted: look at the whole directory.
    case rescan
    /// A child of ours ended: (pid, wait status).
    case exited(Int32, Int32)
    /// SIGINT, SIGTERM or SIGHUP.
    case signal(Int32)
    /// The watcher failed and cannot go on; the periodic rescan still works.
    case watcherFailed(String)
    /// Something changed in `.gadugi/control/` (a request, or the queue's hold).
    case control
}

/// A many-producer, one-consumer queue of events with a timed wait.
public final class Mailbox: Sendable {
    private let events = Mutex<[CoordinatorEvent]>([])
    private let ready = DispatchSemaphore(value: 0)

    public init() {}

    public func post(_ event: CoordinatorEvent) {
        events.withLock { $0.append(event) }
        ready.signal()
    }

    /// Waits up to `timeout` seconds for at least one event, then takes all that are there.
    public func take(timeout: Double) -> [CoordinatorEvent] {
        if timeout > 0 {
            _ = ready.wait(timeout: .now() + .nanoseconds(Int(timeout * 1e9)))
        }
        return events.withLock { pending in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
    }
}
