import Glibc

/// A task's lock: an exclusive `flock` on its folder `monitoring/tasks/<id>/`, taken by the
/// coordinator before the start and held by the task's process for as long as it lives (as a job
/// file is in nq). The folder, not the prompt, is locked because an agent may rewrite its prompt.
/// The coordinator's own lock file is tested the same way. One type both takes and tests it, so
/// the rule lives in one place.
public enum TaskLock {
    /// What a non-blocking `flock` attempt says about a lock.
    public enum State: Sendable, Equatable {
        case held
        case free
        /// The question could not be asked (no descriptor left, a file system without flock...):
        /// never read as "the task has ended".
        case unknown
    }

    /// Why a lock could not be taken.
    public enum Failure: Error, CustomStringConvertible {
        /// Another process holds it (a task process of an earlier run?).
        case held
        /// The folder could not be opened or locked; `mayPass` when it is worth trying again
        /// (no descriptors or memory left).
        case system(SystemError, mayPass: Bool)

        public var description: String {
            switch self {
            case .held: return "its folder is locked by another process (a task process of an earlier run?)"
            case .system(let error, _): return "cannot lock its task folder: \(error)"
            }
        }
    }

    /// Tests the lock on `path` without taking it.
    public static func state(of path: String) -> State {
        let fd: CInt
        do { fd = try Files.open(path, O_RDONLY | O_NONBLOCK) } catch {
            return error.errno == .noSuchFileOrDirectory ? .free : .unknown
        }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return .free
        }
        return currentErrno() == EWOULDBLOCK ? .held : .unknown
    }

    /// True while some process holds the lock.
    public static func isHeld(_ path: String) -> Bool {
        state(of: path) == .held
    }

    /// Takes the lock of the folder `directory` (made again if someone removed it: the id is
    /// ours) and returns the locked descriptor, close-on-exec; the caller hands it to the task's
    /// process and closes its own copy.
    public static func take(_ directory: String) throws(Failure) -> CInt {
        let fd: CInt
        do { fd = try openFolder(directory) } catch {
            throw .system(error, mayPass: error.errno == .tooManyOpenFiles || error.errno == .noMemory)
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let errno = currentErrno()
            let error = SystemError.last("flock", directory)
            close(fd)
            if errno == EWOULDBLOCK { throw .held }
            throw .system(error, mayPass: false)
        }
        return fd
    }

    private static func openFolder(_ directory: String) throws(SystemError) -> CInt {
        do { return try Files.open(directory, O_RDONLY | O_DIRECTORY) } catch {
            guard error.errno == .noSuchFileOrDirectory else { throw error }
            try Files.makeDirectory(directory)
            return try Files.open(directory, O_RDONLY | O_DIRECTORY)
        }
    }
}
