import Foundation
import Glibc

/// `registry.json`, and the signal thread.
extension Coordinator {
    /// `registry.json`. Counts are true: `running` is the tasks holding a slot (never more than
    /// `max_parallel`); a task whose process ended but whose prompt is not yet out of running/
    /// counts in done or failed, by its outcome.
    func registryJSON(live: Bool) -> JSON {
        let active = tasks.values.map(\.record).sorted { $0.id < $1.id }
        let committing = tasks.values.compactMap { entry -> TaskRecord? in
            if case .committing(let final) = entry.phase { return final } else { return nil }
        }
        let coordinator: JSON = live ? .object([
            ("pid", .int(Int64(getpid()))), ("host", .string(host)), ("started_at", .string(startedAt.iso8601)),
        ]) : .null
        let counts: [(String, JSON)] = [
            ("queued", .int(Int64(pending.count + parked.count))),
            ("claimed", .int(Int64(active.count { $0.state == .claimed }))),
            ("waiting", .int(Int64(active.count { $0.state == .waiting }))),
            ("blocked", .int(Int64(active.count { $0.state == .blocked }))),
            ("running", .int(Int64(runningCount))),
            ("done", .int(Int64((finishedCounts[.done] ?? 0) + committing.count { $0.state == .done }))),
            ("failed", .int(Int64((finishedCounts[.failed] ?? 0) + committing.count { $0.state == .failed || $0.state == .timeout }))),
            ("rejected", .int(Int64(finishedCounts[.rejected] ?? 0))),
            ("cancelled", .int(Int64((finishedCounts[.cancelled] ?? 0) + committing.count { $0.state == .cancelled }))),
        ]
        let rows: [JSON] = active.map { t in
            .object([
                ("id", .string(t.id)), ("state", .string(t.state.rawValue)),
                ("pid", .optional(t.pid.map(Int64.init))), ("started_at", .optional(t.startedAt)),
                ("stalled", .bool(t.stalled)),
            ])
        }
        return .object([
            ("schema_version", .int(1)),
            ("updated_at", .string(clock.now().iso8601)),
            ("coordinator", coordinator),
            ("counts", .object(counts)),
            ("tasks", .array(rows)),
        ])
    }

    /// Blocks SIGINT, SIGTERM and SIGHUP in this thread and so in every thread started after it;
    /// the signal thread takes them with `sigwait`. Children get a clean mask from `posix_spawn`.
    static func blockTerminationSignals() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for s in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&set, s) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
        return set
    }

    func startSignalThread(_ set: sigset_t) {
        let box = mailbox
        let thread = Thread {
            var waitSet = set
            while true {
                var received: Int32 = 0
                if sigwait(&waitSet, &received) == 0 { box.post(.signal(received)) }
            }
        }
        thread.start()
    }
}
