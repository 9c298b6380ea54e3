import XCTest
@testable import GadugiCore

final class TaskGraphTests: XCTestCase {
    private var arrivals = 0

    private func graph() -> TaskGraph { TaskGraph(overlap: { $0 == $1 }) }

    /// A task with the next arrival number; its name defaults to its id.
    private func task(_ id: String, name: String? = nil, _ deps: [String] = [], files: [String] = [],
                      priority: Int = 0, batch: String? = nil, state: GraphTask.State = .waiting) -> GraphTask {
        arrivals += 1
        return GraphTask(id: id, name: name, dependsOn: deps, files: files, priority: priority,
                         arrival: arrivals, batch: batch, state: state)
    }

    private func finish(_ id: String, in g: inout TaskGraph, as state: GraphTask.State = .done) {
        g.setState(id, .running)
        g.setState(id, state)
    }

    func testChainRunsInOrder() {
        var g = graph()
        XCTAssertEqual(g.add(task("a")), .added)
        XCTAssertEqual(g.add(task("b", ["a"])), .added)
        XCTAssertEqual(g.add(task("c", ["b"])), .added)
        XCTAssertEqual(g.runnable(), ["a"])
        XCTAssertEqual(g.readiness(of: "c"), .waiting(for: ["b"]))
        g.setState("a", .running)
        XCTAssertEqual(g.runnable(), [])
        XCTAssertEqual(g.explain("b"), "waiting for a (running)")
        g.setState("a", .done)
        XCTAssertEqual(g.runnable(), ["b"])
        finish("b", in: &g)
        XCTAssertEqual(g.runnable(), ["c"])
        finish("c", in: &g)
        XCTAssertEqual(g.runnable(), [])
        XCTAssertEqual(g.readiness(of: "c"), .notWaiting(.done))
        XCTAssertNil(g.readiness(of: "zzz"))
    }

    func testDiamondWaitsForBothSides() {
        var g = graph()
        g.add(task("a"))
        g.add(task("b", ["a"]))
        g.add(task("c", ["a"]))
        g.add(task("d", ["b", "c"]))
        XCTAssertEqual(g.waves(), [["a"], ["b", "c"], ["d"]])
        finish("a", in: &g)
        XCTAssertEqual(g.runnable(), ["b", "c"])
        finish("b", in: &g)
        XCTAssertEqual(g.readiness(of: "d"), .waiting(for: ["c"]))
        finish("c", in: &g)
        XCTAssertEqual(g.runnable(), ["d"])
    }

    func testMissingDependencyResolvesOnLateArrival() {
        var g = graph()
        g.add(task("b", ["a"]))
        XCTAssertEqual(g.readiness(of: "b"), .waiting(for: ["a"]))
        XCTAssertEqual(g.explain("b"), "waiting for a (not seen yet)")
        XCTAssertEqual(g.plan().stuck, [.init(id: "b", reason: "depends on a, which is not known")])
        g.add(task("a-1", name: "a"))
        XCTAssertEqual(g.readiness(of: "b"), .waiting(for: ["a-1"]))
        XCTAssertEqual(g.runnable(), ["a-1"])
        finish("a-1", in: &g)
        XCTAssertEqual(g.runnable(), ["b"])
    }

    func testSecondRunNextWeekWaitsForItsOwnBatch() {
        var g = graph()
        g.add(task("a", batch: "monday"))
        g.add(task("b", ["a"], batch: "monday"))
        finish("a", in: &g)
        finish("b", in: &g)
        // Another batch holding an unfinished `a` arrives in between: the batch rule wins.
        g.add(task("a-3", name: "a", batch: "other"))
        g.add(task("a-2", name: "a", batch: "tuesday"))
        g.add(task("b-2", name: "b", ["a"], batch: "tuesday"))
        XCTAssertEqual(g.readiness(of: "b-2"), .waiting(for: ["a-2"]))
        // Without a batch: the newest unfinished `a`, not the newest or the done one.
        g.add(task("b-3", name: "b", ["a"]))
        XCTAssertEqual(g.readiness(of: "b-3"), .waiting(for: ["a-2"]))
        finish("a-2", in: &g)
        finish("a-3", in: &g)
        // Nothing unfinished: the newest done one.
        g.add(task("b-4", name: "b", ["a"]))
        XCTAssertEqual(g.readiness(of: "b-4"), .ready)
        // A resolution is fixed: a later `a` does not re-point b-3's edge.
        g.add(task("a-5", name: "a"))
        XCTAssertEqual(g.explain("b-3"), "ready")
    }

