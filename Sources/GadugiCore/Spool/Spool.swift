import Foundation
import Glibc

/// The queue directories and the transitions between them. Each transition is one function and
/// one `renameat2(RENAME_NOREPLACE)`; no other code moves a prompt file.
public struct Spool: Sendable {
    public let layout: Layout

    public init(layout: Layout) {
        self.layout = layout
    }

    /// What became of one name in `incoming/`.
    public enum Intake: Sendable {
        /// Not a prompt name: left where it is.
        case ignored
        /// Gone before we got to it (claimed already, or removed by its producer).
        case vanished
        /// Not finished by its producer: someone has it open for writing (`until` nil: look again
        /// when it is closed), or it was written less than the settle time ago (`until` is when
        /// it will have been quiet long enough). It stays in `incoming/`.
        case busy(until: Timestamp?)
        case claimed(TaskRecord)
        /// Moved to `rejected/<name>`, with the reason beside it.
        case rejected(name: String, reason: String)
    }

    // MARK: claim

    /// Claims `incoming/<name>`: checks it, reserves a unique id, renames it to
    /// `claimed/<id>.<ext>`. `suffixes` remembers the next free suffix per base id, so a thousand
    /// `fix-login.md` cost two `mkdir`s each (the plain id, then the next free one), not a thousand.
    ///
    /// The file is taken only as its producer finished it: a read lease (`F_SETLEASE`), which the
    /// kernel grants only while nobody has the file open for writing, is held from before the file
    /// is read until after the rename; a writer that opens it in between breaks the lease, and the
    /// claim is undone. `settle` (seconds) is how long the file must have been unmodified, for
    /// prompts written in place; where no lease can be taken (another owner, NFS) it is at least
    /// `Spool.quietWithoutLease`, measured against `now`.
    public func claim(_ name: String, suffixes: inout [String: Int], spares: SparePool? = nil,
                      settle: Double = 0, now: Timestamp = .now()) throws(SystemError) -> Intake {
        guard PromptName.isCandidate(name) else { return .ignored }
        let path = layout.queue(.incoming, name)
        guard let st = try Files.linkStatus(path) else { return .vanished }
        if let why = Spool.notRegular(st) { return try rejectClaim(name, st, reason: why) }
        let fd: CInt
        do { fd = try Files.open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) } catch {
            return try unreadable(name, st, error)
        }
        defer { close(fd) }
        let leased = Files.takeReadLease(fd)
        if leased == false { return .busy(until: nil) }
        let quiet = leased == nil ? max(settle, Spool.quietWithoutLease) : settle
        if quiet > 0 {
            let until = st.modified.adding(quiet)
            if now < until { return .busy(until: until) }
        }
        let bytes: [UInt8]
        do { bytes = try Files.readAll(fd, path: path, limit: Prompt.maxBytes + 1) } catch {
            return try unreadable(name, st, error)
        }
        let prompt: Prompt
        switch Prompt.check(bytes) {
        case .success(let p): prompt = p
        case .failure(let why): return try rejectClaim(name, st, reason: why.description)
        }
        let intake = try reserveAndRename(name, st: st, prompt: prompt, suffixes: &suffixes, spares: spares)
        guard case .claimed(let record) = intake, leased == true, !Files.holdsReadLease(fd) else { return intake }
        // A writer opened the file between the check and the rename (it waits for our lease):
        // what it writes would reach the agent. Put the prompt back to be claimed once it is closed.
        return undoClaim(record, name: name, spares: spares) ? .busy(until: nil) : intake
    }

    /// Where no lease can be taken, a file is claimed once it has not been modified for this long.
    public static let quietWithoutLease = 2.0

    private func unreadable(_ name: String, _ st: stat, _ error: SystemError) throws(SystemError) -> Intake {
        switch error.errno {
        case .noSuchFileOrDirectory: return .vanished
        case .tooManySymbolicLinkLevels: return try rejectClaim(name, st, reason: "it is a symbolic link: gadugi never follows links in incoming/")
        case .fileTooLarge: return try rejectClaim(name, st, reason: Prompt.Rejection.tooLarge(Int(st.st_size)).description)
        case .tooManyOpenFiles, .noMemory, .interrupted: throw error
        default: return try rejectClaim(name, st, reason: "it cannot be read: \(error.errno)")
        }
    }

    /// Reserves an id (the one `submit` reserved for this file, else the first free one) and
    /// renames the file into `claimed/`.
    private func reserveAndRename(_ name: String, st: stat, prompt: Prompt, suffixes: inout [String: Int],
                                  spares: SparePool?) throws(SystemError) -> Intake {
        let path = layout.queue(.incoming, name)
        let ext = PromptName.extension(of: name) ?? "md"
        let base = TaskID.base(forFileName: name)
        // A file `submit` queued is named after the id it reserved: take that id when the marker
        // says so (the name's stem may be longer than a base id, `<64 characters>-2`).
        let stem = PromptName.stem(of: name)
        if stem != base, TaskID.isValid(stem), let reservation = reservation(stem, for: st) {
            return try claimReserved(path, id: stem, ext: ext, prompt: prompt, name: name, st: st, reservation)
        }
        // The plain id first, always (it may be one `submit` reserved for this file), then the
        // first suffix not known to be taken.
        var n = 1
        while true {
            let id = TaskID.candidate(base, n)
            let (mine, reservation) = try reserve(id, for: st, spares: spares)
            guard mine else { n = n == 1 ? max(2, suffixes[base] ?? 2) : n + 1; continue }
            let fromSubmit = reservation != nil
            if !fromSubmit { suffixes[base] = max(suffixes[base] ?? 2, n + 1) }
            do {
                try Files.renameNoReplace(path, layout.queue(.claimed, "\(id).\(ext)"))
            } catch {
                if !fromSubmit { Spool.release(layout.taskDirectory(id), to: spares) }
                if error.errno == .fileExists { n += 1; continue }
                if error.errno == .noSuchFileOrDirectory { return .vanished }
                throw error
            }
            if fromSubmit { try? Files.remove(layout.submitted(id)) }
            return .claimed(claimedRecord(id, ext: ext, prompt: prompt, name: name, st: st, reservation))
        }
    }

    /// Moves a just-claimed prompt back to `incoming/<name>` and frees its id's folder. False when
    /// the name there is taken again (the claim then stands; the writer was too late anyway).
    private func undoClaim(_ record: TaskRecord, name: String, spares: SparePool?) -> Bool {
        do { try Files.renameNoReplace(layout.queue(.claimed, record.fileName), layout.queue(.incoming, name)) } catch {
            return false
        }
        Spool.release(layout.taskDirectory(record.id), to: spares)
        return true
    }

    private func claimReserved(_ path: String, id: String, ext: String, prompt: Prompt, name: String,
                               st: stat, _ reservation: Reservation) throws(SystemError) -> Intake {
        do {
            try Files.renameNoReplace(path, layout.queue(.claimed, "\(id).\(ext)"))
        } catch {
            if error.errno == .noSuchFileOrDirectory { return .vanished }
            throw error
        }
        try? Files.remove(layout.submitted(id))
        return .claimed(claimedRecord(id, ext: ext, prompt: prompt, name: name, st: st, reservation))
    }

    /// The record of a task just claimed: its front matter, its task name (front matter `id:`,
    /// else the name `submit` recorded from the original file, else one made from the file name)
    /// and the batch `submit` recorded (read once, when the id was taken).
    func claimedRecord(_ id: String, ext: String, prompt: Prompt, name: String, st: stat,
                       _ reservation: Reservation?) -> TaskRecord {
        var record = TaskRecord(id: id, ext: ext, name: prompt.name ?? name, state: .claimed)
        record.createdAt = st.modified
        record.claimedAt = .now()
        let spec = prompt.spec
        record.taskName = spec.id ?? reservation?.name ?? TaskID.base(forFileName: name)
        record.dependsOn = spec.dependsOn
        record.files = spec.files.map(\.description)
        record.priority = spec.priority
        record.agent = spec.agent
        record.base = spec.base
        record.isolation = spec.isolation
        record.stallAfter = spec.stallAfter
        record.onStall = spec.onStall
        record.timeout = spec.timeout
        record.retries = spec.retries
        record.slurm = spec.slurm
        record.unknownKeys = spec.unknownKeys
        record.batch = reservation?.batch
        record.batchSize = reservation?.batchSize
        return record
    }

    /// Takes an id for the file `st`: a fresh `tasks/<id>/`, or one that `submit` reserved for
    /// this very file (same device and inode; its marker goes once the claim is done). Returns
    /// (taken, submit's reservation when it was submit's).
    private func reserve(_ id: String, for st: stat, spares: SparePool?) throws(SystemError) -> (Bool, Reservation?) {
        let directory = layout.taskDirectory(id)
        let made: Bool
        if let spares { made = try spares.take(into: directory) } else { made = try Files.makeDirectory(directory) }
        if made { return (true, nil) }
        if let reservation = reservation(id, for: st) { return (true, reservation) }
        return (isAbandoned(id), nil)
    }

    /// Whether `tasks/<id>/` is a reservation a crash left behind: a claim makes the folder, then
    /// renames the prompt to `claimed/<id>.<ext>`, and a coordinator killed in between leaves an
    /// folder that no prompt names: empty, or a spare's (its files all still empty). Taken over
    /// rather than skipped, so a crash changes no id and leaves no folder behind. (Any task that got
    /// further has a record in its folder, or its prompt in `claimed/` or `running/`.) Asked only
    /// when the folder exists.
    private func isAbandoned(_ id: String) -> Bool {
        let directory = layout.taskDirectory(id)
        guard let entries = try? Files.list(directory) else { return false }
        let untouched = entries.allSatisfy { name in
            guard SparePool.files.contains(name) else { return false }
            var st = stat()
            return lstat(directory + "/" + name, &st) == 0 && st.st_mode & S_IFMT == S_IFREG && st.st_size == 0
        }
        guard untouched else { return false }
        for queue in [Layout.Queue.claimed, .running] {
            for ext in PromptName.extensions where Files.exists(layout.queue(queue, id + "." + ext)) { return false }
        }
        return TaskLock.state(of: layout.taskDirectory(id)) == .free
    }

    /// `submit`'s marker for `id` when it was left for this very file (else nil).
    private func reservation(_ id: String, for st: stat) -> Reservation? {
        Reservation.read(layout.submitted(id)).flatMap { $0.identity == Spool.identity(st) ? $0 : nil }
    }

    /// Rejects a file, and drops the id `submit` may have reserved for it (the id stays used).
    private func rejectClaim(_ name: String, _ st: stat, reason: String) throws(SystemError) -> Intake {
        let intake = try reject(name, reason: reason)
        let id = TaskID.base(forFileName: name)
        if case .rejected = intake, reservation(id, for: st) != nil { try? Files.remove(layout.submitted(id)) }
        return intake
    }

    /// Undoes a reservation whose claim failed: the folder goes back to the spares, or away.
    static func release(_ directory: String, to spares: SparePool?) {
        if let spares, spares.giveBack(directory) { return }
        for name in (try? Files.list(directory)) ?? [] { try? Files.remove(directory + "/" + name) }
        try? Files.removeDirectory(directory)
    }

    /// The extension a submitted file gets in `incoming/`: its own if it is a prompt extension,
    /// else `md` (so that the coordinator takes it).
    public static func queuedExtension(of fileName: String) -> String {
        PromptName.isCandidate(fileName) ? (PromptName.extension(of: fileName) ?? "md") : "md"
    }

    /// The name a file submitted as `sourceName` has in `incoming/` once it is task `id`: `<id>.<ext>`.
    public static func queuedName(id: String, sourceName: String) -> String {
        "\(id).\(queuedExtension(of: sourceName))"
    }

    /// Who a `submitted` marker is for: device, inode and mtime of the queued file, so a later
    /// file that happens to get the same inode number is not taken for it.
    static func identity(_ st: stat) -> String {
        "\(st.st_dev):\(st.st_ino):\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
    }

    static func notRegular(_ st: stat) -> String? {
        if st.isRegularFile { return nil }
        if st.isSymlink { return "it is a symbolic link: gadugi never follows links in incoming/; copy the file itself" }
        if st.isDirectory { return "it is a directory, not a prompt file" }
        return "it is not a regular file (a fifo, socket or device)"
    }

    // MARK: reject

    /// How many names `reject` tries in `rejected/` before it gives up (and the file stays in
    /// `incoming/`): a bound, so a full `rejected/` costs an error, never an endless loop.
    static let maxRejectedSuffix = 10_000

    /// Moves `incoming/<name>` to `rejected/<name>` (or `<stem>-2.<ext>`, ...) and writes
    /// `<that>.reason`: one line, the original name and the reason, escaped so that neither can
    /// break the line or carry terminal escapes. A name too long to have `.reason` appended
    /// (NAME_MAX) is shortened first.
    public func reject(_ name: String, reason: String) throws(SystemError) -> Intake {
        try reject(from: layout.queue(.incoming, name), name: name, reason: reason)
    }

    /// `claimed/<id>.<ext>` → `rejected/<id>.<ext>` (numbered if taken), with its `.reason`: a
    /// claimed task that can never run (it closes a dependency cycle). Its id stays used. Returns
    /// the name in `rejected/`.
    public func rejectClaimed(_ record: TaskRecord, reason: String) throws(SystemError) -> String {
        switch try reject(from: layout.queue(.claimed, record.fileName), name: record.fileName, reason: reason) {
        case .rejected(let target, _): return target
        default: throw SystemError("reject", layout.queue(.claimed, record.fileName), .noSuchFileOrDirectory)
        }
    }

    private func reject(from: String, name: String, reason: String) throws(SystemError) -> Intake {
        for n in 1...Spool.maxRejectedSuffix {
            let target = Spool.rejectedName(name, n)
            do {
                try Files.renameNoReplace(from, layout.queue(.rejected, target))
            } catch {
                if error.errno == .fileExists { continue }
                if error.errno == .noSuchFileOrDirectory { return .vanished }
                throw error
            }
            let line = "\(name.escapedForTerminal): \(reason.escapedForTerminal)\n"
            do {
                try writeReason(target + ".reason", line)
            } catch {
                return .rejected(name: target, reason: reason + " (and its .reason file could not be written: \(error))")
            }
            return .rejected(name: target, reason: reason)
        }
        throw SystemError("reject (\(Spool.maxRejectedSuffix) names taken in queue/rejected/: clear it out)", from, .fileExists)
    }

    /// Publishes `rejected/<reasonName>` through a short temporary dotfile and a rename: the
    /// `.<name>.tmp.<pid>` of `Files.writeAtomically` would pass NAME_MAX for the longest names.
    private func writeReason(_ reasonName: String, _ line: String) throws(SystemError) {
        let tmp = layout.queue(.rejected, ".reason.\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp")
        let fd = try Files.open(tmp, O_WRONLY | O_CREAT | O_EXCL)
        do throws(SystemError) {
            try Files.writeAll(fd, Array(line.utf8), path: tmp)
        } catch {
            close(fd)
            unlink(tmp)
            throw error
        }
        close(fd)
        let path = layout.queue(.rejected, reasonName)
        if rename(tmp, path) != 0 {
            let error = SystemError.last("rename to \(path) from", tmp)
            unlink(tmp)
            throw error
        }
    }

    /// The `n`th name tried in `rejected/` for `name`: the name itself, then `<stem>-<n>.<ext>`,
    /// with the stem cut (at a character boundary, extension kept) so that the name plus
    /// `.reason` fits in NAME_MAX bytes.
    static func rejectedName(_ name: String, _ n: Int) -> String {
        let limit = Int(NAME_MAX) - ".reason".utf8.count
        if n == 1 && name.utf8.count <= limit { return name }
        let suffix = n == 1 ? "" : "-\(n)"
        var ext = PromptName.extension(of: name).map { "." + $0 } ?? ""
        if ext.utf8.count > limit / 2 { ext = "" }   // no real extension: cut the whole name
        let stem = ext.isEmpty ? name : PromptName.stem(of: name)
        return prefix(stem, bytes: limit - suffix.utf8.count - ext.utf8.count) + suffix + ext
    }

    /// The longest prefix of `text` of at most `bytes` UTF-8 bytes that ends on a scalar boundary.
    static func prefix(_ text: String, bytes: Int) -> String {
        var used = 0
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            used += UTF8.width(scalar)
            if used > bytes { break }
            out.append(scalar)
        }
        return String(out)
    }

    // MARK: start, finish, requeue

    /// `claimed/<id>.<ext>` → `running/<id>.<ext>`.
    public func start(_ record: TaskRecord) throws(SystemError) {
        try move(record, .claimed, .running)
    }

    /// `running/<id>.<ext>` → the folder of its final state (`done/`, `failed/`, `cancelled/`).
    public func finish(_ record: TaskRecord) throws(SystemError) {
        try move(record, .running, record.state.queue)
    }

    /// `claimed/<id>.<ext>` → `cancelled/`: a task cancelled before it started.
    public func cancel(_ record: TaskRecord) throws(SystemError) {
        try move(record, .claimed, .cancelled)
    }

    /// `incoming/<name>` → `cancelled/<name>`: a prompt cancelled before anyone claimed it.
    public func cancelQueued(_ name: String) throws(SystemError) {
        try Files.renameNoReplace(layout.queue(.incoming, name), layout.queue(.cancelled, name))
    }

    /// `failed/` or `cancelled/` `<id>.<ext>` → `claimed/`: a retry, under the same id.
    public func retry(_ record: TaskRecord, from queue: Layout.Queue) throws(SystemError) {
        try move(record, queue, .claimed)
    }

    /// `running/<id>.<ext>` → `claimed/<id>.<ext>`: undoes a start that never spawned a process.
    public func requeue(_ record: TaskRecord) throws(SystemError) {
        try move(record, .running, .claimed)
    }

    private func move(_ record: TaskRecord, _ from: Layout.Queue, _ to: Layout.Queue) throws(SystemError) {
        try Files.renameNoReplace(layout.queue(from, record.fileName), layout.queue(to, record.fileName))
    }

    // MARK: producers

    /// Why `submit` refuses a file: it queues nothing the coordinator would reject.
    public enum SubmitError: Error, Equatable, CustomStringConvertible {
        case missing
        /// Not a regular file (after following links): the reason a `.reason` file would hold.
        case notRegular(String)
        /// The content is not a usable prompt.
        case rejected(Prompt.Rejection)
        /// Reading the file or writing into the queue failed.
        case system(SystemError)

        public var description: String {
            switch self {
            case .missing: return "no such file"
            case .notRegular(let why): return why
            case .rejected(let why): return why.description
            case .system(let error): return error.description
            }
        }
    }

    /// Reads `source` (following links) and checks it by the coordinator's rules: a regular file,
    /// at most `Prompt.maxBytes`, and `Prompt.check`. Returns its bytes.
    public static func checkedSubmission(_ source: String) throws(SubmitError) -> [UInt8] {
        var st = stat()
        guard stat(source, &st) == 0 else {
            let error = SystemError.last("stat", source)
            throw error.errno == .noSuchFileOrDirectory || error.errno == .notDirectory ? .missing : .system(error)
        }
        if let why = notRegular(st) { throw .notRegular(why) }
        let bytes: [UInt8]
        do { bytes = try Files.read(source, limit: Prompt.maxBytes + 1, followLinks: true) } catch {
            if error.errno == .fileTooLarge { throw .rejected(.tooLarge(Int(st.st_size))) }
            throw .system(error)
        }
        if case .failure(let why) = Prompt.check(bytes) { throw .rejected(why) }
        return bytes
    }

    /// Delivers a copy of `source` Maildir-style: check it, write into `tmp/`, fsync, reserve an
    /// id, rename into `incoming/<id>.<ext>`. The caller fsyncs `incoming/` once after a batch.
    /// Returns the task id the coordinator will use for it.
    /// `batch`: the call's files as one batch (`gadugi submit a.md b.md`, `run FILE...`), so that
    /// their `depends_on` names resolve among themselves first.
    public func submit(_ source: String, batch: Batch? = nil) throws(SubmitError) -> String {
        let bytes = try Spool.checkedSubmission(source)
        do { return try deliver(bytes, sourceName: Files.split(source).1, batch: batch) } catch { throw .system(error) }
    }

    /// The files of one `submit` or `run FILE...` call: an id unique to the call, and how many.
    public struct Batch: Sendable {
        public var id: String
        public var size: Int
        public init(size: Int) {
            id = "\(Timestamp.now().iso8601)-\(getpid())"
            self.size = size
        }
    }

    private func deliver(_ bytes: [UInt8], sourceName: String, batch: Batch?) throws(SystemError) -> String {
        let tmp = layout.queue(.tmp, "\(Timestamp.now().seconds).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp")
        let fd = try Files.open(tmp, O_WRONLY | O_CREAT | O_EXCL)
        var st = stat()
        do throws(SystemError) {
            try Files.writeAll(fd, bytes, path: tmp)
            if fsync(fd) != 0 { throw SystemError.last("fsync", tmp) }
            if fstat(fd, &st) != 0 { throw SystemError.last("fstat", tmp) }
        } catch {
            close(fd)
            unlink(tmp)
            throw error
        }
        close(fd)
        let base = TaskID.base(forFileName: sourceName)
        var n = 1
        while true {
            let id = TaskID.candidate(base, n)
            n += 1
            guard try Files.makeDirectory(layout.taskDirectory(id)) else { continue }
            let reservation = Reservation(identity: Spool.identity(st), name: base, batch: batch?.id, batchSize: batch?.size)
            try Files.writeAtomically(layout.submitted(id), Array(reservation.text.utf8))
            do {
                try Files.renameNoReplace(tmp, layout.queue(.incoming, Spool.queuedName(id: id, sourceName: sourceName)))
                return id
            } catch {
                try? Files.remove(layout.submitted(id))
                try? Files.removeDirectory(layout.taskDirectory(id))
                if error.errno != .fileExists { unlink(tmp); throw error }
            }
        }
    }
}

/// What a `submitted` marker holds: the identity of the queued file (its first line), the task
/// name made from the original file name (the queued file is named after its id, `b-2.md`, but
/// others depend on it as `b`), and the batch of the `submit` call.
struct Reservation: Equatable {
    var identity: String
    var name: String?
    var batch: String?
    var batchSize: Int?

    var text: String {
        var out = identity + "\n"
        if let name { out += "name \(name)\n" }
        if let batch, let batchSize { out += "batch \(batchSize) \(batch)\n" }
        return out
    }

    static func read(_ path: String) -> Reservation? {
        guard let text = try? Files.readText(path, limit: 4096) else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let first = lines.first, !first.isEmpty else { return nil }
        var r = Reservation(identity: first)
        for line in lines.dropFirst() {
            let parts = line.split(separator: " ", maxSplits: 2).map(String.init)
            if parts.count == 2, parts[0] == "name", TaskID.isValid(parts[1]) { r.name = parts[1] }
            if parts.count == 3, parts[0] == "batch", let n = Int(parts[1]), n > 0 { (r.batchSize, r.batch) = (n, parts[2]) }
        }
        return r
    }
}
