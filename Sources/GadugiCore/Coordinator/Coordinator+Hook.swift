/// `on_finish`: a command run after each task ends (done, failed, timeout, cancelled), in a
/// process of its own, so the loop never waits for it; its failure is logged, never fatal. It
/// starts right after the finish is committed, so a restart never runs it again for that finish
/// (a crash in the instant between the two skips it: at most once).
extension Coordinator {
    func runFinishHook(_ record: TaskRecord) {
        guard let command = settings.onFinish else { return }
        var env = baseEnvironment + [
            "GADUGI_TASK_ID=\(record.id)",
            "GADUGI_TASK_NAME=\(record.name)",
            "GADUGI_STATE=\(record.state.rawValue)",
            "GADUGI_EXIT_CODE=\(record.exitCode.map(String.init) ?? "")",
            "GADUGI_LOG_FILE=\(layout.log(record.id))",
            "GADUGI_PROMPT_FILE=\(layout.queue(record.state.queue, record.fileName))",
        ]
        if let branch = record.branch { env.append("GADUGI_BRANCH=\(branch)") }
        if let worktree = record.worktree { env.append("GADUGI_WORKTREE=\(layout.root)/\(worktree)") }
        do {
            let pid = try launcher.spawnHook(command: command, environment: env, directory: layout.root, log: hookLog(record.id))
            hooks[pid] = record.id
        } catch {
            complaints.say("on_finish", "cannot start on_finish for \(record.id): \(error)")
        }
    }

    /// The hook of task `id` ended with wait status `status`.
    func hookEnded(_ id: String, status: Int32) {
        let code = status & 0x7f == 0 ? Int((status >> 8) & 0xff) : 128 + Int(status & 0x7f)
        if code != 0 {
            logger.warning("on_finish for \(id) exited \(code): see \(layout.relative(hookLog(id)))")
        }
    }

    func hookLog(_ id: String) -> String { layout.taskDirectory(id) + "/on-finish.log" }
}
