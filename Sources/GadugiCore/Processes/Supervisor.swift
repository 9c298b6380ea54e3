import CInotifyTools
import Dispatch
import Foundation
import Glibc

/// Starts task processes and learns how they ended. A task's process is `/bin/sh` running a fixed
/// wrapper: it needs no coordinator, holds the task's lock while it lives, and writes the agent's
/// exit status to `outcome` itself. A shell was chosen over a Swift supervisor because it starts in
/// about 1.3 ms against 7–17 ms, and pickup latency is budgeted at 3 ms.
public final class Supervisor: Sendable {
    /// The wrapper. `$1` is the agent command; descriptor 3 is the locked task folder (the task's
    /// lock). The agent runs in a subshell without descriptor 3 (so a daemon it leaves behind
    /// cannot keep the task "running"), with stdin from the prompt and output appended to the log.
    /// The status goes to `outcome`. Then, unless `$2` is `keep`, what the agent left running in
    /// the task's process group gets SIGTERM (the wrapper ignores it); the coordinator waits for
    /// them before the slot is reused. When the shell exits the kernel drops the lock. It exits
    /// with the agent's status too, so a coordinator that reaps it need not read the file. No user
    /// data is ever in this string.
    ///
    /// With `GADUGI_WORKTREE` set, the task's own process makes its git worktree first, runs the
    /// agent in it, and commits what the agent left: git never runs in the coordinator. The
    /// common case costs what git itself costs: a plain worktree (`GADUGI_WORKTREE_FROM` names
    /// its start commit, and no earlier attempt left a `worktree.json`) is one `git worktree
    /// add -b`, and after a success a clean one is one `git worktree remove` (which refuses a
    /// worktree with changes or untracked files). Both hold the git lock (`flock(1)` on
    /// `GADUGI_GIT_LOCK`, the file `GitLock` locks): git reads every worktree's admin folder in
    /// either, and fails on one another add is still making. Anything else, or either of them failing, goes
    /// to `gadugi worktree-prepare` (whose last lines name the branch and the worktree; status
    /// 75: its dependencies' work does not merge, the task is blocked) and `worktree-finish`,
    /// which reuse, repair, merge, pick a free branch name and commit leftovers.
    public static let wrapper = """
        if [ -n "$GADUGI_WORKTREE" ]; then
          if [ -n "$GADUGI_WORKTREE_FROM" ] && [ ! -e "${GADUGI_OUTCOME_FILE%/*}/worktree.json" ] && command -v flock >/dev/null &&
            flock "$GADUGI_GIT_LOCK" git worktree add -q -b "$GADUGI_BRANCH" "$GADUGI_WORKTREE" "$GADUGI_WORKTREE_FROM" </dev/null >/dev/null 2>&1 3>&-; then
            printf 'gadugi: worktree %s on %s from %.7s\n' "${GADUGI_WORKTREE#"$GADUGI_ROOT"/}" "$GADUGI_BRANCH" "$GADUGI_WORKTREE_FROM" >>"$GADUGI_LOG_FILE"
          else
            o=$("$GADUGI_BIN" worktree-prepare 2>>"$GADUGI_LOG_FILE"); r=$?
            printf '%s\n' "$o" >>"$GADUGI_LOG_FILE"
            if [ $r != 0 ]; then echo $r >"$GADUGI_OUTCOME_FILE"; exit $r; fi
            GADUGI_WORKTREE=${o##*worktree: }; b=${o##*branch: }; GADUGI_BRANCH=${b%%
        *}; export GADUGI_WORKTREE GADUGI_BRANCH
          fi
          if [ -n "$3" ]; then
            ( cd "$GADUGI_WORKTREE" && exec 3>&- && eval "$3" ) </dev/null >>"$GADUGI_LOG_FILE" 2>&1; r=$?
            if [ $r != 0 ]; then
              echo "gadugi: worktree_setup exited $r; the agent was not started" >>"$GADUGI_LOG_FILE"
              echo $r >"${GADUGI_OUTCOME_FILE%/*}/setup-failed"; echo $r >"$GADUGI_OUTCOME_FILE"; exit $r
            fi
          fi
        fi
        ( [ -z "$GADUGI_WORKTREE" ] || cd "$GADUGI_WORKTREE" || exit 125; exec 3>&-; eval "$1" ) <"$GADUGI_PROMPT_FILE" >>"$GADUGI_LOG_FILE" 2>&1
        s=$?
        if [ -z "$GADUGI_WORKTREE" ]; then :
        elif [ $s = 0 ] && command -v flock >/dev/null && flock "$GADUGI_GIT_LOCK" git worktree remove "$GADUGI_WORKTREE" </dev/null >/dev/null 2>&1 3>&-; then
          printf 'gadugi: nothing was left uncommitted; worktree removed, branch %s kept\n' "$GADUGI_BRANCH" >>"$GADUGI_LOG_FILE"
        else "$GADUGI_BIN" worktree-finish $s >>"$GADUGI_LOG_FILE" 2>&1
        fi
        echo $s >"$GADUGI_OUTCOME_FILE"
        [ "$2" = keep ] || { trap '' TERM; kill -TERM 0; } 2>/dev/null
        exit $s
        """

