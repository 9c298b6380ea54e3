import Foundation
import Glibc

/// `registry.json`, and the signal thread.
extension Coordinator {
    /// `registry.json`. Counts are true: `running` is the tasks holding a slot (never more than
    /// `max_parallel`); a task whose process ended but whose prompt is not yet out of running/
    /// counts in done or failed, by its outcome.
    func registry(live: Bool) -> Registry {
        let active = tasks.values.map(\.record).sorted { $0.id < $1.id }
        let committing = tasks.values.compactMap { entry -> TaskRecord? in
            if case .committing(let final) = entry.phase { return final } else { return nil }
        }
        let coordinator = live ? Registry.Coordinator(pid: getpid(), host: host, startedAt: startedAt) : nil
        let counts = Registry.Counts([
            "queued": pending.count + parked.count,
            "claimed": active.count { $0.state == .claimed },
            "waiting": active.count { $0.state == .waiting },
            "blocked": active.count { $0.state == .blocked },
            "running": runningCount,
            "done": (finishedCounts[.done] ?? 0) + committing.count { $0.state == .done },
            "failed": (finishedCounts[.failed] ?? 0) + committing.count { $0.state == .failed || $0.state == .timeout },
            "rejected": finishedCounts[.rejected] ?? 0,
            "cancelled": (finishedCounts[.cancelled] ?? 0) + committing.count { $0.state == .cancelled },
        ])
        return Registry(updatedAt: clock.now(), coordinator: coordinator, counts: counts, tasks: active.map(Registry.Row.init))
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
