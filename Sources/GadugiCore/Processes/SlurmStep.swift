import CInotifyTools
import Glibc
import Yams

/// Where a task's agent runs: here, as a child of the task's process (`local`), or as a Slurm job
/// step that the task's process starts with `srun` and waits for (`slurm`). Either way the task's
/// process on this machine holds the lock and records the outcome, so claims, adoption after a
/// restart and commits work the same.
public enum Executor: String, Sendable, CaseIterable {
    case local, slurm
}

/// One task's agent as a Slurm job step: the `srun` argv the wrapper puts before the agent, and
/// the job id file the step writes once Slurm has started it. No user data ever reaches a shell
/// string: the argv is passed to the wrapper as positional parameters.
public struct SlurmStep: Sendable, Equatable {
    /// The resources a task asks of Slurm: config.yaml's `slurm:` mapping, overridden key by key
    /// by the task's front matter `slurm:`. nil: not given (Slurm's own default applies).
    public struct Resources: Sendable, Equatable {
        /// `--cpus-per-task`.
        public var cpus: Int?
        /// `--mem`, as Slurm takes it: a whole number and a unit (`8G`, `500M`).
        public var mem: String?
        /// `--partition`.
        public var partition: String?
        /// `--account`.
        public var account: String?
        /// `--time`, in seconds (given to Slurm in whole minutes, rounded up). nil: the task's
        /// `timeout`, if it has one.
        public var time: Double?
        /// More `srun` options, each one word, passed as they are after gadugi's own (so they win).
        public var args: [String]?

        public init(cpus: Int? = nil, mem: String? = nil, partition: String? = nil, account: String? = nil,
                    time: Double? = nil, args: [String]? = nil) {
            self.cpus = cpus
            self.mem = mem
            self.partition = partition
            self.account = account
            self.time = time
            self.args = args
        }

        public static let none = Resources()

        /// The keys a `slurm:` mapping takes, in the order the docs list them.
        public static let keys = ["cpus", "mem", "partition", "account", "time", "args"]

        public var isEmpty: Bool { self == .none }

        /// These, with each key `other` gives replacing this one's (the front matter over the config).
        public func overridden(by other: Resources?) -> Resources {
            guard let other else { return self }
            return Resources(cpus: other.cpus ?? cpus, mem: other.mem ?? mem, partition: other.partition ?? partition,
                             account: other.account ?? account, time: other.time ?? time, args: other.args ?? args)
        }

        /// As progress.json records a task's own `slurm:` (only the keys given).
        public var json: JSON {
            var pairs: [(String, JSON)] = []
            if let cpus { pairs.append(("cpus", .int(Int64(cpus)))) }
            if let mem { pairs.append(("mem", .string(mem))) }
            if let partition { pairs.append(("partition", .string(partition))) }
            if let account { pairs.append(("account", .string(account))) }
            if let time { pairs.append(("time", .number(time))) }
            if let args { pairs.append(("args", .array(args.map(JSON.string)))) }
            return .object(pairs)
        }

        public init?(json: JSON?) {
            guard let json, case .object = json else { return nil }
            self.init(cpus: json["cpus"]?.int.map { Int($0) }, mem: json["mem"]?.string, partition: json["partition"]?.string,
                      account: json["account"]?.string, time: json["time"]?.double,
                      args: json["args"]?.array.map { $0.compactMap(\.string) })
        }
    }

    /// A value in a `slurm:` mapping that cannot be taken: the key (`slurm.cpus`), what was found
    /// and what would do, for the config's and the front matter's own errors.
    public struct Problem: Error, Equatable {
        public var key: String
        public var found: String
        public var expected: String
    }

    static let expected = [
        "cpus": "a whole number of at least 1, such as 4 (srun --cpus-per-task)",
        "mem": "a size with a unit, such as 8G or 500M (srun --mem)",
        "partition": "a Slurm partition name, such as gpu",
        "account": "a Slurm account name, such as proj42",
        "time": "a duration with a unit, such as 90m or 2h (a bare number is ambiguous: Slurm reads minutes, gadugi seconds)",
        "args": "a list of srun options, each one word starting with '-', such as [--constraint=avx2, --qos=low]",
    ]
    static let expectedMapping = "a mapping of Slurm resources, such as {cpus: 4, mem: 8G, partition: batch, time: 2h}"

    /// Reads a `slurm:` mapping. Keys it does not know are returned (sorted), for a warning:
    /// never refused, never applied. A null value counts as not given.
    public static func read(_ node: Node) throws(Problem) -> (Resources, unknown: [String]) {
        guard case .mapping(let mapping) = node else {
            throw Problem(key: "slurm", found: FrontMatterValue.shown(node), expected: expectedMapping)
        }
        var resources = Resources()
        var unknown: [String] = []
        for (keyNode, value) in mapping {
            let key = keyNode.string ?? FrontMatterValue.shown(keyNode)
            guard let expected = expected[key] else { unknown.append(key); continue }
            if FrontMatterValue.isNull(value) { continue }
            let problem = Problem(key: "slurm." + key, found: FrontMatterValue.shown(value), expected: expected)
            switch key {
            case "cpus":
                guard let scalar = value.scalar, FrontMatterValue.tag(of: value) == .int,
                      let n = Int.construct(from: scalar), (1...100_000).contains(n) else { throw problem }
                resources.cpus = n
            case "mem":
                guard let text = value.scalar?.string, let mem = memory(text) else { throw problem }
                resources.mem = mem
            case "partition", "account":
                guard FrontMatterValue.tag(of: value) == .str, let text = value.scalar?.string, isName(text) else { throw problem }
                if key == "partition" { resources.partition = text } else { resources.account = text }
            case "time":
                guard FrontMatterValue.tag(of: value) == .str, let text = value.scalar?.string, let seconds = duration(text) else { throw problem }
                resources.time = seconds
            default:  // args
                guard case .sequence(let items) = value else { throw problem }
                var args: [String] = []
                for item in items {
                    guard FrontMatterValue.tag(of: item) == .str, let text = item.scalar?.string, isOption(text) else { throw problem }
                    args.append(text)
                }
                resources.args = args
            }
        }
        return (resources, Array(Set(unknown)).sorted())
    }

