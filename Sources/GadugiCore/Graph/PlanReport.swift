import Glibc

/// What `gadugi plan` prints: every active task with its dependencies (as written and as
/// resolved), its files and where it stands, the waves the waiting ones would run in, the tasks
/// that never can, and the problems that make the exit status 1. Nothing runs and nothing in
/// the spool changes: the prompts are read, a `TaskGraph` is built from them as the coordinator
/// would build it, and `plan()` and `explain` are asked.
///
/// With files, they are one batch (as `gadugi run FILE...` would queue them) added after the
/// spool's own tasks, if a spool exists, so their names resolve exactly as they would there.
public struct PlanReport: Sendable {
    /// One active task as shown.
    struct Task: Sendable, Equatable {
        var id: String
        var name: String
        var file: String
        var state: GraphTask.State
        var dependencies: [Dependency]
        var spec: TaskSpec
        /// 1-based; nil for a running or stuck task.
        var wave: Int?
        var stuck: String?
        /// `TaskGraph.explain`: where it stands right now ("ready", "waiting for a (waiting)").
        var standing: String
    }

    /// One `depends_on` name and the task id it resolved to (nil: no task of that name is known).
    struct Dependency: Sendable, Equatable {
        var name: String
        var resolved: String?
    }

    public static let schemaVersion = 1

    let root: String
    /// The files given, or nil when the plan is the queue's.
    let givenFiles: [String]?
    /// Active tasks (waiting and running), in arrival order.
    let tasks: [Task]
    let waves: [[String]]
    /// Rejected files, cycles and stuck tasks, one sentence each.
    let problems: [String]
    let rejectedCount: Int
    /// Active tasks that come from the spool rather than from the files given.
    let queuedCount: Int

    /// Plans the queue of `layout` (files nil), or `files` as one batch on top of the queue.
    public init(layout: Layout, files: [String]?) {
        var input = PlanInput(layout: layout)
        // With files, a bad prompt someone else left in incoming/ is not theirs to answer for.
        if files == nil || layout.exists { input.readQueue(reportingRejections: files == nil) }
        if let files { input.readFiles(files) }
        let analysis = PlanAnalysis(input.prompts)
        root = layout.root
        givenFiles = files
        tasks = analysis.tasks
        waves = analysis.plan.waves
        problems = input.rejections.map { "\($0.file): \($0.reason)" } + analysis.problems
        rejectedCount = input.rejections.count
        queuedCount = input.prompts.filter { $0.batch == nil && $0.state.isActive }.count
    }

    /// 0 when everything can run, 1 when a file would be rejected, a dependency is missing or
    /// failed, or tasks form a cycle: a script can refuse to queue a batch that cannot finish.
    public var exitCode: Int32 { problems.isEmpty ? 0 : 1 }
}

// MARK: - Reading the prompts

/// One prompt the plan considers: its would-be task id, the name other tasks depend on, where it
/// is (as given, or relative to the root), its front matter and its state.
struct PlanPrompt: Sendable {
    var id: String
    var name: String
    var file: String
    var spec: TaskSpec
    var state: GraphTask.State
    /// `PlanInput.batch` for the files given; nil for the spool's own tasks.
    var batch: String?
}

/// Reads what a plan is made of: the spool's prompts and the files given, each with the id the
/// spool would give it.
struct PlanInput {
    /// The batch of the files given: they resolve names among themselves first, as a `run FILE...` call would.
    static let batch = "plan"

    let layout: Layout
    private(set) var prompts: [PlanPrompt] = []
    private(set) var rejections: [(file: String, reason: String)] = []
    /// Ids given out in this plan, beyond the task folders that exist.
    private var taken: Set<String> = []

    init(layout: Layout) { self.layout = layout }

    /// The spool's tasks: finished, running and claimed ones under the ids their file names hold,
    /// and the prompts still in `incoming/` under the ids a claim would give them. Finished tasks
    /// are read too, so that `depends_on` resolves to them as it would in the coordinator; that
    /// costs one read of each prompt in `done/` and `failed/` (their front matter only matters, but
    /// it sits at the start of the file, which is read whole, at most 4 MiB). A finished, running or
    /// claimed prompt whose front matter cannot be read any more counts as one without front matter.
    /// A prompt in `incoming/` the claim would reject is left out, and listed when `reportingRejections`.
    mutating func readQueue(reportingRejections: Bool) {
        let states: [(Layout.Queue, GraphTask.State)] = [(.done, .done), (.failed, .failed), (.running, .running), (.claimed, .waiting)]
        for (queue, state) in states {
            for name in promptNames(in: queue) {
                let id = PromptName.stem(of: name)
                let path = layout.queue(queue, name)
                let spec = (try? Files.read(path, limit: Prompt.maxBytes + 1)).flatMap { try? Prompt.check($0).get().spec } ?? .empty
                taken.insert(id)
                prompts.append(PlanPrompt(id: id, name: spec.id ?? id, file: layout.relative(path), spec: spec, state: state))
            }
        }
        for name in promptNames(in: .incoming) { readIncoming(name, reportingRejection: reportingRejections) }
    }

