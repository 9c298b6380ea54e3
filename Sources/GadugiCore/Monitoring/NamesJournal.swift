import Glibc

/// `monitoring/names.log`: one line per finished task, `<task name> <id> done|failed`, appended
/// just before the rename that finishes it (so a crash can repeat a line, never lose one). A
/// restarted coordinator reads it to resolve `depends_on` names to tasks that finished before it
/// started; reading it is O(finished tasks), once per start.
final class NamesJournal {
    let path: String
    private var fd: CInt = -1

    init(path: String) {
        self.path = path
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// Appends a line; false when it cannot be written (the caller retries the commit).
    func append(name: String, id: String, succeeded: Bool) -> Bool {
        do {
            if fd < 0 { fd = try Files.open(path, O_WRONLY | O_CREAT | O_APPEND) }
            try Files.writeAll(fd, Array("\(name) \(id) \(succeeded ? "done" : "failed")\n".utf8), path: path)
            return true
        } catch {
            return false
        }
    }

    /// Every line, oldest first; malformed lines are skipped.
    static func read(_ path: String) -> [(name: String, id: String, succeeded: Bool)] {
        guard let bytes = try? Files.read(path, limit: 1 << 30) else { return [] }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 3, TaskID.isValid(String(parts[0])), TaskID.isValid(String(parts[1])),
                  parts[2] == "done" || parts[2] == "failed" else { return nil }
            return (String(parts[0]), String(parts[1]), parts[2] == "done")
        }
    }
}
