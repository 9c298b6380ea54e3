/// Blocks until tasks end: `gadugi status --wait` and `gadugi logs -f`. It reads the queue again
/// whenever a `FolderWatch` on its folders wakes it (a prompt's rename is a task's transition),
/// and at least once a second, so it needs no coordinator and misses nothing a lost event hides.
///
/// A task asked for by the name of a prompt still in `incoming/` is followed through its claim:
/// the id it is claimed as is looked up in `events.jsonl`, so `fix-login` is followed even when
/// it became `fix-login-2`.
public final class TaskWaiter {
    public let layout: Layout
    /// The ids asked for, in order, each once.
    public let asked: [String]
    /// One watch for the waiter and whoever waits with it (a log follower adds its folder).
    public let folders: FolderWatch
    let lookup: TaskLookup
    /// Asked id → the id its prompt was claimed as, once it differs.
    private var claimedAs: [String: String] = [:]
    /// Asked id → the prompt in `incoming/` it was seen as (and when), until its claim is found.
    private var queuedAs: [String: (name: String, seen: Timestamp)] = [:]
    /// Asked id → when its queued prompt was first missed without a trace (a claim's event comes
    /// at the end of the coordinator's turn, so it is given a moment before counting as withdrawn).
    private var missedSince: [String: Double] = [:]
    static let withdrawnAfter = 3.0

    public init(layout: Layout, ids: [String]) throws(SystemError) {
        self.layout = layout
        var seen = Set<String>()
        self.asked = ids.filter { seen.insert($0).inserted }
        self.folders = try FolderWatch()
        self.lookup = TaskLookup(layout: layout)
    }

    /// The id the task asked for as `id` has now (its claim may have given it another).
    public func currentID(_ id: String) -> String { claimedAs[id] ?? id }

    /// Where each asked task stands now, by asked id.
    public func standings() -> [String: TaskStanding] {
        Dictionary(uniqueKeysWithValues: asked.map { ($0, standing($0)) })
    }

    func standing(_ id: String) -> TaskStanding {
        guard let (name, seen) = queuedAs[id] else {
            let before = Timestamp.now()
            let found = lookup.standing(of: currentID(id))
            if case .queued(let name) = found { queuedAs[id] = (name, before) }
            return found
        }
        if Files.exists(layout.queue(.incoming, name)) { return .queued(name: name) }
        if let (claimed, found) = lookup.fate(ofQueued: name, seen: seen) {
            queuedAs[id] = nil
            if let claimed { claimedAs[id] = claimed }
            return found
        }
        let now = Timestamp.now().asDouble
        let since = missedSince[id] ?? now
        missedSince[id] = since
        return now - since < TaskWaiter.withdrawnAfter ? .queued(name: name) : .withdrawn(name: name)
    }

    /// Waits until every asked task has ended, or until `deadline`; calls `onWake` before each
    /// look at the queue and once more at the end (a log follower reads what was added). Returns
    /// the standings, or nil when the deadline came first.
    public func wait(until deadline: Timestamp?, onWake: () -> Void = {}) -> [String: TaskStanding]? {
        while true {
            // Watches first, then the look: a change after the look wakes the next wait.
            for queue in [Layout.Queue.incoming, .claimed, .running, .done, .failed, .cancelled, .rejected] {
                folders.watch(layout.queue(queue))
            }
            // While a queued prompt's claim is looked for, its event in events.jsonl is awaited.
            if queuedAs.isEmpty { folders.unwatch(layout.monitoring) } else { folders.watch(layout.monitoring) }
            onWake()
            let now = standings()
            if now.values.allSatisfy(\.hasEnded) {
                onWake()
                return now
            }
            let left = deadline.map { $0.asDouble - Timestamp.now().asDouble }
            if let left, left <= 0 { return nil }
            folders.wait(timeout: min(1.0, left ?? 1.0))
        }
    }
}
