import Yams

/// What a prompt's front matter tells the scheduler about its task: its name in the task graph,
/// what it waits for, which files it touches, how urgent it is, and how and where to run it.
/// Every key is optional; a value of the wrong type or an unsafe one rejects the prompt with a
/// reason naming the key, so a typo surfaces when the file is dropped, not when the task runs.
public struct TaskSpec: Sendable, Equatable {
    /// The name other tasks use in `depends_on`; nil: the spool derives it from the file name.
    public let id: String?
    /// Ids of the tasks this one waits for: each at most once, in the order written.
    public let dependsOn: [String]
    /// The paths the task will touch, relative to the repository root.
    public let files: [Glob]
    /// In `priorities`; 0 unless given.
    public let priority: Int
    /// A shell command to run instead of the configured agent; kept as text, never interpreted here.
    public let agent: String?
    /// The branch or commit to start from; safe to pass to git as one argument.
    public let base: String?
    /// `none`: this task runs in the root, without a worktree, even where others get one (a task
    /// that only reads, or writes outside the repository); nil: the configured isolation.
    public let isolation: Settings.Isolation?
    /// Seconds without a sign of life (heartbeat, log, report) before this task counts as
    /// stalled; nil: the configured `stall_after`.
    public let stallAfter: Double?
    /// What a stall of this task does; nil: the configured `on_stall`.
    public let onStall: Settings.OnStall?
    /// Seconds this task may run; 0: no limit for it, whatever is configured; nil: the
    /// configured `timeout`. (`limits(under:)` turns these into the values that apply.)
    public let timeout: Double?
    /// Automatic retries of a failed attempt; nil: the configured `retries`.
    public let retries: Int?
    /// The Slurm resources this task asks for (with `executor: slurm`), over the configured
    /// `slurm:` key by key; nil: the configured ones.
    public let slurm: SlurmStep.Resources?
    /// Keys gadugi does not know, sorted (one inside `slurm:` as `slurm.<key>`): kept (in `Prompt.frontMatter`) and shown, never refused.
    public let unknownKeys: [String]

    public init(id: String? = nil, dependsOn: [String] = [], files: [Glob] = [], priority: Int = 0,
                agent: String? = nil, base: String? = nil, isolation: Settings.Isolation? = nil,
                stallAfter: Double? = nil, onStall: Settings.OnStall? = nil, timeout: Double? = nil, retries: Int? = nil,
                slurm: SlurmStep.Resources? = nil, unknownKeys: [String] = []) {
        self.id = id
        self.dependsOn = dependsOn
        self.files = files
        self.priority = priority
        self.agent = agent
        self.base = base
        self.isolation = isolation
        self.stallAfter = stallAfter
        self.onStall = onStall
        self.timeout = timeout
        self.retries = retries
        self.slurm = slurm
        self.unknownKeys = unknownKeys
    }

    /// A prompt without front matter.
    public static let empty = TaskSpec()

    /// The control values that apply to one task: its front matter's, else the configured ones.
    public struct Limits: Sendable, Equatable {
        public var stallAfter: Double
        public var onStall: Settings.OnStall
        /// nil: no limit.
        public var timeout: Double?
        public var retries: Int

        public init(stallAfter: Double, onStall: Settings.OnStall, timeout: Double?, retries: Int) {
            self.stallAfter = stallAfter
            self.onStall = onStall
            self.timeout = timeout
            self.retries = retries
        }
    }

    /// This task's limits under `settings`: a key given in the front matter wins, and its
    /// `timeout: 0` lifts a configured timeout for this task alone.
    public func limits(under settings: Settings) -> Limits {
        Limits(stallAfter: stallAfter ?? settings.stallAfter,
               onStall: onStall ?? settings.onStall,
               timeout: timeout.map { $0 > 0 ? $0 : nil } ?? settings.timeout,
               retries: retries ?? settings.retries)
    }

    public static let priorities = -1000...1000
    /// `base:` values longer than this are refused (git allows more; nobody needs it).
    public static let maxBaseBytes = 255
    /// The keys read here, and `name:` (read by `Prompt`).
    public static let knownKeys: Set<String> = ["name", "id", "depends_on", "files", "priority", "agent", "base", "isolation",
                                                "stall_after", "on_stall", "timeout", "retries", "slurm"]
    /// `knownKeys` in the order spool-layout.md lists them: the first of two equally close
    /// suggestions wins.
    static let knownKeyOrder = ["name", "id", "depends_on", "files", "priority", "agent", "base", "isolation",
                                "stall_after", "on_stall", "timeout", "retries", "slurm"]

