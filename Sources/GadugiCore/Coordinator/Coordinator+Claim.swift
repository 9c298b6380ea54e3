import Foundation

/// Taking prompts from `incoming/`, and the records written a little later.
extension Coordinator {
    /// How many more prompts to claim now: one per free slot. A backlog waits in `incoming/` (where
    /// its producer may still withdraw it), and the coordinator's work and memory stay O(active
    /// tasks) rather than O(backlog). (Claiming a slot's worth ahead was measured: no faster.)
    /// Claimed tasks waiting for dependencies or for a batch do not count: they are claimed
    /// further ahead, so that the ones they wait for are seen.
    var claimBudget: Int { settings.maxParallel - runningCount - scheduler.readyCount }

    /// Whether the next name in `incoming/` is claimed now: within the budget; while a batch
    /// gathers; and always for the files of this `gadugi run FILE...`, which were given together
    /// (bounded by the command line), so that their priorities order all of them, not only the
    /// few that fit the free slots.
    func mayClaim(_ name: String) -> Bool {
        claimBudget > 0 || scheduler.isGathering || batch[name] != nil
    }

    func claimPending() {
        for name in parked.takeDue(now: clock.now()) where !pending.contains(name) { pending.append(name, settles: true) }
        var looked = 0
        while looked < 256, let next = pending.first, mayClaim(next), let (name, settles) = pending.popArrival() {
            looked += 1
            do {
                let settle = settles ? settings.settle : 0
                switch try spool.claim(name, suffixes: &suffixes, spares: spares, settle: settle, now: clock.now()) {
                case .ignored:
                    break
                case .busy(let until):
                    logger.debug("not claiming \(name) yet: it is open for writing or changed within the settle time")
                    parked.park(name, until: until)
                case .vanished:
                    // A batch file its producer took back before it was claimed (a late duplicate
                    // event for a file already claimed finds its task and is not counted).
                    if let id = batch[name], tasks[id] == nil, results[id] == nil { publish(.withdrawn(id: id, from: .incoming)) }
                case .claimed(var record):
                    // A task starts from the root's HEAD at its claim, unless its front matter says.
                    if let repository, record.base == nil { record.base = Git.head(topLevel: repository) }
                    let now = clock.now().asDouble
                    var entry = TaskEntry(record: record, phase: .gathering)
                    entry.inBatch = batch[name] != nil
                    admit(entry)
                    recordLater(record.id)
                    publish(.claimed(record, from: name))
                    // A misspelled key is a setting that silently never applies: say so.
                    for key in record.unknownKeys where TaskSpec.suggestion(for: key) != nil || key.hasPrefix("slurm.") {
                        if let warning = TaskSpec.unknownKeyWarning(key) { logger.warning("\(record.id): \(warning)") }
                    }
                    admitted(scheduler.add(record, now: now))
                case .rejected(let target, let reason):
                    publish(.rejected(name: name, target: target, reason: reason))
                }
                complaints.resolve("claim", "prompts can be claimed again")
            } catch {
                // Found again by the next rescan; a lasting cause (a full disk) is said once.
                complaints.say("claim", "cannot claim \(name): \(error); it stays in incoming/ and is tried again")
            }
        }
    }

    func finishExited() {
        for id in exitedIDs {
            if case .exited(let status)? = tasks[id]?.phase { finish(id, waitStatus: status) }
        }
        exitedIDs.removeAll(keepingCapacity: true)
    }

    /// Owes a task's record `recordDelay` from now (the state it is in may not last that long).
    func recordLater(_ id: String) {
        let due = clock.now().asDouble + recordDelay
        tasks[id]?.recordDue = due
        dueRecords.append((id, due))
    }

    /// Writes the deferred records that are due. Each is written `recordDelay` after its state
    /// began, unless the task has left that state by then (the due time goes with the change).
    /// `all`: on the way out, every record still owed is written (the tasks stay where they are).
    /// Due times are set in order, so the owed records come off the front; an entry whose task
    /// has since been given another due time, or none, is stale and skipped.
    func writeDeferred(all: Bool = false) {
        let now = clock.now().asDouble
        while let (id, due) = dueRecords.first, due <= now || all {
            dueRecords.removeFirst()
            guard let entry = tasks[id], entry.recordDue == due else { continue }
            tasks[id]?.recordDue = nil
            record(entry.record)
        }
    }
}
