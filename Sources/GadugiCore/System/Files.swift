import CInotifyTools
import Glibc
import SystemPackage

func currentErrno() -> CInt { Glibc.errno }

/// Thin wrappers over the file system calls the spool needs. Every descriptor is opened
/// close-on-exec, so no agent inherits one by accident; every failure names its path and errno.
public enum Files {
    /// Creates a directory; returns false when something already has that name.
    @discardableResult
    public static func makeDirectory(_ path: String, mode: mode_t = 0o755) throws(SystemError) -> Bool {
        if mkdir(path, mode) == 0 { return true }
        if currentErrno() == EEXIST { return false }
        throw .last("mkdir", path)
    }

    /// `mkdir -p`.
    public static func makeDirectories(_ path: String) throws(SystemError) {
        if (try? isDirectory(path)) == true { return }
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            try makeDirectory(prefix)
        }
    }

    /// Renames without ever replacing: fails with EEXIST when `to` exists.
    public static func renameNoReplace(_ from: String, _ to: String) throws(SystemError) {
        if gadugi_rename_noreplace(from, to) != 0 {
            if currentErrno() == EINVAL {
                throw .last("rename without replacing (this file system lacks RENAME_NOREPLACE: keep .gadugi on ext4, XFS, btrfs or tmpfs) to \(to) from", from)
            }
            throw .last("rename to \(to) from", from)
        }
    }

    /// `lstat`; nil when nothing has that name.
    public static func linkStatus(_ path: String) throws(SystemError) -> stat? {
        var st = stat()
        if lstat(path, &st) == 0 { return st }
        if currentErrno() == ENOENT || currentErrno() == ENOTDIR { return nil }
        throw .last("lstat", path)
    }

    public static func isDirectory(_ path: String) throws(SystemError) -> Bool {
        guard let st = try linkStatus(path) else { return false }
        return st.st_mode & S_IFMT == S_IFDIR
    }

    public static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Opens close-on-exec; the caller closes.
    public static func open(_ path: String, _ flags: CInt, mode: mode_t = 0o644) throws(SystemError) -> CInt {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        if fd < 0 { throw .last("open", path) }
        return fd
    }

    /// Reads a whole file, at most `limit` bytes (more is an error, so a huge file can't eat memory).
    /// Links are not followed unless asked: the spool never follows a link a producer left.
    public static func read(_ path: String, limit: Int = 16 << 20, followLinks: Bool = false) throws(SystemError) -> [UInt8] {
        let fd = try open(path, O_RDONLY | O_NONBLOCK | (followLinks ? 0 : O_NOFOLLOW))
        defer { close(fd) }
        return try readAll(fd, path: path, limit: limit)
    }

    /// Reads a small file and its `fstat` in one open.
    public static func readWithStatus(_ path: String, limit: Int) throws(SystemError) -> ([UInt8], stat) {
        let fd = try open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { throw .last("fstat", path) }
        return (try readAll(fd, path: path, limit: limit), st)
    }

    public static func readAll(_ fd: CInt, path: String, limit: Int) throws(SystemError) -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if currentErrno() == EINTR { continue }
                throw .last("read", path)
            }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
            if out.count > limit { throw SystemError("read", path, .fileTooLarge) }
        }
    }

    /// Reads a small text file; nil when it does not exist.
    public static func readText(_ path: String, limit: Int = 1 << 20) throws(SystemError) -> String? {
        do {
            return String(decoding: try read(path, limit: limit), as: UTF8.self)
        } catch where error.errno == .noSuchFileOrDirectory {
            return nil
        }
    }

    public static func writeAll(_ fd: CInt, _ bytes: [UInt8], path: String) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if currentErrno() == EINTR { continue }
                throw .last("write", path)
            }
            offset += n
        }
    }

    /// Publishes `bytes` at `path` so that a reader sees the old file or the new one, never half:
    /// write a temp file in the same directory, optionally fsync it, rename it into place.
    public static func writeAtomically(_ path: String, _ bytes: [UInt8], sync: Bool = false) throws(SystemError) {
        let tmp = temporaryName(for: path)
        let fd = try open(tmp, O_WRONLY | O_CREAT | O_TRUNC)
        do throws(SystemError) {
            try writeAll(fd, bytes, path: tmp)
            if sync && fsync(fd) != 0 { throw SystemError.last("fsync", tmp) }
        } catch {
            close(fd)
            unlink(tmp)
            throw error
        }
        close(fd)
        if rename(tmp, path) != 0 {
            let error = SystemError.last("rename to \(path) from", tmp)
            unlink(tmp)
            throw error
        }
    }

    /// `.<name>.tmp.<pid>` beside `path`: a dotfile, so spool readers skip it.
    static func temporaryName(for path: String) -> String {
        let (dir, name) = split(path)
        return "\(dir)/.\(name).tmp.\(getpid())"
    }

    /// Appends with one `write`, so concurrent appenders of short lines never interleave.
    public static func append(_ path: String, _ bytes: [UInt8]) throws(SystemError) {
        let fd = try open(path, O_WRONLY | O_CREAT | O_APPEND)
        defer { close(fd) }
        try writeAll(fd, bytes, path: path)
    }

    /// Creates the file if needed and sets its mtime to now.
    public static func touch(_ path: String) throws(SystemError) {
        if utimensat(AT_FDCWD, path, nil, AT_SYMLINK_NOFOLLOW) == 0 { return }
        let fd = try open(path, O_WRONLY | O_CREAT)
        defer { close(fd) }
        if futimens(fd, nil) != 0 { throw .last("futimens", path) }
    }

    /// Whether another process has the file open for writing, asked by trying to take a read
    /// lease, which the kernel refuses while anyone has the file open for writing. nil when this
    /// cannot be asked (the file has another owner and we lack CAP_LEASE; NFS). The caller must
    /// ignore SIGIO: a writer opening the file during the probe breaks the lease with one.
    public static func isOpenForWriting(_ path: String) -> Bool? {
        guard let fd = try? open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) else { return nil }
        defer { close(fd) }  // the lease goes with it
        return takeReadLease(fd).map { !$0 }
    }

    /// Takes a read lease on `fd` (opened read-only): true when granted (nobody has the file open
    /// for writing), false when refused because someone has, nil when it cannot be asked (the file
    /// has another owner and we lack CAP_LEASE; NFS). The lease goes with the descriptor's close.
    /// The caller must ignore SIGIO, which a writer's open during the lease sends.
    public static func takeReadLease(_ fd: CInt) -> Bool? {
        if fcntl(fd, GADUGI_F_SETLEASE, Int32(F_RDLCK)) == 0 { return true }
        return currentErrno() == EAGAIN ? false : nil
    }

    /// True while the read lease taken on `fd` is intact: false once a writer's open has broken it.
    public static func holdsReadLease(_ fd: CInt) -> Bool {
        fcntl(fd, GADUGI_F_GETLEASE) == F_RDLCK
    }

    /// Opens /dev/null on any of descriptors 0–2 that is closed, so that no descriptor the
    /// coordinator opens later lands there (a child's 0–2 are replaced at spawn).
    public static func ensureStandardDescriptors() {
        for fd in CInt(0)...2 where fcntl(fd, F_GETFD) < 0 {
            let null = Glibc.open("/dev/null", O_RDWR)
            if null >= 0 && null != fd { dup2(null, fd); close(null) }
        }
    }

    /// Creates an empty file, or truncates the one there.
    public static func create(_ path: String) throws(SystemError) {
        close(try open(path, O_WRONLY | O_CREAT | O_TRUNC))
    }

    /// Removes a file; nothing there is fine.
    public static func remove(_ path: String) throws(SystemError) {
        if unlink(path) != 0 && currentErrno() != ENOENT { throw .last("unlink", path) }
    }

    public static func removeDirectory(_ path: String) throws(SystemError) {
        if rmdir(path) != 0 && currentErrno() != ENOENT { throw .last("rmdir", path) }
    }

    /// Names in a directory, without `.` and `..`, in directory order.
    public static func list(_ dir: String) throws(SystemError) -> [String] {
        guard let handle = opendir(dir) else { throw .last("opendir", dir) }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Counts the entries of a directory that are not dotfiles.
    public static func count(_ dir: String, where keep: (String) -> Bool = { !$0.hasPrefix(".") }) -> Int {
        ((try? list(dir)) ?? []).reduce(0) { keep($1) ? $0 + 1 : $0 }
    }

    /// (directory, last component) of a path.
    public static func split(_ path: String) -> (String, String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let dir = String(path[..<slash])
        return (dir.isEmpty ? "/" : dir, String(path[path.index(after: slash)...]))
    }

    public static func fsyncDirectory(_ dir: String) throws(SystemError) {
        let fd = try open(dir, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        if fsync(fd) != 0 { throw .last("fsync", dir) }
    }
}

extension stat {
    public var isRegularFile: Bool { st_mode & S_IFMT == S_IFREG }
    public var isDirectory: Bool { st_mode & S_IFMT == S_IFDIR }
    public var isSymlink: Bool { st_mode & S_IFMT == S_IFLNK }
    /// Modification time as a `Timestamp`.
    public var modified: Timestamp { Timestamp(seconds: Int64(st_mtim.tv_sec), nanoseconds: Int64(st_mtim.tv_nsec)) }
    /// Status change time: a rename sets it, so for a prompt in the queue it is when it got there.
    public var changed: Timestamp { Timestamp(seconds: Int64(st_ctim.tv_sec), nanoseconds: Int64(st_ctim.tv_nsec)) }
}
