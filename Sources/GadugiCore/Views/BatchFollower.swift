import Glibc
import Logging

/// Follows a batch of prompts handed to a coordinator this process does not own, until each has
/// ended: `gadugi run FILE...` while a coordinator runs. It prints the coordinator's own log
/// lines for those tasks and, at the end, gives their results as the coordinator would have.
///
/// Two sources, each for what it is good at:
/// - **Progress lines** come from `events.jsonl` (`EventTail`), read from where it ended before
///   the files were submitted. The event log has every transition in order, so a task that is
///   claimed, started and finished between two looks still gets its three lines, with the pid
///   and exit of each; looking at the queue folders would see only where it ended up.
/// - **Whether a task has ended, and how** comes from the queue folders and `progress.json`
///   (`TaskWaiter`), the truth of the spool: the summary is what the files say, even if an
///   event was lost (an event log that could not be appended to, a crash between the rename and
///   the event). A task that ended without its line being seen gets one made from its files.
///
/// The process needs no inotify instance of libinotifytools (the coordinator's `Watcher` owns
/// that): `TaskWaiter`'s `FolderWatch` is raw inotify, on the queue folders and `monitoring/`.
public final class BatchFollower {
    /// Why following stopped.
    public enum Ending: Equatable, Sendable {
        /// Every task ended (done, failed, timeout, cancelled, blocked, rejected or withdrawn).
        case allEnded
        /// SIGINT: the follower stopped waiting; the tasks stay with the coordinator.
        case interrupted
        /// The coordinator's lock was free for `goneAfter` seconds: it stopped, or died.
        case coordinatorGone
    }

    public struct Outcome: Sendable {
        public var ending: Ending
        /// By submitted id: where each task stands at the end.
        public var standings: [String: TaskStanding]
        /// The ids that had not ended.
        public var unfinished: [String]
    }

    let layout: Layout
    let logger: Logger
    private var tail: EventTail
    /// How long the coordinator's lock may be free before it counts as gone: a coordinator being
    /// restarted (by systemd, by hand) is back within this.
    public var goneAfter = 2.0
    /// How long, after a task ended, its line from `events.jsonl` is waited for (it is appended at
    /// the end of the coordinator's turn, after the rename) before one is made from its files.
    static let lineGrace = 1.0

    /// Starts reading the event log at its current end: make it before submitting the files.
    public init(layout: Layout, logger: Logger) {
        self.layout = layout
        self.logger = logger
        self.tail = EventTail(layout: layout)
    }

    /// Follows the tasks `submitted` (their names in `incoming/` and their ids) until each has
    /// ended, SIGINT comes (see `catchInterrupts`), or the coordinator is gone.
    public func follow(_ submitted: [(name: String, id: String)]) throws(SystemError) -> Outcome {
        let ids = submitted.map(\.id)
        var state = Following(ids: ids, names: Dictionary(submitted.map { ($0.name, $0.id) }) { a, _ in a })
        let waiter = try TaskWaiter(layout: layout, ids: ids)
        var goneSince: Double?
        var endedAt: Double?
        while true {
            for queue in [Layout.Queue.incoming, .claimed, .running, .done, .failed, .cancelled, .rejected] {
                waiter.folders.watch(layout.queue(queue))
            }
            waiter.folders.watch(layout.monitoring)
            report(&state)
            let standings = waiter.standings()
            let now = Timestamp.now().asDouble
            if standings.values.allSatisfy(\.hasEnded) {
                endedAt = endedAt ?? now
                if state.unreported(standings).isEmpty || now - endedAt! >= BatchFollower.lineGrace {
                    finish(&state, standings)
                    return Outcome(ending: .allEnded, standings: standings, unfinished: [])
                }
            }
            if BatchFollower.interrupted { return outcome(.interrupted, &state, standings) }
            if CoordinatorLock.isHeld(layout) {
                goneSince = nil
            } else {
                goneSince = goneSince ?? now
                if now - goneSince! >= goneAfter { return outcome(.coordinatorGone, &state, waiter.standings()) }
            }
            waiter.folders.wait(timeout: endedAt != nil || goneSince != nil ? 0.1 : 1.0)
        }
    }