    /// A line for the log about a front matter key gadugi does not know, naming the known key it
    /// most likely misspells: `unknown front matter key 'dependson' (did you mean depends_on?)`.
    /// Nil for a known key. Unknown keys are kept and never refused (they may be the producer's
    /// own), so this is all a typo gets: without it, `dependson:` would run the task at once.
    public static func unknownKeyWarning(_ key: String) -> String? {
        guard !knownKeys.contains(key) else { return nil }
        return "unknown front matter key \(FrontMatterValue.quoted(key))" + (suggestion(for: key).map { " (did you mean \($0)?)" } ?? "")
    }

    /// The known key an unknown one most likely misspells, or nil when none is close.
    public static func suggestion(for key: String) -> String? {
        if key.hasPrefix("slurm.") {
            return KeySuggestion.closest(to: String(key.dropFirst(6)), among: SlurmStep.Resources.keys).map { "slurm." + $0 }
        }
        return knownKeys.contains(key) ? nil : KeySuggestion.closest(to: key, among: knownKeyOrder)
    }

    /// Reads the known keys of a front matter mapping. A key given as null (`depends_on:` with
    /// nothing after it) counts as not given.
    public static func parse(_ mapping: Node.Mapping) -> Result<TaskSpec, Prompt.Rejection> {
        do { return .success(try read(mapping)) } catch { return .failure(error) }
    }

    static func read(_ mapping: Node.Mapping) throws(Prompt.Rejection) -> TaskSpec {
        var values: [String: FrontMatterValue] = [:]
        for (key, node) in mapping {
            guard let k = key.string, knownKeys.contains(k), !FrontMatterValue.isNull(node) else { continue }
            values[k] = FrontMatterValue(key: k, node: node)
        }
        let id = try values["id"]?.id()
        let (slurm, unknownSlurm) = try values["slurm"]?.slurm() ?? (nil, [])
        let unknown = mapping.keys.compactMap(\.string).filter { !knownKeys.contains($0) } + unknownSlurm.map { "slurm." + $0 }
        return TaskSpec(id: id,
                        dependsOn: try values["depends_on"]?.dependencies(of: id) ?? [],
                        files: try values["files"]?.globs() ?? [],
                        priority: try values["priority"]?.priority() ?? 0,
                        agent: try values["agent"]?.agent(),
                        base: try values["base"]?.base(),
                        isolation: try values["isolation"]?.isolation(),
                        stallAfter: try values["stall_after"]?.duration(FrontMatterValue.expectedStallAfter, allowsZero: false),
                        onStall: try values["on_stall"]?.onStall(),
                        timeout: try values["timeout"]?.duration(FrontMatterValue.expectedTimeout, allowsZero: true),
                        retries: try values["retries"]?.retries(),
                        slurm: slurm,
                        unknownKeys: Array(Set(unknown)).sorted())
    }

    /// What makes `text` unfit as `base:`, as a phrase ("it contains '..'"), or nil when it is fit:
    /// the rules of `git check-ref-format --allow-onelevel`, plus no leading `-` (git would read an
    /// option) and no whitespace. `HEAD` and commit ids (4–40 hex digits) pass these rules as they are.
    static func baseProblem(_ text: String) -> String? {
        if text.isEmpty { return "it is empty" }
        if text.utf8.count > maxBaseBytes { return "it is \(text.utf8.count) bytes long; the limit is \(maxBaseBytes)" }
        if text.hasPrefix("-") { return "it starts with '-', which git would read as an option" }
        if text.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) {
            return "it has a control character"
        }
        if text.unicodeScalars.contains(where: \.properties.isWhitespace) { return "it has whitespace" }
        for bad in ["..", "~", "^", ":", "?", "*", "[", "\\", "@{", "//"] where text.contains(bad) {
            return "it contains '\(bad)'"
        }
        if text == "@" { return "'@' alone is not a branch name" }
        if text.hasPrefix("/") { return "it starts with '/'" }
        if let end = ["/", ".", ".lock"].first(where: text.hasSuffix) { return "it ends in '\(end)'" }
        let parts = text.split(separator: "/")
        if parts.contains(where: { $0.hasPrefix(".") }) { return "a part of it starts with '.'" }
        if parts.contains(where: { $0.hasSuffix(".lock") }) { return "a part of it ends in '.lock'" }
        return nil
    }
}

/// One known key's value, read as the type the key needs. Each reader throws
/// `.badFrontMatterKey` naming the key, the value found and what it should have been.
struct FrontMatterValue {
    let key: String
    let node: Node

