import Foundation
import Glibc

/// Starting tasks under the parallelism limit.
extension Coordinator {
    /// Tasks holding a slot: processes of ours, adopted ones, and ended ones whose leftovers are
    /// being stopped.
    var runningCount: Int { slotsHeld }

    static let spaceComplaint = "space"

    func schedule() {
        guard !queueHeld, interrupts == 0, runningCount < settings.maxParallel, scheduler.readyCount > 0 else { return }
        // A task started on a full disk loses its output and fails: it waits in claimed/ instead.
        if let short = DiskSpace.shortage(layout.base, minFree: settings.minFree) {
            return complaints.say(Coordinator.spaceComplaint,
                "not starting tasks: \(short); \(claimedCount) task(s) wait in claimed/ and start by themselves when space returns")
        }
        complaints.resolve(Coordinator.spaceComplaint, "space is back: starting tasks again")
        while runningCount < settings.maxParallel, let id = scheduler.next() {
            switch tasks[id]?.phase {
            case .claimed?: start(id)
            // Its start was put off for a reason that may pass: tried again at the next tick, and
            // nothing overtakes it meanwhile (it is the best ready task).
            case .stalled?: return
            default: scheduler.setState(id, .cancelled)  // no longer ours (withdrawn): never again
            }
        }
    }

    func start(_ id: String) {
        guard var record = tasks[id]?.record else { return }
        if let missing = missingAgent() {
            return failWithoutProcess(record, status: 127, message: missing)
        }
        // The task folder is the task's lock: locked here and handed to the task's process, which
        // holds it for as long as it lives.
        let lockFD: CInt
        do { lockFD = try TaskLock.take(layout.taskDirectory(id)) } catch {
            switch error {
            case .held, .system(_, mayPass: true): return stall(id, "\(error)")
            case .system: return failWithoutProcess(record, status: 126, message: "\(error)")
            }
        }
        defer { close(lockFD) }
        // Its log and records go there: a folder that cannot be written (a read-only mount, lost
        // permissions) would lose them, so the task waits instead.
        if access(layout.taskDirectory(id), W_OK) != 0 {
            return stall(id, "its folder cannot be written: \(SystemError.last("access", layout.taskDirectory(id)))")
        }
        // A new attempt must not inherit an old attempt's status.
        if record.attempts > 0 {
            for file in layout.attemptFiles(id) { try? Files.remove(file) }
        }
        do { try spool.start(record) } catch {
            if error.errno == .noSuchFileOrDirectory { return withdraw(id, from: .claimed) }
            return stall(id, "\(error)")
        }
        record.state = .running
        record.attempts += 1
        // A retry's attempt count must be on disk before its process starts: a restart that
        // adopts the task learns the count only from this record (and it bounds the retries);
        // killed between the spawn and a later write, the next coordinator would count one
        // attempt too few. A first start's record can wait: the count is 1 whatever happens.
        if record.attempts > 1 { self.record(record) }
        // Read once: it reads its dependencies' worktree.json files.
        let request = worktreeRequest(for: record)
        let pid: pid_t
        do {
            pid = try launcher.spawn(agent: settings.command(for: record.agent), environment: environment(for: record, request),
                                       lockFD: lockFD, directory: layout.root, keepProcesses: settings.keepProcesses,
                                       worktreeSetup: repository(for: record) == nil ? "" : settings.worktreeSetup ?? "",
                                       step: slurmStep(for: record)?.argv ?? [])
        } catch {
            record.attempts -= 1  // nothing ran
            tasks[id]?.record = record
            return failRunning(record, status: 126, message: "could not start /bin/sh: \(error)")
        }
        startHeartbeat(id)
        record.pid = pid
        if let request {
            // Where its process makes its worktree, and on which branch: shown while it runs. At
            // the end they are replaced by what worktree.json says was made (a clash may have
            // given the branch a suffix).
            record.branch = request.branch
            record.worktree = layout.relative(request.worktree)
        }
        record.dependencies = scheduler.graph.resolved(id)
        record.waitingFor = []
        record.blockedReason = nil
        record.stalled = false
        record.lastActivity = nil
        tasks[id]?.stop = nil
        let now = clock.now()
        record.startedAt = now
        record.finishedAt = nil
        record.exitCode = nil
        record.signal = nil
        record.executor = settings.executor
        record.slurmJobID = nil
        tasks[id]?.record = record
        tasks[id]?.seen = (nil, nil)
        // A retry's record (now with its pid) is written at once, as above; a first start's can wait.
        if record.attempts > 1 { self.record(record) } else { recordLater(id) }
        setPhase(id, .running(pid))
        scheduler.setState(id, .running)
        publish(.started(record))
    }