    /// The wrapper's line that runs the agent (see `wrapper`).
    static let agentLine = #"( [ -z "$GADUGI_WORKTREE" ] || cd "$GADUGI_WORKTREE" || exit 125; exec 3>&-; eval "$1" ) <"$GADUGI_PROMPT_FILE" >>"$GADUGI_LOG_FILE" 2>&1"#

    /// The step script: what Slurm runs on the node. It writes the job id to the task's folder
    /// (`tasks/<id>/slurm_job`, a temporary file renamed into place: a reader never sees half of
    /// it), which is how the coordinator learns that Slurm has started the job; then it runs the
    /// agent, `$1`. Fixed text: no user data.
    static let stepScript = #"j=${GADUGI_OUTCOME_FILE%/*}/slurm_job; [ -z "$SLURM_JOB_ID" ] || { echo "$SLURM_JOB_ID" >"$j.$$" && mv -f "$j.$$" "$j"; }; eval "$1""#

    /// `agentLine` for `executor: slurm`: the srun argv comes after the wrapper's three
    /// parameters, and the subshell (in the worktree, without descriptor 3, stdin the prompt,
    /// output to the log) becomes `srun ... /bin/sh -c <stepScript> gadugi-step <agent>`. srun
    /// passes the exit status, stdin, the working directory and the environment through.
    static let stepLine = #"( [ -z "$GADUGI_WORKTREE" ] || cd "$GADUGI_WORKTREE" || exit 125; exec 3>&-; a=$1; shift 3; exec "$@" /bin/sh -c '"#
        + stepScript + #"' gadugi-step "$a" ) <"$GADUGI_PROMPT_FILE" >>"$GADUGI_LOG_FILE" 2>&1"#

    /// The wrapper of a task whose agent runs as a Slurm job step: `wrapper` with `stepLine` for
    /// its agent line. Everything else (the worktree, the outcome, the lock, stopping what is
    /// left) is the same; the local wrapper stays byte for byte what it was.
    public static let stepWrapper: String = {
        precondition(wrapper.contains(agentLine), "Supervisor.agentLine is no longer the wrapper's agent line")
        return wrapper.replacingOccurrences(of: agentLine, with: stepLine)
    }()

    /// How a task's process ended, from `outcome` and, for our own children, `waitpid`.
    public struct Outcome: Sendable, Equatable {
        public var exitCode: Int?
        public var signal: Int?
        public var finishedAt: Timestamp
        /// False when the process died before it could write `outcome`.
        public var recorded: Bool

        public var succeeded: Bool { recorded && exitCode == 0 && signal == nil }

        /// A status as the shell reports it: above 128 means killed by signal (status − 128).
        init(shellStatus: Int, finishedAt: Timestamp) {
            self.init(exitCode: shellStatus > 128 ? nil : shellStatus, signal: shellStatus > 128 ? shellStatus - 128 : nil,
                      finishedAt: finishedAt, recorded: true)
        }

        public init(exitCode: Int?, signal: Int?, finishedAt: Timestamp, recorded: Bool) {
            self.exitCode = exitCode
            self.signal = signal
            self.finishedAt = finishedAt
            self.recorded = recorded
        }
    }

    private let wakeReaper = DispatchSemaphore(value: 0)

    public init() {}

