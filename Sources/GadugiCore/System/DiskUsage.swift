import Glibc

/// How much disk a folder tree takes, as `du` counts it (allocated blocks, each inode once), for
/// `gadugi status`: users of worktree tools report hundreds of leaked worktrees and hundreds of
/// GB, so the kept worktrees' size is shown. Walks with `openat`/`fstatat` and never follows a
/// symbolic link or crosses into another file system. The walk stops after `limit` entries, so a
/// status never hangs on a huge tree; `complete` then says the figure is a lower bound.
public struct DiskUsage: Sendable, Equatable {
    public var bytes: Int64
    public var entries: Int
    public var complete: Bool

    public init(bytes: Int64 = 0, entries: Int = 0, complete: Bool = true) {
        self.bytes = bytes
        self.entries = entries
        self.complete = complete
    }

    public static let defaultLimit = 2_000_000

    /// The usage of `path` and everything below it; zero for a path that does not exist.
    public static func of(_ path: String, limit: Int = defaultLimit) -> DiskUsage {
        var usage = DiskUsage()
        var seen = Set<UInt64>()
        var st = stat()
        guard lstat(path, &st) == 0 else { return usage }
        usage.add(st, &seen)
        if (st.st_mode & S_IFMT) == S_IFDIR {
            let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if fd >= 0 { usage.walk(fd, device: st.st_dev, limit: limit, &seen) }
        }
        return usage
    }

    /// Adds the entries of the open directory `fd` (closed here), depth first.
    private mutating func walk(_ fd: CInt, device: dev_t, limit: Int, _ seen: inout Set<UInt64>) {
        guard let dir = fdopendir(fd) else { close(fd); return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            if entries >= limit { complete = false; return }
            var st = stat()
            guard fstatat(dirfd(dir), name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            add(st, &seen)
            guard (st.st_mode & S_IFMT) == S_IFDIR, st.st_dev == device else { continue }
            let child = openat(dirfd(dir), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if child >= 0 { walk(child, device: device, limit: limit, &seen) }
            if !complete { return }
        }
    }

    /// Counts an inode's blocks once (hard links share them).
    private mutating func add(_ st: stat, _ seen: inout Set<UInt64>) {
        entries += 1
        if st.st_nlink > 1 && (st.st_mode & S_IFMT) != S_IFDIR {
            guard seen.insert(UInt64(st.st_ino)).inserted else { return }
        }
        bytes += Int64(st.st_blocks) * 512
    }

    /// `1.2 GB`, `340 MB`, `12 kB` (powers of 1024, as `du -h` shows them), with `more than`
    /// when the walk stopped early.
    public var description: String {
        let units = ["bytes", "kB", "MB", "GB", "TB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        let number = unit == 0 || value >= 10 ? String(Int(value.rounded())) : String(format1(value))
        return (complete ? "" : "more than ") + number + " " + units[unit]
    }

    private func format1(_ v: Double) -> String {
        let tenths = Int((v * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}