    /// `8G`, `500m`, `1.5T`? Only a whole number and one of K, M, G, T (Slurm's units), given
    /// back upper-case; a bare number is refused (Slurm reads megabytes, gadugi bytes).
    static func memory(_ text: String) -> String? {
        let t = text.trimmed(" \t").uppercased()
        guard let unit = t.last, "KMGT".contains(unit), let n = Int(t.dropLast()), n > 0 else { return nil }
        return "\(n)\(unit)"
    }

    /// A duration with a unit (`30s`, `90m`, `2h`), more than 0 and at most 365 days.
    static func duration(_ text: String) -> Double? {
        let t = text.trimmed(" \t")
        guard let last = t.last, last.isLetter, let seconds = Settings.duration(t), seconds > 0,
              seconds <= Settings.maxDuration else { return nil }
        return seconds
    }

    /// A partition or account: not empty, no whitespace or control characters, no leading `-`.
    static func isName(_ text: String) -> Bool {
        !text.isEmpty && !text.hasPrefix("-") && text.utf8.count <= 255
            && !text.unicodeScalars.contains { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }
    }

    /// An srun option: starts with `-` (anything else would be read as the command to run), no
    /// control characters.
    static func isOption(_ text: String) -> Bool {
        text.hasPrefix("-") && text.count > 1 && text.utf8.count <= 4096 && !text.unicodeScalars.contains { $0.value < 0x20 }
    }

    // MARK: the step

    public let id: String
    public let resources: Resources
    /// The task's `timeout` (seconds; nil: none): Slurm's `--time` when `resources.time` is not set.
    public let timeout: Double?

    public init(id: String, resources: Resources, timeout: Double?) {
        self.id = id
        self.resources = resources
        self.timeout = timeout
    }

    /// Slurm's job name for a task: `gadugi-<id>` (`squeue -n gadugi-<id>` finds it).
    public static func jobName(_ id: String) -> String { "gadugi-" + id }

    /// Why a coordinator cannot hand tasks to Slurm from inside an allocation (`salloc`, `sbatch`,
    /// `srun --pty`), or nil outside one: there `srun` makes each task a step of that allocation,
    /// not a job of its own, and the `scancel <job id>` that a cancel or timeout runs would end
    /// the whole allocation, the coordinator with it.
    public static func allocationProblem(environment: [String: String]) -> String? {
        guard let job = environment["SLURM_JOB_ID"] ?? environment["SLURM_JOBID"], !job.isEmpty else { return nil }
        return "executor is slurm, but this shell is inside Slurm allocation \(job.escapedForTerminal) (SLURM_JOB_ID): "
            + "each task would be a step of it, and cancelling one would scancel the whole allocation, this coordinator with it; "
            + "run gadugi outside any allocation (on a login node), or with --executor local inside it"
    }

    /// `srun --job-name=gadugi-<id> --ntasks=1 [--cpus-per-task=N] [--mem=M] [--partition=P]
    /// [--account=A] [--time=MIN] [args...]`: what the wrapper runs the step script with.
    public var argv: [String] {
        var argv = ["srun", "--job-name=" + SlurmStep.jobName(id), "--ntasks=1"]
        if let cpus = resources.cpus { argv.append("--cpus-per-task=\(cpus)") }
        if let mem = resources.mem { argv.append("--mem=" + mem) }
        if let partition = resources.partition { argv.append("--partition=" + partition) }
        if let account = resources.account { argv.append("--account=" + account) }
        if let time = resources.time ?? timeout { argv.append("--time=\(SlurmStep.minutes(time))") }
        argv += resources.args ?? []
        return argv
    }

    /// Seconds as Slurm's `--time` minutes: rounded up, at least 1 (Slurm's limits are whole
    /// minutes; rounding down would kill a task before its own timeout).
    public static func minutes(_ seconds: Double) -> Int {
        max(1, Int((seconds / 60).rounded(.up)))
    }

    // MARK: the job id file

    /// The job id the step wrote, once Slurm started it; nil while it is pending (or unreadable).
    public static func jobID(_ layout: Layout, id: String) -> Int? {
        guard let text = (try? Files.readText(layout.slurmJob(id), limit: 64)) ?? nil else { return nil }
        return Int(text.trimmed(" \n"))
    }

    /// When the step started (its job id file's mtime); nil while it is pending.
    public static func startedAt(_ layout: Layout, id: String) -> Timestamp? {
        (try? Files.linkStatus(layout.slurmJob(id)))??.modified
    }

    /// The command that cancels a task's job: fixed text, the job id in `$GADUGI_SLURM_JOB`. Run
    /// through the launcher like an `on_finish` hook (its reaper reaps it). The stop path's SIGTERM
    /// to `srun` already cancels a step whose `srun` lives; this reaches a job whose `srun` is gone
    /// (killed, or on a node that lost it).
    public static let cancelCommand = #"exec scancel "$GADUGI_SLURM_JOB""#
}

extension Layout {
    /// `tasks/<id>/slurm_job`: the Slurm job id of the task's step, written (atomically) by the
    /// step itself once Slurm has started it. Absent while the job is pending.
    public func slurmJob(_ id: String) -> String { taskDirectory(id) + "/slurm_job" }
}
