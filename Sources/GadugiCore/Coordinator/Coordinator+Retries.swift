import Foundation

/// Automatic retries (`retries: N`, config or front matter): a failed or timed-out attempt (also one
/// whose process died without an outcome) is run again under the same id after an exponential
/// backoff, recorded as `not_before` in progress.json (as Postfix defers mail), so a restart keeps it.
/// Never two attempts at once: the next starts only after the last one's processes are gone.
extension Coordinator {
    func retriesLeft(_ record: TaskRecord) -> Bool {
        (record.state == .failed || record.state == .timeout) && record.attempts >= 1
            && record.attempts <= (record.retries ?? settings.retries)
    }

    /// `retry_backoff` doubled per attempt, at most `retry_backoff_max`.
    func backoffDelay(afterAttempt attempt: Int) -> Double {
        min(settings.retryBackoff * pow(2, Double(max(0, attempt - 1))), settings.retryBackoffMax)
    }

    /// Back to claimed/ (its record first, then the rename), to wait for its next attempt.
    func backOff(_ final: TaskRecord) {
        let id = final.id
        let now = clock.now()
        let until = now.adding(backoffDelay(afterAttempt: final.attempts))
        let limit = (final.retries ?? settings.retries) + 1
        var waiting = final
        waiting.state = .waiting
        waiting.notBefore = until
        waiting.waitingFor = ["attempt \(final.attempts + 1) of \(limit) at \(until.iso8601) (attempt \(final.attempts) ended \(final.state.rawValue): \(final.message ?? final.ending ?? "no outcome"))"]
        waiting.pid = nil
        tasks[id]?.record = waiting
        tasks[id]?.recordDue = nil
        guard monitor.writeProgress(waiting) else { return setPhase(id, .committing(final)) }
        do { try spool.requeue(waiting) } catch {
            if error.errno == .noSuchFileOrDirectory && !Files.exists(layout.queue(.running, final.fileName)) {
                return withdraw(id, from: .running)
            }
            complaints.say("commit", "cannot move \(id) back to claimed/ for its retry: \(error); tried again in a moment")
            return setPhase(id, .committing(final))
        }
        control.noteRetry(final, now: now, next: final.attempts + 1, automatic: true)
        for file in layout.attemptFiles(id) + [layout.heartbeat(id)] { try? Files.remove(file) }
        tasks[id]?.stop = nil
        setPhase(id, .backoff(until))
        logger.warning("\(id): attempt \(final.attempts) ended \(final.state.rawValue); retrying in \(Coordinator.describe(until.asDouble - now.asDouble)) (attempt \(final.attempts + 1) of \(limit))")
        var event = Event(waiting, at: now)
        event.notBefore = until
        monitor.record(event)
    }

    /// Its backoff is over: free to start again (as soon as it is the best ready task).
    func endBackoff(_ id: String) {
        tasks[id]?.record.state = .claimed
        tasks[id]?.record.notBefore = nil
        tasks[id]?.record.waitingFor = []
        setPhase(id, .claimed)
        scheduler.setState(id, .waiting)
    }
}
