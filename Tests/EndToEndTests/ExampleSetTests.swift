// The package's examples/prompts/ — the set `make demo` runs — through the binary twice in a row,
// as someone trying gadugi would: the second run's tasks get `-2` ids, resolve their dependencies
// among themselves (not to the first run's tasks), start only after what they depend on finished,
// and tasks sharing files never overlap. The records checked are the public ones: progress.json
// (`depends_on[].resolved`, `started_at`, `finished_at`) and the queue folders. Real git
// repository, real processes, the built-in simulated agent.

import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

final class ExampleSetTests: GadugiTestCase {
    /// The package's examples/prompts/ folder (this file is Tests/EndToEndTests/…).
    private static let examples = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("examples/prompts")

    /// Prompt extensions, as README.md lists them.
    private static let promptExtensions: Set<String> = ["md", "markdown", "txt", "prompt"]

    /// The example that fails on purpose (`simulate: fail`).
    private static let failing = "flaky-test"

    /// Copies the example prompts into the repository's examples/prompts/ and commits them; returns
    /// their paths relative to the root (where gadugi runs), sorted as the shell sorts
    /// `examples/prompts/*`.
    private func copyExamples() throws -> [String] {
        let fm = FileManager.default
        let names = try fm.contentsOfDirectory(atPath: Self.examples.path).filter { name in
            var isDir: ObjCBool = false
            return !name.hasPrefix(".")
                && fm.fileExists(atPath: Self.examples.appendingPathComponent(name).path, isDirectory: &isDir)
                && !isDir.boolValue
                && Self.promptExtensions.contains((name as NSString).pathExtension)
        }.sorted()
        for name in names {
            try write(Data(contentsOf: Self.examples.appendingPathComponent(name)),
                      to: root.appendingPathComponent("examples/prompts/\(name)"))
        }
        _ = git(["add", "examples"])
        _ = git(["-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid", "-c", "commit.gpgsign=false",
                 "commit", "-qm", "the example prompts"])
        return names.map { "examples/prompts/\($0)" }
    }

    /// The ids a run's `--json` summary lists, with each one's state.
    private func summary(_ r: RunResult, file: StaticString = #filePath, line: UInt = #line) -> [String: String] {
        guard let json = (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any],
              let tasks = json["tasks"] as? [[String: Any]] else {
            XCTFail("no JSON summary:\n\(r)", file: file, line: line)
            return [:]
        }
        var result: [String: String] = [:]
        for t in tasks { if let id = t.string("id") { result[id] = t.string("state") ?? "?" } }
        return result
    }

