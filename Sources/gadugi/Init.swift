import ArgumentParser
import GadugiCore

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the .gadugi/ spool (queue and monitoring folders). Safe to repeat.")

    @OptionGroup var options: RootOptions

    func run() throws {
        let layout = options.layout
        try layout.create()
        print(layout.base)
    }
}
