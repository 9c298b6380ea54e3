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
        let submission = try queueSubmission(files, in: options.layout)
        if json {
            print(submission.json.encoded(pretty: true))
        } else {
            submission.ids.forEach { print($0) }
        }
    }
}

/// `Submission.queue`, its failure said as the CLI says it: a file that fails its check as
/// `gadugi: <file>: <reason>` with exit status 1, before anything is queued.
func queueSubmission(_ files: [String], in layout: Layout) throws -> Submission {
    do { return try Submission.queue(files, in: layout) } catch {
        if case .refused = error {
            complain(error.description)
            throw ExitCode(1)
        }
        throw Failure(error.description)
    }
}