    private static let timestampFormat = try! NSRegularExpression(
        pattern: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"#)

    /// A progress.json time (ISO-8601 UTC with milliseconds, as spool-layout.md says) in seconds.
    private func time(_ p: [String: Any], _ key: String, file: StaticString = #filePath, line: UInt = #line) -> Double? {
        guard let text = p.string(key) else {
            XCTFail("\(p.string("id") ?? "?"): no \(key) in \(p)", file: file, line: line)
            return nil
        }
        let range = NSRange(text.startIndex..., in: text)
        guard Self.timestampFormat.firstMatch(in: text, range: range) != nil else {
            XCTFail("\(key) '\(text)' is not ISO-8601 UTC with milliseconds", file: file, line: line)
            return nil
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let date = formatter.date(from: text) else {
            XCTFail("\(key) '\(text)' does not parse", file: file, line: line)
            return nil
        }
        return date.timeIntervalSince1970
    }

    /// Whether two `files` patterns certainly overlap. Only literal patterns are judged (equal, or
    /// one a folder — a trailing `/` — holding the other); a pattern with glob characters never
    /// counts, so every pair found really shares a path.
    private static func overlap(_ a: String, _ b: String) -> Bool {
        let glob = CharacterSet(charactersIn: "*?[")
        if a.rangeOfCharacter(from: glob) != nil || b.rangeOfCharacter(from: glob) != nil { return false }
        if a == b { return true }
        return (a.hasSuffix("/") && b.hasPrefix(a)) || (b.hasSuffix("/") && a.hasPrefix(b))
    }

    func testTheExampleSetRunTwiceKeepsItsOrder() throws {
        let files = try copyExamples()
        XCTAssertGreaterThanOrEqual(files.count, 10, "the examples: \(files)")
        XCTAssertTrue(files.contains("examples/prompts/\(Self.failing).md"), "\(files)")
        let names = files.map { (($0 as NSString).lastPathComponent as NSString).deletingPathExtension }
        let args = ["run", "--agent", "gadugi:simulate", "--max-parallel", "4", "--json"] + files
        let env = ["GADUGI_SIMULATE_STEP": "0.01"]

        // Run 1: every example done except the one that fails on purpose; exit 1 for exactly that.
        let r1 = try gadugiRun(args, timeout: 120, env: env)
        XCTAssertEqual(r1.status, 1, "\(r1)")
        XCTAssertFalse(r1.timedOut, "\(r1)")
        let first = summary(r1)
        XCTAssertEqual(Set(first.keys), Set(names), "the first run's ids are the examples' own names: \(first)")
        XCTAssertEqual(first.filter { $0.value != "done" }, [Self.failing: "failed"], "\(r1)")
        XCTAssertEqual(list(.failed), ["\(Self.failing).md"])

        // Run 2: the same files, again.
        let r2 = try gadugiRun(args, timeout: 120, env: env)
        XCTAssertEqual(r2.status, 1, "\(r2)")
        XCTAssertFalse(r2.timedOut, "\(r2)")
        let second = summary(r2)
        XCTAssertEqual(Set(second.keys), Set(names.map { "\($0)-2" }), "every task of the second run has the -2 suffix: \(second)")
        XCTAssertEqual(second.filter { $0.value != "done" }, ["\(Self.failing)-2": "failed"], "\(r2)")
        XCTAssertEqual(list(.failed), ["\(Self.failing)-2.md", "\(Self.failing).md"])
        XCTAssertEqual(list(.incoming) + list(.claimed) + list(.running), [], "nothing is left behind")
        XCTAssertEqual(list(.done).count, 2 * (names.count - 1), "\(list(.done))")

        // The first run's dependants resolved to the first run's tasks (unsuffixed ids).
        var firstEdges = 0
        for id in names {
            let p = try XCTUnwrap(progress(id), id)
            for dep in p["depends_on"] as? [[String: Any]] ?? [] {
                firstEdges += 1
                XCTAssertEqual(dep.string("resolved"), dep.string("name"), "\(id) depends on the first run's task: \(dep)")
            }
        }
        XCTAssertGreaterThanOrEqual(firstEdges, 4, "the examples have dependencies (users-api, users-fixtures, users-tests)")

        // The second run's dependants resolved to the second run's tasks, and started only after
        // those finished.
        var records: [String: [String: Any]] = [:]
        for id in second.keys { records[id] = try XCTUnwrap(progress(id), id) }
        var secondEdges = 0
        for (id, p) in records.sorted(by: { $0.key < $1.key }) {
            XCTAssertEqual(p.string("id"), id)
            for dep in p["depends_on"] as? [[String: Any]] ?? [] {
                secondEdges += 1
                guard let name = dep.string("name"), let resolved = dep.string("resolved") else {
                    XCTFail("\(id): unresolved dependency \(dep)")
                    continue
                }
                XCTAssertEqual(resolved, "\(name)-2", "\(id) depends on the second run's \(name), not the first's")
                guard let d = records[resolved] else {
                    XCTFail("\(id) depends on \(resolved), which is not a task of the second run")
                    continue
                }
                XCTAssertEqual(d.string("state"), "done", "\(resolved)")
                if let started = time(p, "started_at"), let finished = time(d, "finished_at") {
                    XCTAssertGreaterThanOrEqual(started, finished,
                        "\(id) started (\(p.string("started_at") ?? "")) before its dependency \(resolved) finished (\(d.string("finished_at") ?? ""))")
                }
            }
        }
        XCTAssertEqual(secondEdges, firstEdges, "the second run has the same dependency edges")

        // Tasks of the second run that share a file never ran at the same time.
        let ids = records.keys.sorted()
        var sharing = 0
        for (i, a) in ids.enumerated() {
            for b in ids[(i + 1)...] {
                let fa = records[a]?["files"] as? [String] ?? [], fb = records[b]?["files"] as? [String] ?? []
                guard fa.contains(where: { x in fb.contains { Self.overlap(x, $0) } }) else { continue }
                sharing += 1
                guard let pa = records[a], let pb = records[b],
                      let sa = time(pa, "started_at"), let ea = time(pa, "finished_at"),
                      let sb = time(pb, "started_at"), let eb = time(pb, "finished_at") else { continue }
                XCTAssertTrue(ea <= sb || eb <= sa,
                    "\(a) (\(fa)) and \(b) (\(fb)) share files but overlapped: \(a) \(pa.string("started_at") ?? "")…\(pa.string("finished_at") ?? ""), \(b) \(pb.string("started_at") ?? "")…\(pb.string("finished_at") ?? "")")
            }
        }
        XCTAssertGreaterThanOrEqual(sharing, 1, "the examples have tasks sharing files (add-rate-limit and update-readme: README.md)")
        XCTAssertEqual(git(["status", "--porcelain"]), "", "the main checkout is never modified")
    }
}
