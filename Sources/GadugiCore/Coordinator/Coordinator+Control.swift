import Foundation

/// Requests in `.gadugi/control/` (see `ControlRequest`): read when inotify says the folder
/// changed, at each rescan, and at start.
extension Coordinator {
    func readControl() {
        let held = ControlRequest.isHeld(layout)
        if held != queueHeld {
            queueHeld = held
            logger.info(held ? "the queue is held (\(layout.relative(layout.control(ControlRequest.holdFile))) exists): no new task starts; 'gadugi release' resumes"
                             : "the queue is released: tasks start again")
        }
        guard let names = try? Files.list(layout.control) else { return }
        let heldNow = Set(names.compactMap(ControlRequest.heldTask(fileName:)))
        if heldNow != heldTasks {
            for id in heldNow.subtracting(heldTasks) where tasks[id] != nil { logger.info("holding \(id): it does not start until 'gadugi release \(id)'") }
            for id in heldTasks.subtracting(heldNow) where tasks[id] != nil { logger.info("released \(id)") }
            for id in heldNow.symmetricDifference(heldTasks) { scheduler.setHeld(id, heldNow.contains(id)) }
            heldTasks = heldNow
        }
        for name in names.sorted() where !name.hasPrefix(".") && name != ControlRequest.holdFile && ControlRequest.heldTask(fileName: name) == nil {
            let content = (try? Files.readText(layout.control(name), limit: 64)) ?? nil
            guard let request = ControlRequest(fileName: name, content: content ?? "") else {
                complaints.say("control-\(name)", "ignoring \(layout.relative(layout.control(name))): not a request (cancel.<id>, retry.<id> or hold)")
                continue
            }
            // A member of a batch still gathering is answered once it is in the graph.
            if let entry = tasks[request.id], case .gathering = entry.phase { continue }
            switch request.verb {
            case .cancel: cancel(request.id)
            case .retry: retry(request.id, reset: request.reset)
            }
            try? Files.remove(layout.control(name))
        }
    }

    /// Ctrl-C during `gadugi run FILE...`: the first stops starting tasks and lets the running
    /// ones finish; the second cancels them (SIGTERM, SIGKILL after `kill_grace`) and waits for
    /// them to end; a third leaves at once, as a SIGTERM does (they run on and record their ends).
    func interrupted() {
        interrupts += 1
        let running = tasks.filter { if case .running = $0.value.phase { true } else if case .adopted = $0.value.phase { true } else { false } }
        switch interrupts {
        case 1:
            logger.warning("interrupted: no new task starts; \(running.count) still running. Ctrl-C again cancels them; tasks not started stay queued for the next 'gadugi run'")
        case 2:
            logger.warning("cancelling \(running.count) running task(s) and waiting for them to end (Ctrl-C again leaves without waiting)")
            for id in running.keys.sorted() where tasks[id]?.stop == nil {
                stop(id, StopReason(.cancelled, "cancelled (Ctrl-C)"), clock.now())
            }
        default:
            stopSignal = SIGINT
        }
    }