    /// The agent check, looked up at most once a second (a PATH walk per start is waste, but an
    /// agent installed while the coordinator runs should be found).
    func missingAgent() -> String? {
        let now = clock.now().asDouble
        if now - agentCheck.at >= 1 { agentCheck = (now, settings.missingAgentMessage(path: searchPath)) }
        return agentCheck.message
    }

    /// A task that cannot start just now stays claimed and is tried again at the next tick.
    func stall(_ id: String, _ why: String) {
        complaints.say("start", "cannot start \(id): \(why); it stays claimed and is tried again")
        setPhase(id, .stalled)
    }

    /// A task whose prompt file its producer removed: forgotten, with a word in the log.
    func withdraw(_ id: String, from queue: Layout.Queue) {
        scheduler.setState(id, .cancelled)
        publish(.withdrawn(id: id, from: queue))
        forget(id)
        try? Files.remove(layout.heartbeat(id))
    }

    /// `request`: its worktree (`worktreeRequest(for:)`), nil when it runs in the root.
    func environment(for record: TaskRecord, _ request: Worktrees.Request?) -> [String] {
        var env = baseEnvironment + [
            "GADUGI_TASK_ID=\(record.id)",
            "GADUGI_PROMPT_FILE=\(layout.queue(.running, record.fileName))",
            "GADUGI_HEARTBEAT_FILE=\(layout.heartbeat(record.id))",
            "GADUGI_PROGRESS_FILE=\(layout.report(record.id))",
            "GADUGI_LOG_FILE=\(layout.log(record.id))",
            "GADUGI_OUTCOME_FILE=\(layout.outcome(record.id))",
            "GADUGI_TASK_NAME=\(record.name)",
            // This start's number (1 for the first; retries go on counting).
            "GADUGI_ATTEMPT=\(record.attempts)",
        ]
        if let repository = repository(for: record), let request {
            env += request.environment(startCommit: gitIsPlain ? request.startCommit(topLevel: repository) : nil)
            env.append("GADUGI_GIT_LOCK=" + layout.gitLock)
        }
        return env
    }

    /// The Slurm job step its agent runs as (`executor: slurm`): the configured resources with
    /// its front matter's over them, and its timeout as the time limit unless `slurm.time` says.
    /// nil: it runs here.
    func slurmStep(for record: TaskRecord) -> SlurmStep? {
        guard settings.executor == .slurm else { return nil }
        return SlurmStep(id: record.id, resources: settings.slurm.overridden(by: record.slurm), timeout: timeLimit(record))
    }

    /// What the task's worktree should be: from its dependencies' branches (merged when
    /// several), else from its base. nil when it runs in the root.
    func worktreeRequest(for record: TaskRecord) -> Worktrees.Request? {
        guard repository(for: record) != nil else { return nil }
        let dependencies = record.dependsOn.compactMap { record.dependencies[$0] }
        return Worktrees.Request.forTask(record.id, layout: layout, base: record.base ?? "HEAD", dependencies: dependencies)
    }

    /// The repository whose worktree the task works in; nil when it runs in the root (no
    /// repository, `--isolation none`, or its own front matter `isolation: none`).
    func repository(for record: TaskRecord) -> String? {
        record.isolation == Settings.Isolation.none ? nil : repository
    }

    /// Fails a claimed task that cannot be started at all (no agent, no lock file): it still moves
    /// through running/ so that `finish` stays the only way into failed/.
    func failWithoutProcess(_ record: TaskRecord, status: Int, message: String) {
        do { try spool.start(record) } catch {
            if error.errno == .noSuchFileOrDirectory { return withdraw(record.id, from: .claimed) }
            return stall(record.id, "\(error)")
        }
        var running = record
        running.state = .running
        tasks[record.id]?.record = running
        failRunning(running, status: status, message: message)
    }

    /// Records a status as the shell would have (127: command not found, 126: cannot execute) and
    /// finishes the task as failed, with the message in its log and `progress.json`.
    func failRunning(_ record: TaskRecord, status: Int, message: String) {
        try? Files.append(layout.log(record.id), Array("gadugi: \(message)\n".utf8))
        try? Files.writeAtomically(layout.outcome(record.id), Array("\(status)\n".utf8))
        var r = record
        r.message = message
        tasks[record.id]?.record = r
        finish(record.id, waitStatus: nil, message: message)
    }

    /// Creates `heartbeats/<id>`: the one made with the task's spare folder if it has one (a rename
    /// and a touch), else a new file (whose mtime is now by creation).
    func startHeartbeat(_ id: String) {
        let madeAhead = layout.taskDirectory(id) + "/" + SparePool.heartbeat
        do {
            try Files.renameNoReplace(madeAhead, layout.heartbeat(id))
            try Files.touch(layout.heartbeat(id))
        } catch {
            if error.errno != .noSuchFileOrDirectory { try? Files.remove(madeAhead) }
            try? Files.create(layout.heartbeat(id))
        }
    }
}
