import Glibc

/// What `gadugi cancel` and `gadugi retry` do. With a coordinator running they write requests into
/// `control/` and wait for it to take them (it removes each when done); with none running they
/// hold the coordinator's lock (so none can start meanwhile) and carry the requests out
/// themselves. A prompt still in `incoming/` is cancelled by its own rename either way: it has no
/// id yet, and the rename races fairly with a claim.
public struct ControlClient {
    public let layout: Layout
    let control: TaskControl
    /// SIGTERM to SIGKILL when a running task is cancelled with no coordinator running.
    let killGrace: Double

    public init(layout: Layout, killGrace: Double) {
        self.layout = layout
        self.control = TaskControl(layout: layout)
        self.killGrace = killGrace
    }

    /// What became of one request: a line for people, and whether it did what was asked.
    public struct Outcome: Sendable, Equatable {
        public var id: String
        public var said: String
        public var ok: Bool
    }

    // MARK: cancel

    public func cancel(_ ids: [String], wait: Double = 10) -> [Outcome] {
        var outcomes: [Outcome] = []
        var requests: [ControlRequest] = []
        for id in ids {
            // A queued prompt whose name is no task id cannot be named by a request: the rename.
            if case .queued(let name) = control.locate(id), !TaskID.isValid(id) {
                outcomes.append(cancelQueued(id, name))
            } else {
                requests.append(ControlRequest(.cancel, id: id))
            }
        }
        return outcomes + perform(requests, wait: wait, offline: cancelOffline, describe: describeCancel)
    }

    private func cancelQueued(_ id: String, _ name: String) -> Outcome {
        do {
            try Spool(layout: layout).cancelQueued(name)
            return Outcome(id: id, said: "\(name): cancelled before its claim (queue/cancelled/\(name))", ok: true)
        } catch {
            return Outcome(id: id, said: "\(name): \(error.errno == .noSuchFileOrDirectory ? "claimed meanwhile; cancel it by its id (gadugi status)" : "\(error)")", ok: false)
        }
    }

    private func cancelOffline(_ request: ControlRequest) -> Outcome {
        let id = request.id
        switch control.locate(id) {
        case .queued(let name):
            var suffixes: [String: Int] = [:]
            do {
                switch try control.cancelQueued(name, suffixes: &suffixes, now: .now()) {
                case .claimed(let record): return Outcome(id: id, said: "\(name): cancelled before it started, as \(record.id) (queue/cancelled/)", ok: true)
                case .rejected(let target, let reason): return Outcome(id: id, said: "\(name): rejected (\(reason)), see queue/rejected/\(target).reason", ok: false)
                case .busy: return Outcome(id: id, said: "\(name): still being written; try again", ok: false)
                case .vanished, .ignored: return Outcome(id: id, said: "\(name): no longer in incoming/", ok: false)
                }
            } catch {
                return Outcome(id: id, said: "\(name): cannot cancel: \(error)", ok: false)
            }
        case .claimed(let record):
            do {
                _ = try control.cancelClaimed(record, now: .now(), why: "cancelled (gadugi cancel)")
                return Outcome(id: id, said: "\(id): cancelled (queue/cancelled/)", ok: true)
            } catch {
                return Outcome(id: id, said: "\(id): cannot cancel: \(error)", ok: false)
            }
        case .running(let record):
            return stopOffline(record)
        default:
            return describeCancel(request)
        }
    }

    /// A task running with no coordinator: its reason is recorded, its processes but the wrapper
    /// get SIGTERM, then SIGKILL after the grace. Its prompt stays in `running/` until a
    /// coordinator commits it, as `cancelled`.
    private func stopOffline(_ record: TaskRecord) -> Outcome {
        let id = record.id
        guard TaskLock.isHeld(layout.taskDirectory(id)),
              let sid = record.pid ?? Session.findTaskProcess(root: layout.root, id: id) else {
            return Outcome(id: id, said: "\(id): its process has already ended; a coordinator records how", ok: false)
        }
        let reason = StopReason(.cancelled, "cancelled (gadugi cancel)")
        do { try reason.save(layout, id: id) } catch {
            return Outcome(id: id, said: "\(id): cannot record the cancel (\(error)); nothing was stopped", ok: false)
        }
        Session.signalRunning(sid, SIGTERM)
        let deadline = Timestamp.now().adding(killGrace)
        while TaskLock.isHeld(layout.taskDirectory(id)) && Timestamp.now() < deadline { usleep(20_000) }
        if TaskLock.isHeld(layout.taskDirectory(id)) { Session.signalRunning(sid, SIGKILL) }
        return Outcome(id: id, said: "\(id): stopped; the next coordinator records it as cancelled", ok: true)
    }

