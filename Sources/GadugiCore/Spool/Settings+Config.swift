import Yams

/// `.gadugi/config.yaml`, read against a table of its keys: each known key has one parser and one
/// phrase for what it takes, so a bad value is refused with the key, the value and what would do,
/// and a key not in the table (a typo) is named in a warning instead of silently doing nothing.
extension Settings {
    /// One key of config.yaml. `apply` sets the value and returns false when the node is not fit.
    struct ConfigKey: Sendable {
        let name: String
        let expected: String
        let apply: @Sendable (inout Settings, Node) -> Bool
    }

    /// Durations of the control keys are at most a year: anything longer is a typo, and a
    /// deadline that far away overflows nothing.
    public static let maxDuration: Double = 365 * 86_400
    public static let retriesRange = 0...100

    static let configKeys: [ConfigKey] = [
        ConfigKey(name: "agent", expected: "a shell command, such as claude -p") { s, node in
            guard let a = nonBlank(node.string) else { return false }
            s.agent = a
            return true
        },
        ConfigKey(name: "max_parallel", expected: expectedMaxParallel + ", such as max_parallel: 4") { s, node in
            guard let n = node.int, n >= 1 else { return false }
            s.maxParallel = n
            return true
        },
        ConfigKey(name: "settle", expected: "a duration such as 1s, 500ms or 0") { s, node in
            set(&s.settle, duration(node))
        },
        ConfigKey(name: "min_free", expected: "a size such as 64M, 512K, 1G or 0") { s, node in
            set(&s.minFree, node.string.flatMap(size))
        },
        ConfigKey(name: "keep_processes", expected: "true or false") { s, node in
            set(&s.keepProcesses, node.string.flatMap(bool))
        },
        ConfigKey(name: "kill_grace", expected: "a duration such as 10s") { s, node in
            set(&s.killGrace, duration(node))
        },
        ConfigKey(name: "isolation", expected: "worktree or none") { s, node in
            set(&s.isolation, node.string.flatMap(Isolation.init(rawValue:)))
        },
        ConfigKey(name: "worktree_setup", expected: "a shell command, such as npm ci") { s, node in
            set(&s.worktreeSetup, nonBlank(node.string))
        },
        ConfigKey(name: "stall_after", expected: "a duration greater than 0 and at most 365 days, such as 90s or 10m") { s, node in
            set(&s.stallAfter, duration(node).flatMap { $0 > 0 && $0 <= maxDuration ? $0 : nil })
        },
        ConfigKey(name: "on_stall", expected: "report or kill") { s, node in
            set(&s.onStall, node.string.flatMap(OnStall.init(rawValue:)))
        },
        ConfigKey(name: "timeout", expected: "a duration of at most 365 days, such as 30m or 2h, or 0 for none") { s, node in
            guard let t = duration(node), t <= maxDuration else { return false }
            s.timeout = t > 0 ? t : nil
            return true
        },
        ConfigKey(name: "retries", expected: "a whole number from 0 to 100, such as 2") { s, node in
            set(&s.retries, node.int.flatMap { retriesRange.contains($0) ? $0 : nil })
        },
        ConfigKey(name: "retry_backoff", expected: "a duration of at most 365 days, such as 30s (0: retry at once)") { s, node in
            set(&s.retryBackoff, duration(node).flatMap { $0 <= maxDuration ? $0 : nil })
        },
        ConfigKey(name: "retry_backoff_max", expected: "a duration of at most 365 days, such as 10m") { s, node in
            set(&s.retryBackoffMax, duration(node).flatMap { $0 <= maxDuration ? $0 : nil })
        },
        ConfigKey(name: "on_finish", expected: "a shell command, such as notify-send done") { s, node in
            set(&s.onFinish, nonBlank(node.string))
        },
        ConfigKey(name: "events_max", expected: "a size such as 64M, or 0 to never rotate") { s, node in
            set(&s.eventsMax, node.string.flatMap(size))
        },
        ConfigKey(name: "executor", expected: "local (agents run here) or slurm (each agent a Slurm job step, started with srun)") { s, node in
            set(&s.executor, node.string.flatMap(Executor.init(rawValue:)))
        },
        // A mapping, read by `readSlurm` (its keys have checks and warnings of their own).
        ConfigKey(name: "slurm", expected: SlurmStep.expectedMapping) { _, _ in false },
    ]

    /// Every key config.yaml knows, in the order the README lists them.
    public static var configKeyNames: [String] { configKeys.map(\.name) }

