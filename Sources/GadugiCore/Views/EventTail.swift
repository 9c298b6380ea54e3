import Glibc

/// Reads the lines appended to `monitoring/events.jsonl` since a point, for a process that
/// follows a coordinator it does not own (`gadugi run FILE...` joining one). The log is only ever
/// appended to, and rotated by a rename onto `events.1.jsonl`: when the file at the path is
/// another than the one read so far, the rest of the old one is read from `events.1.jsonl`
/// first, so no line is missed across a rotation. A line still being written (no `\n` yet) is
/// kept until it is complete.
public struct EventTail {
    let layout: Layout
    /// The file read so far (device, inode) and how far.
    private var identity: (dev_t, ino_t)?
    private var offset: off_t = 0
    private var partial: [UInt8] = []

    /// Starts at the current end of the log: only lines appended from now on are read.
    public init(layout: Layout) {
        self.layout = layout
        if let (id, size) = EventTail.identity(of: layout.events) {
            identity = id
            offset = size
        }
    }

    /// The complete lines appended since the last call, parsed; lines that are not events are skipped.
    public mutating func read() -> [Event] {
        var bytes: [UInt8] = []
        let current = EventTail.identity(of: layout.events)
        if let known = identity, current.map({ $0.0 != known }) ?? true {
            // Rotated (or removed): the rest of the file we were reading, now events.1.jsonl.
            if let (old, _) = EventTail.identity(of: layout.rotatedEvents), old == known {
                bytes += EventTail.bytes(of: layout.rotatedEvents, from: offset)
            }
            identity = nil
            offset = 0
        }
        if let (id, _) = current {
            if identity == nil { identity = id }
            let fresh = EventTail.bytes(of: layout.events, from: offset)
            offset += off_t(fresh.count)
            bytes += fresh
        }
        return lines(bytes)
    }

    private mutating func lines(_ bytes: [UInt8]) -> [Event] {
        guard !bytes.isEmpty else { return [] }
        var all = partial + bytes
        guard let lastBreak = all.lastIndex(of: 0x0A) else {
            partial = all
            return []
        }
        partial = Array(all[(lastBreak + 1)...])
        all.removeSubrange((lastBreak + 1)...)
        return all.split(separator: 0x0A).compactMap { JSON.parse(Array($0)).flatMap(Event.init(json:)) }
    }

    private static func identity(of path: String) -> ((dev_t, ino_t), off_t)? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return ((status.st_dev, status.st_ino), status.st_size)
    }

    /// What a file holds from `offset` on (at most 16 MiB at once; the rest comes next time).
    private static func bytes(of path: String, from offset: off_t) -> [UInt8] {
        guard let fd = try? Files.open(path, O_RDONLY | O_NOFOLLOW) else { return [] }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while out.count < 16 << 20 {
            let n = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset + off_t(out.count)) }
            if n < 0 && currentErrno() == EINTR { continue }
            guard n > 0 else { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }
}