    private func describeCancel(_ request: ControlRequest) -> Outcome {
        let id = request.id
        switch control.locate(id) {
        case .finished(let record, _):
            let ok = record.state == .cancelled
            return Outcome(id: id, said: ok ? "\(id): cancelled" : "\(id): not cancelled: it has already ended (\(record.state.rawValue))", ok: ok)
        case .running:
            return Outcome(id: id, said: "\(id): stopping (SIGTERM, SIGKILL after kill_grace); it ends cancelled", ok: true)
        case .claimed(let record):
            return Outcome(id: id, said: "\(id): still \(record.state.rawValue)", ok: false)
        case .queued(let name):
            return Outcome(id: id, said: "\(name): still queued", ok: false)
        case .unknown:
            return Outcome(id: id, said: "\(id): no such task (ids are in 'gadugi status --all')", ok: false)
        }
    }

    // MARK: retry

    public func retry(_ ids: [String], reset: Bool, wait: Double = 10) -> [Outcome] {
        perform(ids.map { ControlRequest(.retry, id: $0, reset: reset) }, wait: wait, offline: retryOffline, describe: describeRetry)
    }

    private func retryOffline(_ request: ControlRequest) -> Outcome {
        let id = request.id
        switch control.locate(id) {
        case .finished(let record, let queue) where queue != .done:
            do {
                let again = try control.retry(record, from: queue, reset: request.reset, now: .now())
                return Outcome(id: id, said: "\(id): queued again (attempt \(again.attempts + 1)); it runs when a coordinator runs", ok: true)
            } catch {
                return Outcome(id: id, said: "\(id): cannot retry: \(error)", ok: false)
            }
        case .claimed(var record) where record.state == .blocked:
            record.state = .claimed
            record.blockedReason = nil
            try? record.save(layout)
            try? Files.remove(layout.blocked(id))
            return Outcome(id: id, said: "\(id): unblocked; it is tried again when a coordinator runs", ok: true)
        default:
            return describeRetry(request)
        }
    }

    private func describeRetry(_ request: ControlRequest) -> Outcome {
        let id = request.id
        switch control.locate(id) {
        case .claimed(let record) where record.state != .blocked:
            return Outcome(id: id, said: "\(id): queued again (attempt \(record.attempts + 1))", ok: true)
        case .running(let record):
            return Outcome(id: id, said: "\(id): running (attempt \(record.attempts))", ok: true)
        case .claimed(let record):
            return Outcome(id: id, said: "\(id): still blocked: \(record.blockedReason ?? "a dependency did not succeed"); retry that one", ok: false)
        case .finished(let record, _):
            return Outcome(id: id, said: "\(id): not retried: it is \(record.state.rawValue)" + (record.state == .done ? " (only failed, timed-out, cancelled or blocked tasks run again)" : ""), ok: false)
        case .queued(let name):
            return Outcome(id: id, said: "\(name): not retried: it has not run yet", ok: false)
        case .unknown:
            return Outcome(id: id, said: "\(id): no such task (ids are in 'gadugi status --all')", ok: false)
        }
    }

    // MARK: both

    /// Carries the requests out here under the coordinator's lock, or hands them to the running
    /// coordinator and waits up to `wait` seconds for it to take them.
    private func perform(_ requests: [ControlRequest], wait: Double, offline: (ControlRequest) -> Outcome,
                         describe: (ControlRequest) -> Outcome) -> [Outcome] {
        guard !requests.isEmpty else { return [] }
        if let lock = try? CoordinatorLock(layout) {
            defer { withExtendedLifetime(lock) {} }
            return requests.map(offline)
        }
        var written: [ControlRequest] = []
        var outcomes: [Outcome] = []
        for request in requests {
            do {
                try request.write(layout)
                written.append(request)
            } catch {
                outcomes.append(Outcome(id: request.id, said: "\(request.id): cannot write the request: \(error)", ok: false))
            }
        }
        let deadline = Timestamp.now().adding(wait)
        while written.contains(where: { Files.exists(layout.control($0.fileName)) }) && Timestamp.now() < deadline { usleep(20_000) }
        for request in written {
            if Files.exists(layout.control(request.fileName)) {
                outcomes.append(Outcome(id: request.id, said: "\(request.id): the coordinator has not taken the request yet; it stays in \(layout.relative(layout.control(request.fileName)))", ok: false))
            } else {
                outcomes.append(describe(request))
            }
        }
        return outcomes
    }
}
