import Foundation

/// Taking prompts from `incoming/`, and the records written a little later.
extension Coordinator {
    /// How many more prompts to claim now: one per free slot. A backlog waits in `incoming/` (where
    /// its producer may still withdraw it), and the coordinator's work and memory stay O(active
    /// tasks) rather than O(backlog). (Claiming a slot's worth ahead was measured: no faster.)
    var claimBudget: Int { settings.maxParallel - runningCount - waiting.count - stalledStarts.count }

    func claimPending() {
        for name in parked.takeDue(now: .now()) where !pending.contains(name) { pending.append(name, settles: true) }
        var looked = 0
        while claimBudget > 0, looked < 256, let (name, settles) = pending.popArrival() {
            looked += 1
            do {
                let settle = settles ? settings.settle : 0
                switch try spool.claim(name, suffixes: &suffixes, spares: spares, settle: settle) {
                case .ignored:
                    break
                case .busy(let until):
                    parked.park(name, until: until)
                case .vanished:
                    // A batch file its producer took back before it was claimed (a late duplicate
                    // event for a file already claimed finds its task and is not counted).
                    if let id = batch[name], tasks[id] == nil, results[id] == nil { results[id] = .withdrawn(id: id) }
                case .claimed(let record):
                    tasks[record.id] = record
                    waiting.append(record.id)
                    deferred.append((record.id, .claimed, Timestamp.now().asDouble + recordDelay))
                    monitor.event(record, extra: [("from", .string(name))])
                    if batch[name] != nil { batchIDs.insert(record.id) }
                case .rejected(let target, let reason):
                    finishedCounts[.rejected, default: 0] += 1
                    monitor.appendEvent(.object([
                        ("schema_version", .int(1)), ("at", .string(Timestamp.now().iso8601)),
                        ("name", .string(name)), ("state", .string("rejected")),
                        ("rejected", .string(layout.relative(layout.queue(.rejected, target)))),
                        ("reason", .string(reason)),
                    ]))
                    monitor.markRegistryDirty()
                    logger.warning("rejected \(name): \(reason)")
                    if let id = batch[name] { results[id] = .rejected(name: target, reason: reason) }
                }
                complaints.resolve("claim", "prompts can be claimed again")
            } catch {
                // Found again by the next rescan; a lasting cause (a full disk) is said once.
                complaints.say("claim", "cannot claim \(name): \(error); it stays in incoming/ and is tried again")
            }
        }
    }

    func finishExited() {
        for (id, status) in exited { finish(id, waitStatus: status) }
        exited.removeAll(keepingCapacity: true)
    }

    /// Writes the deferred records that are due and still true. Each is written `recordDelay` after
    /// its state began, unless the task has left that state by then.
    func writeDeferred() {
        guard !deferred.isEmpty else { return }
        let now = Timestamp.now().asDouble
        deferred.removeAll { entry in
            guard entry.due <= now else { return false }
            if let record = tasks[entry.id], record.state == entry.state { self.record(record) }
            return true
        }
    }
}
