/// The files of one `gadugi submit` or `run FILE...` call, queued as one batch (so that their
/// `depends_on` names resolve among themselves first), and what they became.
///
/// All or nothing where it can be: every file is checked first, by the rules the coordinator
/// claims by, so a typo or a file it would reject queues nothing and the user hears why at once.
/// Then each is delivered (`Spool.submit`: tmp, fsync, rename) and `incoming/` is fsynced once.
public struct Submission: Sendable, Equatable {
    /// A queued file.
    public struct Entry: Sendable, Equatable {
        /// The path as given.
        public var file: String
        /// The task id reserved for it.
        public var id: String
        /// Its name in `incoming/` (and in every queue folder after): `<id>.<ext>`.
        public var queuedName: String
    }

    public let entries: [Entry]

    public var ids: [String] { entries.map(\.id) }

    /// Why nothing, or not everything, was queued.
    public enum Failure: Error, CustomStringConvertible {
        /// A file failed its check: nothing was queued. The reason is the one a `.reason` file
        /// beside a rejected prompt would hold.
        case refused(file: String, Spool.SubmitError)
        /// Delivering a file failed after `queued` (ids) were queued.
        case failed(file: String, Spool.SubmitError, queued: [String])
        /// The spool's folders could not be made, or `incoming/` synced.
        case system(SystemError)

        public var description: String {
            switch self {
            case .refused(let file, let why):
                return "\(file.escapedForTerminal): \(why.description.escapedForTerminal)"
            case .failed(let file, let why, let queued):
                return "cannot submit \(file.escapedForTerminal): \(why.description.escapedForTerminal)"
                    + (queued.isEmpty ? "" : " (already queued: \(queued.joined(separator: " ")))")
            case .system(let error):
                return error.description
            }
        }
    }

    /// Checks, then queues `files` into `layout`'s spool as one batch.
    public static func queue(_ files: [String], in layout: Layout) throws(Failure) -> Submission {
        for file in files {
            do { _ = try Spool.checkedSubmission(file) } catch { throw .refused(file: file, error) }
        }
        do { try layout.create() } catch { throw .system(error) }
        let spool = Spool(layout: layout)
        let batch = Spool.Batch(size: files.count)
        var entries: [Entry] = []
        for file in files {
            do {
                let id = try spool.submit(file, batch: batch)
                entries.append(Entry(file: file, id: id, queuedName: Spool.queuedName(id: id, sourceName: Files.split(file).1)))
            } catch {
                throw .failed(file: file, error, queued: entries.map(\.id))
            }
        }
        do { try Files.fsyncDirectory(layout.queue(.incoming)) } catch { throw .system(error) }
        return Submission(entries: entries)
    }

    /// `gadugi submit --json`: an array of `{"file", "id"}` in the order given
    /// (docs/schemas/submit.schema.json).
    public var json: JSON {
        .array(entries.map { .object([("file", .string($0.file)), ("id", .string($0.id))]) })
    }
}
