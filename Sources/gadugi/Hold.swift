import ArgumentParser
import GadugiCore

struct Hold: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Hold the queue, or single tasks: they do not start; running ones go on.",
        discussion: """
            Without IDs: creates .gadugi/control/hold, and no new task starts (prompts keep arriving and being claimed, and wait). With IDs: creates .gadugi/control/hold.<id> for each, and those tasks wait ("held") while others run; a held task holds no files against others. A script can 'touch' the same files; 'gadugi release' (or removing them) resumes. Works with or without a running coordinator: the next one reads the files when it starts.

            Examples:
              gadugi hold                 # nothing new starts
              gadugi hold users-api       # only users-api waits
              gadugi release users-api
            """)

    @OptionGroup var options: RootOptions

    @Argument(help: "Task ids to hold (none: the whole queue).")
    var ids: [String] = []

    func validate() throws { try validateIDs(ids) }

    func run() throws {
        let layout = try options.existingLayout()
        try Files.makeDirectories(layout.control)
        if ids.isEmpty {
            try Files.writeAtomically(layout.control(ControlRequest.holdFile), [])
            return print("held: no new task starts until 'gadugi release'")
        }
        for id in ids {
            try Files.writeAtomically(layout.control(ControlRequest.holdFile(id)), [])
            print("held \(id): it does not start until 'gadugi release \(id)'")
        }
    }
}

struct Release: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Release a held queue, or held tasks: they start again.",
        discussion: "Removes .gadugi/control/hold (without IDs) or .gadugi/control/hold.<id> for each ID.")

    @OptionGroup var options: RootOptions

    @Argument(help: "Task ids to release (none: the whole queue).")
    var ids: [String] = []

    func validate() throws { try validateIDs(ids) }

    func run() throws {
        let layout = try options.existingLayout()
        let files = ids.isEmpty ? [ControlRequest.holdFile] : ids.map(ControlRequest.holdFile)
        for (file, what) in zip(files, ids.isEmpty ? ["the queue"] : ids) {
            guard Files.exists(layout.control(file)) else {
                print("\(what) is not held")
                continue
            }
            try Files.remove(layout.control(file))
            print("released \(what)")
        }
    }
}

/// Task ids as `gadugi status` shows them; anything else is a usage error.
func validateIDs(_ ids: [String]) throws {
    if let bad = ids.first(where: { !TaskID.isValid($0) }) {
        throw ValidationError("'\(bad)' is not a task id (ASCII letters, digits, '_' and '-'; see 'gadugi status')")
    }
}
