import ArgumentParser
import Foundation
import GadugiCore
import Logging

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Coordinate: claim queued prompts and run one agent per task, in parallel.",
        discussion: """
            Without FILEs, runs until interrupted: SIGINT or SIGTERM stop it with exit 0, and running agents carry on and record their outcomes, which the next 'gadugi run' commits. With FILEs, queues them, runs until they have all finished, prints a summary, and exits 0 only if all succeeded.

            With FILEs while another coordinator runs on this spool, run joins it instead of refusing: it queues the FILEs for that coordinator (as 'gadugi submit' would, one batch), prints its log lines for them and the same summary, and exits as a run of its own would (0 all done, 1 otherwise). That coordinator's settings apply: --agent, --max-parallel, --isolation and --until-idle are ignored with a warning. Ctrl-C stops following (exit 130) and leaves the tasks with the coordinator; if the coordinator stops first, run says so and exits 1 ('gadugi run' resumes them).

              gadugi run --agent gadugi:simulate &     # a coordinator
              gadugi run a.md b.md                     # joins it; exit 0 if both end done

            The log goes to stderr, one line per event: '2026-11-27T08:01:02.345Z info done a in 1.2s'. --quiet keeps warnings and errors, --verbose adds debug lines (claims, why a task waits).

            The agent is a shell command that gets the prompt on stdin and GADUGI_TASK_ID, GADUGI_ROOT, GADUGI_PROMPT_FILE, GADUGI_HEARTBEAT_FILE, GADUGI_PROGRESS_FILE, GADUGI_LOG_FILE, GADUGI_OUTCOME_FILE (the wrapper's) and GADUGI_BIN in its environment; its output goes to .gadugi/monitoring/tasks/<id>/output.log. It is taken from --agent, else 'agent:' in .gadugi/config.yaml, else $GADUGI_AGENT, else 'claude -p'. '--agent gadugi:simulate' runs the built-in simulated agent. When the agent's program is plainly not installed, run says so and exits 1 before queueing or claiming anything.

            --executor slurm (or 'executor: slurm' in config.yaml) runs each agent as a Slurm job step: 'srun --job-name=gadugi-<id>' with the resources of 'slurm:' in config.yaml and the task's front matter 'slurm:', in the task's worktree, the prompt on its stdin and its output in the task's log; the task's process here waits for it and records its outcome. A task whose job Slurm has not started yet shows as 'pending' in status and watch. max_parallel is then how many tasks are handed to Slurm at once. The README's "Running tasks on Slurm" says more.

              gadugi run --executor slurm --max-parallel 32

            Keys in .gadugi/config.yaml that gadugi does not know are named in a warning on stderr ('did you mean ...?') and ignored.
            """)

    @OptionGroup var options: RootOptions

    // Text, read unconditionally, so that `--max-parallel -2` and `--max-parallel many` reach
    // `validate` and get a message saying what to pass, not the parser's "missing value".
    @Option(name: .customLong("max-parallel"), parsing: .unconditional,
            help: ArgumentHelp("How many agents may run at once, at least 1 (default: max_parallel in config.yaml, else 4).", valueName: "n"))
    var maxParallelText: String?

    var maxParallel: Int? { maxParallelText.flatMap { Int($0) } }

    @Option(help: ArgumentHelp("The agent: a shell command run once per task.", valueName: "command"))
    var agent: String?

    @Option(help: ArgumentHelp("Where agents work: 'worktree' (each task in its own git worktree and branch; the default in a git repository) or 'none' (all in the root).", valueName: "worktree|none"))
    var isolation: String?

    @Option(help: ArgumentHelp("Where agents run: 'local' (here; the default) or 'slurm' (each a Slurm job step, started with srun; default: executor in config.yaml).", valueName: "local|slurm"))
    var executor: String?

    @Flag(help: "Exit 0 once nothing is queued, claimed or running.")
    var untilIdle = false

    @Flag(help: "Print only warnings and errors, not every start and finish.")
    var quiet = false

    @Flag(help: "Print also why tasks wait and each claim (debug level).")
    var verbose = false

    @Flag(help: "With FILEs: print the closing summary as JSON (the log still goes to stderr).")
    var json = false

    @Argument(help: "Prompt files to queue and wait for.", completion: .file())
    var files: [String] = []

    func validate() throws {
        if let text = maxParallelText, let problem = Settings.maxParallelFlagProblem(text) { throw ValidationError(problem) }
        if let i = isolation, Settings.Isolation(rawValue: i) == nil {
            throw ValidationError("--isolation must be 'worktree' or 'none', not '\(i)'")
        }
        if let e = executor, Executor(rawValue: e) == nil { throw ValidationError(Settings.executorFlagProblem(e)) }
        if quiet && verbose {
            throw ValidationError("--quiet and --verbose cannot be used together: --quiet prints only warnings and errors, --verbose adds debug lines; choose one")
        }
        if let a = agent, a.allSatisfy(\.isWhitespace) {
            throw ValidationError("--agent needs a shell command, such as --agent 'claude -p' or --agent gadugi:simulate")
        }
    }

    func run() throws {
        Files.ensureStandardDescriptors()
        let layout = options.layout
        LoggingSystem.bootstrap { LineLogHandler(label: $0) }
        // With FILEs and a coordinator already running: hand them to it and follow them.
        if !files.isEmpty, let pid = RunJoin.coordinatorPID(layout) { return try join(pid: pid, layout: layout) }
        let environment = ProcessInfo.processInfo.environment
        var settings = try Settings.load(layout, agentFlag: agent, parallelFlag: maxParallel, environment: environment,
                                         executorFlag: executor)
        settings.warnings.forEach(warn)
        try refuseMissingAgent(settings, environment: environment)
        try refuseUnusableSlurm(settings, environment: environment)
        try layout.create()
        if let i = isolation.flatMap(Settings.Isolation.init(rawValue:)) { settings.isolation = i }
        let lock: CoordinatorLock
        do { lock = try CoordinatorLock(layout) } catch {
            // One started since we looked: join it after all.
            if !files.isEmpty, case .held(let pid, _) = error { return try join(pid: pid, layout: layout) }
            complain("\(error)")
            throw ExitCode(1)
        }
        let logger = self.logger
        let coordinatorOptions = Coordinator.Options(
            executable: Executable.path,
            environment: environment.map { "\($0.key)=\($0.value)" })
        var tuned = coordinatorOptions
        tuned.untilIdle = untilIdle
        let coordinator = Coordinator(layout: layout, settings: settings, options: tuned, logger: logger)
        let submission = try queueSubmission(files, in: layout)
        let ids = submission.ids
        coordinator.track(submission.entries.map { (name: $0.queuedName, id: $0.id) })
        try coordinator.run()
        withExtendedLifetime(lock) {}
        if !files.isEmpty {
            let allDone = report(RunSummary(files: files, ids: ids, results: coordinator.results, layout: layout))
            // Interrupted by Ctrl-C: 130, as a shell reports a command killed by SIGINT.
            if coordinator.interrupts > 0 { throw ExitCode(130) }
            if !allDone { throw ExitCode(1) }
        }
    }
}

