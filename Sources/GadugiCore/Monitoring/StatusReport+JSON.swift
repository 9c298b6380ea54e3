/// `gadugi status --json` (spool-layout.md): the fields scripts rely on, then the ones added
/// since (`queued`, `rejected`), never changed.
extension StatusReport {
    public var json: JSON {
        .object([
            ("schema_version", .int(1)),
            ("root", .string(layout.root)),
            ("coordinator", coordinator),
            ("counts", .object(counts.map { ($0.0, .int(Int64($0.1))) })),
            ("held", .bool(held)),
            ("worktrees", .int(Int64(worktrees))),
            ("worktree_bytes", .int(worktreeUsage.bytes)),
            ("worktree_bytes_complete", .bool(worktreeUsage.complete)),
            ("tasks", .array(tasks.map(json))),
            ("queued", .array(queued.map(json))),
            ("rejected", .array(rejected.map(json))),
        ])
    }

    func json(_ row: Row) -> JSON {
        guard case .object(var pairs) = row.record.json(layout) else { return .null }
        let prompt = JSON.string(layout.relative(layout.queue(row.queue, row.record.fileName)))
        pairs = pairs.map { $0.0 == "prompt" ? ("prompt", prompt) : $0 }
        pairs.append(("elapsed_seconds", StatusReport.seconds(row.elapsed)))
        pairs.append(("heartbeat_age_seconds", StatusReport.seconds(row.heartbeatAge)))
        pairs.append(("idle_seconds", StatusReport.seconds(row.idle)))
        pairs.append(("held", .bool(row.held)))
        pairs.append(("status_state", .string(row.shown.rawValue)))
        return .object(pairs)
    }

    func json(_ prompt: Prompt) -> JSON {
        var pairs: [(String, JSON)] = [
            ("name", .string(prompt.name)),
            ("state", .string(prompt.shown.rawValue)),
            ("prompt", .string(layout.relative(layout.queue(prompt.queue, prompt.name)))),
            (prompt.queue == .rejected ? "rejected_at" : "queued_at", .optional(prompt.at)),
        ]
        if prompt.queue == .rejected {
            pairs.append(("reason", .optional(prompt.reason)))
        } else {
            pairs.append(("elapsed_seconds", StatusReport.seconds(prompt.at.map { Timestamp.now().asDouble - $0.asDouble })))
        }
        return .object(pairs)
    }

    static func seconds(_ value: Double?) -> JSON {
        value.map { .double(($0 * 1000).rounded() / 1000) } ?? .null
    }
}
