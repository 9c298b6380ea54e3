import ArgumentParser
import Foundation
import GadugiCore

/// `--root`, shared by every verb.
struct RootOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The directory that holds .gadugi/ (default: $GADUGI_ROOT, else the git top-level of the current directory, else the current directory).",
        valueName: "dir"))
    var root: String?

    var layout: Layout {
        Layout(root: Settings.root(flag: root, environment: ProcessInfo.processInfo.environment))
    }

    /// The layout of an initialised spool, or an error that says how to make one.
    func existingLayout() throws -> Layout {
        let layout = self.layout
        guard layout.exists else {
            throw Failure("no spool at \(layout.root)/.gadugi: run 'gadugi init' there, or pass --root DIR")
        }
        return layout
    }
}

/// An error for the user: printed as `Error: <message>`, exit status 1.
struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Prints to standard error.
func complain(_ message: String) {
    FileHandle.standardError.write(Data(("gadugi: " + message + "\n").utf8))
}

/// Prints a warning to standard error: something was ignored, and the work goes on.
func warn(_ message: String) {
    complain("warning: " + message)
}