    func testABatchResolvesInsideItselfWhateverTheOrderOfItsFiles() {
        var g = graph()
        g.add(task("a"))
        finish("a", in: &g)
        let results = g.add(contentsOf: [task("b-2", name: "b", ["a"], batch: "tuesday"),
                                         task("a-2", name: "a", batch: "tuesday"),
                                         task("a-2", name: "a", batch: "tuesday")])
        XCTAssertEqual(results, [.added, .added, .duplicate])
        XCTAssertEqual(g.readiness(of: "b-2"), .waiting(for: ["a-2"]))
        XCTAssertEqual(g.runnable(), ["a-2"])
    }

    func testACycleInsideABatchIsReportedOnceByItsFirstMember() {
        var g = graph()
        let results = g.add(contentsOf: [task("x"), task("a", ["c"]), task("b", ["a"]), task("c", ["b"])])
        XCTAssertEqual(results, [.added, .cycle(["a", "c", "b"]), .added, .added])
    }

    func testLongChainInOneBatchIsLinear() {
        let n = 10_000
        var g = graph()
        let chain = (0..<n).map { i in task("t\(i)", i == 0 ? [] : ["t\(i - 1)"], batch: "one") }
        XCTAssertEqual(Set(g.add(contentsOf: chain.reversed())), [.added])
        XCTAssertEqual(g.runnable(), ["t0"])
        XCTAssertLessThan(g.work, 8 * n)
        XCTAssertEqual(g.add(task("t0-2", name: "t0", ["t\(n - 1)"], batch: "one")), .added,
                       "t1 stays on t0: a resolution is fixed, so a late namesake closes no cycle")
        XCTAssertEqual(g.readiness(of: "t0-2"), .waiting(for: ["t\(n - 1)"]))
    }

    func testResolutionPrefersDoneOverFailed() {
        var g = graph()
        g.add(task("a"))
        g.add(task("a-2", name: "a"))
        finish("a", in: &g)
        finish("a-2", in: &g, as: .failed)
        g.add(task("b", ["a"]))
        XCTAssertEqual(g.readiness(of: "b"), .ready, "the newest done a, though a failed one is newer")
        g.add(task("c"))
        g.setState("c", .cancelled)
        g.add(task("d", ["c"]))
        XCTAssertEqual(g.readiness(of: "d"), .blocked(by: ["c"], reason: "c cancelled"))
    }

    func testFailedDependencyBlocksAndRetryUnblocks() {
        var g = graph()
        g.add(task("a"))
        g.add(task("b", ["a"]))
        g.add(task("c", ["b"]))
        finish("a", in: &g, as: .failed)
        XCTAssertEqual(g.readiness(of: "b"), .blocked(by: ["a"], reason: "a failed"))
        XCTAssertEqual(g.explain("b"), "blocked: a failed")
        XCTAssertEqual(g.plan().stuck, [.init(id: "b", reason: "depends on a, which failed"),
                                        .init(id: "c", reason: "depends on b, which cannot run")])
        g.setState("a", .waiting)
        XCTAssertEqual(g.readiness(of: "b"), .waiting(for: ["a"]))
        XCTAssertEqual(g.runnable(), ["a"])
        finish("a", in: &g)
        XCTAssertEqual(g.runnable(), ["b"])
    }

    func testCycleOfThreeClosedByLastArrival() {
        var g = graph()
        XCTAssertEqual(g.add(task("a", ["c"])), .added)
        XCTAssertEqual(g.add(task("b", ["a"])), .added)
        XCTAssertEqual(g.add(task("c", ["b"])), .cycle(["c", "b", "a"]))
        XCTAssertEqual(g.plan().waves, [])
        XCTAssertEqual(g.plan().stuck.map(\.id), ["a", "b", "c"])
        for id in ["a", "b", "c"] { g.setState(id, .rejected) }
        XCTAssertEqual(g.runnable(), [])
    }

    func testCycleFoundFromEitherSide() {
        // The forward search runs out first unless the new task has many dependencies.
        var g = graph()
        g.add(task("x", ["y"]))
        for i in 0..<5 { g.add(task("p\(i)")) }
        XCTAssertEqual(g.add(task("y", ["p0", "p1", "p2", "p3", "p4", "x"])), .cycle(["y", "x"]))
        var h = graph()
        for i in 0..<5 { h.add(task("q\(i)", ["z"])) }
        h.add(task("w", ["z"]))
        XCTAssertEqual(h.add(task("z", ["w"])), .cycle(["z", "w"]))
    }

