import Glibc

/// Reads a log as it grows, by name, as `tail -F` does: what was appended since the last read;
/// once the file at the path is another one (rotated, replaced by a rename, removed and made
/// again), the rest of the old one and then the new one from its start; a file cut shorter
/// (truncated in place) from its start again. It never waits: the caller reads again when a
/// `FolderWatch` on the log's folder wakes it.
///
/// A task's log goes on across attempts (a retry appends a separator line, then the next
/// attempt's output), so following the one path follows every attempt.
public final class LogFollower {
    public let path: String
    private var descriptor: CInt = -1
    private var identity: (dev: UInt, ino: UInt)?
    private var offset: off_t = 0
    static let chunk = 64 * 1024

    public init(path: String) {
        self.path = path
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    /// Positions the follower at the start of the last `lines` lines of what the file holds now
    /// (a last line without its newline counts); nil: at its start. A missing file is followed
    /// from its start once it appears.
    public func start(lastLines lines: Int?) {
        guard openCurrent(), let lines else { return }
        var st = stat()
        guard fstat(descriptor, &st) == 0 else { return }
        offset = LogFollower.startOfLastLines(lines, descriptor: descriptor, size: st.st_size)
    }

    /// Hands what was appended since the last call to `sink`, in chunks; false when the file is
    /// not there (yet).
    @discardableResult
    public func readNew(_ sink: ([UInt8]) -> Void) -> Bool {
        if descriptor < 0 && !openCurrent() { return false }
        readToEnd(sink)
        if replaced() {
            // The old file's last lines first (written before it was renamed away), then the new one.
            readToEnd(sink)
            close(descriptor)
            descriptor = -1
            offset = 0
            if openCurrent() { readToEnd(sink) }
        }
        return descriptor >= 0
    }

    /// Opens the file now at `path`; false when there is none.
    private func openCurrent() -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return false }
        var st = stat()
        fstat(fd, &st)
        descriptor = fd
        identity = (UInt(st.st_dev), UInt(st.st_ino))
        offset = 0
        return true
    }

    /// Whether the name now leads to another file than the open one (or to none).
    private func replaced() -> Bool {
        var st = stat()
        guard stat(path, &st) == 0 else { return false }  // gone: keep the old one until a new one comes
        return identity.map { $0.dev != UInt(st.st_dev) || $0.ino != UInt(st.st_ino) } ?? true
    }

    private func readToEnd(_ sink: ([UInt8]) -> Void) {
        var st = stat()
        if fstat(descriptor, &st) == 0, st.st_size < offset { offset = 0 }  // truncated in place
        var buffer = [UInt8](repeating: 0, count: LogFollower.chunk)
        while true {
            let n = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, offset) }
            if n < 0 && currentErrno() == EINTR { continue }
            guard n > 0 else { return }
            offset += off_t(n)
            sink(Array(buffer[0..<n]))
        }
    }

    /// The offset of the first of the last `lines` lines, found by reading backwards.
    static func startOfLastLines(_ lines: Int, descriptor: CInt, size: off_t) -> off_t {
        guard lines > 0 else { return size }
        var newlines = 0
        var end = size
        var buffer = [UInt8](repeating: 0, count: chunk)
        var lastByteChecked = false
        while end > 0 {
            let start = max(0, end - off_t(chunk))
            let count = Int(end - start)
            let n = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, count, start) }
            guard n == count else { return 0 }
            for i in stride(from: count - 1, through: 0, by: -1) where buffer[i] == UInt8(ascii: "\n") {
                // The file's own last newline ends the last line; it starts none.
                if !lastByteChecked && start + off_t(i) == size - 1 { continue }
                newlines += 1
                if newlines == lines { return start + off_t(i) + 1 }
            }
            lastByteChecked = true
            end = start
        }
        return 0
    }
}