    private static func set<T>(_ target: inout T, _ value: T?) -> Bool {
        guard let value else { return false }
        target = value
        return true
    }

    private static func set<T>(_ target: inout T?, _ value: T?) -> Bool {
        guard let value else { return false }
        target = value
        return true
    }

    private static func duration(_ node: Node) -> Double? { node.string.flatMap(duration) }

    /// Applies the file, if there is one, over the current values. A key given with no value
    /// (`key:`, `~`, `null`) counts as not given, as in front matter.
    mutating func readConfig(_ layout: Layout) throws {
        guard let text = try Files.readText(layout.config),
              let mapping = try Settings.mapping(of: text, path: layout.config) else { return }
        let shownPath = layout.relative(layout.config)
        var given: Set<String> = []
        for (keyNode, valueNode) in mapping {
            let key = keyNode.string ?? FrontMatterValue.shown(keyNode)
            guard let entry = Settings.configKeys.first(where: { $0.name == key }) else {
                warnings.append(Settings.unknownConfigKeyWarning(key, path: shownPath))
                continue
            }
            guard !FrontMatterValue.isNull(valueNode) else { continue }
            if key == "slurm" {
                try readSlurm(valueNode, path: layout.config, shownPath: shownPath)
                given.insert(key)
                continue
            }
            guard valueNode.scalar != nil, entry.apply(&self, valueNode) else {
                throw Failure.badValue(path: layout.config, key: key, found: FrontMatterValue.shown(valueNode),
                                       expected: entry.expected)
            }
            given.insert(key)
        }
        if given.contains("agent") { agentSource = "agent: in \(shownPath)" }
        try checkBackoffs(given, path: layout.config)
    }

    /// `slurm:`: the resources every task asks of Slurm. A bad value is refused with its key
    /// (`slurm.cpus`); a key it does not know is a warning, as at the top level.
    mutating func readSlurm(_ node: Node, path: String, shownPath: String) throws {
        do {
            let (resources, unknown) = try SlurmStep.read(node)
            slurm = resources
            for key in unknown {
                let hint = KeySuggestion.closest(to: key, among: SlurmStep.Resources.keys).map { " (did you mean \($0)?)" } ?? ""
                warnings.append("\(shownPath): unknown key \(FrontMatterValue.quoted(key)) in slurm:\(hint); it is ignored (slurm: takes "
                    + SlurmStep.Resources.keys.joined(separator: ", ") + ")")
            }
        } catch {
            throw Failure.badValue(path: path, key: error.key, found: error.found, expected: error.expected)
        }
    }

    /// The file's top-level mapping; nil for an empty (or comment-only) file.
    static func mapping(of text: String, path: String) throws -> Node.Mapping? {
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw Failure.badConfig(path, "\(error)".split(separator: "\n").first.map(String.init) ?? "YAML error")
        }
        guard let node else { return nil }
        guard let mapping = node.mapping else { throw Failure.badConfig(path, "it is not a mapping of keys to values") }
        return mapping
    }

    /// A cap below the first wait, both written in the file, is a mistake worth saying; one
    /// below the default first wait is a cap, and caps it.
    func checkBackoffs(_ given: Set<String>, path: String) throws {
        guard given.contains("retry_backoff"), given.contains("retry_backoff_max"), retryBackoffMax < retryBackoff else { return }
        throw Failure.badValue(path: path, key: "retry_backoff_max",
                               found: "\(Settings.shown(duration: retryBackoffMax)) (less than retry_backoff, \(Settings.shown(duration: retryBackoff)))",
                               expected: "a duration at least as long as retry_backoff: the longest wait, not the first")
    }

    /// `.gadugi/config.yaml: unknown key 'max_paralel' (did you mean max_parallel?); it is ignored`.
    static func unknownConfigKeyWarning(_ key: String, path: String) -> String {
        let hint = KeySuggestion.closest(to: key, among: configKeyNames).map { " (did you mean \($0)?)" } ?? ""
        return "\(path): unknown key \(FrontMatterValue.quoted(key))\(hint); it is ignored"
    }

    /// `90s`, `10m`, `2h`, `1.5s`: seconds as a user would write them, for messages and plans.
    public static func shown(duration seconds: Double) -> String {
        for (unit, scale) in [("h", 3600.0), ("m", 60.0)] where seconds >= scale && seconds.truncatingRemainder(dividingBy: scale) == 0 {
            return "\(Int(seconds / scale))\(unit)"
        }
        if seconds == seconds.rounded() { return "\(Int(seconds))s" }
        return "\(seconds)s"
    }
}