    static let expectedID = "a task id (ASCII letters, digits, '_' and '-', at most \(TaskID.maxLength), not starting or ending with '-'), such as fix-login"
    static let expectedIDs = "a task id or a list of task ids, such as [setup, schema]"
    static let expectedFiles = "a path or glob relative to the repository root, or a list of them, such as [src/**, README.md]"
    static let expectedPriority = "a whole number from \(TaskSpec.priorities.lowerBound) to \(TaskSpec.priorities.upperBound), such as 10"
    static let expectedAgent = "a shell command, such as claude -p"
    static let expectedIsolation = "worktree or none"
    static let expectedBase = "a branch, tag or commit to start from, such as main, origin/main or 4f2a9c1"
    static let expectedStallAfter = "a duration greater than 0 and at most 365 days, such as 90s, 10m or 600 (seconds)"
    static let expectedTimeout = "a duration of at most 365 days, such as 30m, 2h or 1800 (seconds), or 0 for none"
    static let expectedOnStall = "report or kill"
    static let expectedRetries = "a whole number from \(Settings.retriesRange.lowerBound) to \(Settings.retriesRange.upperBound), such as 2"

    /// Values are cut to this many characters in a reason.
    static let shownCharacters = 60

    static func isNull(_ node: Node) -> Bool { node.scalar != nil && tag(of: node) == .null }

    /// The node's tag as resolved (`str`, `int`, `null`...): plain `42` is an int, `"42"` a string.
    static func tag(of node: Node) -> Tag.Name { Tag.Name(rawValue: node.tag.rawValue) }

    func id() throws(Prompt.Rejection) -> String {
        let text = try string(node, expected: Self.expectedID)
        guard TaskID.isValid(text), text.utf8.count <= TaskID.maxLength else {
            throw reject(Self.quoted(text) + " (not a task id)", Self.expectedID)
        }
        return text
    }

    /// The ids, duplicates dropped, none of them `own`.
    func dependencies(of own: String?) throws(Prompt.Rejection) -> [String] {
        var ids: [String] = []
        for (item, position) in try items(expected: Self.expectedIDs) {
            let text = try string(item, expected: Self.expectedIDs, position: position)
            guard TaskID.isValid(text), text.utf8.count <= TaskID.maxLength else {
                throw reject(Self.quoted(text) + " (not a task id\(Self.suffix(position)))", Self.expectedIDs)
            }
            if text == own {
                throw reject(Self.quoted(text) + " (this task's own id)", "the ids of other tasks: a task cannot wait for itself")
            }
            if !ids.contains(text) { ids.append(text) }
        }
        return ids
    }

    /// The patterns, duplicates dropped.
    func globs() throws(Prompt.Rejection) -> [Glob] {
        var globs: [Glob] = []
        for (item, position) in try items(expected: Self.expectedFiles) {
            let text = try string(item, expected: Self.expectedFiles, position: position)
            let glob: Glob
            do { glob = try Glob(text) } catch {
                throw reject(Self.quoted(text) + " (it \(error.reason)\(Self.suffix(position)))", Self.expectedFiles)
            }
            if !globs.contains(glob) { globs.append(glob) }
        }
        return globs
    }

    func priority() throws(Prompt.Rejection) -> Int {
        guard let scalar = node.scalar, Self.tag(of: node) == .int else {
            throw reject(Self.shown(node), Self.expectedPriority)
        }
        guard let n = Int.construct(from: scalar), TaskSpec.priorities.contains(n) else {
            throw reject("\(Self.cut(scalar.string)) (out of range)", Self.expectedPriority)
        }
        return n
    }

    func agent() throws(Prompt.Rejection) -> String {
        let text = try string(node, expected: Self.expectedAgent)
        guard text.contains(where: { !$0.isWhitespace }) else {
            throw reject(Self.quoted(text) + " (an empty command)", Self.expectedAgent)
        }
        return text
    }

    func base() throws(Prompt.Rejection) -> String {
        let text = try string(node, expected: Self.expectedBase)
        if let problem = TaskSpec.baseProblem(text) {
            throw reject(Self.quoted(text) + " (\(problem))", Self.expectedBase)
        }
        return text
    }

    func isolation() throws(Prompt.Rejection) -> Settings.Isolation {
        let text = try string(node, expected: Self.expectedIsolation)
        guard let value = Settings.Isolation(rawValue: text) else {
            throw reject(Self.quoted(text), Self.expectedIsolation)
        }
        return value
    }

    /// Seconds, from a number (`90`, `1.5`) or a duration as text (`'90s'`, `10m`); `allowsZero`:
    /// whether `0` may be given (it means "none" for `timeout`, and nothing for `stall_after`).
    func duration(_ expected: String, allowsZero: Bool) throws(Prompt.Rejection) -> Double {
        guard let scalar = node.scalar else { throw reject(Self.shown(node), expected) }
        let seconds: Double?
        switch Self.tag(of: node) {
        case .int: seconds = Int.construct(from: scalar).map(Double.init)
        case .float: seconds = Double.construct(from: scalar)
        case .str:
            let text = scalar.string.trimmed(" \t")
            if text.hasPrefix("-"), Settings.duration(String(text.dropFirst())) != nil {
                throw reject(Self.quoted(scalar.string) + " (out of range)", expected)
            }
            guard let parsed = Settings.duration(text) else {
                throw reject(Self.quoted(scalar.string) + " (not a duration)", expected)
            }
            seconds = parsed
        default: throw reject(Self.shown(node), expected)
        }
        guard let seconds, seconds.isFinite, seconds >= 0, seconds <= Settings.maxDuration, allowsZero || seconds > 0 else {
            let shown = Self.tag(of: node) == .str ? Self.quoted(scalar.string) : Self.cut(scalar.string)
            throw reject("\(shown) (out of range)", expected)
        }
        return seconds
    }