    /// A prompt not claimed yet: checked as the claim would check it; its id is the one `gadugi
    /// submit` reserved for it, else the one a claim would give it now.
    private mutating func readIncoming(_ name: String, reportingRejection: Bool) {
        let path = layout.queue(.incoming, name)
        let shown = layout.relative(path)
        let prompt: Prompt
        do { prompt = try Self.checkedIncoming(path) } catch {
            if reportingRejection { rejections.append((shown, error.description)) }
            return
        }
        let stem = PromptName.stem(of: name)
        let reserved = Files.exists(layout.submitted(stem))
        let taskName = prompt.spec.id ?? TaskID.base(forFileName: name)
        let id = reserved ? stem : uniqueID(taskName)
        taken.insert(id)
        prompts.append(PlanPrompt(id: id, name: taskName, file: shown, spec: prompt.spec, state: .waiting))
    }

    /// The files given, in order, as one batch: each is checked as `gadugi submit` checks it; its
    /// name is its front matter `id:`, else the id its file name makes, and its id that name made
    /// unique (`-2`, `-3`…) against the task folders under the root and the ids given out here.
    mutating func readFiles(_ paths: [String]) {
        for path in paths {
            let prompt: Prompt
            do { prompt = try Self.checkedFile(path) } catch {
                rejections.append((path.escapedForTerminal, error.description))
                continue
            }
            let name = prompt.spec.id ?? TaskID.base(forFileName: Files.split(path).1)
            let id = uniqueID(name)
            taken.insert(id)
            prompts.append(PlanPrompt(id: id, name: name, file: path, spec: prompt.spec, state: .waiting, batch: Self.batch))
        }
    }

    /// The first of `name`, `name-2`, `name-3`… that no task folder and no task of this plan has.
    private func uniqueID(_ name: String) -> String {
        var n = 1
        while true {
            let id = TaskID.candidate(name, n)
            if !taken.contains(id) && !Files.exists(layout.taskDirectory(id)) { return id }
            n += 1
        }
    }

    /// The prompt names in a queue folder by arrival (mtime, then name); scratch files are skipped.
    private func promptNames(in queue: Layout.Queue) -> [String] {
        let names = ((try? Files.list(layout.queue(queue))) ?? []).filter(PromptName.isCandidate)
        let keyed = names.map { name -> (Timestamp, String) in
            let status = try? Files.linkStatus(layout.queue(queue, name))
            return (status?.modified ?? Timestamp(seconds: 0, nanoseconds: 0), name)
        }
        return keyed.sorted { $0 < $1 }.map(\.1)
    }

    /// A file given on the command line, by `gadugi submit`'s rules (links are followed).
    static func checkedFile(_ path: String) throws(Spool.SubmitError) -> Prompt {
        let bytes = try Spool.checkedSubmission(path)
        return try Prompt.check(bytes).mapError(Spool.SubmitError.rejected).get()
    }

    /// A name in `incoming/`, by the claim's rules (a link is rejected, not followed).
    static func checkedIncoming(_ path: String) throws(Spool.SubmitError) -> Prompt {
        let status: stat?
        do { status = try Files.linkStatus(path) } catch { throw .system(error) }
        guard let status else { throw .missing }
        if let why = Spool.notRegular(status) { throw .notRegular(why) }
        let bytes: [UInt8]
        do { bytes = try Files.read(path, limit: Prompt.maxBytes + 1) } catch {
            throw error.errno == .fileTooLarge ? .rejected(.tooLarge(Int(status.st_size))) : .system(error)
        }
        return try Prompt.check(bytes).mapError(Spool.SubmitError.rejected).get()
    }
}

// MARK: - Analysing them

/// The prompts put into a `TaskGraph` as the coordinator would add them, and what the graph says.
struct PlanAnalysis {
    let plan: TaskPlan
    let tasks: [PlanReport.Task]
    let problems: [String]