    func testSelfDependencyIsACycle() {
        var g = graph()
        XCTAssertEqual(g.add(task("a", ["a"])), .cycle(["a"]))
        XCTAssertEqual(g.add(task("b", ["b"], batch: "x")), .cycle(["b"]))
    }

    func testFileConflictsGoByArrivalThenPriority() {
        var g = graph()
        g.add(task("early", files: ["f"]))
        g.add(task("urgent", files: ["f"], priority: 9))
        g.add(task("other", files: ["g"], priority: 1))
        XCTAssertEqual(g.readiness(of: "urgent"), .conflict(with: ["early"]))
        XCTAssertEqual(g.explain("urgent"), "shares files with early (arrived earlier)")
        XCTAssertEqual(g.runnable(), ["other", "early"], "priority orders the tasks that do not conflict")
        g.setState("early", .running)
        XCTAssertEqual(g.explain("urgent"), "shares files with early (running)")
        g.setState("early", .done)
        XCTAssertEqual(g.runnable(), ["urgent", "other"])
        XCTAssertEqual(g.waves(), [["urgent", "other"]])
    }

    func testPlanPushesOverlappingTasksToLaterWaves() {
        var g = graph()
        g.add(task("a", files: ["f"]))
        g.add(task("b", files: ["f"]))
        g.add(task("c", files: ["g"]))
        g.add(task("d", ["c"], files: ["f"]))
        XCTAssertEqual(g.waves(), [["a", "c"], ["b"], ["d"]])
    }

    func testATaskWaitingForDependenciesHoldsNoFiles() {
        // The earlier task depends on the later one and both touch f: no deadlock.
        var g = graph()
        g.add(task("tests", ["impl"], files: ["f"]))
        g.add(task("impl", files: ["f"]))
        XCTAssertEqual(g.runnable(), ["impl"])
        g.setState("impl", .running)
        XCTAssertEqual(g.readiness(of: "tests"), .waiting(for: ["impl"]))
        g.setState("impl", .done)
        XCTAssertEqual(g.runnable(), ["tests"])
    }

    func testABlockedTaskHoldsNoFiles() {
        var g = graph()
        g.add(task("broken"))
        g.add(task("early", ["broken"], files: ["f"]))
        g.add(task("late", files: ["f"]))
        XCTAssertEqual(g.readiness(of: "late"), .ready, "early waits for broken, so it does not hold f")
        finish("broken", in: &g, as: .failed)
        XCTAssertEqual(g.runnable(), ["late"])
        g.setState("broken", .waiting)
        finish("broken", in: &g)
        XCTAssertEqual(g.readiness(of: "late"), .conflict(with: ["early"]), "early is ready again and goes first")
        XCTAssertEqual(g.runnable(), ["early"])
    }

    func testFilesHeldByTasksAddedRunningAndReleasedWhenCancelled() {
        var g = graph()
        g.add(task("adopted", files: ["f"], state: .running))
        g.add(task("next", files: ["f"]))
        g.add(task("after", files: ["f"]))
        XCTAssertEqual(g.readiness(of: "after"), .conflict(with: ["adopted", "next"]))
        g.setState("next", .cancelled)
        XCTAssertEqual(g.readiness(of: "after"), .conflict(with: ["adopted"]))
        g.setState("adopted", .failed)
        XCTAssertEqual(g.runnable(), ["after"])
        g.setState("next", .waiting)
        XCTAssertEqual(g.runnable(), ["next"], "a task made active again finds the tasks sharing its files")
        XCTAssertEqual(g.readiness(of: "after"), .conflict(with: ["next"]))
    }

    func testRunnableOrderIsPriorityThenArrival() {
        var g = graph()
        g.add(task("low"))
        g.add(task("high", priority: 5))
        g.add(task("low2"))
        g.add(task("high2", priority: 5))
        XCTAssertEqual(g.runnable(), ["high", "high2", "low", "low2"])
        XCTAssertEqual(g.nextRunnable(), "high")
        g.setState("high", .running)
        XCTAssertEqual(g.nextRunnable(), "high2")
        g.setState("high", .waiting)
        XCTAssertEqual(g.nextRunnable(), "high", "a task set back to waiting is ready again")
    }

