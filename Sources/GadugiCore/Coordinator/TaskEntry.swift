import Glibc

/// One task the coordinator holds in memory, from its claim to its commit: its record and where it
/// is in its life. Everything the coordinator knows about a task is here, so a new rule is a field
/// or a phase, and forgetting a task is one removal.
struct TaskEntry {
    var record: TaskRecord
    var phase: Phase
    /// When its `claimed` or `running` record is due to be written (see `Coordinator.recordDelay`).
    var recordDue: Double?
    /// Its record could not be written (a full disk): written again at each tick.
    var unwritten = false
    /// Last seen mtimes of its report and heartbeat, so unchanged ones cost no record write (nil:
    /// not looked at yet).
    var seen: (report: Timestamp?, heartbeat: Timestamp?)?
    /// It belongs to the `run FILE...` batch being waited for.
    var inBatch = false
    /// Why it is blocked although the graph would let it run (its dependencies' work did not
    /// merge): kept until it is retried.
    var blockedBy: String?
    /// A stop of its running process under way (its timeout passed, or it stalled with
    /// `on_stall: kill`).
    var stop: StopRequest?

    enum Phase {
        /// Claimed, a member of a batch whose other files have not all been claimed yet: it enters
        /// the scheduler's graph with them, so that names resolve inside the batch first.
        case gathering
        /// Claimed, in the scheduler's graph: it starts when it is ready (its dependencies done,
        /// no task sharing its files ahead of it) and a slot is free.
        case claimed
        /// Claimed; its start failed for a reason that may pass. Back in line at the next tick.
        case stalled
        /// Its process is our child.
        case running(pid_t)
        /// Its process belongs to an earlier coordinator: watched through its lock.
        case adopted
        /// Its process was reaped; finished after the freed slots are refilled, so that the next
        /// agent does not wait for this one's bookkeeping.
        case exited(Int32)
        /// Its process ended while others of its session live on: it keeps its slot until they
        /// are gone (SIGTERM, then SIGKILL after the grace).
        case stopping(Stopping)
        /// Its final record is made; writing it or moving the prompt out of running/ failed for a
        /// reason that may pass, and is tried again at each tick.
        case committing(TaskRecord)
        /// Its attempt failed and it has retries left (`retries`): back in claimed/, it waits until
        /// this time (exponential backoff), still holding its files and its dependants.
        case backoff(Timestamp)

        /// Whether the task counts against `max_parallel`: its processes may be alive.
        var holdsSlot: Bool {
            switch self {
            case .running, .adopted, .stopping: return true
            case .gathering, .claimed, .stalled, .exited, .committing, .backoff: return false
            }
        }
    }
}

/// A task whose process has ended while processes of its session live on.
struct Stopping {
    var session: pid_t
    /// The final record, committed once they are gone.
    var record: TaskRecord
    /// When SIGKILL is sent (or, once `killed`, when the slot is freed regardless).
    var killAt: Timestamp
    var killed = false
}
