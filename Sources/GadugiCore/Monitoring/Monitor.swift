import Glibc

/// Writes the descriptive half of the spool: `progress.json`, `events.jsonl`, `registry.json` and
/// heartbeat files. Nothing here decides a task's state; it only records what the queue says.
public final class Monitor {
    public let layout: Layout
    private var eventsFD: CInt = -1
    /// Event lines gathered during one turn of the coordinator's loop, written with one `write`.
    private var eventBuffer: [UInt8] = []
    private var registryDirty = true
    private var lastRegistryWrite = Timestamp(seconds: 0, nanoseconds: 0)
    /// The registry is rewritten at most this often: it lists every active task, so writing it on
    /// each transition would make a backlog of n tasks cost O(n²).
    public var registryInterval: Double = 0.1
    /// `events.jsonl` is rotated to `events.1.jsonl` before an append would take it past this
    /// many bytes (0: never), so a spool that runs for months cannot fill its disk with a log.
    public var eventsMax: Int64

    /// `eventsMax`: the configured `events_max` (`Settings.eventsMax`).
    public init(layout: Layout, eventsMax: Int64 = 64 << 20) {
        self.layout = layout
        self.eventsMax = eventsMax
    }

    deinit {
        if eventsFD >= 0 { close(eventsFD) }
    }

    /// Writes a task's `progress.json`; false (with a rate-limited warning) when it cannot be
    /// written, so the caller can keep the record and write it again later.
    @discardableResult
    public func writeProgress(_ record: TaskRecord) -> Bool {
        do {
            try Files.writeAtomically(layout.progress(record.id), record.json(layout).bytes(pretty: true) + [0x0A])
            complaints?.resolve("progress", "task records can be written again")
            return true
        } catch {
            complaints?.say("progress", "cannot write progress.json of \(record.id): \(error); "
                + "records are written again once they can be")
            return false
        }
    }

    /// Records a state change for `events.jsonl` (written at the end of the loop's turn).
    public func record(_ event: Event) {
        eventBuffer.append(contentsOf: event.json.bytes())
        eventBuffer.append(0x0A)
        registryDirty = true
    }

    /// Appends the gathered lines to `events.jsonl` (O_APPEND: whole lines, never interleaved),
    /// rotating it first when they would take it past `eventsMax`.
    public func flushEvents() {
        guard !eventBuffer.isEmpty else { return }
        defer { eventBuffer.removeAll(keepingCapacity: true) }
        do {
            if eventsFD < 0 { eventsFD = try Files.open(layout.events, O_WRONLY | O_CREAT | O_APPEND) }
            if needsRotation(adding: eventBuffer.count) { try rotateEvents() }
            try Files.writeAll(eventsFD, eventBuffer, path: layout.events)
            complaints?.resolve("events", "the event log can be appended to again")
        } catch {
            complaints?.say("events", "cannot append to the event log (these lines are lost; the queue is unaffected): \(error)")
        }
    }

    /// True when appending `count` bytes would take a non-empty log past the cap. The size is
    /// asked of the open file each time (one `fstat` per turn), so a log someone truncated or
    /// appended to is measured as it is. A turn's lines larger than the cap on their own go into
    /// a fresh file whole: a line is never split, and never dropped for its size.
    private func needsRotation(adding count: Int) -> Bool {
        guard eventsMax > 0 else { return false }
        var status = stat()
        guard fstat(eventsFD, &status) == 0 else { return false }
        return status.st_size > 0 && Int64(status.st_size) + Int64(count) > eventsMax
    }

    /// Renames `events.jsonl` to `events.1.jsonl`, replacing the previous one — the one rename in
    /// the spool allowed to replace a file: it is a log of what happened, not a prompt — and
    /// opens a new `events.jsonl`. A reader following the name (`tail -F`) carries on in the new
    /// file. When the rename fails, the lines go on being appended to the old file, with a word
    /// in the log: a log past its cap is better than lost lines.
    private func rotateEvents() throws(SystemError) {
        guard rename(layout.events, layout.rotatedEvents) == 0 else {
            let error = SystemError.last("rename", "\(layout.events) to \(Files.split(layout.rotatedEvents).1)")
            complaints?.say("events-rotate", "cannot rotate the event log past events_max (\(eventsMax) bytes): \(error); it goes on growing")
            return
        }
        complaints?.resolve("events-rotate", "the event log can be rotated again")
        close(eventsFD)
        eventsFD = -1
        eventsFD = try Files.open(layout.events, O_WRONLY | O_CREAT | O_APPEND)
    }

    public func markRegistryDirty() { registryDirty = true }

    /// Rewrites `registry.json` if anything changed and the last write is old enough (or `force`).
    public func flushRegistry(force: Bool = false, _ make: () -> Registry) {
        guard registryDirty || force else { return }
        let now = Timestamp.now()
        guard force || now.asDouble - lastRegistryWrite.asDouble >= registryInterval else { return }
        do {
            try Files.writeAtomically(layout.registry, make().json.bytes(pretty: true) + [0x0A])
            registryDirty = false
            lastRegistryWrite = now
            complaints?.resolve("registry", "registry.json can be written again")
        } catch {
            // Tried again at the next interval, not at once: the cause (a full disk) lasts.
            lastRegistryWrite = now
            complaints?.say("registry", "cannot write the registry: \(error)")
        }
    }

    /// True when a write is waiting for the registry interval to pass.
    public var registryPending: Bool { registryDirty }

    public func heartbeatTime(_ id: String) -> Timestamp? {
        (try? Files.linkStatus(layout.heartbeat(id)))??.modified
    }

    /// Where warnings about files that cannot be written go (rate-limited).
    public var complaints: Complaints?
}
