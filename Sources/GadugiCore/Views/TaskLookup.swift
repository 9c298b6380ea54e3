import Foundation

/// Finds a task by id in the files alone, and what became of a prompt that was queued: the
/// reading side of `TaskWaiter`.
public struct TaskLookup: Sendable {
    public let layout: Layout

    public init(layout: Layout) {
        self.layout = layout
    }

    /// Where the task `id` stands now. A task whose process has ended but is not committed yet
    /// (spool-layout.md, "finished, not yet committed") has ended only when no coordinator runs
    /// (`gadugi status` shows it so); with one running it ends at the commit, which may instead
    /// start an automatic retry.
    public func standing(of id: String) -> TaskStanding {
        let control = TaskControl(layout: layout)
        for queue in [Layout.Queue.claimed, .running, .failed, .cancelled, .done] {
            guard let name = control.promptName(id, in: queue) else { continue }
            var record = StatusReport.row(named: name, in: queue, layout, now: Timestamp.now().asDouble).record
            if queue == .running, record.state != .running, CoordinatorLock.isHeld(layout) {
                record.state = .running  // ended, not committed: the coordinator has the last word
            }
            switch record.state {
            case .claimed, .waiting, .running: return .active(record)
            default: return .ended(record)
            }
        }
        if let name = queuedName(for: id) { return .queued(name: name) }
        if let name = ((try? Files.list(layout.queue(.rejected))) ?? []).sorted()
            .first(where: { !$0.hasSuffix(".reason") && !$0.hasPrefix(".") && ($0 == id || PromptName.stem(of: $0) == id) }) {
            return .rejected(name: name, reason: rejection(of: name))
        }
        return .unknown
    }

    /// The line of a rejected prompt's `.reason` file.
    func rejection(of name: String) -> String {
        let text = (try? Files.readText(layout.queue(.rejected, name + ".reason"), limit: 64 << 10)) ?? nil
        return text?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "see .gadugi/queue/rejected/"
    }

    /// The prompt in `incoming/` that is to become the task `id`: the one of that file name
    /// (as `gadugi status` lists it), else `<id>.<ext>` (as `gadugi submit` names the files it
    /// queues), else one whose file name makes that id (`Fix Login.md` for `Fix-Login`).
    func queuedName(for id: String) -> String? {
        let names = ((try? Files.list(layout.queue(.incoming))) ?? []).filter(PromptName.isCandidate).sorted()
        return names.first { $0 == id } ?? names.first { PromptName.stem(of: $0) == id }
            ?? names.first { TaskID.base(forFileName: $0) == id }
    }

    /// What became of the prompt that was in `incoming/` as `name` at `seen`: the id it was
    /// claimed as (from its `claimed` line in `events.jsonl`, written after `seen`: a name may
    /// come back), or its rejection or cancel. Nil while no trace of it is found (the event of a
    /// claim is written at the end of the coordinator's turn).
    public func fate(ofQueued name: String, seen: Timestamp) -> (id: String?, standing: TaskStanding)? {
        if let event = lastEvent(about: name, after: seen) {
            if event.state == "rejected" {
                return (nil, .rejected(name: name, reason: event.reason ?? "see .gadugi/queue/rejected/"))
            }
            if let id = event.id { return (id, standing(of: id)) }
        }
        if Files.exists(layout.queue(.rejected, name)) { return (nil, .rejected(name: name, reason: rejection(of: name))) }
        if Files.exists(layout.queue(.cancelled, name)) {
            let id = PromptName.stem(of: name)
            return (nil, .ended(TaskRecord(id: id, ext: PromptName.extension(of: name) ?? "md", name: name, state: .cancelled)))
        }
        // No event (lost in a crash, or not written yet): the id its name makes, if a task of
        // that id is active (one that had ended was there before the prompt, and is another).
        let id = TaskID.base(forFileName: name)
        if case .active(let record) = standing(of: id) { return (id, .active(record)) }
        return nil
    }

    /// The last `claimed` (with `from`) or `rejected` (with `name`) line of `events.jsonl` about
    /// `name` at or after `after`, looked for in the log's last few MiB.
    func lastEvent(about name: String, after: Timestamp) -> Event? {
        let needle = Array(JSON.string(name).encoded().utf8)
        for path in [layout.events, layout.rotatedEvents] {
            let tail = TaskLookup.tail(of: path, bytes: 4 << 20)
            for line in tail.split(separator: UInt8(ascii: "\n")).reversed() where line.contains(needle) {
                guard let event = JSON.parse(Array(line)).flatMap(Event.init(json:)) else { continue }
                guard event.at >= after else { return nil }
                if event.state == "claimed", event.from == name { return event }
                if event.state == "rejected", event.name == name { return event }
            }
        }
        return nil
    }

    /// The last `bytes` of a file (all of a smaller one); empty when it cannot be read.
    static func tail(of path: String, bytes: Int) -> [UInt8] {
        guard let fd = try? Files.open(path, O_RDONLY | O_NOFOLLOW) else { return [] }
        defer { close(fd) }
        let end = lseek(fd, 0, SEEK_END)
        guard end >= 0, lseek(fd, max(0, end - off_t(bytes)), SEEK_SET) >= 0 else { return [] }
        return (try? Files.readAll(fd, path: path, limit: bytes)) ?? []
    }
}