    /// Cancels a task: one not started goes to `cancelled/` at once; a running one is stopped
    /// (SIGTERM to its processes, SIGKILL after `kill_grace`) and ends cancelled. Its dependants
    /// are blocked.
    func cancel(_ id: String) {
        let why = "cancelled (gadugi cancel)"
        if let entry = tasks[id] {
            switch entry.phase {
            case .claimed, .stalled, .gathering, .backoff:
                do {
                    let record = try control.cancelClaimed(entry.record, now: clock.now(), why: why)
                    scheduler.setState(id, .cancelled)
                    publish(.finished(record))
                    forget(id)
                } catch {
                    complaints.say("cancel", "cannot cancel \(id): \(error); ask again")
                }
            case .running, .adopted:
                if entry.stop == nil { stop(id, StopReason(.cancelled, why), clock.now()) }
            case .exited, .stopping, .committing:
                logger.info("not cancelling \(id): it has already ended")
            }
            return
        }
        switch control.locate(id) {
        case .queued(let name):
            // Claimed and cancelled at once: its name then resolves to a cancelled task, so
            // what depends on it is blocked rather than waiting for ever.
            do {
                switch try control.cancelQueued(name, suffixes: &suffixes, now: clock.now()) {
                case .claimed(let record):
                    admit(TaskEntry(record: record, phase: .claimed))
                    tasks[record.id]?.inBatch = batch[name] != nil
                    admitted(scheduler.add(record, now: clock.now().asDouble))
                    scheduler.setState(record.id, .cancelled)
                    publish(.finished(record))
                    forget(record.id)
                case .rejected(let target, let reason):
                    publish(.rejected(name: name, target: target, reason: reason))
                case .busy, .vanished, .ignored:
                    logger.info("not cancelling \(name): it is being written, or no longer in incoming/")
                }
            } catch {
                logger.info("not cancelling \(name): \(error)")
            }
        case .finished(let record, _): logger.info("not cancelling \(id): it has already ended (\(record.state.rawValue))")
        case .unknown, .claimed, .running: logger.info("not cancelling \(id): no such task")
        }
    }

    /// Runs a failed, timed-out or cancelled task again under its id; unblocks a task blocked by
    /// a merge conflict. Its dependants blocked by it wait for it again.
    func retry(_ id: String, reset: Bool) {
        if let entry = tasks[id] {
            guard case .claimed = entry.phase, entry.blockedBy != nil else {
                return logger.info("not retrying \(id): it is \(entry.record.state.rawValue)")
            }
            tasks[id]?.blockedBy = nil
            logger.info("retrying \(id): its dependencies' work is merged again")
            scheduler.setState(id, .waiting)
            return
        }
        guard case .finished(let record, let queue) = control.locate(id), queue != .done else {
            return logger.info("not retrying \(id): only a failed, timed-out, cancelled or blocked task runs again")
        }
        do {
            let again = try control.retry(record, from: queue, reset: reset, now: clock.now())
            admit(TaskEntry(record: again, phase: .claimed))
            if scheduler.graph.task(id) != nil {
                scheduler.setState(id, .waiting)
            } else {
                admitted(scheduler.add(again, now: clock.now().asDouble))
            }
            logger.info("retrying \(id) (attempt \(again.attempts + 1))")
            var event = Event(again, at: clock.now())
            event.retry = true
            monitor.record(event)
        } catch {
            complaints.say("retry", "cannot retry \(id): \(error); ask again")
        }
    }
}

/// Tasks whose agents run as Slurm job steps (`executor: slurm`).
extension Coordinator {
    /// Since when the task's time limits run: its start, or for a task handed to Slurm the start
    /// of its job (the job id file's mtime, written on the node: not before the task's start, not
    /// after now, whatever the node's clock says). nil while the job is pending.
    func runningSince(_ record: TaskRecord, _ now: Timestamp) -> Timestamp? {
        guard let started = record.startedAt else { return nil }
        guard record.executor == .slurm else { return started }
        guard let jobStart = SlurmStep.startedAt(layout, id: record.id) else { return nil }
        return min(max(jobStart, started), now)
    }

    /// `scancel <job>` for a task handed to Slurm whose job id is known (argv, no shell), its
    /// output in the task's log. The stop path's SIGTERM to `srun` cancels the step when srun is
    /// alive; this also reaches a job whose srun is gone. A job still pending has no id yet: the
    /// SIGTERM makes its srun withdraw it.
    func cancelSlurmJob(_ id: String) {
        guard var record = tasks[id]?.record, record.executor == .slurm else { return }
        if refreshSlurmJob(into: &record) { tasks[id]?.record = record }
        guard let job = record.slurmJobID else { return }
        do {
            _ = try launcher.spawnHook(command: SlurmStep.cancelCommand, environment: baseEnvironment + ["GADUGI_SLURM_JOB=\(job)"],
                                       directory: layout.root, log: layout.log(id))
            logger.info("\(id): scancel \(job)")
        } catch {
            complaints.say("scancel", "cannot run scancel \(job) for \(id): \(error); cancel it by hand (scancel \(job))")
        }
    }
}
