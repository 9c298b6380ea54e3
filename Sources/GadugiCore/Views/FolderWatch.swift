import Glibc

/// Wakes a verb that waits for something on disk (`gadugi logs -f`, `gadugi status --wait`) when
/// anything changes in a few folders. It uses the kernel's inotify directly: libinotifytools keeps
/// its state in process globals and belongs to the coordinator's `Watcher`, while a waiting verb
/// needs only a descriptor of its own and a blocking wait with a timeout, on this thread.
///
/// Events are not interpreted: any one just wakes the caller, which reads the files again. So a
/// lost event (a queue overflow) or a file system where inotify sees nothing (NFS) costs only
/// latency: callers wait with a timeout of about a second as a safety net.
public final class FolderWatch {
    private let descriptor: CInt
    private var watches: [CInt: String] = [:]

    /// Creations, writes, renames and removals in a folder, and the folder's own removal.
    static let mask = UInt32(IN_CREATE) | UInt32(IN_MODIFY) | UInt32(IN_CLOSE_WRITE) | UInt32(IN_MOVED_TO)
        | UInt32(IN_MOVED_FROM) | UInt32(IN_DELETE) | UInt32(IN_ATTRIB) | UInt32(IN_DELETE_SELF) | UInt32(IN_MOVE_SELF)

    public init() throws(SystemError) {
        descriptor = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        if descriptor < 0 { throw .last("inotify_init1", "(fs.inotify.max_user_instances may be reached: raise it, or end some watchers)") }
    }

    deinit { close(descriptor) }

    /// The inotify descriptor, for a caller that waits on it with others (`poll`), then calls
    /// `wait(timeout: 0)` to consume what is pending.
    public var fileDescriptor: CInt { descriptor }

    /// Watches `path` unless it is watched already; false when it cannot be (it does not exist
    /// yet, or the watch limit is reached). Cheap to call again each time round a loop, so a
    /// folder made later (a queued task's) or made again is picked up.
    @discardableResult
    public func watch(_ path: String) -> Bool {
        if watches.values.contains(path) { return true }
        let wd = inotify_add_watch(descriptor, path, FolderWatch.mask | UInt32(IN_ONLYDIR))
        guard wd >= 0 else { return false }
        watches[wd] = path
        return true
    }

    /// Stops watching `path` (nothing when it is not watched).
    public func unwatch(_ path: String) {
        if let wd = watches.first(where: { $0.value == path })?.key { forget(wd) }
    }

    /// Blocks until something changes in a watched folder or `timeout` seconds pass; returns
    /// whether something changed. Every pending event is consumed, so the next call waits anew.
    @discardableResult
    public func wait(timeout: Double) -> Bool {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(max(0, min(timeout, 3600)) * 1000)
        let ready = poll(&poller, 1, milliseconds)
        guard ready > 0 else { return false }
        drain()
        return true
    }

    /// Reads every pending event; forgets the watches the kernel dropped (`IN_IGNORED`: the
    /// folder was removed), so that `watch` adds them again once the folder is back.
    private func drain() {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard n > 0 else { return }
            var offset = 0
            buffer.withUnsafeBytes { raw in
                while offset + MemoryLayout<inotify_event>.size <= n {
                    let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                    if event.mask & (UInt32(IN_IGNORED) | UInt32(IN_MOVE_SELF)) != 0 { forget(event.wd) }
                    offset += MemoryLayout<inotify_event>.size + Int(event.len)
                }
            }
        }
    }

    /// A folder moved away is watched no more: the path is watched again if something is there.
    private func forget(_ wd: CInt) {
        if watches.removeValue(forKey: wd) != nil { inotify_rm_watch(descriptor, wd) }
    }
}