    init(_ prompts: [PlanPrompt]) {
        var graph = TaskGraph(overlap: Self.overlap(of: prompts))
        let tasks = prompts.enumerated().map { arrival, prompt in
            GraphTask(id: prompt.id, name: prompt.name, dependsOn: prompt.spec.dependsOn,
                      files: prompt.spec.files.map(\.pattern), priority: prompt.spec.priority,
                      arrival: arrival, batch: prompt.batch, state: prompt.state)
        }
        // The spool's tasks first, then the batch, so the batch's names resolve inside it first.
        let results = graph.add(contentsOf: tasks.filter { $0.batch == nil })
            + graph.add(contentsOf: tasks.filter { $0.batch != nil })
        let cycles = results.compactMap { result -> [String]? in
            if case .cycle(let members) = result { return members }
            return nil
        }
        plan = graph.plan()
        self.tasks = Self.describe(prompts, in: graph, plan: plan)
        problems = Self.problems(cycles: cycles, stuck: plan.stuck)
    }

    /// The overlap function the graph gets: it sees patterns as opaque strings, so each is looked
    /// up in a table of the parsed globs (an unknown one is assumed to overlap everything).
    static func overlap(of prompts: [PlanPrompt]) -> @Sendable (String, String) -> Bool {
        let globs = Dictionary(prompts.flatMap(\.spec.files).map { ($0.pattern, $0) }, uniquingKeysWith: { first, _ in first })
        return { a, b in
            guard let x = globs[a], let y = globs[b] else { return true }
            return Glob.mayOverlap(x, y)
        }
    }

    static func describe(_ prompts: [PlanPrompt], in graph: TaskGraph, plan: TaskPlan) -> [PlanReport.Task] {
        var wave: [String: Int] = [:]
        for (n, ids) in plan.waves.enumerated() { for id in ids { wave[id] = n + 1 } }
        let stuck = Dictionary(plan.stuck.map { ($0.id, $0.reason) }, uniquingKeysWith: { first, _ in first })
        return prompts.filter { $0.state.isActive }.map { prompt in
            PlanReport.Task(id: prompt.id, name: prompt.name, file: prompt.file, state: prompt.state,
                            dependencies: graph.resolvedDependencies(of: prompt.id), spec: prompt.spec,
                            wave: wave[prompt.id], stuck: stuck[prompt.id], standing: graph.explain(prompt.id))
        }
    }

    /// Each cycle once, then each stuck task not already named by a cycle.
    static func problems(cycles: [[String]], stuck: [TaskPlan.Stuck]) -> [String] {
        let members = Set(cycles.joined())
        let cycleLines = cycles.map { "dependency cycle: " + ($0 + $0.prefix(1)).joined(separator: " → ") }
        return cycleLines + stuck.filter { !members.contains($0.id) }.map { "\($0.id): \($0.reason)" }
    }
}

extension TaskGraph {
    /// A task's `depends_on` names with the ids they resolved to, in the order written.
    func resolvedDependencies(of id: String) -> [PlanReport.Dependency] {
        nodes[id]?.edges.map { PlanReport.Dependency(name: $0.name, resolved: $0.target) } ?? []
    }
}

// MARK: - Showing it

extension PlanReport {
    /// The plan for people: a header, each wave with one line per task, the running and stuck
    /// tasks, the problems, and a line of counts.
    public var text: String {
        let width = tasks.map(\.id.count).max() ?? 0
        var lines = [header]
        let running = tasks.filter { $0.state == .running }
        if !running.isEmpty {
            lines.append("running: " + running.map(\.id).joined(separator: ", "))
            lines += running.map { line(for: $0, width: width) }
        }
        for (n, ids) in waves.enumerated() {
            lines.append("wave \(n + 1): " + ids.joined(separator: ", "))
            lines += ids.compactMap { id in tasks.first { $0.id == id }.map { line(for: $0, width: width) } }
        }
        let stuck = tasks.filter { $0.stuck != nil }
        if !stuck.isEmpty {
            lines.append("stuck:")
            lines += stuck.map { line(for: $0, width: width) }
        }
        if !problems.isEmpty {
            lines.append("problems:")
            lines += problems.map { "  " + $0 }
        }
        lines.append(counts)
        return lines.joined(separator: "\n") + "\n"
    }

    var header: String {
        let subject = givenFiles.map { "\($0.count) file\($0.count == 1 ? "" : "s")" } ?? "the queue"
        let queue = givenFiles != nil && queuedCount > 0 ? " and the queue" : ""
        return "plan for \(subject)\(queue) in \(root.escapedForTerminal), as if each wave succeeds before the next:"
    }

    var counts: String {
        let placed = waves.reduce(0) { $0 + $1.count }
        let running = tasks.filter { $0.state == .running }.count
        var parts = ["\(placed) in \(waves.count) wave\(waves.count == 1 ? "" : "s")"]
        if running > 0 { parts.append("\(running) running") }
        parts.append("\(tasks.count - placed - running) stuck")
        parts.append("\(rejectedCount) file\(rejectedCount == 1 ? "" : "s") rejected")
        return "\(tasks.count) task\(tasks.count == 1 ? "" : "s"): " + parts.joined(separator: ", ")
    }

