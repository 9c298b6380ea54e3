import Glibc
import Yams

/// Where the spool is, and how tasks run: the flags, `.gadugi/config.yaml` and the environment,
/// merged in that order of precedence.
public struct Settings: Sendable {
    public static let defaultAgent = "claude -p"
    /// Selects the built-in simulated agent (for demos and tests).
    public static let simulatedAgent = "gadugi:simulate"

    public var agent: String
    public var agentSource: String
    public var maxParallel: Int
    /// A prompt that arrives by being written in place (not renamed in) is claimed only once it
    /// has been quiet this long, in seconds; a further write restarts the wait. 0 turns it off.
    public var settle: Double = 1
    /// Bytes that must be free on the spool's file system before a task is started (0: no check).
    /// A task started on a full disk loses its output and fails; waiting costs nothing.
    public var minFree: Int64 = 64 << 20
    /// Keep processes an agent leaves behind in its session when it ends (for agents that start
    /// servers on purpose). By default they are sent SIGTERM, then SIGKILL after `killGrace`.
    public var keepProcesses = false
    /// Seconds between SIGTERM and SIGKILL when a task's processes are stopped.
    public var killGrace: Double = 10
    /// Where agents work: each in its own git worktree and branch (the default inside a git
    /// repository), or all in the root (`none`; the only choice outside one).
    public var isolation: Isolation?
    /// A shell command run in each new worktree before the agent (copy `.env`, `npm ci`...): what
    /// git does not carry. Its output goes to the task's log; its failure fails the task.
    public var worktreeSetup: String?
    /// Seconds after which a running task none of whose heartbeat, log or report changed is
    /// "stalled": an agent waiting on a prompt nobody answers looks alive by its process alone.
    public var stallAfter: Double = 600
    /// What a stall does: say so (in the log, `progress.json` and `status`), or stop the task.
    public var onStall: OnStall = .report
    /// Seconds a task may run before it is stopped (SIGTERM, SIGKILL after `killGrace`) and ends
    /// as `timeout`; nil: no limit. A runaway agent would otherwise hold its slot for ever.
    public var timeout: Double?
    /// How many times a failed attempt is started again on its own (0: never), for the failures
    /// that pass (rate limits, a flaky network).
    public var retries: Int = 0
    /// Seconds before the first automatic retry; each further one waits twice as long as the
    /// last, at most `retryBackoffMax`, so a struggling service is not hammered.
    public var retryBackoff: Double = 30
    /// The longest wait between automatic retries, in seconds.
    public var retryBackoffMax: Double = 600
    /// A shell command run after each task ends (to notify, collect results...).
    public var onFinish: String?
    /// `events.jsonl` is rotated to `events.1.jsonl` before an append would take it past this
    /// many bytes (0: never), so a long-lived spool's log cannot fill the disk.
    public var eventsMax: Int64 = 64 << 20
    /// Where agents run: here (`local`), or each as a Slurm job step started with `srun`
    /// (`slurm`), its task's process still here holding the lock and recording the outcome.
    public var executor: Executor = .local
    /// The Slurm resources every task asks for (`slurm:` in config.yaml); a task's own front
    /// matter `slurm:` overrides them key by key.
    public var slurm: SlurmStep.Resources = .none
    /// One line per thing in `config.yaml` that was ignored (an unknown or misspelled key), for
    /// the user to see: a setting that silently never took effect costs hours.
    public var warnings: [String] = []

    public enum Isolation: String, Sendable {
        case worktree, none
    }

    public enum OnStall: String, Sendable {
        case report, kill
    }

    public init(agent: String, agentSource: String = "the default", maxParallel: Int = 4) {
        self.agent = agent
        self.agentSource = agentSource
        self.maxParallel = maxParallel
    }

    public enum Failure: Error, CustomStringConvertible {
        /// The file as a whole is unusable (malformed YAML, not a mapping).
        case badConfig(String, String)
        /// One key has a value it cannot take.
        case badValue(path: String, key: String, found: String, expected: String)
        /// A flag has a value it cannot take; the whole message.
        case badFlag(String)

        public var description: String {
            switch self {
            case .badConfig(let path, let why):
                return "\(path) is not valid: \(why). Expected a mapping of keys to values, such as 'max_parallel: 4'; the keys are "
                    + Settings.configKeyNames.joined(separator: ", ") + " (the README's config.yaml block says what each takes)"
            case .badValue(let path, let key, let found, let expected):
                return "\(path) is not valid: \(key) has \(found); expected \(expected)"
            case .badFlag(let message):
                return message
            }
        }
    }

    /// Resolves the root: the flag, else `$GADUGI_ROOT` (set for agents), else the git top-level of
    /// the current directory (found by walking up to `.git`, without running git), else the current
    /// directory.
    public static func root(flag: String?, environment: [String: String]) -> String {
        let cwd = currentDirectory()
        if let flag, !flag.isEmpty { return absolute(flag, from: cwd) }
        if let env = environment["GADUGI_ROOT"], !env.isEmpty { return absolute(env, from: cwd) }
        var dir = cwd
        while true {
            if Files.exists(dir + "/.git") { return dir }
            let parent = Files.split(dir).0
            if parent == dir || dir == "/" { return cwd }
            dir = parent
        }
    }

    public static func currentDirectory() -> String {
        guard let cwd = getcwd(nil, 0) else { return "." }
        defer { free(cwd) }
        return String(cString: cwd)
    }

    public static func absolute(_ path: String, from cwd: String) -> String {
        var p = path.hasPrefix("/") ? path : cwd + "/" + path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        return p
    }

