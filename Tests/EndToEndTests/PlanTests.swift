import Foundation
import XCTest

/// `gadugi plan` as a user runs it: the built binary on the repository's own examples and on
/// prompts written here; nothing may run and nothing may be queued.
final class PlanTests: GadugiTestCase {
    /// The repository's `examples/prompts/` (Tests/EndToEndTests/PlanTests.swift → package root).
    var examples: [String] {
        let folder = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples/prompts")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.sorted().map { folder.appendingPathComponent($0).path }
    }

    func testExamplesRunInThreeWaves() throws {
        XCTAssertFalse(examples.isEmpty, "examples/prompts/ not found next to Tests/")
        let r = try gadugiRun(["plan"] + examples)
        XCTAssertEqual(r.status, 0, "\(r)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.filter { $0.hasPrefix("wave ") }, [
            "wave 1: add-rate-limit, changelog, dark-mode, fix-login, flaky-test, users-schema",
            "wave 2: update-readme, users-api, users-fixtures",
            "wave 3: users-tests",
        ], "\(r)")
        XCTAssertTrue(lines.contains { $0.hasPrefix("  update-readme ") && $0.hasSuffix("shares files with add-rate-limit (arrived earlier)") }, "\(r)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: spool.path), "plan must not create a spool")
    }

    func testJSONParsesAndListsTheWaves() throws {
        let r = try gadugiRun(["plan", "--json"] + examples)
        XCTAssertEqual(r.status, 0, "\(r)")
        guard let json = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any] else {
            return XCTFail("not a JSON object:\n\(r)")
        }
        XCTAssertEqual(json["schema_version"] as? Int, 1)
        XCTAssertEqual((json["waves"] as? [[String]])?.count, 3, "\(r)")
        XCTAssertEqual(json["problems"] as? [String], [])
        let tasks = json["tasks"] as? [[String: Any]] ?? []
        let join = tasks.first { $0["id"] as? String == "users-tests" }
        XCTAssertEqual(join?["wave"] as? Int, 3)
        XCTAssertEqual((join?["depends_on"] as? [[String: Any]])?.compactMap { $0["resolved"] as? String }, ["users-api", "users-fixtures"])
    }

    func testCycleExitsOneAndSaysSo() throws {
        let src = try makeScratchDir("cycle")
        let a = try write("---\ndepends_on: b\n---\nA.\n", to: src.appendingPathComponent("a.md")).path
        let b = try write("---\ndepends_on: a\n---\nB.\n", to: src.appendingPathComponent("b.md")).path
        let r = try gadugiRun(["plan", a, b])
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stdout.contains("dependency cycle: a → b → a"), "\(r)")
    }

    func testQueueWithoutSpoolSaysHowToMakeOne() throws {
        let r = try gadugiRun(["plan"])
        XCTAssertEqual(r.status, 1, "\(r)")
        XCTAssertTrue(r.stderr.contains("gadugi init"), "\(r)")
    }
}