    /// `  b  depends on a (→ a), files src/**; waiting for a (waiting)`: what the front matter asks,
    /// then why the task is where it is.
    func line(for task: Task, width: Int) -> String {
        let padded = task.id.padding(toLength: width, withPad: " ", startingAt: 0)
        let why = task.stuck.map { "stuck: " + $0 } ?? task.standing
        return "  \(padded)  \(details(of: task)); \(why)"
    }

    func details(of task: Task) -> String {
        var parts: [String] = []
        if task.name != task.id { parts.append("name \(task.name)") }
        if !task.dependencies.isEmpty {
            parts.append("depends on " + task.dependencies.map { "\($0.name) (→ \($0.resolved ?? "not known"))" }.joined(separator: ", "))
        }
        if !task.spec.files.isEmpty {
            parts.append("files " + task.spec.files.map(\.pattern.escapedForTerminal).joined(separator: " "))
        }
        if task.spec.priority != 0 { parts.append("priority \(task.spec.priority)") }
        if let agent = task.spec.agent { parts.append("agent '\(agent.escapedForTerminal)'") }
        if let base = task.spec.base { parts.append("base \(base)") }
        if let isolation = task.spec.isolation { parts.append("isolation \(isolation.rawValue)") }
        parts += controls(of: task.spec)
        if !task.spec.unknownKeys.isEmpty { parts.append("other keys " + task.spec.unknownKeys.map(Self.shownUnknown).joined(separator: " ")) }
        parts.append("from \(task.file.escapedForTerminal)")
        return parts.joined(separator: ", ")
    }

    /// The front matter's control keys as written, seconds as a user writes them.
    func controls(of spec: TaskSpec) -> [String] {
        var parts: [String] = []
        if let s = spec.stallAfter { parts.append("stall_after \(Settings.shown(duration: s))") }
        if let o = spec.onStall { parts.append("on_stall \(o.rawValue)") }
        if let t = spec.timeout { parts.append(t > 0 ? "timeout \(Settings.shown(duration: t))" : "no timeout") }
        if let r = spec.retries { parts.append("retries \(r)") }
        return parts
    }

    /// An unknown key, with the known key it most likely misspells: `dependson (did you mean
    /// depends_on?)`, since a misspelled `depends_on` would let the task run at once.
    static func shownUnknown(_ key: String) -> String {
        key.escapedForTerminal + (TaskSpec.suggestion(for: key).map { " (did you mean \($0)?)" } ?? "")
    }

    /// The plan for scripts; its shape is documented in spool-layout.md ("Planning").
    public var json: JSON {
        .object([
            ("schema_version", .int(Int64(Self.schemaVersion))),
            ("root", .string(root)),
            ("tasks", .array(tasks.map(Self.json(for:)))),
            ("waves", .array(waves.map { .array($0.map(JSON.string)) })),
            ("problems", .array(problems.map(JSON.string))),
        ])
    }

    static func json(for task: Task) -> JSON {
        .object([
            ("id", .string(task.id)),
            ("name", .string(task.name)),
            ("file", .string(task.file)),
            ("state", .string(task.state.rawValue)),
            ("depends_on", .array(task.dependencies.map { .object([("name", .string($0.name)), ("resolved", .optional($0.resolved))]) })),
            ("files", .array(task.spec.files.map { .string($0.pattern) })),
            ("priority", .int(Int64(task.spec.priority))),
            ("agent", .optional(task.spec.agent)),
            ("base", .optional(task.spec.base)),
            ("isolation", .optional(task.spec.isolation?.rawValue)),
            ("stall_after", task.spec.stallAfter.map(JSON.number) ?? .null),
            ("on_stall", .optional(task.spec.onStall?.rawValue)),
            ("timeout", task.spec.timeout.map(JSON.number) ?? .null),
            ("retries", task.spec.retries.map { .int(Int64($0)) } ?? .null),
            ("slurm", task.spec.slurm?.json ?? .null),
            ("unknown_keys", .array(task.spec.unknownKeys.map(JSON.string))),
            ("did_you_mean", .object(task.spec.unknownKeys.compactMap { key in TaskSpec.suggestion(for: key).map { (key, .string($0)) } })),
            ("wave", task.wave.map { .int(Int64($0)) } ?? .null),
            ("stuck", .optional(task.stuck)),
            ("standing", .string(task.standing)),
        ])
    }
}