    /// Reads settings; `agentFlag` and `parallelFlag` win over the file, the file over the
    /// environment. Unknown keys in the file are not errors: they end up in `warnings`.
    public static func load(_ layout: Layout, agentFlag: String?, parallelFlag: Int?,
                            environment: [String: String], executorFlag: String? = nil) throws -> Settings {
        var settings = Settings(agent: defaultAgent)
        if let a = nonBlank(environment["GADUGI_AGENT"]) { (settings.agent, settings.agentSource) = (a, "GADUGI_AGENT") }
        try settings.readConfig(layout)
        if let a = nonBlank(agentFlag) { (settings.agent, settings.agentSource) = (a, "--agent") }
        if let n = parallelFlag {
            if let problem = maxParallelFlagProblem("\(n)") { throw Failure.badFlag(problem) }
            settings.maxParallel = n
        }
        if let e = executorFlag {
            guard let executor = Executor(rawValue: e) else { throw Failure.badFlag(executorFlagProblem(e)) }
            settings.executor = executor
        }
        return settings
    }

    /// What `max_parallel` and `--max-parallel` take, said the same way for both.
    public static let expectedMaxParallel = "a whole number of at least 1 (how many agents may run at once)"

    /// Why `--max-parallel TEXT` cannot be taken, or nil when it can: `0` or `-2` would start no
    /// agent at all, and the parser's own words for them ("missing value") point nowhere.
    public static func maxParallelFlagProblem(_ text: String) -> String? {
        guard let n = Int(text), n >= 1 else {
            return "--max-parallel has '\(text.escapedForTerminal)'; expected \(expectedMaxParallel), such as --max-parallel 4; "
                + "or leave it out to use max_parallel from .gadugi/config.yaml (else 4)"
        }
        return nil
    }

    /// What `--executor TEXT` gets told when it is neither `local` nor `slurm`.
    public static func executorFlagProblem(_ text: String) -> String {
        "--executor has '\(text.escapedForTerminal)'; expected local (agents run here) or slurm (each agent a Slurm job step, "
            + "started with srun), such as --executor slurm; or leave it out to use executor from .gadugi/config.yaml (else local)"
    }

    static func nonBlank(_ text: String?) -> String? {
        guard let text, !text.allSatisfy(\.isWhitespace) else { return nil }
        return text
    }

    /// `1.5`, `1.5s`, `500ms`, `2m`, `1h` → seconds; nil when malformed or negative.
    public static func duration(_ text: String) -> Double? {
        let t = text.trimmed(" \t")
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("", 1)]
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            guard let n = Double(t.dropLast(suffix.count)), n >= 0, n.isFinite else { continue }
            return n * scale
        }
        return nil
    }

    /// `65536`, `64K`, `64M`, `1G` (powers of 1024, `B`/`iB` accepted) → bytes; nil when malformed.
    public static func size(_ text: String) -> Int64? {
        var t = text.trimmed(" \t").uppercased()
        if t.hasSuffix("IB") { t.removeLast(2) } else if t.hasSuffix("B") { t.removeLast() }
        let scales: [Character: Double] = ["K": 1024, "M": 1_048_576, "G": 1_073_741_824, "T": 1_099_511_627_776]
        var scale = 1.0
        if let last = t.last, let s = scales[last] { scale = s; t.removeLast() }
        guard let n = Double(t), n >= 0, n * scale < 9e18 else { return nil }
        return Int64(n * scale)
    }

    static func bool(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: return nil
        }
    }

    /// The shell command the wrapper evaluates. The simulated agent is this very executable, named
    /// through `$GADUGI_BIN` so no path is pasted into a shell string.
    public var agentCommand: String { command(for: nil) }

    /// The command for a task whose front matter names its own `agent` (nil: the configured one).
    public func command(for taskAgent: String?) -> String {
        let chosen = taskAgent ?? agent
        return chosen == Settings.simulatedAgent ? "exec \"$GADUGI_BIN\" simulate-agent" : chosen
    }

    /// A message when the agent's program is plainly missing, so the task fails with advice instead
    /// of a bare "not found". Only a simple first word is checked; anything shell-like is trusted.
    public func missingAgentMessage(path: String?) -> String? {
        guard agent != Settings.simulatedAgent else { return nil }
        guard let word = agent.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first.map(String.init),
              !word.contains(where: { "=$`\"'(){};|&<>*?[\\~".contains($0) }),
              !Settings.shellWords.contains(word) else { return nil }
        if word.contains("/") {
            return access(word, X_OK) == 0 ? nil : Settings.advice(word, agentSource)
        }
        for dir in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") where access("\(dir)/\(word)", X_OK) == 0 {
            return nil
        }
        return Settings.advice(word, agentSource)
    }

    static func advice(_ word: String, _ source: String) -> String {
        "agent command '\(word)' (from \(source)) was not found: install it, or choose an agent with --agent CMD, "
            + "'agent: CMD' in .gadugi/config.yaml, or GADUGI_AGENT (try --agent \(simulatedAgent) for a demo)"
    }

    /// Words the shell itself knows (keywords and builtins, POSIX's special ones among them): an
    /// agent command starting with one needs no program on PATH.
    static let shellWords: Set<String> = [
        "exec", "eval", "true", "false", ":", "cd", "echo", "printf", "test", "[", "set", "export",
        "if", "for", "while", "case", "until", "{", "!", "sleep", "read", "exit", "command", ".",
        "trap", "umask", "ulimit", "unset", "wait", "shift", "return", "break", "continue", "times",
        "kill", "type", "hash", "alias", "unalias", "readonly", "local", "getopts", "pwd", "jobs",
    ]
}
