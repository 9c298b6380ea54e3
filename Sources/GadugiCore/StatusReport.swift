import Foundation

/// A snapshot of a spool for `gadugi status`, read from the files alone (no coordinator needed).
/// Counts come from the queue directories, which are the truth; details from `progress.json`.
public struct StatusReport {
    public let layout: Layout
    public let counts: [(String, Int)]
    public let coordinator: JSON
    public let tasks: [(record: TaskRecord, elapsed: Double?, heartbeatAge: Double?)]

    public init(layout: Layout, includeFinished: Bool) {
        self.layout = layout
        let notReason: (String) -> Bool = { !$0.hasPrefix(".") && !$0.hasSuffix(".reason") }
        counts = [
            ("queued", Files.count(layout.queue(.incoming)) { PromptName.isCandidate($0) }),
            ("claimed", Files.count(layout.queue(.claimed))),
            ("running", Files.count(layout.queue(.running))),
            ("done", Files.count(layout.queue(.done))),
            ("failed", Files.count(layout.queue(.failed))),
            ("rejected", Files.count(layout.queue(.rejected), where: notReason)),
        ]
        if CoordinatorLock.isHeld(layout), let bytes = try? Files.read(layout.registry),
           let registry = JSON.parse(bytes), let c = registry["coordinator"] {
            coordinator = c
        } else {
            coordinator = .null
        }
        var queues: [Layout.Queue] = [.running, .claimed]
        if includeFinished { queues += [.failed, .done] }
        let now = Timestamp.now().asDouble
        var rows: [(TaskRecord, Double?, Double?)] = []
        for q in queues {
            let names = ((try? Files.list(layout.queue(q))) ?? []).filter { !$0.hasPrefix(".") }.sorted()
            for name in names {
                let id = PromptName.stem(of: name)
                var record = TaskRecord.load(layout, id: id)
                    ?? TaskRecord(id: id, ext: PromptName.extension(of: name) ?? "md", name: name, state: .claimed)
                record.state = StatusReport.state(of: q)
                let start = record.startedAt ?? record.claimedAt
                let end = record.finishedAt?.asDouble ?? now
                let elapsed = start.map { end - $0.asDouble }
                let beat = q == .running ? (try? Files.linkStatus(layout.heartbeat(id)))??.modified : nil
                rows.append((record, elapsed, beat.map { now - $0.asDouble }))
            }
        }
        tasks = rows
    }

    static func state(of queue: Layout.Queue) -> TaskState {
        switch queue {
        case .running: return .running
        case .done: return .done
        case .failed: return .failed
        default: return .claimed
        }
    }

    public var json: JSON {
        .object([
            ("schema_version", .int(1)),
            ("root", .string(layout.root)),
            ("coordinator", coordinator),
            ("counts", .object(counts.map { ($0.0, .int(Int64($0.1))) })),
            ("tasks", .array(tasks.map { row in
                guard case .object(var pairs) = row.record.json(layout) else { return .null }
                pairs.append(("elapsed_seconds", row.elapsed.map { .double(($0 * 1000).rounded() / 1000) } ?? .null))
                pairs.append(("heartbeat_age_seconds", row.heartbeatAge.map { .double(($0 * 1000).rounded() / 1000) } ?? .null))
                return .object(pairs)
            })),
        ])
    }

    /// The human view: a line of counts, then one row per task.
    public var table: String {
        var out = counts.map { "\($0.0) \($0.1)" }.joined(separator: "  ") + "\n"
        if let pid = coordinator["pid"]?.int {
            out += "coordinator: pid \(pid)\n"
        } else {
            out += "coordinator: not running (start one with 'gadugi run')\n"
        }
        guard !tasks.isEmpty else { return out }
        let header = ["ID", "STATE", "ELAPSED", "HEARTBEAT", "PERCENT", "MESSAGE"]
        let rows = tasks.map { row -> [String] in
            let r = row.record
            var message = r.message ?? ""
            if r.state == .failed && message.isEmpty {
                message = r.exitCode.map { "exit \($0)" } ?? r.signal.map { "signal \($0)" } ?? ""
            }
            return [r.id, r.state.rawValue, StatusReport.duration(row.elapsed), StatusReport.duration(row.heartbeatAge),
                    r.percent.map { "\(Int($0))%" } ?? "-", message]
        }
        let widths = (0..<5).map { col in ([header] + rows).map { $0[col].count }.max() ?? 0 }
        for row in [header] + rows {
            let cells = (0..<5).map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
            out += (cells + [row[5]]).joined(separator: "  ").trimmingSuffixSpaces() + "\n"
        }
        return out
    }

    static func duration(_ seconds: Double?) -> String {
        guard let s = seconds else { return "-" }
        if s < 60 { return String(format: "%.1fs", s) }
        if s < 3600 { return "\(Int(s) / 60)m\(Int(s) % 60)s" }
        return "\(Int(s) / 3600)h\(Int(s) % 3600 / 60)m"
    }
}

extension String {
    func trimmingSuffixSpaces() -> String {
        var s = self
        while s.hasSuffix(" ") { s.removeLast() }
        return s
    }
}
