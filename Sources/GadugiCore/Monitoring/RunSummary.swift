import Foundation

/// What `gadugi run FILE...` says once its files have ended (or it stopped waiting): a line per
/// file, in the order given, and the same as `run --json` (docs/schemas/run.schema.json). A run of
/// its own and one that joined a running coordinator both print this.
public struct RunSummary {
    public let files: [String]
    public let ids: [String]
    public let results: [String: Coordinator.Result]
    public let layout: Layout
    /// What is said of a task that had not ended: the coordinator stopped, or a joining run
    /// stopped following.
    public var unfinishedNote = RunSummary.coordinatorStopped

    public static let coordinatorStopped = "(the coordinator stopped first; run 'gadugi run' to finish it)"

    public init(files: [String], ids: [String], results: [String: Coordinator.Result], layout: Layout) {
        self.files = files
        self.ids = ids
        self.results = results
        self.layout = layout
    }

    /// Every file's task ended in done/ (the exit status is 0 only then).
    public var allDone: Bool {
        ids.allSatisfy { if case .finished(let r)? = results[$0] { r.state == .done } else { false } }
    }

    /// The text: a count line, then a line per file (two for a failure with a message). File
    /// names, messages and reasons come from users and agents: escaped, so each stays on its line.
    public var text: String {
        var counts: [String: Int] = [:]
        var lines: [String] = []
        let width = ids.map(\.count).max() ?? 0
        for (rawFile, rawID) in zip(files, ids) {
            let file = rawFile.escapedForTerminal
            let id = rawID.padding(toLength: width, withPad: " ", startingAt: 0)
            let (kind, line) = describe(results[rawID], id: id, rawID: rawID, file: file)
            counts[kind, default: 0] += 1
            lines += line
        }
        var head = "\(files.count) task(s): \(counts["done", default: 0]) done, \(counts["failed", default: 0]) failed"
        for (kind, words) in [("timeout", "timed out"), ("cancelled", "cancelled"), ("rejected", "rejected"),
                              ("blocked", "blocked"), ("unfinished", "unfinished")] where counts[kind, default: 0] > 0 {
            head += ", \(counts[kind]!) \(words)"
        }
        return ([head] + lines).joined(separator: "\n") + "\n"
    }

    /// One file's count (done, failed, timeout, ..., unfinished) and its lines.
    private func describe(_ result: Coordinator.Result?, id: String, rawID: String, file: String) -> (String, [String]) {
        switch result {
        case .finished(let r)?:
            if r.state == .done {
                let took = (r.finishedAt?.asDouble ?? 0) - (r.startedAt?.asDouble ?? 0)
                return ("done", ["  done      \(id)  \(String(format: "%.1fs", max(0, took)))  \(file)"])
            }
            // A timeout and a cancel are told apart from a failure.
            let kind = r.state == .timeout || r.state == .cancelled ? r.state.rawValue : "failed"
            let label = r.state.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)
            var lines = ["  \(label) \(id)  \(r.ending ?? "no outcome")  \(file)  log: \(layout.relative(layout.log(rawID)))"]
            if let m = r.message { lines.append("            \(m.escapedForTerminal)") }
            return (kind, lines)
        case .rejected(let name, let reason)?:
            return ("rejected", ["  rejected  \(id)  \(file): \(reason.escapedForTerminal) (see .gadugi/queue/rejected/\(name.escapedForTerminal).reason)"])
        case .withdrawn?:
            return ("unfinished", ["  withdrawn \(id)  \(file) (its prompt was removed from the queue before it finished)"])
        case .blocked(let r)?:
            return ("blocked", ["  blocked   \(id)  \(file): \((r.blockedReason ?? "a dependency did not succeed").escapedForTerminal) (it stays in claimed/)"])
        case nil:
            return ("unfinished", ["  waiting   \(id)  \(file) \(unfinishedNote)"])
        }
    }

    /// `run --json`: one object per file, in the order given.
    public var json: JSON {
        let items: [JSON] = zip(files, ids).map { file, id in
            var pairs: [(String, JSON)] = [("file", .string(file)), ("id", .string(id))]
            switch results[id] {
            case .finished(let r)?:
                pairs += [("state", .string(r.state.rawValue)),
                          ("exit_code", .optional(r.exitCode.map(Int64.init))),
                          ("signal", .optional(r.signal.map(Int64.init))),
                          ("progress", .string(layout.relative(layout.progress(id)))),
                          ("log", .string(layout.relative(layout.log(id))))]
            case .rejected(let name, let reason)?:
                pairs += [("state", .string("rejected")), ("reason", .string(reason)),
                          ("rejected", .string(layout.relative(layout.queue(.rejected, name))))]
            case .withdrawn?:
                pairs += [("state", .string("withdrawn"))]
            case .blocked(let r)?:
                pairs += [("state", .string("blocked")), ("reason", .optional(r.blockedReason))]
            case nil:
                pairs += [("state", .string("unfinished"))]
            }
            return .object(pairs)
        }
        return .object([("schema_version", .int(1)), ("all_done", .bool(allDone)), ("tasks", .array(items))])
    }
}