    func testExplainNamesEveryPendingDependency() {
        var g = graph()
        g.add(task("a-2", name: "a"))
        g.setState("a-2", .running)
        g.add(task("c", ["a", "b"]))
        XCTAssertEqual(g.explain("c"), "waiting for a-2 (running), b (not seen yet)")
    }

    func testLongChainIsLinear() {
        let n = 10_000
        var g = graph()
        for i in 0..<n { g.add(task("t\(i)", i == 0 ? [] : ["t\(i - 1)"])) }
        var drained = 0
        while let next = g.nextRunnable() {
            finish(next, in: &g)
            drained += 1
        }
        XCTAssertEqual(drained, n)
        XCTAssertLessThan(g.work, 8 * n)
    }

    func testLongChainArrivingBackwardsIsLinear() {
        let n = 10_000
        var g = graph()
        for i in (0..<n).reversed() { g.add(task("t\(i)", i == 0 ? [] : ["t\(i - 1)"])) }
        XCTAssertEqual(g.runnable(), ["t0"])
        XCTAssertEqual(g.waves().count, n)
        var drained = 0
        while let next = g.nextRunnable() {
            finish(next, in: &g)
            drained += 1
        }
        XCTAssertEqual(drained, n)
        XCTAssertLessThan(g.work, 8 * n)
    }

    func testWideFanOutIsLinear() {
        let n = 10_000
        var g = graph()
        for i in 0..<n { g.add(task("leaf\(i)", ["root"])) }
        g.add(task("root"))
        XCTAssertEqual(g.runnable(), ["root"])
        finish("root", in: &g)
        XCTAssertEqual(g.runnable().count, n)
        XCTAssertEqual(g.waves().map(\.count), [n])
        var drained = 0
        while let next = g.nextRunnable() {
            finish(next, in: &g)
            drained += 1
        }
        XCTAssertEqual(drained, n)
        XCTAssertLessThan(g.work, 8 * n)
    }

    func testDuplicateIdIsRefused() {
        var g = graph()
        g.add(task("a"))
        XCTAssertEqual(g.add(task("a", ["x"])), .duplicate)
        XCTAssertEqual(g.runnable(), ["a"])
    }

    /// Random arrivals and transitions; after each step the incrementally kept ready set must
    /// equal the one worked out from scratch (dependencies from `readiness`, file holders from
    /// the definition, not from the graph's cached counts).
    func testIncrementalStateMatchesARecomputationFromScratch() {
        var rng = SplitMix(seed: 7)
        var g = graph()
        var ids: [String] = []
        let names = ["a", "b", "c", "d", "e", "f"]
        let states = GraphTask.State.allCases
        for step in 0..<600 {
            if ids.isEmpty || rng.next(6) == 0 {
                let id = "t\(step)"
                let deps = (0..<rng.next(3)).map { _ in names[rng.next(names.count)] }
                let files = (0..<rng.next(3)).map { _ in "f\(rng.next(4))" }
                let result = g.add(task(id, name: names[rng.next(names.count)], deps, files: files,
                                        priority: rng.next(3), batch: rng.next(2) == 0 ? nil : "b\(rng.next(3))"))
                if case .cycle(let members) = result { members.forEach { g.setState($0, .rejected) } }
                ids.append(id)
            } else {
                g.setState(ids[rng.next(ids.count)], states[rng.next(states.count)])
            }
            let expected = ids.filter { readyFromScratch($0, in: g) }
            XCTAssertEqual(Set(g.runnable()), Set(expected), "step \(step)")
            if Set(g.runnable()) != Set(expected) { return }
        }
    }

    private func readyFromScratch(_ id: String, in g: TaskGraph) -> Bool {
        guard let task = g.task(id), task.state == .waiting, dependenciesDone(id, in: g) else { return false }
        return !g.nodes.values.map(\.task).contains { other in
            other.id != id && other.files.contains { task.files.contains($0) }
                && (other.state == .running
                    || (other.state == .waiting && other.arrival < task.arrival && dependenciesDone(other.id, in: g)))
        }
    }

    private func dependenciesDone(_ id: String, in g: TaskGraph) -> Bool {
        switch g.readiness(of: id) {
        case .ready, .conflict: return true
        default: return false
        }
    }
}

/// A small seeded generator, so a failing random sequence can be replayed.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next(_ bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(bound))
    }
}
