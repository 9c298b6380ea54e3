import Glibc

/// `.gadugi/coordinator.lock`: one coordinator per spool. The flock is the truth (the kernel drops
/// it when the process dies, however it dies); the pid written inside is for the error message.
public final class CoordinatorLock {
    public enum Failure: Error, CustomStringConvertible {
        case held(pid: String, root: String)
        case system(SystemError)

        public var description: String {
            switch self {
            case .held(let pid, let root):
                return "another coordinator (pid \(pid)) is already running on \(root); stop it first, or use it: "
                    + "files dropped into .gadugi/queue/incoming reach it"
            case .system(let e): return "cannot take the coordinator lock: \(e)"
            }
        }
    }

    private let fd: CInt

    /// Takes the lock or says who has it.
    public init(_ layout: Layout) throws(Failure) {
        let path = layout.coordinatorLock
        let fd: CInt
        do { fd = try Files.open(path, O_RDWR | O_CREAT) } catch { throw .system(error) }
        // A reader (`gadugi status`) may hold a shared lock for an instant: try for 100 ms.
        var locked = flock(fd, LOCK_EX | LOCK_NB) == 0
        var tries = 0
        while !locked && currentErrno() == EWOULDBLOCK && tries < 20 {
            tries += 1
            usleep(5_000)
            locked = flock(fd, LOCK_EX | LOCK_NB) == 0
        }
        if !locked {
            let holder = (try? Files.readText(path))?.trimmed(" \n") ?? "?"
            close(fd)
            throw .held(pid: holder.isEmpty ? "?" : holder, root: layout.root)
        }
        self.fd = fd
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, text, text.count, 0)
    }

    deinit { close(fd) }

    /// True when a live coordinator holds the lock (for readers such as `gadugi status`).
    public static func isHeld(_ layout: Layout) -> Bool {
        TaskLock.isHeld(layout.coordinatorLock)
    }
}
