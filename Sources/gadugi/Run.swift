import ArgumentParser
import Foundation
import GadugiCore
import Logging

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Coordinate: claim queued prompts and run one agent per task, in parallel.",
        discussion: """
            Without FILEs, runs until interrupted: SIGINT or SIGTERM stop it with exit 0, and running agents carry on and record their outcomes, which the next 'gadugi run' commits. With FILEs, queues them, runs until they have all finished, prints a summary, and exits 0 only if all succeeded.

            The agent is a shell command that gets the prompt on stdin and GADUGI_TASK_ID, GADUGI_ROOT, GADUGI_PROMPT_FILE, GADUGI_HEARTBEAT_FILE, GADUGI_PROGRESS_FILE, GADUGI_LOG_FILE, GADUGI_OUTCOME_FILE (the wrapper's) and GADUGI_BIN in its environment; its output goes to .gadugi/monitoring/tasks/<id>/output.log. It is taken from --agent, else 'agent:' in .gadugi/config.yaml, else $GADUGI_AGENT, else 'claude -p'. '--agent gadugi:simulate' runs the built-in simulated agent.
            """)

    @OptionGroup var options: RootOptions

    @Option(name: .customLong("max-parallel"), help: "How many agents may run at once (default: max_parallel in config.yaml, else 4).")
    var maxParallel: Int?

    @Option(help: ArgumentHelp("The agent: a shell command run once per task.", valueName: "command"))
    var agent: String?

    @Option(help: ArgumentHelp("Where agents work: 'worktree' (each task in its own git worktree and branch; the default in a git repository) or 'none' (all in the root).", valueName: "worktree|none"))
    var isolation: String?

    @Flag(help: "Exit 0 once nothing is queued, claimed or running.")
    var untilIdle = false

    @Flag(help: "Print only warnings and errors, not every start and finish.")
    var quiet = false

    @Flag(help: "With FILEs: print the closing summary as JSON (the log still goes to stderr).")
    var json = false

    @Argument(help: "Prompt files to queue and wait for.", completion: .file())
    var files: [String] = []

    func validate() throws {
        if let n = maxParallel, n < 1 { throw ValidationError("--max-parallel must be at least 1") }
        if let i = isolation, Settings.Isolation(rawValue: i) == nil {
            throw ValidationError("--isolation must be 'worktree' or 'none', not '\(i)'")
        }
        if let a = agent, a.allSatisfy(\.isWhitespace) {
            throw ValidationError("--agent needs a shell command, such as --agent 'claude -p' or --agent gadugi:simulate")
        }
    }

    func run() throws {
        Files.ensureStandardDescriptors()
        let layout = options.layout
        try layout.create()
        let environment = ProcessInfo.processInfo.environment
        var settings = try Settings.load(layout, agentFlag: agent, parallelFlag: maxParallel, environment: environment)
        if let i = isolation.flatMap(Settings.Isolation.init(rawValue:)) { settings.isolation = i }
        let lock: CoordinatorLock
        do { lock = try CoordinatorLock(layout) } catch {
            complain("\(error)")
            throw ExitCode(1)
        }
        LoggingSystem.bootstrap { LineLogHandler(label: $0) }
        var logger = Logger(label: "gadugi")
        logger.logLevel = quiet ? .warning : .info
        let coordinatorOptions = Coordinator.Options(
            executable: Executable.path,
            environment: environment.map { "\($0.key)=\($0.value)" })
        var tuned = coordinatorOptions
        tuned.untilIdle = untilIdle
        let coordinator = Coordinator(layout: layout, settings: settings, options: tuned, logger: logger)
        let ids = try SubmitFiles.submit(files, to: layout)
        let submitted = zip(files, ids).map { file, id in
            (name: "\(id).\(Spool.queuedExtension(of: Files.split(file).1))", id: id)
        }
        coordinator.track(submitted)
        try coordinator.run()
        withExtendedLifetime(lock) {}
        if !files.isEmpty {
            let report = json ? Summary.printJSON : Summary.print
            let allDone = report(files, ids, coordinator.results, layout)
            if !allDone { throw ExitCode(1) }
        }
    }
}

enum Executable {
    /// This executable's absolute path, for `$GADUGI_BIN`.
    static var path: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
