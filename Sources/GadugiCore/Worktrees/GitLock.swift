import Glibc

/// An exclusive `flock` on `.gadugi/git.lock`, held around git's administrative commands
/// (`worktree add`, `remove`, `prune`, branch creation). Git itself does not serialise them: two
/// concurrent `git worktree add` on one repository can fail with "Invalid path
/// .git/worktrees/X". A blocking lock is right here: these commands are short, and they run in
/// task processes, never in the coordinator's loop. `flock` belongs to the open file, so threads
/// of one process exclude each other too.
public enum GitLock {
    /// Runs `body` while holding the lock at `path` (created if missing).
    public static func holding<T, E: Error>(_ path: String, _ body: () throws(E) -> T) throws(SystemError) -> Result<T, E> {
        let fd = try Files.open(path, O_RDWR | O_CREAT, mode: 0o644)
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if currentErrno() != EINTR { throw .last("flock", path) }
        }
        defer { flock(fd, LOCK_UN) }
        do throws(E) {
            return .success(try body())
        } catch {
            return .failure(error)
        }
    }
}
