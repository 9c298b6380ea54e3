import XCTest
@testable import GadugiCore

/// `executor: slurm`: the settings, the front matter `slurm:` mapping, and the `srun` argv a task's
/// agent runs under. No Slurm is needed: these are values (the wrapper is exercised with a
/// stand-in srun by SlurmStandInTests, and with a real cluster by SlurmExecutorTests).
final class SlurmStepTests: SpoolTestCase {
    func load(_ yaml: String) throws -> Settings {
        try write(layout.config, yaml)
        return try Settings.load(layout, agentFlag: nil, parallelFlag: nil, environment: [:])
    }

    func refusal(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try load(yaml)
            XCTFail("\(yaml.debugDescription) must be refused", file: file, line: line)
            return ""
        } catch {
            return "\(error)"
        }
    }

    func spec(_ yaml: String) -> Result<TaskSpec, Prompt.Rejection> {
        Prompt.check(Array("---\n\(yaml)\n---\nDo the thing.\n".utf8)).map(\.spec)
    }

    // MARK: settings

    func testTheExecutorIsLocalUnlessConfiguredOrFlagged() throws {
        XCTAssertEqual(try load("agent: x\n").executor, .local)
        XCTAssertEqual(try load("executor: slurm\n").executor, .slurm)
        XCTAssertEqual(try load("executor: local\n").executor, .local)
        try write(layout.config, "executor: local\n")
        let flagged = try Settings.load(layout, agentFlag: nil, parallelFlag: nil, environment: [:], executorFlag: "slurm")
        XCTAssertEqual(flagged.executor, .slurm, "--executor wins over the file")
    }

    func testABadExecutorNamesTheKeyAndWhatWouldDo() {
        let message = refusal("executor: kubernetes\n")
        XCTAssertTrue(message.contains("executor has 'kubernetes'"), message)
        XCTAssertTrue(message.contains("local") && message.contains("slurm"), message)
        try? Files.remove(layout.config)
        XCTAssertThrowsError(try Settings.load(layout, agentFlag: nil, parallelFlag: nil, environment: [:], executorFlag: "pbs")) { error in
            XCTAssertTrue("\(error)".contains("--executor has 'pbs'"), "\(error)")
        }
    }

    func testConfigSlurmDefaults() throws {
        let s = try load("executor: slurm\nslurm:\n  cpus: 4\n  mem: 8g\n  partition: batch\n  account: proj\n  time: 2h\n  args: [--qos=low, --constraint=avx2]\n")
        XCTAssertEqual(s.slurm, SlurmStep.Resources(cpus: 4, mem: "8G", partition: "batch", account: "proj", time: 7200,
                                                    args: ["--qos=low", "--constraint=avx2"]))
        XCTAssertEqual(s.warnings, [])
    }

    func testUnknownSlurmKeysInTheConfigAreWarnedAboutWithASuggestion() throws {
        let s = try load("slurm:\n  cpu: 4\n  gres: gpu:1\n")
        XCTAssertEqual(s.slurm, .none)
        XCTAssertEqual(s.warnings.count, 2, "\(s.warnings)")
        XCTAssertTrue(s.warnings.contains { $0.contains("'cpu'") && $0.contains("did you mean cpus?") }, "\(s.warnings)")
        XCTAssertTrue(s.warnings.contains { $0.contains("'gres'") && $0.contains("in slurm:") }, "\(s.warnings)")
    }

    func testBadSlurmValuesNameTheirKey() {
        for (yaml, key) in [("slurm:\n  cpus: 0\n", "slurm.cpus"), ("slurm:\n  cpus: four\n", "slurm.cpus"),
                            ("slurm:\n  mem: 8192\n", "slurm.mem"), ("slurm:\n  mem: lots\n", "slurm.mem"),
                            ("slurm:\n  time: 90\n", "slurm.time"), ("slurm:\n  time: soon\n", "slurm.time"),
                            ("slurm:\n  partition: -p\n", "slurm.partition"), ("slurm:\n  partition: a b\n", "slurm.partition"),
                            ("slurm:\n  args: --qos=low\n", "slurm.args"), ("slurm:\n  args: [gpu]\n", "slurm.args"),
                            ("slurm: 4\n", "slurm")] {
            let message = refusal(yaml)
            XCTAssertTrue(message.contains("\(key) has"), "\(yaml.debugDescription): \(message)")
            XCTAssertTrue(message.contains("expected"), message)
        }
    }

    // MARK: front matter

    func testFrontMatterSlurmIsRead() throws {
        let s = try spec("slurm: {cpus: 2, mem: 500M, time: 90m, args: [--exclusive]}").get()
        XCTAssertEqual(s.slurm, SlurmStep.Resources(cpus: 2, mem: "500M", time: 5400, args: ["--exclusive"]))
        XCTAssertEqual(s.unknownKeys, [])
        XCTAssertNil(try spec("priority: 1").get().slurm)
    }

    func testUnknownFrontMatterSlurmKeysAreKeptAsSlurmDotKey() throws {
        let s = try spec("slurm: {cpu: 2, nodes: 3}").get()
        XCTAssertEqual(s.unknownKeys, ["slurm.cpu", "slurm.nodes"])
        XCTAssertEqual(TaskSpec.suggestion(for: "slurm.cpu"), "slurm.cpus")
        XCTAssertEqual(TaskSpec.unknownKeyWarning("slurm.cpu"), "unknown front matter key 'slurm.cpu' (did you mean slurm.cpus?)")
        XCTAssertEqual(TaskSpec.suggestion(for: "slrum"), "slurm")
    }

    func testABadFrontMatterSlurmValueRejectsThePromptNamingTheKey() {
        guard case .failure(let reason) = spec("slurm: {mem: 8}") else { return XCTFail("slurm.mem: 8 must be refused") }
        XCTAssertTrue("\(reason)".contains("slurm.mem"), "\(reason)")
        guard case .failure(let other) = spec("slurm: [4]") else { return XCTFail("a list must be refused") }
        XCTAssertTrue("\(other)".contains("slurm"), "\(other)")
    }

    func testTheRecordKeepsTheFrontMattersResourcesAndTheJobID() throws {
        var record = TaskRecord(id: "a", ext: "md", name: "a.md", state: .running)
        record.slurm = SlurmStep.Resources(cpus: 2, time: 60)
        record.executor = .slurm
        XCTAssertTrue(record.isPendingInSlurm)
        record.slurmJobID = 4242
        XCTAssertFalse(record.isPendingInSlurm)
        let back = try XCTUnwrap(TaskRecord(json: record.json(layout)))
        XCTAssertEqual(back, record)
    }

    // MARK: the argv

    func testArgvFromConfigDefaultsAndFrontMatter() {
        let config = SlurmStep.Resources(cpus: 1, mem: "1G", partition: "batch", args: ["--qos=low"])
        let task = SlurmStep.Resources(cpus: 4, mem: "8G")
        let step = SlurmStep(id: "fix-login", resources: config.overridden(by: task), timeout: nil)
        XCTAssertEqual(step.argv, ["srun", "--job-name=gadugi-fix-login", "--ntasks=1", "--cpus-per-task=4", "--mem=8G",
                                   "--partition=batch", "--qos=low"])
        XCTAssertEqual(SlurmStep(id: "x", resources: .none, timeout: nil).argv, ["srun", "--job-name=gadugi-x", "--ntasks=1"])
    }

    func testTheTimeoutIsSlurmsTimeUnlessSlurmTimeIsGiven() {
        XCTAssertEqual(SlurmStep(id: "x", resources: .none, timeout: 90).argv.last, "--time=2", "minutes, rounded up")
        XCTAssertEqual(SlurmStep(id: "x", resources: .none, timeout: 1).argv.last, "--time=1", "at least a minute")
        XCTAssertEqual(SlurmStep(id: "x", resources: SlurmStep.Resources(time: 7200), timeout: 60).argv.last, "--time=120")
        XCTAssertEqual(SlurmStep.minutes(3600), 60)
        XCTAssertEqual(SlurmStep.minutes(3601), 61)
    }

    func testTheFrontMattersArgsReplaceTheConfigs() {
        let merged = SlurmStep.Resources(args: ["--qos=low"]).overridden(by: SlurmStep.Resources(args: ["--exclusive"]))
        XCTAssertEqual(merged.args, ["--exclusive"])
        XCTAssertEqual(SlurmStep.Resources(cpus: 3).overridden(by: nil), SlurmStep.Resources(cpus: 3))
    }

    // MARK: the wrapper

    func testTheStepWrapperDiffersFromTheLocalOneOnlyInItsAgentLine() {
        XCTAssertTrue(Supervisor.wrapper.contains(Supervisor.agentLine))
        XCTAssertFalse(Supervisor.stepWrapper.contains(Supervisor.agentLine))
        XCTAssertTrue(Supervisor.stepWrapper.contains(Supervisor.stepLine))
        XCTAssertEqual(Supervisor.stepWrapper.replacingOccurrences(of: Supervisor.stepLine, with: Supervisor.agentLine), Supervisor.wrapper)
        XCTAssertFalse(Supervisor.stepScript.contains("'"), "the step script is single-quoted in the wrapper")
    }

    func testTheJobIDFileIsReadWhenWhole() throws {
        try Files.makeDirectory(layout.taskDirectory("a"))
        XCTAssertNil(SlurmStep.jobID(layout, id: "a"))
        try write(layout.slurmJob("a"), "4242\n")
        XCTAssertEqual(SlurmStep.jobID(layout, id: "a"), 4242)
        XCTAssertNotNil(SlurmStep.startedAt(layout, id: "a"))
        XCTAssertTrue(layout.attemptFiles("a").contains(layout.slurmJob("a")), "a retry does not inherit the job id")
    }

    func testAnAllocationIsNamedAsTheReasonNotToStart() {
        XCTAssertNil(SlurmStep.allocationProblem(environment: [:]))
        XCTAssertNil(SlurmStep.allocationProblem(environment: ["SLURM_JOB_ID": ""]))
        let problem = SlurmStep.allocationProblem(environment: ["SLURM_JOBID": "912"])
        XCTAssertTrue(problem?.contains("inside Slurm allocation 912") == true, problem ?? "nil")
        XCTAssertTrue(problem?.contains("outside any allocation") == true, problem ?? "nil")
    }
}