extension Run {
    /// Prints the closing summary (text, or `--json` on stdout); true when every task is done.
    func report(_ summary: RunSummary) -> Bool {
        print(json ? summary.json.encoded(pretty: true) : summary.text, terminator: json ? "\n" : "")
        return summary.allDone
    }

    /// The log: info and up; warnings and errors only with `--quiet`; debug too with `--verbose`.
    var logger: Logger {
        var logger = Logger(label: "gadugi")
        logger.logLevel = quiet ? .warning : verbose ? .debug : .info
        return logger
    }

    /// `run FILE...` while a coordinator runs: submit the files to it as one batch, follow them
    /// until each has ended, and print the summary a run of our own would have printed.
    func join(pid: String, layout: Layout) throws {
        let ignored = [(maxParallelText != nil, "--max-parallel"), (agent != nil, "--agent"),
                       (isolation != nil, "--isolation"), (executor != nil, "--executor"), (untilIdle, "--until-idle")].filter(\.0).map(\.1)
        if !ignored.isEmpty {
            warn("\(ignored.joined(separator: ", ")) ignored: the coordinator already running (pid \(pid)) runs these files with its own settings; stop it first to run them with yours")
        }
        let follower = BatchFollower(layout: layout, logger: logger)
        let submission = try queueSubmission(files, in: layout)
        let ids = submission.ids
        let submitted = submission.entries.map { (name: $0.queuedName, id: $0.id) }
        logger.info("joined the running coordinator (pid \(pid)): queued \(ids.joined(separator: ", ")); following them until they end (Ctrl-C stops following, not them)")
        BatchFollower.catchInterrupts()
        let outcome = try follower.follow(submitted)
        let left = outcome.unfinished.joined(separator: " ")
        switch outcome.ending {
        case .allEnded: break
        case .interrupted:
            logger.warning("interrupted: stopped following; \(outcome.unfinished.count) unfinished task(s) stay with the coordinator (pid \(pid)), which runs them: 'gadugi status --wait \(left)' waits for them again, 'gadugi cancel \(left)' cancels them")
        case .coordinatorGone:
            logger.error("the coordinator (pid \(pid)) stopped before these tasks ended: \(left); they stay where they are, and 'gadugi run' resumes them")
        }
        var results: [String: Coordinator.Result] = [:]
        for (name, id) in submitted {
            if let standing = outcome.standings[id], let result = Coordinator.Result(standing, id: id, queuedName: name) { results[id] = result }
        }
        var summary = RunSummary(files: files, ids: ids, results: results, layout: layout)
        if outcome.ending == .interrupted {
            summary.unfinishedNote = "(still with the coordinator, pid \(pid.escapedForTerminal); 'gadugi status --wait' waits for it)"
        }
        let allDone = report(summary)
        if outcome.ending == .interrupted { throw ExitCode(130) }
        if !allDone { throw ExitCode(1) }
    }

    /// Refuses to start when the agent's program is plainly not there, before anything is
    /// queued or claimed: otherwise every prompt would be claimed and failed, one by one, for
    /// a typo in `--agent`. Prompts stay where they were (FILEs are not even queued), so nothing
    /// is lost; the coordinator still checks before each start, for an agent removed later.
    /// With `executor: slurm`, refuses to start inside a Slurm allocation, or when `srun` is not on
    /// PATH: every task would fail.
    func refuseUnusableSlurm(_ settings: Settings, environment: [String: String]) throws {
        guard settings.executor == .slurm else { return }
        if let problem = SlurmStep.allocationProblem(environment: environment) {
            complain(problem + "; nothing was queued or claimed")
            throw ExitCode(1)
        }
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        if path.split(separator: ":").contains(where: { access("\($0)/srun", X_OK) == 0 }) { return }
        complain("executor is slurm but srun is not on PATH (\(path.escapedForTerminal)): install Slurm's client commands (Debian: slurm-client), "
            + "or run with --executor local; nothing was queued or claimed")
        throw ExitCode(1)
    }

    func refuseMissingAgent(_ settings: Settings, environment: [String: String]) throws {
        guard let missing = settings.missingAgentMessage(path: environment["PATH"]) else { return }
        complain(missing + "; nothing was queued or claimed")
        throw ExitCode(1)
    }
}

enum Executable {
    /// This executable's absolute path, for `$GADUGI_BIN`.
    static var path: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
