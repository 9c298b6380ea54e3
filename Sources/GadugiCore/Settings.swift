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

    public enum Failure: Error, CustomStringConvertible {
        case badConfig(String, String)

        public var description: String {
            switch self {
            case .badConfig(let path, let why):
                return "\(path) is not valid: \(why). Expected keys: agent (a shell command), max_parallel (a number)"
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
            } else if node != nil {
                throw Failure.badConfig(layout.config, "it is not a mapping of keys to values")
            }
        }
        let (agent, source): (String, String)
        if let a = agentFlag, !a.allSatisfy(\.isWhitespace) { (agent, source) = (a, "--agent") }
        else if let a = fileAgent { (agent, source) = (a, "agent: in \(layout.relative(layout.config))") }
        else if let a = environment["GADUGI_AGENT"], !a.allSatisfy(\.isWhitespace) { (agent, source) = (a, "GADUGI_AGENT") }
        else { (agent, source) = (defaultAgent, "the default") }
        return Settings(agent: agent, agentSource: source, maxParallel: parallelFlag ?? fileParallel ?? 4)
    }

    /// The shell command the wrapper evaluates. The simulated agent is this very executable, named
    /// through `$GADUGI_BIN` so no path is pasted into a shell string.
    public var agentCommand: String {
        agent == Settings.simulatedAgent ? "exec \"$GADUGI_BIN\" simulate-agent" : agent
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
