import Foundation
import Glibc

/// `registry.json`, and the signal thread.
extension Coordinator {
    func registryJSON(live: Bool) -> JSON {
        let active = tasks.values.sorted { $0.id < $1.id }
        let running = active.filter { $0.state == .running }.count
        return .object([
            ("schema_version", .int(1)),
            ("updated_at", .string(Timestamp.now().iso8601)),
            ("coordinator", live ? .object([
                ("pid", .int(Int64(getpid()))), ("host", .string(host)), ("started_at", .string(startedAt.iso8601)),
            ]) : .null),
            ("counts", .object([
                ("queued", .int(Int64(pending.count + fresh.count))),
                ("claimed", .int(Int64(active.count - running))),
                ("running", .int(Int64(running))),
                ("done", .int(Int64(finishedCounts[.done] ?? 0))),
                ("failed", .int(Int64(finishedCounts[.failed] ?? 0))),
                ("rejected", .int(Int64(finishedCounts[.rejected] ?? 0))),
            ])),
            ("tasks", .array(active.map { t in
                .object([
                    ("id", .string(t.id)), ("state", .string(t.state.rawValue)),
                    ("pid", .optional(t.pid.map(Int64.init))), ("started_at", .optional(t.startedAt)),
                ])
            })),
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
