import ArgumentParser
import GadugiCore

struct Hold: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Hold the queue: no new task starts; running ones go on.",
        discussion: """
            Creates .gadugi/control/hold (a script can 'touch' it); prompts keep arriving and being claimed, and wait. 'gadugi release' (or removing the file) resumes.
            """)

    @OptionGroup var options: RootOptions

    func run() throws {
        let layout = try options.existingLayout()
        try Files.makeDirectories(layout.control)
        try Files.writeAtomically(layout.control(ControlRequest.holdFile), [])
        print("held: no new task starts until 'gadugi release'")
    }
}

struct Release: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Release a held queue: tasks start again.",
        discussion: "Removes .gadugi/control/hold.")

    @OptionGroup var options: RootOptions

    func run() throws {
        let layout = try options.existingLayout()
        guard ControlRequest.isHeld(layout) else { return print("the queue is not held") }
        try Files.remove(layout.control(ControlRequest.holdFile))
        print("released: tasks start again")
    }
}
