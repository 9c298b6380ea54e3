import ArgumentParser
import GadugiCore

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the .gadugi/ spool (queue and monitoring folders). Safe to repeat.")

    @OptionGroup var options: RootOptions

    func run() throws {
        let layout = options.layout
        try layout.create()
        // The main checkout's `git status` stays clean: the spool and task worktrees are ignored.
        if let top = Git.topLevel(of: layout.root) { try Worktrees.exclude(gadugiIn: top, root: layout.root) }
        print(layout.base)
    }
}
