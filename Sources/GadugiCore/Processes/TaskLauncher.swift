import Glibc

/// How the coordinator starts task processes and learns that they ended: the seam between its
/// scheduling and the operating system. `Supervisor` is the real one (posix_spawn of the
/// wrapper, a reaper thread on `waitpid(-1)`); tests may put a fake in its place to watch what
/// the coordinator asks for without starting anything.
public protocol TaskLauncher: Sendable {
    /// Starts the task's process (see `Supervisor.spawn`) and returns its pid.
    func spawn(agent: String, environment: [String], lockFD: CInt, directory: String,
               keepProcesses: Bool, worktreeSetup: String) throws(SystemError) -> pid_t
    /// The same with `step`, the `srun` argv of a task whose agent runs as a Slurm job step
    /// (empty: run it here). A launcher that knows no Slurm (a test's fake) gets the default,
    /// which starts it as if local.
    func spawn(agent: String, environment: [String], lockFD: CInt, directory: String,
               keepProcesses: Bool, worktreeSetup: String, step: [String]) throws(SystemError) -> pid_t
    /// Starts the `on_finish` hook and returns its pid (its end is reported like a task's).
    func spawnHook(command: String, environment: [String], directory: String, log: String) throws(SystemError) -> pid_t
    /// Calls `onExit(pid, wait status)`, from any thread, for every child that ends.
    func startReaper(_ onExit: @escaping @Sendable (pid_t, Int32) -> Void)
}

extension TaskLauncher {
    public func spawn(agent: String, environment: [String], lockFD: CInt, directory: String,
                      keepProcesses: Bool, worktreeSetup: String, step: [String]) throws(SystemError) -> pid_t {
        try spawn(agent: agent, environment: environment, lockFD: lockFD, directory: directory,
                  keepProcesses: keepProcesses, worktreeSetup: worktreeSetup)
    }
}

extension Supervisor: TaskLauncher {
    public func spawn(agent: String, environment: [String], lockFD: CInt, directory: String,
                      keepProcesses: Bool, worktreeSetup: String) throws(SystemError) -> pid_t {
        try spawn(agent: agent, environment: environment, lockFD: lockFD, directory: directory,
                  keepProcesses: keepProcesses, worktreeSetup: worktreeSetup, step: [])
    }
}
