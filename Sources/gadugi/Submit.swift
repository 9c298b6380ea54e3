import ArgumentParser
import GadugiCore

struct Submit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Queue prompt files: copy each into .gadugi/queue/incoming safely and print its task id.",
        discussion: """
            Each file is written to queue/tmp, fsynced, and renamed into queue/incoming, so a coordinator never sees half of it; the id is reserved at once and printed, one per line. Your files are copied, never moved or changed. A running 'gadugi run' picks them up.
            """)

    @OptionGroup var options: RootOptions

    @Flag(help: "Print a JSON array of {\"file\", \"id\"} instead of one id per line.")
    var json = false

    @Argument(help: "Prompt files to queue.", completion: .file())
    var files: [String]

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("name at least one prompt file") }
    }

    func run() throws {
        let ids = try SubmitFiles.submit(files, to: options.layout)
        if json {
            print(JSON.array(zip(files, ids).map { .object([("file", .string($0)), ("id", .string($1))]) }).encoded(pretty: true))
        } else {
            ids.forEach { print($0) }
        }
    }
}

enum SubmitFiles {
    /// Checks every file first, by the rules the coordinator claims by, so a typo or a file it
    /// would reject queues nothing: the user hears why at once, as `gadugi: <file>: <reason>`
    /// (the reason a `.reason` file would hold), with exit status 1. Then submits all and fsyncs
    /// incoming/ once.
    static func submit(_ files: [String], to layout: Layout) throws -> [String] {
        for file in files {
            do { _ = try Spool.checkedSubmission(file) } catch {
                complain("\(file.escapedForTerminal): \(error.description.escapedForTerminal)")
                throw ExitCode(1)
            }
        }
        try layout.create()
        let spool = Spool(layout: layout)
        var ids: [String] = []
        let batch = Spool.Batch(size: files.count)
        for file in files {
            do { ids.append(try spool.submit(file, batch: batch)) } catch {
                throw Failure("cannot submit \(file.escapedForTerminal): \(error.description.escapedForTerminal)"
                              + (ids.isEmpty ? "" : " (already queued: \(ids.joined(separator: " ")))"))
            }
        }
        try Files.fsyncDirectory(layout.queue(.incoming))
        return ids
    }
}