    /// Spawns the wrapper for one task in a session of its own. `lockFD` (the task folder) must be locked;
    /// the child gets it as descriptor 3 and every other descriptor above 2 is closed. A `step`
    /// (the `srun` argv, `SlurmStep.argv`) runs the agent as a Slurm job step (`stepWrapper`).
    public func spawn(agent: String, environment: [String], lockFD: CInt, directory: String,
                      keepProcesses: Bool = false, worktreeSetup: String = "", step: [String] = []) throws(SystemError) -> pid_t {
        let argv = ["/bin/sh", "-c", step.isEmpty ? Supervisor.wrapper : Supervisor.stepWrapper, "gadugi-task", agent,
                    keepProcesses ? "keep" : "stop", worktreeSetup] + step
        return try spawnShell(argv, environment: environment, directory: directory) { actions in
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
            posix_spawn_file_actions_adddup2(&actions, lockFD, 3)
            posix_spawn_file_actions_addclosefrom_np(&actions, 4)
        }
    }

    /// Spawns `on_finish` (`/bin/sh -c command`) in a session of its own, its output appended to
    /// `log`; the reaper reports its end like a task's.
    public func spawnHook(command: String, environment: [String], directory: String, log: String) throws(SystemError) -> pid_t {
        try spawnShell(["/bin/sh", "-c", command, "gadugi-on-finish"], environment: environment, directory: directory) { actions in
            posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
            posix_spawn_file_actions_addclosefrom_np(&actions, 3)
        }
    }

    /// `posix_spawn` of `/bin/sh` in a new session, stdin from /dev/null, default signal
    /// dispositions and an empty mask; `descriptors` sets up the rest.
    private func spawnShell(_ argv: [String], environment: [String], directory: String,
                            descriptors: (inout posix_spawn_file_actions_t) -> Void) throws(SystemError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        descriptors(&actions)
        posix_spawn_file_actions_addchdir_np(&actions, directory)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD, SIGQUIT] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) | GADUGI_POSIX_SPAWN_SETSID)

        var pid: pid_t = 0
        let rc = withCStrings(argv) { cargv in
            withCStrings(environment) { cenv in
                posix_spawn(&pid, "/bin/sh", &actions, &attributes, cargv, cenv)
            }
        }
        if rc != 0 { throw SystemError("posix_spawn", "/bin/sh", .init(rawValue: rc)) }
        wakeReaper.signal()
        return pid
    }

    /// Reaps every child of this process on a thread of its own and hands (pid, wait status) to
    /// `onExit`. It owns `waitpid(-1)`: nothing else in the coordinator may wait for children.
    /// Orphans a task leaves behind are re-parented to this process (a subreaper), so that they are
    /// reaped here too rather than lingering as zombies that still count as members of the task.
    public func startReaper(_ onExit: @escaping @Sendable (pid_t, Int32) -> Void) {
        _ = gadugi_become_subreaper()
        let wake = wakeReaper
        let thread = Thread {
            while true {
                var status: Int32 = 0
                let pid = waitpid(-1, &status, 0)
                if pid > 0 {
                    onExit(pid, status)
                } else if currentErrno() == ECHILD {
                    wake.wait()
                }
            }
        }
        thread.start()
    }

    /// How the task ended. `waitStatus` is the wrapper's own wait status when we reaped it: a
    /// normal exit carries the agent's status (the wrapper exits with it); otherwise, or for an
    /// adopted task, the `outcome` file tells.
    public static func outcome(_ layout: Layout, id: String, waitStatus: Int32? = nil) -> Outcome {
        if let w = waitStatus, w & 0x7f == 0 {
            return Outcome(shellStatus: Int((w >> 8) & 0xff), finishedAt: .now())
        }
        if let (text, st) = try? Files.readWithStatus(layout.outcome(id), limit: 64),
           let status = Int(String(decoding: text, as: UTF8.self).trimmed(" \n")) {
            return Outcome(shellStatus: status, finishedAt: st.modified)
        }
        var signal: Int?
        if let w = waitStatus, w & 0x7f != 0x7f { signal = Int(w & 0x7f) }
        return Outcome(exitCode: nil, signal: signal, finishedAt: .now(), recorded: false)
    }
}

extension String {
    func trimmed(_ set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s.removeFirst() }
        while let c = s.last, set.contains(c) { s.removeLast() }
        return String(s)
    }
}

/// Calls `body` with a NULL-terminated C array of the strings, valid only during the call.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { pointers.forEach { free($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