    private func outcome(_ ending: Ending, _ state: inout Following, _ standings: [String: TaskStanding]) -> Outcome {
        finish(&state, standings)
        return Outcome(ending: ending, standings: standings,
                       unfinished: state.ids.filter { !(standings[$0]?.hasEnded ?? false) })
    }

    /// Prints the lines of the events appended since the last look, and the progress reports of
    /// running tasks that changed.
    private func report(_ state: inout Following) {
        for event in tail.read() {
            let id: String
            if event.state == "rejected" {
                guard let name = event.name, let known = state.names[name] else { continue }
                id = known
            } else {
                guard let known = event.id, state.ids.contains(known) else { continue }
                id = known
            }
            let record = TaskRecord.load(layout, id: id)
            guard let line = TaskLogLine.forEvent(event, id: id, record: record, layout: layout) else { continue }
            line.log(to: logger)
            state.saw(event, id: id)
        }
        for id in state.running.sorted() {
            guard let record = TaskRecord.load(layout, id: id), record.state == .running else { continue }
            let report = Following.Report(percent: record.percent, message: record.message)
            if state.reports[id] != report {
                state.reports[id] = report
                TaskLogLine.progress(record).log(to: logger)
            }
        }
    }

    /// The last lines: for each task that ended without its line seen in the event log, one
    /// made from its files.
    private func finish(_ state: inout Following, _ standings: [String: TaskStanding]) {
        report(&state)
        for id in state.unreported(standings) {
            switch standings[id] {
            case .ended(let record)?:
                let line = record.state == .blocked ? TaskLogLine.blocked(id, reason: record.blockedReason)
                    : TaskLogLine.finished(record, layout: layout)
                line.log(to: logger)
            case .rejected(let name, let reason)?:
                TaskLogLine.rejected(name, reason: reason).log(to: logger)
            default: continue
            }
        }
    }
}

/// What a follower has seen so far.
private struct Following {
    struct Report: Equatable {
        var percent: Double?
        var message: String?
    }

    let ids: [String]
    /// Submitted names in `incoming/` → ids (a rejection's event names the file, not an id).
    let names: [String: String]
    /// Tasks whose last event said they run (their progress reports are looked at).
    var running: Set<String> = []
    var reports: [String: Report] = [:]
    /// Tasks whose ending line (finish, block, rejection) has been printed.
    var ended: Set<String> = []

    mutating func saw(_ event: Event, id: String) {
        switch event.state {
        case "running":
            if running.insert(id).inserted { reports[id] = Report() }
        case "done", "failed", "timeout", "cancelled", "blocked", "rejected":
            running.remove(id)
            ended.insert(id)
        default:
            running.remove(id)
        }
    }

    /// Tasks that ended with a line to say so (not a withdrawn one: nothing is logged for it)
    /// which has not been printed.
    func unreported(_ standings: [String: TaskStanding]) -> [String] {
        ids.filter { id in
            guard !ended.contains(id) else { return false }
            switch standings[id] {
            case .ended?, .rejected?: return true
            default: return false
            }
        }
    }
}

// MARK: Ctrl-C

nonisolated(unsafe) private var interruptReceived: sig_atomic_t = 0

extension BatchFollower {
    /// Makes SIGINT stop the following instead of the process: `follow` returns `.interrupted`
    /// within a moment (the signal also cuts its wait short).
    public static func catchInterrupts() {
        interruptReceived = 0
        signal(SIGINT) { _ in interruptReceived = 1 }
    }

    static var interrupted: Bool { interruptReceived != 0 }
}

extension Coordinator.Result {
    /// The result a coordinator would have given a task of its own batch that ended so; nil for
    /// one that has not ended. `queuedName` is the name it was queued under in `incoming/`: a
    /// `.reason` file's line starts with it, which the summary says otherwise.
    public init?(_ standing: TaskStanding, id: String, queuedName: String) {
        switch standing {
        case .ended(let record) where record.state == .blocked: self = .blocked(record)
        case .ended(let record): self = .finished(record)
        case .rejected(let name, let reason):
            let prefix = queuedName.escapedForTerminal + ": "
            self = .rejected(name: name, reason: reason.hasPrefix(prefix) ? String(reason.dropFirst(prefix.count)) : reason)
        case .withdrawn: self = .withdrawn(id: id)
        case .unknown, .queued, .active: return nil
        }
    }
}
