import Foundation
import GadugiCore

/// The closing summary of `gadugi run FILE...`.
enum Summary {
    static let coordinatorStopped = "(the coordinator stopped first; run 'gadugi run' to finish it)"

    /// Prints one line per file; returns true when every task ended in done/. File names, messages
    /// and reasons come from users and agents: they are escaped so each stays on its line.
    /// `unfinishedNote`: what is said of a task that had not ended (the coordinator stopped, or a
    /// `run FILE...` that joined a running coordinator stopped following).
    static func print(files: [String], ids: [String], results: [String: Coordinator.Result], layout: Layout,
                      unfinishedNote: String = coordinatorStopped) -> Bool {
        var done = 0, failed = 0, timedOut = 0, cancelled = 0, rejected = 0, blocked = 0, unfinished = 0
        var lines: [String] = []
        let width = ids.map(\.count).max() ?? 0
        for (rawFile, rawID) in zip(files, ids) {
            let file = rawFile.escapedForTerminal
            let id = rawID.padding(toLength: width, withPad: " ", startingAt: 0)
            switch results[rawID] {
            case .finished(let r)?:
                let took = (r.finishedAt?.asDouble ?? 0) - (r.startedAt?.asDouble ?? 0)
                let seconds = String(format: "%.1fs", max(0, took))
                if r.state == .done {
                    done += 1
                    lines.append("  done      \(id)  \(seconds)  \(file)")
                } else {
                    // A timeout and a cancel are told apart from a failure.
                    switch r.state {
                    case .timeout: timedOut += 1
                    case .cancelled: cancelled += 1
                    default: failed += 1
                    }
                    let label = r.state.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)
                    let how = r.ending ?? "no outcome"
                    lines.append("  \(label) \(id)  \(how)  \(file)  log: \(layout.relative(layout.log(rawID)))")
                    if let m = r.message { lines.append("            \(m.escapedForTerminal)") }
                }
            case .rejected(let name, let reason)?:
                rejected += 1
                lines.append("  rejected  \(id)  \(file): \(reason.escapedForTerminal) (see .gadugi/queue/rejected/\(name.escapedForTerminal).reason)")
            case .withdrawn?:
                unfinished += 1
                lines.append("  withdrawn \(id)  \(file) (its prompt was removed from the queue before it finished)")
            case .blocked(let r)?:
                blocked += 1
                lines.append("  blocked   \(id)  \(file): \((r.blockedReason ?? "a dependency did not succeed").escapedForTerminal) (it stays in claimed/)")
            case nil:
                unfinished += 1
                lines.append("  waiting   \(id)  \(file) \(unfinishedNote)")
            }
        }
        var head = "\(files.count) task(s): \(done) done, \(failed) failed"
        if timedOut > 0 { head += ", \(timedOut) timed out" }
        if cancelled > 0 { head += ", \(cancelled) cancelled" }
        if rejected > 0 { head += ", \(rejected) rejected" }
        if blocked > 0 { head += ", \(blocked) blocked" }
        if unfinished > 0 { head += ", \(unfinished) unfinished" }
        Swift.print(head)
        lines.forEach { Swift.print($0) }
        return done == files.count
    }

    /// The same as JSON, for scripts: one object per file, in the order given.
    static func printJSON(files: [String], ids: [String], results: [String: Coordinator.Result], layout: Layout) -> Bool {
        var allDone = true
        let items: [JSON] = zip(files, ids).map { file, id in
            var pairs: [(String, JSON)] = [("file", .string(file)), ("id", .string(id))]
            switch results[id] {
            case .finished(let r)?:
                allDone = allDone && r.state == .done
                pairs += [("state", .string(r.state.rawValue)),
                          ("exit_code", r.exitCode.map { .int(Int64($0)) } ?? .null),
                          ("signal", r.signal.map { .int(Int64($0)) } ?? .null),
                          ("progress", .string(layout.relative(layout.progress(id)))),
                          ("log", .string(layout.relative(layout.log(id))))]
            case .rejected(let name, let reason)?:
                allDone = false
                pairs += [("state", .string("rejected")), ("reason", .string(reason)),
                          ("rejected", .string(layout.relative(layout.queue(.rejected, name))))]
            case .withdrawn?:
                allDone = false
                pairs += [("state", .string("withdrawn"))]
            case .blocked(let r)?:
                allDone = false
                pairs += [("state", .string("blocked")), ("reason", r.blockedReason.map(JSON.string) ?? .null)]
            case nil:
                allDone = false
                pairs += [("state", .string("unfinished"))]
            }
            return .object(pairs)
        }
        Swift.print(JSON.object([("schema_version", .int(1)), ("all_done", .bool(allDone)), ("tasks", .array(items))])
            .encoded(pretty: true))
        return allDone
    }
}
