/// The human view of a report: a line of counts, notes, then one row per task fitted to a width.
extension StatusReport {
    /// Queued prompts listed in the default view before the rest are only counted: a backlog of
    /// thousands would bury the running tasks. `--state queued` (or naming them) lists them all.
    public static let queuedRowsShown = 20

    /// The view as wide as it comes (for a pipe or a file).
    public var table: String { table(width: nil) }

    /// The view with every row cut to `width` columns (nil: not cut).
    public func table(width: Int?) -> String {
        var out = header
        // Active tasks, then the queue behind them, then what has ended.
        let active = tasks.filter { !$0.shown.isFinal }, ended = tasks.filter(\.shown.isFinal)
        let rows = active.map(cells) + shownQueued.map(cells) + ended.map(cells) + rejected.map(cells)
        guard !rows.isEmpty else { return out }
        let columns = [TextTable.Column("ID", minWidth: 8), .init("STATE"), .init("ELAPSED"), .init("HEARTBEAT"),
                       .init("PERCENT"), .init("MESSAGE", minWidth: 10)]
        for line in TextTable(columns: columns, rows: rows).lines(width: width) { out += line + "\n" }
        let more = queued.count - shownQueued.count
        if more > 0 { out += "… and \(more) more queued ('gadugi status --state queued' lists them all)\n" }
        return out
    }

    /// Counts, then the hold, the worktrees kept and the coordinator.
    var header: String {
        var out = shownCounts.map { "\($0.0) \($0.1)" }.joined(separator: "  ") + "\n"
        if held { out += "held: no new task starts ('gadugi release' resumes)\n" }
        if worktrees > 0 {
            out += "worktrees kept: \(worktrees) in .gadugi/worktrees, \(worktreeUsage.description) (inspect them, or remove with 'gadugi clean --failed')\n"
        }
        if let pid = coordinator["pid"]?.int {
            out += "coordinator: pid \(pid)\n"
        } else {
            out += "coordinator: not running (start one with 'gadugi run')\n"
        }
        return out
    }

    /// The queued prompts the table lists: all when they were asked for, else the oldest few.
    var shownQueued: ArraySlice<Prompt> {
        let asked = selection.states?.contains(.queued) == true || selection.ids != nil
        return asked ? queued[...] : queued.prefix(StatusReport.queuedRowsShown)
    }

    /// Ids and messages come from file names and agents: made one line (and escaped), so each
    /// task stays one row.
    func cells(_ row: Row) -> [String] {
        let r = row.record
        return [TerminalText.oneLine(r.id), row.shown.rawValue, StatusReport.duration(row.elapsed),
                StatusReport.duration(row.heartbeatAge), r.percent.map { "\(Int($0))%" } ?? "-",
                TerminalText.oneLine(message(row))]
    }

    func cells(_ prompt: Prompt) -> [String] {
        let age = prompt.queue == .incoming ? prompt.at.map { Timestamp.now().asDouble - $0.asDouble } : nil
        // A `.reason` line starts with the prompt's name, which the row shows already.
        var reason = prompt.reason ?? ""
        let named = prompt.name.escapedForTerminal + ": "
        if reason.hasPrefix(named) { reason.removeFirst(named.count) }
        return [TerminalText.oneLine(prompt.name), prompt.shown.rawValue, StatusReport.duration(age), "-", "-",
                TerminalText.oneLine(reason)]
    }

    /// What the MESSAGE column says: what a waiting or blocked task waits for, how a failed one
    /// ended (its exit code or signal, not the agent's last progress message, which was written
    /// while all still looked well), and otherwise the agent's or the coordinator's message.
    func message(_ row: Row) -> String {
        let r = row.record
        switch row.shown {
        case .held:
            if let hold = r.waitingFor.first(where: { $0.hasPrefix("held") }) { return hold }
            return Files.exists(layout.control(ControlRequest.holdFile(r.id)))
                ? "held ('gadugi release \(r.id)' lets it start)" : "held: the queue is held ('gadugi release' resumes)"
        case .waiting: return "waiting for " + r.waitingFor.joined(separator: ", ")
        case .blocked: return "blocked: " + (r.blockedReason ?? "a dependency did not succeed")
        case .pending: return "pending in Slurm: job \(SlurmStep.jobName(r.id)) waits for its resources (squeue -n \(SlurmStep.jobName(r.id)))"
        case .stalled:
            let said = r.message ?? ""
            return "stalled: nothing from it for \(StatusReport.duration(row.idle))" + (said.isEmpty ? "" : "; " + said)
        case .failed:
            let ending = ProcessEnding.phrase(exitCode: r.exitCode, signal: r.signal)
            let note = coordinatorNote(r)
            return [ending, note].compactMap { $0 }.joined(separator: "; ")
        case .timeout:
            let ending = ProcessEnding.phrase(exitCode: r.exitCode, signal: r.signal)
            return [r.message, ending.map { "(\($0))" }].compactMap { $0 }.joined(separator: " ")
        default: return r.message ?? ""
        }
    }

    /// A failed task's message when the coordinator wrote it (why it could not start, that its
    /// process died): nil when it is only the agent's last report.
    func coordinatorNote(_ record: TaskRecord) -> String? {
        guard let message = record.message, !message.isEmpty else { return nil }
        return AgentReport.load(layout.report(record.id))?.message == message ? nil : message
    }
}
