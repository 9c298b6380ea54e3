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
    public var stallAfter: Double = 600
    public var onStall: OnStall = .report
    public var timeout: Double? = nil
    public var retries: Int = 0
    public var retryBackoff: Double = 30
    public var retryBackoffMax: Double = 600
    public var onFinish: String? = nil
    public var eventsMax: Int64 = 64 << 20

    public enum OnStall: String, Sendable { case report, kill }

    public enum Isolation: String, Sendable {
        case worktree, none
    }

    public init(agent: String, agentSource: String = "the default", maxParallel: Int = 4) {
        self.agent = agent
        self.agentSource = agentSource
        self.maxParallel = maxParallel
    }

    public enum Failure: Error, CustomStringConvertible {
        case badConfig(String, String)

        public var description: String {
            switch self {
            case .badConfig(let path, let why):
                return "\(path) is not valid: \(why). Expected keys: agent (a shell command), max_parallel (a number), "
                    + "settle (a duration such as 1s or 500ms), min_free (a size such as 64M, or 0), "
                    + "keep_processes (true or false), kill_grace (a duration), isolation (worktree or none), worktree_setup (a shell command)"
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

    /// Reads settings; `agentFlag` and `parallelFlag` win over the file, the file over the environment.
    public static func load(_ layout: Layout, agentFlag: String?, parallelFlag: Int?,
                            environment: [String: String]) throws -> Settings {
        var fileAgent: String?
        var fileParallel: Int?
        var file = Settings(agent: defaultAgent)
        if let text = try Files.readText(layout.config) {
            let node: Node?
            do { node = try Yams.compose(yaml: text) } catch {
                throw Failure.badConfig(layout.config, "\(error)".split(separator: "\n").first.map(String.init) ?? "YAML error")
            }
            if let mapping = node?.mapping {
                fileAgent = mapping["agent"]?.string.flatMap { $0.allSatisfy(\.isWhitespace) ? nil : $0 }
                if let p = mapping["max_parallel"] {
                    guard let v = p.int, v > 0 else { throw Failure.badConfig(layout.config, "max_parallel must be a positive number") }
                    fileParallel = v
                }
                try file.read(mapping, from: layout.config)
            } else if node != nil {
                throw Failure.badConfig(layout.config, "it is not a mapping of keys to values")
            }
        }
        let (agent, source): (String, String)
        if let a = agentFlag, !a.allSatisfy(\.isWhitespace) { (agent, source) = (a, "--agent") }
        else if let a = fileAgent { (agent, source) = (a, "agent: in \(layout.relative(layout.config))") }
        else if let a = environment["GADUGI_AGENT"], !a.allSatisfy(\.isWhitespace) { (agent, source) = (a, "GADUGI_AGENT") }
        else { (agent, source) = (defaultAgent, "the default") }
        var settings = file
        settings.agent = agent
        settings.agentSource = source
        settings.maxParallel = parallelFlag ?? fileParallel ?? 4
        return settings
    }

    /// Reads the keys beyond `agent` and `max_parallel`.
    mutating func read(_ mapping: Node.Mapping, from path: String) throws {
        func value<T>(_ key: String, _ parse: (String) -> T?, _ expected: String) throws -> T? {
            guard let node = mapping[key] else { return nil }
            guard let text = node.string, let v = parse(text) else {
                throw Failure.badConfig(path, "\(key) must be \(expected), not '\(node.string ?? "a list or mapping")'")
            }
            return v
        }
        if let v = try value("settle", Settings.duration, "a duration such as 1s, 500ms or 0") { settle = v }
        if let v = try value("kill_grace", Settings.duration, "a duration such as 10s") { killGrace = v }
        if let v = try value("min_free", Settings.size, "a size such as 64M, 512K, 1G or 0") { minFree = v }
        if let v = try value("keep_processes", Settings.bool, "true or false") { keepProcesses = v }
        if let v = try value("isolation", Isolation.init(rawValue:), "worktree or none") { isolation = v }
        if let v = try value("worktree_setup", { $0.allSatisfy(\.isWhitespace) ? nil : $0 }, "a shell command") { worktreeSetup = v }
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

    static let shellWords: Set<String> = [
        "exec", "eval", "true", "false", ":", "cd", "echo", "printf", "test", "[", "set", "export",
        "if", "for", "while", "case", "until", "{", "!", "sleep", "read", "exit", "command", ".",
    ]
}