    func onStall() throws(Prompt.Rejection) -> Settings.OnStall {
        let text = try string(node, expected: Self.expectedOnStall)
        guard let value = Settings.OnStall(rawValue: text) else { throw reject(Self.quoted(text), Self.expectedOnStall) }
        return value
    }

    func retries() throws(Prompt.Rejection) -> Int {
        guard let scalar = node.scalar, Self.tag(of: node) == .int else {
            throw reject(Self.shown(node), Self.expectedRetries)
        }
        guard let n = Int.construct(from: scalar), Settings.retriesRange.contains(n) else {
            throw reject("\(Self.cut(scalar.string)) (out of range)", Self.expectedRetries)
        }
        return n
    }

    /// The `slurm:` mapping, and the keys in it gadugi does not know.
    func slurm() throws(Prompt.Rejection) -> (SlurmStep.Resources?, [String]) {
        do {
            let (resources, unknown) = try SlurmStep.read(node)
            return (resources, unknown)
        } catch {
            throw .badFrontMatterKey(key: error.key, found: error.found, expected: error.expected)
        }
    }

    // MARK: shapes

    /// A scalar alone, or the items of a list, each with its 1-based place in the list (nil for a scalar).
    private func items(expected: String) throws(Prompt.Rejection) -> [(Node, Int?)] {
        switch node {
        case .scalar: return [(node, nil)]
        case .sequence(let list): return list.enumerated().map { ($0.element, $0.offset + 1) }
        default: throw reject(Self.shown(node), expected)
        }
    }

    /// The text of a string scalar; anything else (a number, a list...) is refused.
    private func string(_ item: Node, expected: String, position: Int? = nil) throws(Prompt.Rejection) -> String {
        guard let scalar = item.scalar, Self.tag(of: item) == .str else {
            throw reject(Self.shown(item, position: position), expected)
        }
        return scalar.string
    }

    private func reject(_ found: String, _ expected: String) -> Prompt.Rejection {
        .badFrontMatterKey(key: key, found: found, expected: expected)
    }

    // MARK: showing what was found

    /// The value as written, and what it is: `42 (a number)`, `[a, b] (a list)`.
    static func shown(_ node: Node, position: Int? = nil) -> String {
        var text = ""
        render(node, into: &text)
        let value = tag(of: node) == .str ? "'\(cut(text))'" : cut(text)
        return "\(value) (\(kind(of: node))\(suffix(position)))"
    }

    static func suffix(_ position: Int?) -> String { position.map { ", item \($0) of the list" } ?? "" }

    static func quoted(_ text: String) -> String { "'\(cut(text))'" }

    /// At most `shownCharacters` characters (then `…`), escaped for a terminal.
    static func cut(_ text: String) -> String {
        let short = text.count > shownCharacters ? String(text.prefix(shownCharacters)) + "…" : text
        return short.escapedForTerminal
    }

    static func kind(of node: Node) -> String {
        switch node {
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        case .alias: return "an alias"
        case .scalar:
            switch tag(of: node) {
            case .int, .float: return "a number"
            case .bool: return "a boolean"
            case .null: return "nothing"
            case .timestamp: return "a date"
            case .str: return "a string"
            default: return "a value tagged \(node.tag.rawValue)"
            }
        }
    }

    /// The node in YAML flow style, stopping once it is longer than can be shown.
    static func render(_ node: Node, into text: inout String) {
        guard text.count <= shownCharacters else { return }
        switch node {
        case .scalar(let scalar): text += scalar.string
        case .sequence(let list): renderList(list.map { ($0, nil) }, open: "[", close: "]", into: &text)
        case .mapping(let map): renderList(map.map { ($0.key, $0.value) }, open: "{", close: "}", into: &text)
        case .alias: text += "*alias"
        }
    }

    private static func renderList(_ items: [(Node, Node?)], open: String, close: String, into text: inout String) {
        text += open
        for (n, (first, second)) in items.enumerated() {
            if text.count > shownCharacters { return }
            if n > 0 { text += ", " }
            render(first, into: &text)
            if let second { text += ": "; render(second, into: &text) }
        }
        text += close
    }
}
