import CInotifyTools
import Glibc

/// The processes of a task's session. Each task's process (`/bin/sh`, the wrapper) is started with
/// `setsid`, so its pid is the session id and process group id of everything its agent starts,
/// unless a process leaves with `setsid` of its own. A task's slot is not given to another task
/// while any of them lives.
public enum Session {
    /// Cheap first look: whether any process is in the process group `sid` (one system call).
    /// A false positive (a recycled pid leading a group of its own) is sorted out by `members`.
    public static func mayHaveMembers(_ sid: pid_t) -> Bool {
        sid > 1 && (kill(-sid, 0) == 0 || currentErrno() == EPERM)
    }

    /// The live (not zombie) processes whose session id is `sid`, read from /proc. Empty when the
    /// session leader itself is alive: our wrapper has ended when this is asked, so a live process
    /// with that pid is a newer one that reused it, and its session is not ours.
    public static func members(_ sid: pid_t) -> [pid_t] {
        guard sid > 1, !Files.exists("/proc/\(sid)") || isZombie(sid) else { return [] }
        return others(in: sid)
    }

    /// The live processes of session `sid` other than its leader, from /proc.
    static func others(in sid: pid_t) -> [pid_t] {
        var found: [pid_t] = []
        for name in (try? Files.list("/proc")) ?? [] {
            guard let pid = pid_t(name), pid != sid, let stat = Session.stat(pid),
                  stat.session == sid, stat.state != "Z", stat.state != "X" else { continue }
            found.append(pid)
        }
        return found
    }

    /// Sends `sig` to every member; returns how many there were.
    @discardableResult
    public static func signal(_ sid: pid_t, _ sig: Int32) -> Int {
        let pids = members(sid)
        for pid in pids { send(sig, to: pid, inSession: sid) }
        return pids.count
    }

    /// The processes of a running task's session other than its leader (the wrapper, which must
    /// live on to record the outcome and finish the worktree): what a stop signals first. The
    /// caller knows the leader is the task's own process (our child, or its lock is held).
    public static func agents(of sid: pid_t) -> [pid_t] {
        sid > 1 ? others(in: sid) : []
    }

    /// Signals the processes of a running task: all but the leader, or with `leader` the leader
    /// too (its last resort, when it outlives its agent's SIGKILL). Returns how many were signalled.
    @discardableResult
    public static func signalRunning(_ sid: pid_t, _ sig: Int32, leader: Bool = false) -> Int {
        let pids = agents(of: sid) + (leader && !isZombie(sid) ? [sid] : [])
        return pids.reduce(0) { $0 + (send(sig, to: $1, inSession: sid) ? 1 : 0) }
    }

    /// Signals `pid` only if it is still the process that was found in session `sid`: through a
    /// pidfd, opened first and then checked against /proc, so a pid reused in between (the process
    /// ended, another took its number) is never signalled. Where the kernel has no pidfds (before
    /// 5.3) the check is made just before `kill`.
    @discardableResult
    static func send(_ sig: Int32, to pid: pid_t, inSession sid: pid_t) -> Bool {
        let fd = gadugi_pidfd_open(pid)
        let noPidfds = fd < 0 && currentErrno() == ENOSYS
        defer { if fd >= 0 { close(fd) } }
        guard let stat = Session.stat(pid), stat.session == sid, stat.state != "Z" else { return false }
        if fd >= 0 { return gadugi_pidfd_send_signal(fd, sig) == 0 }
        return noPidfds && kill(pid, sig) == 0
    }

    static func isZombie(_ pid: pid_t) -> Bool {
        Session.stat(pid).map { $0.state == "Z" || $0.state == "X" } ?? true
    }

    /// The live task process (a session leader, the wrapper) whose environment names this root
    /// and task id: for a task adopted after a crash that came before its pid was recorded. One
    /// pass over /proc, reading only session leaders' environments (our own user's).
    public static func findTaskProcess(root: String, id: String) -> pid_t? {
        let wanted = ["GADUGI_TASK_ID=" + id, "GADUGI_ROOT=" + root]
        for name in (try? Files.list("/proc")) ?? [] {
            guard let pid = pid_t(name), let stat = Session.stat(pid), stat.session == pid, stat.state != "Z",
                  let bytes = try? Files.read("/proc/\(pid)/environ", limit: 1 << 20) else { continue }
            let entries = Set(bytes.split(separator: 0).map { String(decoding: $0, as: UTF8.self) })
            if wanted.allSatisfy(entries.contains) { return pid }
        }
        return nil
    }

    /// State and session id from `/proc/<pid>/stat` (fields 3 and 6). The command name (field 2)
    /// may hold spaces and parentheses, so the fields are counted after its last `)`.
    static func stat(_ pid: pid_t) -> (state: Character, session: pid_t)? {
        guard let bytes = try? Files.read("/proc/\(pid)/stat", limit: 4096) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 3, let state = fields[0].first, let session = pid_t(fields[3]) else { return nil }
        return (state, session)
    }
}
